//! One request to the agent, bounded in time, never trusted further than it proves itself.
//!
//! Every way an agent can be unusable ends in [`Unusable`], which the caller turns into "use the
//! direct path": no socket, a stale socket file (nobody listening), a socket of another uid, a
//! peer that is not a Keyhaven agent or speaks another protocol version, an agent of another
//! vault, a locked agent, one that accepts and never answers (the hello is awaited at most
//! [`HELLO_TIMEOUT`]), one that dies or sends garbage or a truncated line mid-reply. A reply the
//! agent did send (a token, or an error such as "no such connection") is the answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::peer;
use crate::wire::{self, FailedReply, Failure, Hello, Request, TokenReply};

/// How long a client waits for the agent's hello after connecting.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a client waits for a hand-out's reply: a refresh at the provider (15 s per HTTP
/// request, docs/design.md) or waiting for another process's refresh lease can take this long.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client waits for the reply to status, lock and shutdown; unlock derives a
/// passphrase key (Argon2id, about 0.15 s) or asks the keychain.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the agent cannot answer; every case means "use the direct path".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// No socket, or nobody listening on it (a stale file).
    NoAgent,
    /// Something answered that is not a usable Keyhaven agent: another uid, another program,
    /// another protocol version, a broken line. The text says which, for `KEYHAVEN_LOG=debug`.
    NotUsable(String),
    /// The agent refused this client (it names the reason).
    Refused(String),
    /// An agent of another vault.
    OtherVault,
    /// The agent holds no key.
    Locked,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::NoAgent => f.write_str("no agent is running"),
            Unusable::NotUsable(why) => write!(f, "the agent socket is not usable: {why}"),
            Unusable::Refused(why) => write!(f, "the agent refused: {why}"),
            Unusable::OtherVault => f.write_str("the running agent serves another vault"),
            Unusable::Locked => f.write_str("the agent is locked"),
        }
    }
}

/// A connected agent that sent a well-formed hello of our protocol from our own uid.
#[derive(Debug)]
pub struct Agent {
    stream: BufReader<UnixStream>,
    /// What it said about itself.
    pub hello: Hello,
}

/// Connects to the agent at `socket` and reads its hello.
pub fn connect(socket: &Path) -> Result<Agent, Unusable> {
    let mut stream = open(socket)?;
    let hello = greet(&mut stream)?;
    Ok(Agent { stream, hello })
}

/// Connects, and checks that the listener runs as this user. Nothing is read yet.
fn open(socket: &Path) -> Result<BufReader<UnixStream>, Unusable> {
    let stream = UnixStream::connect(socket).map_err(|_| Unusable::NoAgent)?;
    // A socket file anyone could have made (KEYHAVEN_AGENT_SOCK, a shared temp dir) is only
    // used when the process behind it runs as this user.
    match peer::peer_cred(&stream) {
        Some(cred) if cred.uid == peer::my_uid() => {}
        Some(cred) => {
            return Err(Unusable::NotUsable(format!(
                "the process behind it runs as uid {}, not as this user",
                cred.uid
            )));
        }
        None => return Err(Unusable::NotUsable("no peer credentials".into())),
    }
    let _ = stream.set_read_timeout(Some(HELLO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(HELLO_TIMEOUT));
    Ok(BufReader::new(stream))
}

/// Reads and checks the agent's hello (within [`HELLO_TIMEOUT`]).
fn greet(stream: &mut BufReader<UnixStream>) -> Result<Hello, Unusable> {
    // An agent that closes before its hello is going away (or was never there): none.
    let line = read_line(stream).map_err(|e| match e {
        Unusable::NotUsable(ref why) if why.starts_with(CLOSED) => Unusable::NoAgent,
        other => other,
    })?;
    let hello: Hello = match serde_json::from_slice(&line) {
        Ok(hello) => hello,
        Err(_) => {
            return Err(match serde_json::from_slice::<FailedReply>(&line) {
                Ok(refused) => Unusable::Refused(refused.error.message),
                Err(_) => Unusable::NotUsable("its first line is not a Keyhaven agent's".into()),
            });
        }
    };
    if hello.agent != "keyhaven" {
        return Err(Unusable::NotUsable("it is not a Keyhaven agent".into()));
    }
    if hello.protocol != wire::PROTOCOL {
        return Err(Unusable::NotUsable(format!(
            "it speaks protocol {}, this keyhaven speaks {}",
            hello.protocol,
            wire::PROTOCOL
        )));
    }
    Ok(hello)
}

impl Agent {
    /// Whether the agent serves the vault whose data directory is `dir`: the same database file
    /// and the same vault id (a vault deleted and made again at the same path is another vault).
    pub fn serves(&self, dir: &Path) -> bool {
        let ours = dir.join(crate::paths::VAULT_FILE);
        let theirs = std::ffi::OsStr::new(&self.hello.vault_path);
        // The agent names its file canonically; most data directories already are.
        let same_file = ours.as_os_str() == theirs
            || std::fs::canonicalize(&ours).is_ok_and(|p| p.as_os_str() == theirs);
        same_file && crate::paths::vault_id(dir).as_deref() == Some(self.hello.vault_id.as_str())
    }

    /// Sends `request` and reads the one reply: `Ok(Ok(T))` an answer, `Ok(Err(failure))` the
    /// agent's refusal (its message is the one to show), `Err` the agent broke off.
    pub fn ask<T: DeserializeOwned>(
        self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Result<T, Failure>, Unusable> {
        send(self.stream.get_ref(), request, timeout)?;
        self.reply(timeout)
    }

    /// Reads the reply to a request already sent.
    fn reply<T: DeserializeOwned>(
        mut self,
        timeout: Duration,
    ) -> Result<Result<T, Failure>, Unusable> {
        let _ = self.stream.get_ref().set_read_timeout(Some(timeout));
        let reply = read_line(&mut self.stream)?;
        if let Ok(failed) = serde_json::from_slice::<FailedReply>(&reply) {
            return Ok(Err(failed.error));
        }
        serde_json::from_slice::<T>(&reply).map(Ok).map_err(|_| {
            Unusable::NotUsable("its reply is not one this keyhaven understands".into())
        })
    }
}

/// One line, at most [`wire::MAX_LINE`] bytes, with its newline (a line cut short by a dying
/// agent is refused, never half-used). Kept in zeroized memory: a reply carries a token.
/// Writes one request line (from zeroized memory: an unlock carries a passphrase).
fn send(sock: &UnixStream, request: &Request, timeout: Duration) -> Result<(), Unusable> {
    let mut line = Zeroizing::new(
        serde_json::to_vec(request)
            .map_err(|_| Unusable::NotUsable("the request cannot be encoded".into()))?,
    );
    line.push(b'\n');
    let _ = sock.set_write_timeout(Some(timeout));
    let mut w = sock;
    w.write_all(&line)
        .map_err(|e| Unusable::NotUsable(format!("cannot send the request: {e}")))
}

const CLOSED: &str = "it closed the connection";

fn read_line(stream: &mut BufReader<UnixStream>) -> Result<Zeroizing<Vec<u8>>, Unusable> {
    let mut buf = Zeroizing::new(Vec::with_capacity(1024));
    let n = stream
        .by_ref()
        .take(wire::MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                Unusable::NotUsable("it did not answer in time".into())
            }
            std::io::ErrorKind::ConnectionReset => Unusable::NotUsable(CLOSED.into()),
            _ => Unusable::NotUsable(format!("reading its answer failed: {e}")),
        })?;
    if n == 0 {
        return Err(Unusable::NotUsable(CLOSED.into()));
    }
    if buf.last() != Some(&b'\n') {
        return Err(Unusable::NotUsable(if n > wire::MAX_LINE {
            "its answer is too long".into()
        } else {
            "its answer was cut short".into()
        }));
    }
    buf.pop();
    Ok(buf)
}

/// The hand-out fast path: the agent's answer for the vault in `data_dir`, or why there is none.
/// A locked agent and an agent of another vault are [`Unusable`]; so is every broken agent.
///
/// The request is sent before the hello is read, to save a round trip: it carries nothing
/// secret (a connection name, the tool, the client's own program names) and goes only to a
/// listener of this user; the reply is used only if the hello then proves the agent is ours.
pub fn token(
    socket: &Path,
    data_dir: &Path,
    request: &Request,
) -> Result<Result<TokenReply, Failure>, Unusable> {
    let mut stream = open(socket)?;
    send(stream.get_ref(), request, REPLY_TIMEOUT)?;
    let hello = greet(&mut stream)?;
    let agent = Agent { stream, hello };
    if !agent.serves(data_dir) {
        return Err(Unusable::OtherVault);
    }
    if agent.hello.locked {
        return Err(Unusable::Locked);
    }
    match agent.reply::<TokenReply>(REPLY_TIMEOUT)? {
        // Locked between the hello and the request (idle lock): the direct path it is.
        Err(f) if f.code == wire::codes::LOCKED => Err(Unusable::Locked),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn serve_once(
        script: impl FnOnce(UnixStream) + Send + 'static,
    ) -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("s");
        let listener = UnixListener::bind(&sock).unwrap();
        std::thread::spawn(move || {
            if let Ok((s, _)) = listener.accept() {
                script(s)
            }
        });
        (tmp, sock)
    }

    fn hello(locked: bool) -> String {
        serde_json::to_string(&Hello {
            agent: "keyhaven".into(),
            protocol: wire::PROTOCOL,
            vault_id: "v".into(),
            vault_path: "/nonexistent/vault.db".into(),
            locked,
            pid: 1,
        })
        .unwrap()
            + "\n"
    }

    #[test]
    fn no_socket_and_a_stale_socket_mean_no_agent() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            connect(&tmp.path().join("none")).unwrap_err(),
            Unusable::NoAgent
        );
        let stale = tmp.path().join("stale");
        drop(UnixListener::bind(&stale).unwrap());
        assert_eq!(connect(&stale).unwrap_err(), Unusable::NoAgent);
    }

    #[test]
    fn an_agent_that_never_says_hello_is_given_up_on_within_the_bound() {
        let (_tmp, sock) = serve_once(|s| {
            std::thread::sleep(Duration::from_secs(5));
            drop(s)
        });
        let started = std::time::Instant::now();
        let e = connect(&sock).unwrap_err();
        assert!(
            matches!(e, Unusable::NotUsable(ref m) if m.contains("in time")),
            "{e:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn garbage_another_version_and_a_cut_reply_are_not_used() {
        let (_t, sock) = serve_once(|mut s| {
            let _ = s.write_all(b"\x00\xffgarbage\n");
        });
        assert!(matches!(connect(&sock), Err(Unusable::NotUsable(_))));

        let (_t, sock) = serve_once(|mut s| {
            let _ = s.write_all(
                hello(false)
                    .replace("\"protocol\":1", "\"protocol\":99")
                    .as_bytes(),
            );
        });
        assert!(matches!(connect(&sock), Err(Unusable::NotUsable(m)) if m.contains("protocol 99")));

        let (_t, sock) = serve_once(|mut s| {
            let _ = s.write_all(hello(false).as_bytes());
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(br#"{"token":"abc","id":"#);
        });
        let agent = connect(&sock).unwrap();
        let r = agent.ask::<TokenReply>(
            &Request::Token {
                conn: "x".into(),
                margin: None,
                field: None,
                tool: None,
                claimed: None,
            },
            Duration::from_secs(2),
        );
        assert!(matches!(r, Err(Unusable::NotUsable(m)) if m.contains("cut short")));
    }

    #[test]
    fn an_agent_of_another_vault_is_not_asked() {
        let (_t, sock) = serve_once(|mut s| {
            let _ = s.write_all(hello(false).as_bytes());
        });
        let tmp = tempfile::tempdir().unwrap();
        let req = Request::Status;
        assert_eq!(
            token(&sock, tmp.path(), &req).unwrap_err(),
            Unusable::OtherVault
        );
    }
}

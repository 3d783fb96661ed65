//! Starting an agent from a command: on demand after a direct hand-out (the way gpg-agent and
//! rbw-agent start), and for `keyhaven unlock`.
//!
//! The agent is this same program run as `keyhaven agent`, in its own session (`setsid`), with
//! stdin, stdout and stderr on /dev/null: it outlives the command without holding its terminal
//! or the pipes of whoever ran the command. Nothing secret is passed at start: a keychain vault's
//! agent fetches its key itself, and a passphrase reaches the agent over its socket
//! ([`keyhaven_ipc::wire::Request::Unlock`]), never in its argv or environment.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyhaven_ipc::client::{self, Unusable};

use crate::error::{Error, Result};
use crate::paths::DataDir;

/// How long `unlock` waits for a freshly started agent to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What is listening on the socket, from this vault's point of view.
#[derive(Debug)]
pub enum Found {
    /// Nothing (or a dead agent's file).
    Nothing,
    /// An agent of this vault.
    Ours(client::Agent),
    /// An agent of another vault holds the socket.
    OtherVault(String),
    /// Something that is not a usable agent (another uid, another version, broken).
    Unusable(Unusable),
}

/// Looks at the socket.
pub fn probe(socket: &Path, dir: &DataDir) -> Found {
    match client::connect(socket) {
        Ok(agent) if agent.serves(dir.path()) => Found::Ours(agent),
        Ok(agent) => Found::OtherVault(agent.hello.vault_path.clone()),
        Err(Unusable::NoAgent) => Found::Nothing,
        Err(other) => Found::Unusable(other),
    }
}

/// Starts `exe agent ARGS...` detached. Its own output goes nowhere: it logs through tracing at
/// `KEYHAVEN_LOG` to /dev/null unless run by hand.
pub fn spawn(exe: &Path, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new(exe);
    cmd.arg("agent")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()
        .map(drop)
        .map_err(|e| Error::io(format!("cannot start {} agent", exe.display()), e))
}

/// Waits until an agent of this vault answers on `socket`.
pub fn wait_for(socket: &Path, dir: &DataDir) -> Result<client::Agent> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match probe(socket, dir) {
            Found::Ours(agent) => return Ok(agent),
            Found::OtherVault(path) => return Err(other_vault(socket, &path)),
            Found::Nothing | Found::Unusable(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Found::Nothing | Found::Unusable(_) => {
                return Err(Error::Agent {
                    reason: format!(
                        "the agent did not come up on {} within {} s (run `keyhaven agent` to \
                         see why)",
                        socket.display(),
                        START_TIMEOUT.as_secs()
                    ),
                });
            }
        }
    }
}

/// The error for a socket held by another vault's agent.
pub fn other_vault(socket: &Path, their_vault: &str) -> Error {
    Error::Agent {
        reason: format!(
            "the agent on {} serves another vault ({their_vault}); stop it with `keyhaven lock` \
             from that vault, or give this vault its own socket with KEYHAVEN_AGENT_SOCK",
            socket.display()
        ),
    }
}

/// Asks an agent of this vault, if one runs, to lock now (before a rekey, which needs the vault
/// to itself). True when one was locked.
pub fn lock_ours(socket: &Path, dir: &DataDir) -> bool {
    let Found::Ours(agent) = probe(socket, dir) else {
        return false;
    };
    let was_unlocked = !agent.hello.locked;
    let done = agent.ask::<keyhaven_ipc::wire::DoneReply>(
        &keyhaven_ipc::wire::Request::Lock,
        client::CONTROL_TIMEOUT,
    );
    was_unlocked && matches!(done, Ok(Ok(_)))
}

/// After a direct hand-out from a keychain vault: start an agent in the background when none
/// holds the socket, so the next hand-out is fast. Never fails the command: a problem is only
/// logged (the command already has its answer).
pub fn on_demand(exe: &Path, socket: &Path, dir: &DataDir) {
    if !super::Settings::load().unwrap_or_default().autostart() {
        return;
    }
    match probe(socket, dir) {
        Found::Nothing => {
            if let Err(e) = spawn(exe, &[]) {
                tracing::debug!(error = %e, "could not start an agent on demand");
            }
        }
        // Idle-locked (or hard-capped): a keychain vault's agent takes its key again, as the
        // direct path just did. An agent locked on purpose (`keyhaven lock`) stays locked.
        Found::Ours(agent) if agent.hello.locked => {
            let status = agent.ask::<keyhaven_ipc::wire::Status>(
                &keyhaven_ipc::wire::Request::Status,
                client::CONTROL_TIMEOUT,
            );
            let relock = matches!(&status, Ok(Ok(s)) if matches!(s.lock_reason.as_deref(), Some("idle" | "hard_cap")));
            if relock && let Found::Ours(agent) = probe(socket, dir) {
                let _ = agent.ask::<keyhaven_ipc::wire::DoneReply>(
                    &keyhaven_ipc::wire::Request::Unlock {
                        passphrase: None,
                        idle_secs: None,
                    },
                    client::CONTROL_TIMEOUT,
                );
            }
        }
        Found::Ours(_) | Found::OtherVault(_) | Found::Unusable(_) => {}
    }
}

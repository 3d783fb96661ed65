//! `keyhaven exec --with CONN --aws-server -- CMD`: the connection's AWS key served to the
//! command through the SDKs' container-credentials endpoint, so the key itself is never in the
//! command's environment (docs/tools.md, "AWS: the credentials server"; SEC-54).
//!
//! The AWS SDKs and CLI read `AWS_CONTAINER_CREDENTIALS_FULL_URI` (an `http://127.0.0.1:PORT/`
//! URL here: the SDKs accept plain http only to loopback) and send
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the `Authorization` header; the answer is
//! `{"AccessKeyId","SecretAccessKey","Token","Expiration"}` (note `Token`, not `SessionToken`),
//! errors `{"code","message"}` (AWS SDKs reference guide, "Container credential provider").
//!
//! What keeps other local processes out:
//! - a random 256-bit token, compared in constant time (by SHA-256 digest), known only to the
//!   command's environment (and its descendants: the SDKs' design);
//! - a request with an `Origin` header (a web page) or a `Host` other than `127.0.0.1:PORT`
//!   (DNS rebinding) is refused before the token is looked at;
//! - the server lives exactly as long as the command: the caller stops it when the command
//!   exits.
//!
//! Every answer is a hand-out through [`super::answer_now`]: audited (tool `aws`, the command's
//! pid and program), from the vault as it is at that moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::ToolQuery;
use crate::error::{Error, Result};
use crate::vault::{HandOutContext, Vault};

/// How long the SDKs are told a long-term key is good for: they ask again after this, and each
/// ask is audited (the key itself does not expire).
const LONG_TERM_LIFETIME_SECS: i64 = 3600;

/// A running credentials server.
pub struct AwsServer {
    url: String,
    token: Zeroizing<String>,
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AwsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsServer")
            .field("url", &self.url)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl AwsServer {
    /// Starts serving `conn`'s AWS key from `vault` on `127.0.0.1:0`. The connection must hold
    /// one (checked now, with a first hand-out that is not given to anyone: a wrong connection
    /// fails here, not in the command).
    pub fn start(mut vault: Vault, conn: &str) -> Result<AwsServer> {
        let query = ToolQuery {
            tool: "aws".into(),
            conn: Some(conn.to_string()),
            ..Default::default()
        };
        // Fails early (no AWS key, no such connection) without recording a hand-out.
        let resolved = super::resolve(&vault, &query)?;
        let def = vault.provider_def(&resolved.connection.provider)?;
        if def.tools.aws.is_none() {
            return Err(Error::BadInput(format!(
                "--aws-server: {} is a {} connection, which holds no AWS access key",
                resolved.connection.id, def.name
            )));
        }
        let server = tiny_http::Server::http(("127.0.0.1", 0)).map_err(|e| {
            Error::BadInput(format!("--aws-server: cannot open a loopback port: {e}"))
        })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| Error::BadInput("--aws-server: no loopback port".into()))?;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|_| Error::Random)?;
        let token = Zeroizing::new(hex::encode(raw));
        raw.fill(0);
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let host = format!("127.0.0.1:{port}");
        let expected = Sha256::digest(token.as_bytes());
        let thread = {
            let server = Arc::clone(&server);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    serve(&mut vault, &query, request, &host, expected.as_slice());
                }
            })
        };
        Ok(AwsServer {
            url: format!("http://127.0.0.1:{port}/"),
            token,
            stop,
            server,
            thread: Some(thread),
        })
    }

    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops serving (the command exited). Waits for the request in flight.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AwsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn json_header() -> tiny_http::Header {
    tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..])
        .expect("a valid header")
}

fn error(request: tiny_http::Request, status: u16, code: &str, message: &str) {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let _ = request.respond(
        tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(json_header()),
    );
}

fn header<'a>(request: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn serve(
    vault: &mut Vault,
    query: &ToolQuery,
    request: tiny_http::Request,
    host: &str,
    expected: &[u8],
) {
    if header(&request, "Origin").is_some() || header(&request, "Host") != Some(host) {
        return error(
            request,
            403,
            "Forbidden",
            "not a request from an AWS SDK on this machine",
        );
    }
    if *request.method() != tiny_http::Method::Get {
        return error(request, 405, "MethodNotAllowed", "GET only");
    }
    let presented = header(&request, "Authorization").unwrap_or("");
    if Sha256::digest(presented.as_bytes()).as_slice() != expected {
        return error(
            request,
            401,
            "Unauthorized",
            "missing or wrong AWS_CONTAINER_AUTHORIZATION_TOKEN",
        );
    }
    let peer_pid = request.remote_addr().and_then(|a| local_peer_pid(a.port()));
    vault.set_hand_out_context(HandOutContext {
        requester: peer_pid
            .map(keyhaven_ipc::peer::Requester::of_pid)
            .unwrap_or_default(),
        tool: Some("aws".into()),
    });
    match super::answer_now(vault, query) {
        Ok(reply) => {
            let expiration = reply.expires_at.clone().unwrap_or_else(|| {
                crate::audit::format_time(crate::clock::now() + LONG_TERM_LIFETIME_SECS)
            });
            let mut body = serde_json::Map::new();
            let field = |s: &str| serde_json::Value::String(s.to_string());
            body.insert(
                "AccessKeyId".into(),
                field(reply.fields.get("access_key_id").map_or("", |s| s.as_str())),
            );
            body.insert("SecretAccessKey".into(), field(&reply.token));
            // Always present: botocore (the AWS CLI) reads `Token` unconditionally; empty for a
            // long-term key, which every SDK then sends without a session token.
            body.insert(
                "Token".into(),
                field(reply.fields.get("session_token").map_or("", |s| s.as_str())),
            );
            body.insert("Expiration".into(), field(&expiration));
            let text = Zeroizing::new(serde_json::Value::Object(body).to_string());
            let _ = request.respond(
                tiny_http::Response::from_data(text.as_bytes().to_vec()).with_header(json_header()),
            );
        }
        Err(e) => error(request, 500, e.code(), &e.to_string()),
    }
}

/// The pid of the local process whose TCP socket has source port `port` (the SDK asking), from
/// `/proc/net/tcp` and the processes' descriptors. Best effort: `None` when not found.
fn local_peer_pid(port: u16) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = table.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        let local = cols.get(1)?;
        let p = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
        (p == port).then(|| cols.get(9).map(|s| s.to_string()))?
    })?;
    let needle = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == needle.as_str()) {
                return Some(pid);
            }
        }
    }
    None
}

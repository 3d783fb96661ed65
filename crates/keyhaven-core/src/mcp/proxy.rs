//! `keyhaven mcp-proxy CONN` (docs/mcp.md): a stdio MCP server for the client that runs it, which
//! forwards every message to the connection's remote MCP endpoint over Streamable HTTP (MCP
//! spec, "Transports") with a fresh bearer token.
//!
//! Messages are relayed as they are: each line from the client is POSTed as its body, and what
//! the server answers (a JSON body, or the messages of an SSE stream) is written back one per
//! line, byte for byte but for the line breaks JSON allows between tokens (a stdio message must
//! be one line). The proxy reads only what it must: the `id` (to answer an error in the
//! client's terms), the `initialize` result's `protocolVersion` (sent as `MCP-Protocol-Version`
//! from then on) and the `Mcp-Session-Id` header (kept and sent with every request). This is why
//! it does not parse messages into the `rmcp` SDK's types: a field that SDK version does not
//! know would be lost on the way, and a client and server newer than Keyhaven must still
//! understand each other.
//!
//! Per request:
//! - the token comes from [`TokenSource`] (the agent, else the vault), kept in memory until it is
//!   near its expiry, so a request costs no vault read and one hand-out is audited per token;
//! - a 401 means the token was refused: it is reported ([`TokenSource::refused`], which marks it
//!   stale and refreshes once, across processes), and the request is sent once more with the new
//!   one. The client sees nothing of it;
//! - a refresh that fails (a revoked grant: the connection is now `needs_reauth`) or a second 401
//!   answers the request with a JSON-RPC error saying how to reconnect;
//! - a 403 `insufficient_scope` answers with the scope the server asked for and the
//!   `keyhaven connect` line that asks for it;
//! - a 404 on a request that carried the session id means the server forgot the session: the
//!   client's own `initialize` is replayed (a new session), then the request is sent again.
//!
//! After `notifications/initialized`, a GET stream carries the server's own messages
//! (notifications, requests to the client) when the server offers one (405: it does not);
//! it is resumed with `Last-Event-ID` when it drops. When the client closes stdin, the session is
//! ended with a DELETE and the proxy exits.

use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use super::sse;
use crate::error::{Error, HttpFailure, Result};

/// The largest message accepted either way (a line from the client, a JSON body, an SSE event).
pub const MAX_MESSAGE: usize = 32 * 1024 * 1024;

/// A token is renewed this long before its expiry.
const MARGIN_SECS: i64 = 30;

/// JSON-RPC error codes the proxy answers with (the implementation-defined range).
pub mod codes {
    /// The remote server could not be reached or answered something unusable.
    pub const UPSTREAM: i64 = -32000;
    /// No usable token: the grant was revoked, the vault is locked, the server keeps refusing.
    pub const AUTH: i64 = -32001;
    /// The server wants a scope the connection was not granted.
    pub const INSUFFICIENT_SCOPE: i64 = -32002;
    /// The client's line is not JSON (the standard parse error).
    pub const PARSE: i64 = -32700;
}

/// A token and until when it may be used.
pub struct Token {
    /// The bearer token.
    pub secret: Zeroizing<String>,
    /// Its expiry (Unix seconds), when known.
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where the proxy's tokens come from (the CLI: the agent, else the vault).
pub trait TokenSource: Send {
    /// A currently valid token (refreshed first when needed). The error is one line for the
    /// person, naming what to do.
    fn token(&mut self) -> std::result::Result<Token, String>;
    /// The server refused `token` (401): mark it stale if it is still the stored one and
    /// return the next, refreshed once.
    fn refused(&mut self, token: &str) -> std::result::Result<Token, String>;
}

/// What the proxy needs to know besides the token source.
#[derive(Debug, Clone)]
pub struct Options {
    /// The MCP endpoint.
    pub endpoint: url::Url,
    /// The connection (for messages: `keyhaven connect ...` to reconnect it).
    pub connection_id: String,
    /// What `keyhaven connect` takes to connect it again (its provider, or the URL).
    pub reconnect: String,
}

/// Runs the proxy until `input` ends: the client's messages from `input`, the server's to
/// `output`.
pub fn run(
    opts: Options,
    tokens: Box<dyn TokenSource>,
    input: impl BufRead,
    output: Box<dyn Write + Send>,
) -> Result<()> {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(None)
        .tcp_nodelay(true)
        .user_agent(concat!("keyhaven/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Http {
            what: "HTTP client".into(),
            kind: HttpFailure::Local,
            reason: e.to_string(),
        })?;
    let relay = Arc::new(Relay {
        opts,
        http,
        tokens: Mutex::new(Tokens {
            source: tokens,
            current: None,
            obtained_at: 0,
        }),
        session: Mutex::new(None),
        protocol_version: Mutex::new(None),
        initialize: Mutex::new(None),
        out: Mutex::new(output),
        listening: AtomicBool::new(false),
    });
    read_client(&relay, input);
    relay.end_session();
    Ok(())
}

struct Tokens {
    source: Box<dyn TokenSource>,
    current: Option<Token>,
    /// When the current token was obtained (its lifetime bounds the margin).
    obtained_at: i64,
}

impl Tokens {
    fn get(&mut self) -> std::result::Result<Zeroizing<String>, String> {
        let now = crate::clock::now();
        let obtained = self.obtained_at;
        // Renewed MARGIN_SECS before expiry, or at half its life for a shorter-lived token.
        let usable = self.current.as_ref().is_some_and(|t| {
            t.expires_at
                .is_none_or(|e| now < e - MARGIN_SECS.min((e - obtained).max(0) / 2))
        });
        if !usable {
            self.current = Some(self.source.token()?);
            self.obtained_at = now;
        }
        Ok(self
            .current
            .as_ref()
            .map(|t| t.secret.clone())
            .unwrap_or_default())
    }

    fn refused(&mut self, token: &str) -> std::result::Result<Zeroizing<String>, String> {
        // Another request may have renewed it meanwhile: use that one.
        if let Some(t) = &self.current
            && t.secret.as_str() != token
        {
            return Ok(t.secret.clone());
        }
        self.current = None;
        let next = self.source.refused(token)?;
        let secret = next.secret.clone();
        self.current = Some(next);
        self.obtained_at = crate::clock::now();
        Ok(secret)
    }
}

struct Relay {
    opts: Options,
    http: reqwest::blocking::Client,
    tokens: Mutex<Tokens>,
    session: Mutex<Option<String>>,
    protocol_version: Mutex<Option<String>>,
    /// The client's `initialize` request and its `notifications/initialized`, replayed when
    /// the server forgot the session.
    initialize: Mutex<Option<(String, Option<String>)>>,
    out: Mutex<Box<dyn Write + Send>>,
    listening: AtomicBool,
}

/// What became of one message.
enum Outcome {
    Done,
    /// The server's answer to a request that carried a session id was 404.
    SessionGone,
    /// The request failed: answer the client with this error.
    Failed(i64, String),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Relays the client's messages until its input ends, then waits for the requests still in
/// flight (an MCP client that closes stdin waits for the server to exit, and may end it sooner
/// with SIGTERM).
fn read_client(relay: &Arc<Relay>, input: impl BufRead) {
    let mut in_flight = Vec::new();
    relay_lines(relay, input, &mut in_flight);
    for handle in in_flight {
        let _ = handle.join();
    }
}

fn relay_lines(
    relay: &Arc<Relay>,
    mut input: impl BufRead,
    in_flight: &mut Vec<std::thread::JoinHandle<()>>,
) {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match input
            .by_ref()
            .take(MAX_MESSAGE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) => {
                eprintln!("keyhaven mcp-proxy: reading from the client: {e}");
                return;
            }
        };
        if n > MAX_MESSAGE {
            relay.reply_error(
                &Value::Null,
                codes::PARSE,
                &format!("a message is larger than {} MiB", MAX_MESSAGE >> 20),
            );
            // Skip the rest of that line.
            let _ = input.skip_until(b'\n');
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let msg: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                relay.reply_error(&Value::Null, codes::PARSE, &format!("Parse error: {e}"));
                continue;
            }
        };
        let body = text.to_string();
        let method = msg
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = msg.get("id").cloned();
        let is_request = method.is_some() && id.is_some();
        if method.as_deref() == Some("initialize") {
            *lock(&relay.initialize) = Some((body.clone(), None));
        }
        if method.as_deref() == Some("notifications/initialized")
            && let Some((_, done)) = lock(&relay.initialize).as_mut()
        {
            *done = Some(body.clone());
        }
        if is_request {
            // Requests run side by side: a long tool call does not hold up the next one.
            let relay = Arc::clone(relay);
            let id = id.unwrap_or(Value::Null);
            in_flight.retain(|h| !h.is_finished());
            in_flight.push(std::thread::spawn(move || relay.forward(&body, Some(&id))));
        } else {
            // Notifications and the client's answers go in order.
            relay.forward(&body, None);
            if method.as_deref() == Some("notifications/initialized")
                && !relay.listening.swap(true, Ordering::SeqCst)
            {
                let relay = Arc::clone(relay);
                std::thread::spawn(move || relay.listen());
            }
        }
    }
}

impl Relay {
    /// Sends one message, answering the client with an error when it cannot be delivered.
    fn forward(&self, body: &str, id: Option<&Value>) {
        let mut outcome = self.post(body, id, true);
        if matches!(outcome, Outcome::SessionGone) {
            outcome = match self.reinitialize() {
                Ok(()) => self.post(body, id, true),
                Err(e) => Outcome::Failed(codes::UPSTREAM, e),
            };
        }
        let (code, message) = match outcome {
            Outcome::Done => return,
            Outcome::SessionGone => (
                codes::UPSTREAM,
                "the server ended the MCP session and did not take a new one".to_string(),
            ),
            Outcome::Failed(code, message) => (code, message),
        };
        match id {
            Some(id) => self.reply_error(id, code, &message),
            None => eprintln!("keyhaven mcp-proxy: {message}"),
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        token: &str,
        with_session: bool,
    ) -> reqwest::blocking::RequestBuilder {
        let mut req = self
            .http
            .request(method, self.opts.endpoint.as_str())
            .bearer_auth(token);
        if with_session && let Some(s) = lock(&self.session).as_deref() {
            req = req.header("Mcp-Session-Id", s);
        }
        if let Some(v) = lock(&self.protocol_version).as_deref() {
            req = req.header("MCP-Protocol-Version", v);
        }
        req
    }

    /// POSTs `body`; with `deliver`, what the server answers goes to the client.
    fn post(&self, body: &str, id: Option<&Value>, deliver: bool) -> Outcome {
        let is_initialize = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("method").and_then(Value::as_str).map(str::to_string))
            .as_deref()
            == Some("initialize");
        let mut token = match lock(&self.tokens).get() {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(codes::AUTH, self.auth_message(&e)),
        };
        let mut retried = false;
        loop {
            let had_session = !is_initialize && lock(&self.session).is_some();
            let resp = self
                .request(reqwest::Method::POST, &token, !is_initialize)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .body(body.to_string())
                .send();
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    return Outcome::Failed(
                        codes::UPSTREAM,
                        format!("could not reach {}: {}", self.opts.endpoint, plain(&e)),
                    );
                }
            };
            match resp.status().as_u16() {
                401 if !retried => {
                    retried = true;
                    token = match lock(&self.tokens).refused(&token) {
                        Ok(t) => t,
                        Err(e) => return Outcome::Failed(codes::AUTH, self.auth_message(&e)),
                    };
                    continue;
                }
                401 => {
                    return Outcome::Failed(
                        codes::AUTH,
                        self.auth_message(&format!(
                            "{} refused a freshly renewed token",
                            self.opts.endpoint
                        )),
                    );
                }
                403 => {
                    let (code, message) = self.forbidden(&resp);
                    return Outcome::Failed(code, message);
                }
                404 if had_session => return Outcome::SessionGone,
                202 => return Outcome::Done,
                200 => {}
                s => {
                    return Outcome::Failed(
                        codes::UPSTREAM,
                        format!("{} answered HTTP {s}", self.opts.endpoint),
                    );
                }
            }
            if is_initialize
                && let Some(s) = resp
                    .headers()
                    .get("mcp-session-id")
                    .and_then(|v| v.to_str().ok())
                    .filter(|s| s.bytes().all(|b| (0x21..=0x7e).contains(&b)))
            {
                *lock(&self.session) = Some(s.to_string());
            }
            return self.answer(resp, id, deliver);
        }
    }

    /// The server's answer to a POST: one JSON message, or an SSE stream of them.
    fn answer(
        &self,
        resp: reqwest::blocking::Response,
        id: Option<&Value>,
        deliver: bool,
    ) -> Outcome {
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("text/event-stream") {
            return self.stream(resp, id, deliver);
        }
        let mut body = Vec::new();
        if let Err(e) = resp.take(MAX_MESSAGE as u64 + 1).read_to_end(&mut body) {
            return Outcome::Failed(
                codes::UPSTREAM,
                format!("reading the answer: {}", plain(&e)),
            );
        }
        if body.len() > MAX_MESSAGE {
            return Outcome::Failed(
                codes::UPSTREAM,
                format!("the answer is larger than {} MiB", MAX_MESSAGE >> 20),
            );
        }
        let text = String::from_utf8_lossy(&body);
        if text.trim().is_empty() {
            return Outcome::Done;
        }
        match self.deliver(&text, deliver) {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Failed(codes::UPSTREAM, e),
        }
    }

    /// Relays an SSE stream's messages until it ends; resumes it (GET with `Last-Event-ID`)
    /// when it drops before the answer to `id` came.
    fn stream(
        &self,
        resp: reqwest::blocking::Response,
        id: Option<&Value>,
        deliver: bool,
    ) -> Outcome {
        let mut reader = sse::Reader::new(std::io::BufReader::new(resp), MAX_MESSAGE);
        let mut retry = Duration::from_secs(1);
        let mut attempts = 0;
        loop {
            let mut answered = false;
            loop {
                match reader.next_event() {
                    Ok(Some(ev)) => {
                        if let Some(ms) = ev.retry {
                            retry = Duration::from_millis(ms.min(10_000));
                        }
                        if ev.data.trim().is_empty() {
                            continue;
                        }
                        match self.deliver(&ev.data, deliver) {
                            Ok(msg) => {
                                if id.is_some_and(|id| answers(&msg, id)) {
                                    answered = true;
                                }
                            }
                            Err(e) => eprintln!("keyhaven mcp-proxy: {e}"),
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("keyhaven mcp-proxy: the stream broke: {e}");
                        break;
                    }
                }
            }
            // Nothing is awaited (a notification's stream, or the answer came): done.
            if id.is_none() || answered {
                return Outcome::Done;
            }
            let Some(last) = reader.last_id().map(str::to_string) else {
                return Outcome::Failed(
                    codes::UPSTREAM,
                    format!("{} closed the stream before answering", self.opts.endpoint),
                );
            };
            attempts += 1;
            if attempts > 3 {
                return Outcome::Failed(
                    codes::UPSTREAM,
                    format!("{} kept dropping the stream", self.opts.endpoint),
                );
            }
            std::thread::sleep(retry);
            match self.get_stream(Some(&last)) {
                Ok(Some(r)) => {
                    reader = sse::Reader::new(std::io::BufReader::new(r), MAX_MESSAGE);
                }
                Ok(None) | Err(_) => {
                    return Outcome::Failed(
                        codes::UPSTREAM,
                        format!(
                            "{} closed the stream and could not resume it",
                            self.opts.endpoint
                        ),
                    );
                }
            }
        }
    }

    /// Writes one server message to the client (with `deliver`), and notes the protocol
    /// version an `initialize` answer carries. Returns the message.
    fn deliver(&self, text: &str, deliver: bool) -> std::result::Result<Value, String> {
        let msg: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "{} sent a message that is not JSON ({e}): dropped",
                self.opts.endpoint
            )
        })?;
        if let Some(v) = msg
            .get("result")
            .and_then(|r| r.get("protocolVersion"))
            .and_then(Value::as_str)
            && msg.get("id").is_some()
            && is_initialize_answer(&msg, &self.initialize)
        {
            *lock(&self.protocol_version) = Some(v.to_string());
        }
        if deliver {
            // Valid JSON holds line breaks only between tokens: removing them changes nothing.
            let line: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
            let mut out = lock(&self.out);
            let _ = out
                .write_all(line.trim().as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
        }
        Ok(msg)
    }

    fn reply_error(&self, id: &Value, code: i64, message: &str) {
        let msg = serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": format!("keyhaven: {message}")},
        });
        let mut out = lock(&self.out);
        let _ = writeln!(out, "{msg}").and_then(|()| out.flush());
    }

    fn auth_message(&self, reason: &str) -> String {
        if reason.contains("keyhaven connect") {
            return format!("no usable token for {}: {reason}", self.opts.connection_id);
        }
        format!(
            "no usable token for {}: {reason}. To sign in again: keyhaven connect {}",
            self.opts.connection_id, self.opts.reconnect
        )
    }

    /// A 403's error: `insufficient_scope` with the scope asked for, else the status.
    fn forbidden(&self, resp: &reqwest::blocking::Response) -> (i64, String) {
        let challenge = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.to_ascii_lowercase().starts_with("bearer"))
            .unwrap_or("");
        let params = crate::by_url::challenge_params(challenge);
        if params.get("error").map(String::as_str) != Some("insufficient_scope") {
            return (
                codes::UPSTREAM,
                format!("{} answered HTTP 403 (forbidden)", self.opts.endpoint),
            );
        }
        let scope = params.get("scope").cloned().unwrap_or_default();
        let flags: Vec<String> = scope
            .split_whitespace()
            .map(|s| format!("--scope {s}"))
            .collect();
        (
            codes::INSUFFICIENT_SCOPE,
            if scope.is_empty() {
                format!(
                    "{} needs a scope {} was not granted (insufficient_scope). To sign in again: \
                     keyhaven connect {}",
                    self.opts.endpoint, self.opts.connection_id, self.opts.reconnect
                )
            } else {
                format!(
                    "{} needs the scope \"{scope}\", which {} was not granted \
                     (insufficient_scope). To sign in again with it: keyhaven connect {} {}",
                    self.opts.endpoint,
                    self.opts.connection_id,
                    self.opts.reconnect,
                    flags.join(" ")
                )
            },
        )
    }

    /// The server forgot the session (404): a new one, with the client's own `initialize`
    /// and `notifications/initialized`, whose answers the client already has.
    fn reinitialize(&self) -> std::result::Result<(), String> {
        let Some((init, initialized)) = lock(&self.initialize).clone() else {
            return Err("the server ended the MCP session before it was initialized".into());
        };
        *lock(&self.session) = None;
        match self.post(&init, None, false) {
            Outcome::Done => {}
            Outcome::SessionGone => return Err("the server refused a new session".into()),
            Outcome::Failed(_, e) => return Err(e),
        }
        if let Some(done) = initialized
            && let Outcome::Failed(_, e) = self.post(&done, None, false)
        {
            return Err(e);
        }
        Ok(())
    }

    /// A GET stream for the server's own messages (`None`: the server offers none).
    fn get_stream(
        &self,
        last_event_id: Option<&str>,
    ) -> std::result::Result<Option<reqwest::blocking::Response>, String> {
        let mut token = lock(&self.tokens).get()?;
        let mut retried = false;
        loop {
            let mut req = self
                .request(reqwest::Method::GET, &token, true)
                .header("Accept", "text/event-stream");
            if let Some(id) = last_event_id {
                req = req.header("Last-Event-ID", id);
            }
            let resp = req.send().map_err(|e| plain(&e))?;
            match resp.status().as_u16() {
                200 => return Ok(Some(resp)),
                401 if !retried => {
                    retried = true;
                    token = lock(&self.tokens).refused(&token)?;
                }
                405 => return Ok(None),
                s => return Err(format!("HTTP {s}")),
            }
        }
    }

    /// The server's own messages, for as long as the proxy runs.
    fn listen(&self) {
        let mut last: Option<String> = None;
        let mut pause = Duration::from_secs(1);
        loop {
            match self.get_stream(last.as_deref()) {
                Ok(None) => return,
                Ok(Some(resp)) => {
                    pause = Duration::from_secs(1);
                    let mut reader = sse::Reader::new(std::io::BufReader::new(resp), MAX_MESSAGE);
                    while let Ok(Some(ev)) = reader.next_event() {
                        if let Some(ms) = ev.retry {
                            pause = Duration::from_millis(ms.min(30_000));
                        }
                        if !ev.data.trim().is_empty()
                            && let Err(e) = self.deliver(&ev.data, true)
                        {
                            eprintln!("keyhaven mcp-proxy: {e}");
                        }
                    }
                    last = reader.last_id().map(str::to_string).or(last);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the server's stream is unavailable");
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
            std::thread::sleep(pause);
        }
    }

    /// The client went away: end the session at the server (best effort, 2 s).
    fn end_session(&self) {
        let Some(session) = lock(&self.session).clone() else {
            return;
        };
        let Ok(token) = lock(&self.tokens).get() else {
            return;
        };
        let _ = self
            .http
            .delete(self.opts.endpoint.as_str())
            .bearer_auth(token.as_str())
            .header("Mcp-Session-Id", session)
            .timeout(Duration::from_secs(2))
            .send();
    }
}

/// Whether `msg` is the answer (result or error) to the request `id`.
fn answers(msg: &Value, id: &Value) -> bool {
    msg.get("id") == Some(id) && (msg.get("result").is_some() || msg.get("error").is_some())
}

fn is_initialize_answer(msg: &Value, init: &Mutex<Option<(String, Option<String>)>>) -> bool {
    let Some((body, _)) = lock(init).clone() else {
        return false;
    };
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .is_some_and(|id| msg.get("id") == Some(&id))
}

/// An error's text without what reqwest adds that is not for the person (its source chain).
fn plain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

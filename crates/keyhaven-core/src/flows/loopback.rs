//! The loopback redirect listener (RFC 8252 §7.3; SEC-14, SEC-15).
//!
//! Bound to `127.0.0.1` on port 0 (the OS picks a free port; std never sets `SO_REUSEPORT`), open
//! only while its flow waits, closed after one valid callback or on timeout. Request hygiene:
//! only `GET /callback` with `Host: 127.0.0.1:PORT` is processed; anything else (other paths,
//! methods, hosts, decoys with a wrong state) gets a static error page and the listener keeps
//! waiting for the real callback. Pages are static, escape what they show, never redirect, and
//! send `Referrer-Policy: no-referrer`, `Cache-Control: no-store` and a CSP that allows nothing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;

/// A bound loopback listener.
pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

/// What the handler decided for one callback request.
pub enum Reply {
    /// The flow finished (successfully or not): show this page and close.
    Done {
        /// Whether it succeeded.
        ok: bool,
        /// One line for the page (escaped on output).
        message: String,
    },
    /// A request to reject without ending the flow (wrong state, decoy).
    Reject(String),
}

impl Loopback {
    /// Binds `127.0.0.1:0`.
    pub fn bind() -> Result<Loopback> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| Error::io("cannot open a loopback port for the redirect", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("loopback listener", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("loopback listener", e))?
            .port();
        Ok(Loopback { listener, port })
    }

    /// The port chosen by the OS.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redirect URI to register in the authorization request.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Serves requests until `handle` returns [`Reply::Done`], `should_stop` returns true, or
    /// `deadline` passes. `handle` gets the full callback URL. Returns whether a callback ended it.
    pub fn serve(
        self,
        deadline: Instant,
        handle: &mut dyn FnMut(&str) -> Reply,
        should_stop: &mut dyn FnMut() -> bool,
    ) -> Result<bool> {
        let mut last_check = Instant::now();
        loop {
            if Instant::now() >= deadline {
                return Ok(false);
            }
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    if !peer.ip().is_loopback() {
                        continue; // cannot happen on a 127.0.0.1 bind; belt and braces
                    }
                    if self.handle_one(stream, handle) {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(Error::io("loopback listener", e)),
            }
            if last_check.elapsed() >= Duration::from_millis(250) {
                last_check = Instant::now();
                if should_stop() {
                    return Ok(false);
                }
            }
        }
    }

    /// Handles one connection; true when the flow is done.
    fn handle_one(&self, mut stream: TcpStream, handle: &mut dyn FnMut(&str) -> Reply) -> bool {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let Some(head) = read_head(&mut stream) else {
            respond(
                &mut stream,
                400,
                "Bad request",
                "This request could not be read.",
            );
            return false;
        };
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let host = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let expected_host = format!("127.0.0.1:{}", self.port);
        if host != expected_host {
            respond(&mut stream, 400, "Bad request", "Unexpected Host header.");
            return false;
        }
        let path = target.split('?').next().unwrap_or("");
        if path != "/callback" {
            respond(&mut stream, 404, "Not found", "Nothing here.");
            return false;
        }
        if method != "GET" {
            respond(
                &mut stream,
                405,
                "Method not allowed",
                "Only the browser's redirect is accepted here.",
            );
            return false;
        }
        let url = format!("http://{expected_host}{target}");
        match handle(&url) {
            Reply::Done { ok: true, message } => {
                respond(
                    &mut stream,
                    200,
                    "Connected",
                    &format!("{message} You can close this tab and return to Keyhaven."),
                );
                true
            }
            Reply::Done { ok: false, message } => {
                respond(
                    &mut stream,
                    400,
                    "Sign-in failed",
                    &format!("{message} You can close this tab."),
                );
                true
            }
            Reply::Reject(message) => {
                respond(&mut stream, 400, "Bad request", &message);
                false
            }
        }
    }
}

fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

/// Writes a static page: escaped text, no scripts, no redirects, no referrer.
fn respond(stream: &mut TcpStream, status: u16, title: &str, message: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Keyhaven — {t}</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em;color:#1d1d1f}}\
         h1{{font-size:1.4em}}</style></head><body><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape(title),
        m = escape(message)
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// HTML-escapes text.
pub(crate) fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '&' => "&amp;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

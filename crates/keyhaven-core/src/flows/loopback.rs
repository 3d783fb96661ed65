//! The loopback redirect listener (RFC 8252 §7.3; SEC-14, SEC-15).
//!
//! Bound to `127.0.0.1` on port 0 (the OS picks a free port; std never sets `SO_REUSEPORT`), open
//! only while its flow waits, closed after one valid callback or on timeout. Request hygiene:
//! only `GET /callback` with `Host: 127.0.0.1:PORT` is processed; anything else (other paths,
//! methods, hosts, decoys with a wrong state) gets a static error page and the listener keeps
//! waiting for the real callback. Pages are static, escape what they show, never redirect, and
//! send `Referrer-Policy: no-referrer`, `Cache-Control: no-store` and a CSP that allows nothing.
//!
//! **No local process can stall a sign-in (SEC-48).** Any process on the machine can connect to
//! the port. Each connection is read on its own thread, within [`READ_BUDGET`] and
//! [`MAX_REQUEST`] bytes, at most [`MAX_CONNECTIONS`] at a time, so connections that send
//! nothing (or trickle) cannot hold up the browser's real request. Only complete, well-formed
//! callback requests reach the flow, one at a time, on the serving thread (which owns the vault).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;
/// How long one connection may take to send its request head, in all.
const READ_BUDGET: Duration = Duration::from_secs(5);
/// Connections read at the same time; more are closed at once.
const MAX_CONNECTIONS: usize = 32;

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
        Loopback::bind_at(None)
    }

    /// Binds `127.0.0.1:PORT`, or a port the OS picks: a provider that matches the redirect
    /// exactly needs the port registered with it (`loopback_port`).
    pub fn bind_at(port: Option<u16>) -> Result<Loopback> {
        let listener =
            TcpListener::bind(("127.0.0.1", port.unwrap_or(0))).map_err(|e| match port {
                Some(p) => Error::io(
                    format!(
                        "cannot open loopback port {p}, the one this provider's redirect is \
                         registered with (another sign-in, or another program, is using it)"
                    ),
                    e,
                ),
                None => Error::io("cannot open a loopback port for the redirect", e),
            })?;
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
        let (tx, rx) = mpsc::channel::<(String, TcpStream)>();
        let active = Arc::new(AtomicUsize::new(0));
        let expected_host = format!("127.0.0.1:{}", self.port);
        let mut last_check = Instant::now();
        loop {
            if Instant::now() >= deadline {
                return Ok(false);
            }
            // Take every waiting connection; each is read on its own thread.
            loop {
                match self.listener.accept() {
                    Ok((stream, peer)) => {
                        if !peer.ip().is_loopback() {
                            continue; // cannot happen on a 127.0.0.1 bind; belt and braces
                        }
                        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                            drop(stream); // too many at once: closed unread
                            continue;
                        }
                        active.fetch_add(1, Ordering::SeqCst);
                        let (tx, active, host) =
                            (tx.clone(), active.clone(), expected_host.clone());
                        std::thread::spawn(move || {
                            if let Some(callback) = read_callback(stream, &host) {
                                let _ = tx.send(callback);
                            }
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(Error::io("loopback listener", e)),
                }
            }
            // Well-formed callbacks, one at a time, here (the handler owns the vault).
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok((url, mut stream)) => {
                    if answer(&mut stream, handle(&url)) {
                        return Ok(true);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("we hold a sender"),
            }
            if last_check.elapsed() >= Duration::from_millis(250) {
                last_check = Instant::now();
                if should_stop() {
                    return Ok(false);
                }
            }
        }
    }
}

/// Reads one request within the budget and checks its shape. A well-formed `GET /callback`
/// comes back with its URL (and the stream, for the answer); anything else is answered here.
fn read_callback(mut stream: TcpStream, expected_host: &str) -> Option<(String, TcpStream)> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(head) = read_head(&mut stream, Instant::now() + READ_BUDGET) else {
        respond(
            &mut stream,
            400,
            "Bad request",
            "This request could not be read.",
        );
        return None;
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
    if host != expected_host {
        respond(&mut stream, 400, "Bad request", "Unexpected Host header.");
        return None;
    }
    let path = target.split('?').next().unwrap_or("");
    if path != "/callback" {
        respond(&mut stream, 404, "Not found", "Nothing here.");
        return None;
    }
    if method != "GET" {
        respond(
            &mut stream,
            405,
            "Method not allowed",
            "Only the browser's redirect is accepted here.",
        );
        return None;
    }
    Some((format!("http://{expected_host}{target}"), stream))
}

/// Answers a callback with the handler's page; true when the flow is done.
fn answer(stream: &mut TcpStream, reply: Reply) -> bool {
    match reply {
        Reply::Done { ok: true, message } => {
            respond(
                stream,
                200,
                "Connected",
                &format!("{message} You can close this tab and return to Keyhaven."),
            );
            true
        }
        Reply::Done { ok: false, message } => {
            respond(
                stream,
                400,
                "Sign-in failed",
                &format!("{message} You can close this tab."),
            );
            true
        }
        Reply::Reject(message) => {
            respond(stream, 400, "Bad request", &message);
            false
        }
    }
}

/// The request head, read until `deadline` (in all, however slowly it trickles in).
fn read_head(stream: &mut TcpStream, deadline: Instant) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that matches the redirect exactly gets the port registered with it; a second
    /// sign-in while the port is taken is refused with the reason, not a random port.
    #[test]
    fn a_fixed_port_is_bound_or_refused_with_why() {
        let free = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let lb = Loopback::bind_at(Some(free)).unwrap();
        assert_eq!(
            lb.redirect_uri(),
            format!("http://127.0.0.1:{free}/callback")
        );
        let err = Loopback::bind_at(Some(free)).err().unwrap().to_string();
        assert!(err.contains(&format!("loopback port {free}")), "{err}");
        drop(lb);
        assert_ne!(Loopback::bind_at(None).unwrap().port(), 0);
    }

    /// SEC-48: connections that send nothing do not hold up the browser's request. The
    /// callback is served while every stalled connection is still open (with one reader at a
    /// time, the first stall would have been read to its timeout and closed first).
    #[test]
    fn stalled_connections_do_not_block_the_callback() {
        let lb = Loopback::bind().unwrap();
        let port = lb.port();
        let stalls: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let browser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                s,
                "GET /callback?state=s&code=c HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            )
            .unwrap();
            let mut page = String::new();
            s.read_to_string(&mut page).unwrap();
            page
        });
        let mut seen = vec![];
        let done = lb
            .serve(
                Instant::now() + Duration::from_secs(20),
                &mut |url| {
                    seen.push(url.to_string());
                    Reply::Done {
                        ok: true,
                        message: "ok.".into(),
                    }
                },
                &mut || false,
            )
            .unwrap();
        assert!(done);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].ends_with("/callback?state=s&code=c"));
        assert!(browser.join().unwrap().starts_with("HTTP/1.1 200"));
        for mut s in stalls {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            let r = s.read(&mut b);
            assert!(
                matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
                "a stalled connection was already answered or closed: {r:?}"
            );
        }
    }

    #[test]
    fn a_trickling_client_is_cut_off_after_the_read_budget() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            // One byte every 300 ms would keep a per-read timeout alive forever.
            for _ in 0..40 {
                if s.write_all(b"G").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        let (mut stream, _) = listener.accept().unwrap();
        let started = Instant::now();
        assert!(read_head(&mut stream, Instant::now() + Duration::from_secs(1)).is_none());
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(stream);
        client.join().unwrap();
    }
}

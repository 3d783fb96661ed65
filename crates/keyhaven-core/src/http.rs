//! The one HTTP client configuration every network call in core uses.
//!
//! - rustls with the platform's webpki roots; strict certificate checks (SEC-36);
//! - never follows redirects: a token endpoint that redirects would carry the code or the client
//!   secret somewhere else (docs/design.md, Flows);
//! - connect timeout 5 s, whole request 15 s, so every call fails within budget;
//! - response bodies capped at 1 MiB (SEC-33): a larger body is an error, not a memory spike.
//!
//! Error messages name the request and the reason (status, timeout, DNS, TLS) and never include
//! a URL query, header or body that could hold a secret.

use std::io::Read;
use std::time::Duration;

use crate::error::{Error, HttpFailure, Result};

/// Connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest response body accepted.
pub const MAX_BODY: u64 = 1024 * 1024;

/// Builds the client. Cheap enough to build per operation; reuse it within one.
pub fn client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("keyhaven/", env!("CARGO_PKG_VERSION")))
        .https_only(false) // http is refused earlier, except for loopback hosts
        .build()
        .map_err(|e| Error::Http {
            what: "HTTP client".into(),
            kind: HttpFailure::Local,
            reason: e.to_string(),
        })
}

/// A response read whole (status, content type, body up to [`MAX_BODY`]).
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header, lowercased.
    pub content_type: String,
    /// `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// `Date` header, if any (the server's clock, for skew diagnosis).
    pub date: Option<String>,
    /// `WWW-Authenticate` header, if any, as sent (RFC 9728 discovery reads its parameters).
    pub www_authenticate: Option<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the body claims to be JSON.
    pub fn is_json(&self) -> bool {
        self.content_type.contains("json")
    }
}

/// An answer that arrived but is not what the protocol says (not JSON, fields missing).
pub fn malformed(what: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Http {
        what: what.into(),
        kind: HttpFailure::Malformed,
        reason: reason.into(),
    }
}

/// Sends a request and reads the response, mapping transport failures to [`Error::Http`].
pub fn send(what: &str, req: reqwest::blocking::RequestBuilder) -> Result<Response> {
    let resp = req.send().map_err(|e| transport_error(what, &e))?;
    let status = resp.status().as_u16();
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let www_authenticate = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    resp.take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            // The request was sent and the answer broke off: unless it was our own timeout, the
            // server may have acted on it (a rotated refresh token, SEC-30).
            if e.kind() == std::io::ErrorKind::TimedOut || e.to_string().contains("timed out") {
                Error::Http {
                    what: what.into(),
                    kind: HttpFailure::Timeout,
                    reason: "the server stopped answering (timeout)".into(),
                }
            } else {
                Error::Http {
                    what: what.into(),
                    kind: HttpFailure::Dropped,
                    reason: format!("reading the response failed: {e}"),
                }
            }
        })?;
    if body.len() as u64 > MAX_BODY {
        return Err(Error::Http {
            what: what.into(),
            kind: HttpFailure::TooLarge,
            reason: "the response is larger than 1 MiB".into(),
        });
    }
    Ok(Response {
        status,
        content_type,
        retry_after,
        date,
        www_authenticate,
        body,
    })
}

/// A readable reason for a transport failure, without the URL (which may carry a query).
pub fn transport_error(what: &str, e: &reqwest::Error) -> Error {
    // The whole chain of causes: the blocking client reports some timeouts only there
    // ("error sending request … operation timed out") without `is_timeout()`.
    let mut chain = e.to_string();
    if let Some(url) = e.url() {
        chain = chain.replace(url.as_str(), "the server");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        chain = format!("{chain}: {inner}");
        src = inner.source();
    }
    let (kind, reason) = if e.is_timeout() || chain.contains("timed out") {
        (
            HttpFailure::Timeout,
            "no answer in time (timeout)".to_string(),
        )
    } else if e.is_connect() {
        (
            HttpFailure::Connect,
            "could not connect (network down, DNS, refused, or TLS failure)".to_string(),
        )
    } else if e.is_redirect() {
        (
            HttpFailure::Malformed,
            "the server answered with a redirect, which Keyhaven does not follow here".to_string(),
        )
    } else if e.is_request() {
        // Connected, and the exchange broke: the request may have reached the server.
        (HttpFailure::Dropped, chain)
    } else {
        (HttpFailure::Local, chain)
    };
    Error::Http {
        what: what.into(),
        kind,
        reason,
    }
}

/// Describes an unexpected HTTP status readably.
pub fn status_error(what: &str, resp: &Response) -> Error {
    let kind = match resp.status {
        500..=599 => "the server failed",
        429 => "rate limited",
        401 | 403 => "not authorized",
        404 => "not found (wrong URL?)",
        300..=399 => "the server answered with a redirect, which Keyhaven does not follow here",
        _ => "unexpected answer",
    };
    let retry = resp
        .retry_after
        .as_ref()
        .map(|r| format!(", retry after {r}"))
        .unwrap_or_default();
    Error::Http {
        what: what.into(),
        kind: HttpFailure::Status {
            status: resp.status,
            retry_after: resp
                .retry_after
                .as_deref()
                .and_then(|r| r.trim().parse().ok()),
        },
        reason: format!("HTTP {} ({kind}{retry})", resp.status),
    }
}

//! Parsing redirect URLs: deep links and loopback callbacks are attacker input (SEC-9, SEC-12).
//!
//! Accepted, and nothing else:
//! - `dev.keyhaven:/oauth/callback/PROVIDER[/VALUE...]?QUERY` (the custom scheme; no authority;
//!   one path segment per authorization server, see [`deep_link_redirect`]), or
//! - `http://127.0.0.1:PORT/callback?QUERY` / `http://[::1]:PORT/callback?QUERY` (loopback);
//! - at most 8 KiB, no control characters or spaces, no fragment (a code in a fragment is the
//!   implicit-grant shape and is refused), valid percent-encoding, every parameter at most once,
//!   and a `state`.
//!
//! Checks are cheap and happen before the vault is touched. Error messages never echo the URL,
//! the code or the state.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub use crate::oauth::redirect::{
    DEEP_LINK_PREFIX, deep_link_redirect, deep_link_redirect_template,
};
/// Most path segments after [`DEEP_LINK_PREFIX`] (the provider id and its variables).
const MAX_SEGMENTS: usize = 8;
/// Largest redirect URL accepted.
pub const MAX_URL_LEN: usize = 8 * 1024;

/// The parameters of an authorization response.
pub struct CallbackParams {
    /// `state`.
    pub state: String,
    /// `code`, when the authorization succeeded.
    pub code: Option<Zeroizing<String>>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
    /// `error` (RFC 6749 §4.1.2.1).
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// The redirect URI the callback arrived on (without query), to compare with the flow's.
    pub redirect_uri: String,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("state", &"[redacted]")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

fn bad(reason: &str) -> Error {
    Error::BadRedirect {
        reason: reason.into(),
    }
}

/// Parses and validates a redirect URL.
pub fn parse(raw: &str) -> Result<CallbackParams> {
    if raw.len() > MAX_URL_LEN {
        return Err(bad("longer than 8 KiB"));
    }
    if raw.chars().any(|c| c.is_control() || c == ' ' || c == '"') {
        return Err(bad("contains spaces, quotes or control characters"));
    }
    if raw.contains('#') {
        return Err(bad(
            "has a fragment (#...); an authorization code is only accepted in the query",
        ));
    }
    let (base, query) = raw
        .split_once('?')
        .ok_or_else(|| bad("has no query parameters"))?;
    let redirect_uri = normalize_base(base)?;
    let params = parse_query(query)?;
    let take = |k: &str| params.get(k).cloned();
    let state = take("state").ok_or_else(|| bad("has no state parameter"))?;
    if state.is_empty() || state.len() > 512 {
        return Err(bad("has an empty or oversized state"));
    }
    let code = take("code").map(Zeroizing::new);
    let error = take("error");
    if code.is_none() && error.is_none() {
        return Err(bad("has neither a code nor an error"));
    }
    if code.is_some() && error.is_some() {
        return Err(bad("has both a code and an error"));
    }
    Ok(CallbackParams {
        state,
        code,
        iss: take("iss"),
        error,
        error_description: take("error_description"),
        redirect_uri,
    })
}

/// The redirect URI part, checked against the two accepted shapes.
fn normalize_base(base: &str) -> Result<String> {
    if let Some(rest) = base.strip_prefix(DEEP_LINK_PREFIX) {
        if rest.is_empty() {
            return Err(bad(
                "has no provider in its path (dev.keyhaven:/oauth/callback/PROVIDER); it \
                 belongs to a sign-in started by an older Keyhaven: start again",
            ));
        }
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        let ok = rest.starts_with('/')
            && segments.len() <= MAX_SEGMENTS
            && segments.iter().all(|s| {
                !s.is_empty()
                    && *s != "."
                    && *s != ".."
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
            });
        if !ok {
            return Err(bad("wrong path for the dev.keyhaven: scheme (expected \
                 dev.keyhaven:/oauth/callback/PROVIDER)"));
        }
        return Ok(base.to_string());
    }
    let lower = base.to_ascii_lowercase();
    if lower.starts_with("dev.keyhaven:") {
        return Err(bad("wrong path for the dev.keyhaven: scheme (expected \
             dev.keyhaven:/oauth/callback/PROVIDER)"));
    }
    let rest = base.strip_prefix("http://").ok_or_else(|| {
        bad("not a Keyhaven redirect (expected dev.keyhaven:/oauth/callback/PROVIDER)")
    })?;
    let (authority, path) = rest.split_once('/').ok_or_else(|| bad("no path"))?;
    if path != "callback" {
        return Err(bad(
            "wrong path for a loopback callback (expected /callback)",
        ));
    }
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("loopback callback without a port"))?;
    if host != "127.0.0.1" && host != "[::1]" {
        return Err(bad("a loopback callback must be on 127.0.0.1 or [::1]"));
    }
    let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
    if port == 0 {
        return Err(bad("bad port"));
    }
    Ok(format!("http://{host}:{port}/callback"))
}

/// `a=b&c=d` with strict percent-decoding and no repeated keys.
fn parse_query(query: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if query.is_empty() {
        return Err(bad("has no query parameters"));
    }
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k)?;
        let v = decode(v)?;
        if out.insert(k, v).is_some() {
            return Err(bad("repeats a parameter"));
        }
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(bad("has invalid percent-encoding"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let plus_as_space = s.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map_err(|_| bad("has percent-encoded bytes that are not UTF-8"))?;
    if decoded.chars().any(|c| c == '\0') {
        return Err(bad("contains a NUL byte"));
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> String {
        match parse(url) {
            Ok(_) => panic!("accepted {url}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_the_two_redirect_shapes() {
        let p =
            parse("dev.keyhaven:/oauth/callback/testas?code=abc&state=xyz&iss=https%3A%2F%2Fas")
                .unwrap();
        assert_eq!(p.state, "xyz");
        assert_eq!(p.code.as_deref().map(|s| s.as_str()), Some("abc"));
        assert_eq!(p.iss.as_deref(), Some("https://as"));
        assert_eq!(p.redirect_uri, "dev.keyhaven:/oauth/callback/testas");
        let p = parse(
            "dev.keyhaven:/oauth/callback/gitlab-self-managed/git.example%3A8443?code=c&state=s",
        )
        .unwrap();
        assert_eq!(
            p.redirect_uri,
            "dev.keyhaven:/oauth/callback/gitlab-self-managed/git.example%3A8443"
        );
        let p = parse("http://127.0.0.1:4567/callback?state=s&error=access_denied&error_description=No+thanks").unwrap();
        assert_eq!(p.redirect_uri, "http://127.0.0.1:4567/callback");
        assert_eq!(p.error_description.as_deref(), Some("No thanks"));
        parse("http://[::1]:9/callback?state=s&code=c").unwrap();
    }

    #[test]
    fn rejects_hostile_urls_without_echoing_them() {
        let cases = [
            (
                "keyhaven://oauth/callback?code=c&state=s",
                "not a Keyhaven redirect",
            ),
            (
                "dev.keyhaven://evil/oauth/callback?code=c&state=s",
                "wrong path",
            ),
            ("dev.keyhaven:/oauth/other?code=c&state=s", "wrong path"),
            ("dev.keyhaven:/oauth/callback?code=c&state=s", "no provider"),
            ("dev.keyhaven:/oauth/callback/?code=c&state=s", "wrong path"),
            (
                "dev.keyhaven:/oauth/callback/a//b?code=c&state=s",
                "wrong path",
            ),
            (
                "dev.keyhaven:/oauth/callback/a/../b?code=c&state=s",
                "wrong path",
            ),
            (
                "dev.keyhaven:/oauth/callback/a/b@c?code=c&state=s",
                "wrong path",
            ),
            ("dev.keyhaven:/oauth/callbackx?code=c&state=s", "wrong path"),
            (
                "dev.keyhaven:/oauth/callback/p?code=c&code=d&state=s",
                "repeats a parameter",
            ),
            (
                "dev.keyhaven:/oauth/callback/p?code=c&state=s&state=t",
                "repeats a parameter",
            ),
            (
                "dev.keyhaven:/oauth/callback/p?code=%zz&state=s",
                "invalid percent-encoding",
            ),
            (
                "dev.keyhaven:/oauth/callback/p?code=%4&state=s",
                "invalid percent-encoding",
            ),
            ("dev.keyhaven:/oauth/callback/p?code=a%00b&state=s", "NUL"),
            (
                "dev.keyhaven:/oauth/callback/p?code=a%ffb&state=s",
                "not UTF-8",
            ),
            ("dev.keyhaven:/oauth/callback/p#code=c&state=s", "fragment"),
            ("dev.keyhaven:/oauth/callback/p?state=s#code=c", "fragment"),
            ("dev.keyhaven:/oauth/callback/p?code=c", "no state"),
            (
                "dev.keyhaven:/oauth/callback/p?state=s",
                "neither a code nor an error",
            ),
            ("dev.keyhaven:/oauth/callback/p", "no query"),
            (
                "dev.keyhaven:/oauth/callback/p?code=c&state=s\" --flag=x",
                "spaces, quotes",
            ),
            (
                "http://evil.example:80/callback?code=c&state=s",
                "127.0.0.1",
            ),
            ("http://127.0.0.1/callback?code=c&state=s", "without a port"),
            ("http://127.0.0.1:80/other?code=c&state=s", "wrong path"),
            (
                "https://127.0.0.1:80/callback?code=c&state=s",
                "not a Keyhaven redirect",
            ),
            ("dev.keyhaven:/oauth/callback/p?code=c\0&state=s", "control"),
        ];
        for (url, want) in cases {
            let e = err(url);
            assert!(e.contains(want), "{url}: {e}");
            assert!(!e.contains("code=c"), "echoes the URL: {e}");
        }
        let huge = format!(
            "dev.keyhaven:/oauth/callback/p?state=s&code={}",
            "a".repeat(1 << 20)
        );
        assert!(err(&huge).contains("8 KiB"));
    }

    #[test]
    fn each_server_gets_its_own_deep_link_uri_that_parses_back() {
        let mut vars = BTreeMap::new();
        assert_eq!(
            deep_link_redirect("github", &vars),
            "dev.keyhaven:/oauth/callback/github"
        );
        vars.insert("host".to_string(), "git.example:8443".to_string());
        let a = deep_link_redirect("gitlab-self-managed", &vars);
        vars.insert("host".to_string(), "git.other".to_string());
        let b = deep_link_redirect("gitlab-self-managed", &vars);
        assert_ne!(a, b, "two hosts, two URIs");
        for uri in [a, b] {
            let p = parse(&format!("{uri}?code=c&state=s")).unwrap();
            assert_eq!(p.redirect_uri, uri);
        }
        assert_eq!(
            deep_link_redirect_template("gitlab-self-managed", &["host"]),
            "dev.keyhaven:/oauth/callback/gitlab-self-managed/${host}"
        );
        // A value that would add path segments or a query is encoded into one segment.
        vars.insert("host".to_string(), "a/b?c".to_string());
        let u = deep_link_redirect("x", &vars);
        assert_eq!(u, "dev.keyhaven:/oauth/callback/x/a%2Fb%3Fc");
    }

    #[test]
    fn debug_redacts_code_and_state() {
        let p = parse("dev.keyhaven:/oauth/callback/p?code=SECRETCODE&state=SECRETSTATE").unwrap();
        let d = format!("{p:?}");
        assert!(
            !d.contains("SECRETCODE") && !d.contains("SECRETSTATE"),
            "{d}"
        );
    }
}

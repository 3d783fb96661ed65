//! Offline inspection of stored tokens: decoding a JWT's header and claims for display.
//!
//! # Security
//! Decoding is not verification. Nothing here checks a signature, an issuer or an audience; the
//! result is labelled `unverified` wherever it is shown, and must never be used to make a
//! decision. (Id tokens were verified once, when the connection was made.) The signature part is
//! never returned.

use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use crate::audit::format_time;

/// A JWT decoded for display, without verification.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnverifiedJwt {
    /// Always true: a reminder in the JSON output.
    pub unverified: bool,
    /// The JOSE header.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub header: Value,
    /// The claims.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub claims: Value,
    /// `exp`, `iat`, `nbf` as RFC 3339 times, when present.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, string>"))]
    pub times: serde_json::Map<String, Value>,
}

/// Decodes `token` if it is a JWS compact serialization with JSON header and payload.
pub fn unverified_claims(token: &[u8]) -> Option<UnverifiedJwt> {
    let text = std::str::from_utf8(token).ok()?;
    let mut parts = text.split('.');
    let (h, p, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None; // JWE (5 parts) or garbage
    }
    let decode = |s: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        v.is_object().then_some(v)
    };
    let header = decode(h)?;
    let claims = decode(p)?;
    let mut times = serde_json::Map::new();
    for k in ["exp", "iat", "nbf", "auth_time"] {
        if let Some(n) = claims.get(k).and_then(Value::as_i64) {
            times.insert(k.into(), Value::String(format_time(n)));
        }
    }
    Some(UnverifiedJwt {
        unverified: true,
        header,
        claims,
        times,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(v: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    }

    #[test]
    fn decodes_header_claims_and_times_but_never_the_signature() {
        let jwt = format!(
            "{}.{}.SIGNATURE-CANARY",
            b64(r#"{"alg":"RS256","kid":"k1"}"#),
            b64(r#"{"sub":"alice","exp":2000000000,"iat":1999996400}"#)
        );
        let d = unverified_claims(jwt.as_bytes()).unwrap();
        assert!(d.unverified);
        assert_eq!(d.header["kid"], "k1");
        assert_eq!(d.claims["sub"], "alice");
        assert_eq!(d.times["exp"], "2033-05-18T03:33:20Z");
        assert!(
            !serde_json::to_string(&d)
                .unwrap()
                .contains("SIGNATURE-CANARY")
        );
    }

    #[test]
    fn opaque_tokens_and_garbage_are_not_jwts() {
        for t in ["gho_abcdef", "a.b", "a.b.c.d.e", "!!.??.x", ""] {
            assert!(unverified_claims(t.as_bytes()).is_none(), "{t}");
        }
        let not_object = format!("{}.{}.s", b64("[1]"), b64("{}"));
        assert!(unverified_claims(not_object.as_bytes()).is_none());
    }
}

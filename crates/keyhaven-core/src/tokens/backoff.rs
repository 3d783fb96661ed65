//! What a failed refresh means for the next one (SEC-30, SEC-35): whether the failure is worth
//! retrying later, how long to wait (exponential, with jitter, or as `Retry-After` says), and
//! whether the outcome is unknown (the server may have rotated: one retry now).

use crate::error::{Error, HttpFailure};

/// Failures worth trying again later: the network, a 5xx or 429, or the endpoint saying it is
/// temporarily unavailable. Not: invalid_client, invalid_scope, a malformed request.
pub(super) fn is_transient(e: &Error) -> bool {
    match e {
        Error::Http { .. } => true,
        Error::TokenEndpoint { error, .. } => {
            matches!(error.as_str(), "temporarily_unavailable" | "server_error")
        }
        _ => false,
    }
}

/// Seconds to wait after `failures` transient failures in a row: none after the first (the next
/// call may find the server recovered), then 2, 4, 8 ... up to 5 minutes, each with up to 25 %
/// random jitter so many clients do not return in step; a server's Retry-After (capped at an
/// hour) wins when given.
pub(super) fn backoff_secs(failures: i64, retry_after: Option<i64>) -> i64 {
    if let Some(secs) = retry_after {
        return secs.clamp(1, 3600);
    }
    if failures <= 1 {
        return 0;
    }
    let base = 1i64 << (failures - 1).min(8);
    let base = base.min(300);
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    let jitter = (u16::from_le_bytes(b) as i64 * base) / (4 * 65_535);
    base + jitter
}

/// The `Retry-After` delta-seconds a failed request carried (see [`crate::http::status_error`]).
pub(super) fn retry_after_secs(e: &Error) -> Option<i64> {
    match e {
        Error::Http {
            kind: HttpFailure::Status { retry_after, .. },
            ..
        } => *retry_after,
        _ => None,
    }
}

/// A dropped connection after the request was sent: the server may have rotated (SEC-30), so
/// one retry is worth it. A timeout is not retried: the whole call must fail within its 15 s
/// budget (a hung token endpoint must not hang `keyhaven token`), and the next call tries
/// again anyway.
pub(super) fn is_outcome_unknown(e: &Error) -> bool {
    matches!(
        e,
        Error::Http {
            kind: HttpFailure::Dropped,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_caps_and_honours_retry_after() {
        assert_eq!(backoff_secs(1, None), 0, "the first failure does not wait");
        for failures in 2..20 {
            let base = (1i64 << (failures - 1).min(8)).min(300);
            for _ in 0..20 {
                let b = backoff_secs(failures, None);
                assert!(b >= base && b <= base + base / 4, "{failures}: {b}");
            }
        }
        assert_eq!(backoff_secs(5, Some(120)), 120);
        assert_eq!(backoff_secs(1, Some(999_999)), 3600, "capped at an hour");
        assert_eq!(backoff_secs(1, Some(0)), 1);
    }

    #[test]
    fn retry_after_is_read_back_from_the_status_error() {
        let resp = crate::http::Response {
            status: 503,
            content_type: "text/plain".into(),
            retry_after: Some("42".into()),
            date: None,
            www_authenticate: None,
            body: vec![],
        };
        let e = crate::http::status_error("token request to x", &resp);
        assert_eq!(retry_after_secs(&e), Some(42));
        assert!(is_transient(&e));
        let dated = crate::http::Response {
            retry_after: Some("wed, 21 oct 2026 07:28:00 gmt".into()),
            ..resp
        };
        assert_eq!(
            retry_after_secs(&crate::http::status_error("x", &dated)),
            None
        );
        assert!(!is_outcome_unknown(&e), "a status is a definite answer");
        let reworded = Error::Http {
            what: "x".into(),
            kind: HttpFailure::Dropped,
            reason: "any words at all, even \"timeout\"".into(),
        };
        assert!(
            is_outcome_unknown(&reworded),
            "decided on the kind, not the text"
        );
        assert_eq!(retry_after_secs(&reworded), None);
        let timeout = Error::Http {
            what: "x".into(),
            kind: HttpFailure::Timeout,
            reason: "reading the response failed".into(),
        };
        assert!(!is_outcome_unknown(&timeout) && is_transient(&timeout));
        let definite = Error::TokenEndpoint {
            provider: "x".into(),
            error: "invalid_client".into(),
            description: String::new(),
        };
        assert!(!is_transient(&definite));
    }
}

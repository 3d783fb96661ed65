//! Reading a failed check: what it means ([`VerifyClass`]: the catalog's `classify` rules first,
//! then 401/400/404 invalid, 403 forbidden, anything else unavailable) and a sentence that says
//! what to do, with the provider's own reason sanitized and every secret value scrubbed out.

use std::time::SystemTime;

use super::{Check, parse_doc};
use crate::catalog::{ProviderDef, Verify};
use crate::error::{Error, VerifyClass};
use crate::http;

/// The failure a non-2xx answer means.
pub(super) fn rejected(check: &Check<'_>, resp: &http::Response) -> Error {
    let def = check.def;
    let body_text = String::from_utf8_lossy(&resp.body).to_string();
    let class = classify(check.spec, resp.status, &body_text);
    let reason = provider_message(resp);
    let message = match class {
        VerifyClass::Invalid => format!(
            "{} rejected these credentials (HTTP {}{}){}",
            def.name,
            resp.status,
            reason,
            create_hint(def)
        ),
        VerifyClass::Forbidden => format!(
            "{} accepted the credentials but they may not make Keyhaven's read-only check \
             (HTTP {}{}){}",
            def.name,
            resp.status,
            reason,
            permissions_hint(def)
        ),
        VerifyClass::WrongRegion => format!(
            "{} does not know these credentials at this endpoint (HTTP {}{}); check the \
             region or endpoint",
            def.name, resp.status, reason
        ),
        VerifyClass::ClockSkew => format!(
            "{} refused the request because this machine's clock is off{} (HTTP {}{}); set \
             the system time (e.g. `timedatectl set-ntp true`) and try again",
            def.name,
            resp.date
                .as_deref()
                .and_then(server_offset)
                .map(|o| format!(": it is {}", describe_offset(o)))
                .unwrap_or_default(),
            resp.status,
            reason
        ),
        VerifyClass::Unavailable => format!(
            "could not verify with {} (HTTP {}{}); try again later, or store without \
             checking with --no-verify",
            def.name, resp.status, reason
        ),
    };
    failure(check, class, &message)
}

fn classify(spec: &Verify, status: u16, body: &str) -> VerifyClass {
    let lower = body.to_lowercase();
    for rule in &spec.classify {
        if rule.status == status
            && rule
                .contains
                .as_ref()
                .is_none_or(|c| lower.contains(&c.to_lowercase()))
        {
            return rule.class;
        }
    }
    match status {
        400 | 401 | 404 => VerifyClass::Invalid,
        403 => VerifyClass::Forbidden,
        _ => VerifyClass::Unavailable,
    }
}

/// The provider's own short reason, when its error body has one.
fn provider_message(resp: &http::Response) -> String {
    let Some(doc) = parse_doc(resp) else {
        return String::new();
    };
    [
        "/message",
        "/error/message",
        "/error/error_message",
        "/errors/0/message",
        "/errors/0/reason",
        "/error_description",
        "/error",
        "/Message",
    ]
    .iter()
    .find_map(|p| doc.get(p))
    .map(|m| {
        let m = crate::oauth::client::sanitize(&m);
        let m: String = m.chars().take(200).collect();
        format!(": {m}")
    })
    .unwrap_or_default()
}

fn create_hint(def: &ProviderDef) -> String {
    def.fields
        .iter()
        .find_map(|f| f.create_url.clone())
        .or_else(|| def.register_url.clone())
        .map(|u| format!("; check them, or create new ones at {u}"))
        .unwrap_or_default()
}

fn permissions_hint(def: &ProviderDef) -> String {
    def.fields
        .iter()
        .find_map(|f| f.permissions.clone())
        .map(|p| format!("; the credentials need: {p}"))
        .unwrap_or_default()
}

/// A failure, with every secret value scrubbed from its message.
pub(super) fn failure(check: &Check<'_>, class: VerifyClass, message: &str) -> Error {
    let mut message = message.to_string();
    for f in crate::credentials::fields(check.def)
        .iter()
        .filter(|f| f.secret)
    {
        if let Some(v) = check.values.get(&f.name) {
            let v = String::from_utf8_lossy(v.expose_secret()).into_owned();
            if v.len() >= 4 {
                message = message.replace(&v, "[redacted]");
            }
        }
    }
    Error::Verification {
        provider: check.def.id.clone(),
        class,
        message,
    }
}

/// The server's clock minus ours, from a `Date` header.
fn server_offset(date: &str) -> Option<i64> {
    let server = httpdate::parse_http_date(date).ok()?;
    let now = SystemTime::now();
    Some(match server.duration_since(now) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    })
}

/// This machine's clock relative to the provider's: `offset` is theirs minus ours, so a positive
/// one reads "behind".
pub(super) fn describe_offset(offset: i64) -> String {
    let secs = offset.unsigned_abs();
    let amount = if secs >= 7200 {
        format!("{} h", (secs + 1800) / 3600)
    } else if secs >= 120 {
        format!("{} min", (secs + 30) / 60)
    } else {
        format!("{secs} s")
    };
    if offset > 0 {
        format!("{amount} behind")
    } else {
        format!("{amount} ahead")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rules: &str) -> Verify {
        toml::from_str(&format!(
            "scheme = \"bearer\"\nurl = \"https://api.example.test/me\"\n{rules}"
        ))
        .unwrap()
    }

    #[test]
    fn statuses_classify_by_default() {
        let s = spec("");
        for (status, class) in [
            (400, VerifyClass::Invalid),
            (401, VerifyClass::Invalid),
            (404, VerifyClass::Invalid),
            (403, VerifyClass::Forbidden),
            (429, VerifyClass::Unavailable),
            (500, VerifyClass::Unavailable),
            (503, VerifyClass::Unavailable),
            (302, VerifyClass::Unavailable),
        ] {
            assert_eq!(classify(&s, status, "{}"), class, "HTTP {status}");
        }
    }

    #[test]
    fn catalog_rules_win_and_match_text_case_insensitively() {
        let s = spec(
            "[[classify]]\nstatus = 401\ncontains = \"Request Expired\"\nclass = \"clock_skew\"\n\
             [[classify]]\nstatus = 403\nclass = \"wrong_region\"\n",
        );
        assert_eq!(
            classify(&s, 401, r#"{"message":"request EXPIRED at 12:00"}"#),
            VerifyClass::ClockSkew
        );
        assert_eq!(
            classify(&s, 401, r#"{"message":"bad token"}"#),
            VerifyClass::Invalid,
            "the rule's text must be there; otherwise the default"
        );
        assert_eq!(
            classify(&s, 403, ""),
            VerifyClass::WrongRegion,
            "no text: status alone"
        );
        assert_eq!(
            classify(&s, 500, "request expired"),
            VerifyClass::Unavailable
        );
    }

    #[test]
    fn offsets_read_as_ahead_or_behind() {
        assert_eq!(describe_offset(3600), "60 min behind");
        assert_eq!(describe_offset(-90), "90 s ahead");
        assert_eq!(describe_offset(-86_400), "24 h ahead");
    }
}

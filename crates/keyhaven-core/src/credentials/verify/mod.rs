//! Live checks of API credentials: one cheap read-only call per provider, authenticated with the
//! provider's own scheme, read back into an identity, or into a readable reason.
//!
//! The schemes (docs/cloud-providers.md has each with its sources):
//! - bearer / header / Basic: the token or user and password as the provider documents;
//! - OVHcloud: `X-Ovh-Signature: "$1$" + SHA-1(AS+CK+METHOD+URL+BODY+TIMESTAMP)` joined by `+`,
//!   on the server's clock from the unauthenticated `/auth/time` (SHA-1 from the `sha1` crate);
//! - Exoscale: `EXO2-HMAC-SHA256` over method + path, body, signed query values, expiry (HMAC from
//!   the `hmac` crate);
//! - AWS: Signature Version 4 by the `aws-sigv4` crate, on STS `GetCallerIdentity`;
//! - the machine grants: the access token they just obtained, as a bearer.
//!
//! Failures are classified ([`VerifyClass`]) by the provider's own status codes and messages
//! (catalog `classify` rules first, then 401/400/404 invalid, 403 forbidden, 429/5xx
//! unavailable). A clock far from the provider's is named with the offset read from the `Date`
//! header. Credentials rejected at one OVHcloud endpoint are tried at the others, so the person
//! learns where they do belong. Messages never contain a secret: provider text is sanitized and
//! every secret value is scrubbed from it.
//!
//! One check is three steps, each in its own place: build the request from the catalog entry
//! ([`run_once`] here), authenticate it with the provider's scheme ([`schemes`]), and read the
//! answer: an identity on success ([`Doc`]), or a classified, scrubbed failure ([`classify`]).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use zeroize::Zeroizing;

use crate::catalog::{ProviderDef, Resolved, Verify};
use crate::error::{Error, Result, VerifyClass};
use crate::http;
use crate::secret::SecretBytes;

mod classify;
mod schemes;

/// Everything one check needs.
pub(crate) struct Check<'a> {
    pub def: &'a ProviderDef,
    pub spec: &'a Verify,
    pub values: &'a BTreeMap<String, SecretBytes>,
    pub resolved: &'a Resolved,
    /// The access token a machine grant just obtained (`grant_bearer`).
    pub grant_token: Option<&'a SecretBytes>,
}

/// What a successful check found: `account` and anything else the catalog asks to report.
pub(crate) type Found = BTreeMap<String, String>;

/// Runs the check; on a failure that may mean "wrong region", tries the probe variable's other
/// values to say where the credentials belong.
pub(crate) fn run(check: &Check<'_>) -> Result<Found> {
    let outcome = run_once(check);
    let Err(Error::Verification {
        class: VerifyClass::Invalid | VerifyClass::WrongRegion,
        ..
    }) = &outcome
    else {
        return outcome;
    };
    let Some(var) = &check.spec.probe_variable else {
        return outcome;
    };
    let current = check.resolved.vars.get(var).cloned().unwrap_or_default();
    let others: Vec<String> = check.def.variables[var]
        .derive
        .keys()
        .filter(|v| **v != current)
        .cloned()
        .collect();
    for other in others {
        let mut vars = check.resolved.vars.clone();
        vars.insert(var.clone(), other.clone());
        let Ok(resolved) = check.def.resolve(&vars) else {
            continue;
        };
        let probe = Check {
            resolved: &resolved,
            ..*check
        };
        if run_once(&probe).is_ok() {
            return Err(Error::Verification {
                provider: check.def.id.clone(),
                class: VerifyClass::WrongRegion,
                message: format!(
                    "these {} credentials belong to {var} {other}, not {current}: add them with \
                     --var {var}={other}",
                    check.def.name
                ),
            });
        }
    }
    outcome
}

/// The request of one check before it is authenticated: what the signing schemes sign.
pub(super) struct Request {
    /// The URL, fields filled in.
    pub url: String,
    /// The HTTP method.
    pub method: reqwest::Method,
    /// The body (empty when none).
    pub body: String,
}

/// One check at the endpoint the variables resolve to.
fn run_once(check: &Check<'_>) -> Result<Found> {
    let (def, spec) = (check.def, check.spec);
    let template = check.resolved.verify_url.as_deref().unwrap_or_default();
    if template.is_empty() {
        return Err(Error::BadInput(format!(
            "{} needs a URL to check the credentials against: give --var check_url=https://... \
             (an authenticated read-only endpoint), or store with --no-verify",
            def.name
        )));
    }
    let url = fill_fields(template, check.values);
    let request = Request {
        url: crate::catalog::redirect_for_tests(url),
        method: reqwest::Method::from_bytes(spec.method.as_bytes()).map_err(|_| {
            Error::Catalog {
                reason: format!("{}: bad verify method", def.id),
            }
        })?,
        body: spec.body.clone().unwrap_or_default(),
    };
    let client = http::client()?;
    let mut builder = client
        .request(request.method.clone(), &request.url)
        .header("Accept", "application/json");
    if let Some(ct) = &spec.content_type {
        builder = builder.header("Content-Type", ct);
    }
    for (k, v) in &spec.headers {
        // `${uuid}`: a fresh UUID v4; `${field:NAME}`: that field's value, secret ones too (a
        // header, unlike a URL, is not logged or kept; it goes only to the check's own host).
        let value = if v == "${uuid}" {
            Zeroizing::new(uuid::Uuid::new_v4().to_string())
        } else if let Some(name) = v.strip_prefix("${field:").and_then(|r| r.strip_suffix('}')) {
            let bytes = check.values.get(name).map(|b| b.expose_secret().to_vec());
            Zeroizing::new(String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned())
        } else {
            Zeroizing::new(v.clone())
        };
        let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
            Error::BadInput(format!("{}: a value cannot go in the {k} header", def.id))
        })?;
        value.set_sensitive(true);
        builder = builder.header(k, value);
    }
    let mut found = Found::new();
    builder = schemes::authenticate(check, &request, builder, &mut found)?;
    if !request.body.is_empty() {
        builder = builder.body(request.body.clone());
    }
    let what = format!("checking the {} credentials", def.name);
    let resp = http::send(&what, builder).map_err(|e| {
        classify::failure(
            check,
            VerifyClass::Unavailable,
            &format!("could not reach {} ({e})", def.name),
        )
    })?;
    if !(200..300).contains(&resp.status) {
        return Err(classify::rejected(check, &resp));
    }
    // A success must be the provider's real answer, not a captive portal's page.
    let doc = parse_doc(&resp).ok_or_else(|| {
        classify::failure(
            check,
            VerifyClass::Unavailable,
            &format!(
                "{} answered with something that is not its API's response (an HTML page?); \
                 check the network",
                def.name
            ),
        )
    })?;
    if let (Some(pointer), Doc::Json(v)) = (&spec.error_pointer, &doc)
        && let Some(errors) = v.pointer(pointer)
        && !errors.is_null()
        && errors.as_array().is_none_or(|a| !a.is_empty())
    {
        let said = errors
            .pointer("/0/message")
            .or_else(|| errors.pointer("/message"))
            .and_then(Value::as_str)
            .map(|m| {
                let m: String = crate::oauth::client::sanitize(m)
                    .chars()
                    .take(200)
                    .collect();
                format!(": {m}")
            })
            .unwrap_or_default();
        return Err(classify::failure(
            check,
            VerifyClass::Invalid,
            &format!("{} refused the credentials{said}", def.name),
        ));
    }
    if let Some(account) = spec.account.iter().find_map(|p| doc.get(p)) {
        found.insert("account".into(), account);
    }
    for (label, pointer) in &spec.found {
        if let Some(v) = doc.get(pointer) {
            found.insert(label.clone(), v);
        }
    }
    Ok(found)
}

/// `${field:NAME}` -> the (non-secret, validated) field's value, URL-encoded.
fn fill_fields(template: &str, values: &BTreeMap<String, SecretBytes>) -> String {
    let mut out = template.to_string();
    for (name, v) in values {
        let t = format!("${{field:{name}}}");
        if out.contains(&t) {
            let enc: String =
                url::form_urlencoded::byte_serialize(v.expose_secret()).collect::<String>();
            out = out.replace(&t, &enc);
        }
    }
    out
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A response body to read identity from: JSON, or an XML document's `<Tag>text</Tag>`.
pub(super) enum Doc {
    Json(Value),
    Xml(String),
}

impl Doc {
    pub(super) fn get(&self, pointer: &str) -> Option<String> {
        match self {
            Doc::Json(v) => match v.pointer(pointer)? {
                Value::String(s) if !s.is_empty() => Some(crate::oauth::client::sanitize(s)),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            },
            Doc::Xml(text) => {
                let tag = pointer.trim_start_matches('/');
                let open = format!("<{tag}>");
                let start = text.find(&open)? + open.len();
                let end = text[start..].find(&format!("</{tag}>"))? + start;
                Some(crate::oauth::client::sanitize(text[start..end].trim()))
            }
        }
    }
}

pub(super) fn parse_doc(resp: &http::Response) -> Option<Doc> {
    if let Ok(v) = serde_json::from_slice::<Value>(&resp.body) {
        return Some(Doc::Json(v));
    }
    let text = String::from_utf8_lossy(&resp.body);
    let t = text.trim_start();
    if resp.content_type.contains("xml") || t.starts_with("<?xml") {
        if t.to_lowercase().contains("<html") {
            return None;
        }
        return Some(Doc::Xml(text.into_owned()));
    }
    None
}

//! Naming the account of a new connection: from the verified id token's claims, the token
//! response itself, or the provider's userinfo / "who am I" endpoint, as the catalog's
//! `identity` section says (JSON pointers tried in order, the first string wins).

use std::collections::BTreeMap;

use serde_json::Value;
use zeroize::Zeroizing;

use super::client::{Tokens, sanitize};
use super::request::FlowRequest;
use crate::catalog::IdentitySource;
use crate::error::{Error, Result};
use crate::http;

/// The account name: first string (or number) found at the identity's JSON pointers.
pub(crate) fn account_name(
    provider: &str,
    req: &FlowRequest,
    tokens: &Tokens,
    id_claims: Option<&Value>,
) -> Result<String> {
    let identity = req.identity.as_ref();
    let source = identity
        .map(|i| i.source)
        .unwrap_or(if id_claims.is_some() {
            IdentitySource::IdToken
        } else {
            IdentitySource::Userinfo
        });
    let default_fields = vec![
        "/preferred_username".to_string(),
        "/email".into(),
        "/login".into(),
        "/sub".into(),
    ];
    let fields = identity.map(|i| &i.fields).unwrap_or(&default_fields);
    let doc = match source {
        IdentitySource::IdToken => id_claims.cloned().ok_or_else(|| Error::IdTokenInvalid {
            reason: "the provider returned no id token to name the account from".into(),
        })?,
        IdentitySource::TokenResponse => tokens.raw_public.clone(),
        IdentitySource::Userinfo => userinfo(provider, req, tokens)?,
    };
    for f in fields {
        match doc.pointer(f) {
            Some(Value::String(s)) if !s.is_empty() => return Ok(sanitize(s)),
            Some(Value::Number(n)) => return Ok(n.to_string()),
            _ => {}
        }
    }
    Err(crate::http::malformed(
        format!("reading the {provider} account"),
        format!("none of {fields:?} found"),
    ))
}

/// The access token on the identity request: `Authorization: Bearer`, or the provider's own
/// header and prefix (`token_header`, `token_prefix`).
fn authorize(
    builder: reqwest::blocking::RequestBuilder,
    identity: Option<&crate::catalog::Identity>,
    token: &str,
    what: &str,
) -> Result<reqwest::blocking::RequestBuilder> {
    let (header, prefix) = match identity {
        Some(i) => (i.token_header.as_deref(), i.token_prefix.as_deref()),
        None => (None, None),
    };
    if header.is_none() && prefix.is_none() {
        return Ok(builder.bearer_auth(token));
    }
    let value = Zeroizing::new(format!("{}{token}", prefix.unwrap_or_default()));
    let mut value = reqwest::header::HeaderValue::from_str(&value)
        .map_err(|_| http::malformed(what, "the access token cannot go in a header"))?;
    value.set_sensitive(true);
    Ok(builder.header(header.unwrap_or("Authorization"), value))
}

fn userinfo(provider: &str, req: &FlowRequest, tokens: &Tokens) -> Result<Value> {
    let what = format!("userinfo request to {provider}");
    let url = req.userinfo_url.as_ref().ok_or_else(|| Error::Catalog {
        reason: format!("{provider}: no userinfo endpoint to name the account"),
    })?;
    let token =
        Zeroizing::new(String::from_utf8_lossy(tokens.access_token.expose_secret()).into_owned());
    let client = http::client()?;
    let method = req
        .identity
        .as_ref()
        .map(|i| i.method.as_str())
        .unwrap_or("GET");
    let mut builder = if method.eq_ignore_ascii_case("POST") {
        client.post(url)
    } else {
        client.get(url)
    };
    builder = authorize(builder, req.identity.as_ref(), &token, &what)?;
    builder = builder.header("Accept", "application/json");
    if let Some(body) = req.identity.as_ref().and_then(|i| i.body.clone()) {
        builder = builder
            .header("Content-Type", "application/json")
            .body(body);
    }
    let headers: BTreeMap<String, String> = req
        .identity
        .as_ref()
        .map(|i| i.headers.clone())
        .unwrap_or_default();
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let resp = http::send(&what, builder)?;
    if resp.status != 200 {
        return Err(http::status_error(&what, &resp));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|_| crate::http::malformed(what, "the answer is not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Identity;

    fn sent(identity: Option<&Identity>) -> Vec<(String, String)> {
        let client = reqwest::blocking::Client::new();
        let req = authorize(
            client.get("https://id.example.com/me"),
            identity,
            "AT1",
            "test",
        )
        .unwrap()
        .build()
        .unwrap();
        req.headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn the_token_goes_where_the_provider_reads_it() {
        let mut i: Identity = toml::from_str("source = \"userinfo\"\nfields = [\"/id\"]").unwrap();
        assert_eq!(sent(None), [("authorization".into(), "Bearer AT1".into())]);
        assert_eq!(
            sent(Some(&i)),
            [("authorization".into(), "Bearer AT1".into())]
        );
        i.token_prefix = Some("OAuth ".into());
        assert_eq!(
            sent(Some(&i)),
            [("authorization".into(), "OAuth AT1".into())]
        );
        i.token_header = Some("X-Shopify-Access-Token".into());
        i.token_prefix = None;
        assert_eq!(
            sent(Some(&i)),
            [("x-shopify-access-token".into(), "AT1".into())]
        );
    }
}

//! The token request, its response, the id token, and the account name.
//!
//! The request is a form POST built here (client authentication per the catalog, PKCE verifier,
//! exact redirect URI) and sent with core's HTTP client (no redirects, timeouts, 1 MiB cap).
//! We do not use `oauth2`'s typed client for this one step because providers differ in ways its
//! response type cannot express (Slack's and GitHub's errors arrive as HTTP 200; Slack nests the
//! user token), and the raw response must be kept for offline inspection. PKCE and state come
//! from `oauth2`, id token verification from `openidconnect`: no hand-rolled crypto.
//!
//! Response checks (SEC-33): JSON object, `access_token` a non-empty string, `expires_in` a
//! number between 0 and ten years, RFC 6749 §5.2 errors shown readably.

use std::collections::BTreeMap;

use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use serde_json::Value;
use zeroize::Zeroizing;

use super::pending::FlowRequest;
use crate::catalog::{IdentitySource, TokenAuthMethod, TokenResponseShape};
use crate::error::{Error, Result};
use crate::http;
use crate::secret::SecretBytes;

/// Longest `expires_in` believed: ten years.
const MAX_EXPIRES_IN: i64 = 10 * 365 * 86_400;

/// A successful token response, parsed.
pub(crate) struct Tokens {
    pub access_token: SecretBytes,
    pub refresh_token: Option<SecretBytes>,
    pub id_token: Option<SecretBytes>,
    pub token_type: Option<String>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    /// Every other field of the response (no secrets: those above are removed).
    pub extra: serde_json::Map<String, Value>,
    /// The response object the identity may be read from (with secrets removed).
    pub raw_public: Value,
}

/// Client credentials for the token request.
pub(crate) struct ClientAuth<'a> {
    pub client_id: &'a str,
    pub client_secret: Option<&'a SecretBytes>,
}

/// Redeems an authorization code.
pub(crate) fn exchange_code(
    provider: &str,
    req: &FlowRequest,
    client: &ClientAuth<'_>,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Tokens> {
    let mut form: Vec<(String, Zeroizing<String>)> = vec![
        (
            "grant_type".into(),
            Zeroizing::new("authorization_code".into()),
        ),
        ("code".into(), Zeroizing::new(code.into())),
        ("redirect_uri".into(), Zeroizing::new(redirect_uri.into())),
        ("code_verifier".into(), Zeroizing::new(verifier.into())),
    ];
    for (k, v) in &req.token_params {
        form.push((k.clone(), Zeroizing::new(v.clone())));
    }
    token_request(provider, req, client, form)
}

/// Sends a token request and parses the answer per the provider's response shape.
pub(crate) fn token_request(
    provider: &str,
    req: &FlowRequest,
    client: &ClientAuth<'_>,
    form: Vec<(String, Zeroizing<String>)>,
) -> Result<Tokens> {
    let what = format!("token request to {provider}");
    let resp = client_post(&what, &req.token_url, req.token_auth_method, client, form)?;
    parse_token_response(provider, req.token_response, &resp)
}

/// A form POST with the client authentication the provider wants (token and revocation
/// endpoints, RFC 6749 §2.3.1).
pub(crate) fn client_post(
    what: &str,
    url: &str,
    method: TokenAuthMethod,
    client: &ClientAuth<'_>,
    mut form: Vec<(String, Zeroizing<String>)>,
) -> Result<http::Response> {
    let http = http::client()?;
    let mut builder = http.post(url).header("Accept", "application/json");
    let secret = client
        .client_secret
        .map(|s| Zeroizing::new(String::from_utf8_lossy(s.expose_secret()).into_owned()));
    match (method, &secret) {
        (TokenAuthMethod::ClientSecretBasic, Some(secret)) => {
            // RFC 6749 §2.3.1: form-urlencode id and secret before Basic.
            let id = form_encode(client.client_id);
            let secret = Zeroizing::new(form_encode(secret));
            builder = builder.basic_auth(id, Some(secret.as_str()));
        }
        (TokenAuthMethod::ClientSecretPost, Some(secret)) => {
            form.push(("client_id".into(), Zeroizing::new(client.client_id.into())));
            form.push(("client_secret".into(), secret.clone()));
        }
        // A public client of a provider that wants Basic anyway (Reddit installed apps): the
        // client id with an empty password.
        (TokenAuthMethod::ClientSecretBasic, None) => {
            builder = builder.basic_auth(form_encode(client.client_id), Some(""));
        }
        _ => form.push(("client_id".into(), Zeroizing::new(client.client_id.into()))),
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http::send(what, builder.form(&pairs))
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Parses a token endpoint response (public for tests in this module's parent).
pub(crate) fn parse_token_response(
    provider: &str,
    shape: TokenResponseShape,
    resp: &http::Response,
) -> Result<Tokens> {
    let what = format!("token request to {provider}");
    let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let obj = json.as_ref().and_then(Value::as_object);

    // RFC 6749 §5.2 errors, and the 200-with-error shapes of Slack and GitHub.
    if let Some(o) = obj {
        // Slack and GitHub report errors with HTTP 200; a standard server with an error field
        // and no token is an error whatever its status.
        let is_error = resp.status >= 400
            || shape != TokenResponseShape::Standard
            || !o.contains_key("access_token");
        if let Some(err) = o.get("error").and_then(Value::as_str).filter(|_| is_error) {
            let description = o
                .get("error_description")
                .and_then(Value::as_str)
                .map(|d| format!(": {}", sanitize(d)))
                .unwrap_or_default();
            return Err(Error::TokenEndpoint {
                provider: provider.into(),
                error: sanitize(err),
                description,
            });
        }
    }
    if resp.status != 200 {
        return Err(http::status_error(&what, resp));
    }
    let Some(o) = obj else {
        let looks_html = resp.body.starts_with(b"<") || resp.content_type.contains("html");
        return Err(Error::Http {
            what,
            reason: if looks_html {
                "the server answered with an HTML page instead of JSON".into()
            } else {
                "the response is not a JSON object".into()
            },
        });
    };
    let mut o = o.clone();
    // Slack v2: the user token is under authed_user.
    if shape == TokenResponseShape::SlackV2
        && !o.contains_key("access_token")
        && let Some(Value::Object(user)) = o.get("authed_user").cloned()
    {
        for (k, v) in user {
            o.entry(k).or_insert(v);
        }
    }
    let bad = |reason: &str| Error::Http {
        what: what.clone(),
        reason: reason.into(),
    };
    let take_secret =
        |o: &mut serde_json::Map<String, Value>, key: &str| -> Result<Option<SecretBytes>> {
            match o.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(SecretBytes::from(s))),
                Some(_) => Err(bad(&format!("{key} is not a non-empty string"))),
            }
        };
    let access_token = take_secret(&mut o, "access_token")?
        .ok_or_else(|| bad("the response has no access_token"))?;
    let refresh_token = take_secret(&mut o, "refresh_token")?;
    let id_token = take_secret(&mut o, "id_token")?;
    if let Some(Value::Object(user)) = o.get_mut("authed_user") {
        user.remove("access_token");
        user.remove("refresh_token");
    }
    let expires_in = match o.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let v = n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or(-1);
            if !(0..=MAX_EXPIRES_IN).contains(&v) {
                return Err(bad("expires_in is out of range"));
            }
            Some(v)
        }
        // Some servers send numbers as strings; accept only a plain integer.
        Some(Value::String(s)) => match s.parse::<i64>() {
            Ok(v) if (0..=MAX_EXPIRES_IN).contains(&v) => Some(v),
            _ => return Err(bad("expires_in is not a number")),
        },
        Some(_) => return Err(bad("expires_in is not a number")),
    };
    let token_type = o
        .get("token_type")
        .and_then(Value::as_str)
        .map(str::to_string);
    let scope = o.get("scope").and_then(Value::as_str).map(str::to_string);
    let raw_public = Value::Object(o.clone());
    Ok(Tokens {
        access_token,
        refresh_token,
        id_token,
        token_type,
        expires_in,
        scope,
        extra: o,
        raw_public,
    })
}

impl Tokens {
    /// The granted scopes: the response's `scope` (space- or comma-separated, as providers
    /// differ), or `requested` when the response has none (RFC 6749 §5.1: unchanged).
    pub(crate) fn granted_scopes(&self, requested: &[String]) -> Vec<String> {
        match &self.scope {
            Some(s) => s
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None => requested.to_vec(),
        }
    }
}

/// Keeps server-provided text printable and short.
pub(crate) fn sanitize(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).take(300).collect();
    clean
}

/// Verifies an id token (SEC-6) and returns its claims as JSON.
pub(crate) fn verify_id_token(
    raw: &SecretBytes,
    issuer: &str,
    client_id: &str,
    jwks_uri: &str,
    nonce: Option<&str>,
) -> Result<Value> {
    let invalid = |reason: String| Error::IdTokenInvalid { reason };
    let text = std::str::from_utf8(raw.expose_secret()).map_err(|_| invalid("not text".into()))?;
    let token: CoreIdToken = text.parse().map_err(|_| invalid("malformed JWT".into()))?;
    let issuer_url =
        IssuerUrl::new(issuer.to_string()).map_err(|e| invalid(format!("issuer: {e}")))?;
    // A flow that sent a nonce requires it back; the device grant sends none and requires none.
    let expected_nonce = nonce.map(|n| Nonce::new(n.to_string()));
    let check = |jwks: CoreJsonWebKeySet| {
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(client_id.to_string()),
            issuer_url.clone(),
            jwks,
        )
        // Asymmetric algorithms only: no `none`, no HS*/RS* confusion (SEC-6).
        .set_allowed_algs(vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha384,
            CoreJwsSigningAlgorithm::RsaSsaPssSha512,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
            CoreJwsSigningAlgorithm::EdDsa,
        ]);
        match &expected_nonce {
            Some(n) => token.claims(&verifier, n).map(|_| ()),
            None => token
                .claims(&verifier, |got: Option<&Nonce>| match got {
                    None => Ok(()),
                    Some(_) => Err("an unexpected nonce".to_string()),
                })
                .map(|_| ()),
        }
    };
    // Unknown kid: fetch the JWKS once more (keys rotate), then give up.
    let mut last = None;
    for _attempt in 0..2 {
        let jwks = fetch_jwks(jwks_uri)?;
        match check(jwks) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => {
                let msg = e.to_string();
                let retry = msg.contains("key") && msg.to_lowercase().contains("no matching");
                last = Some(msg);
                if !retry {
                    break;
                }
            }
        }
    }
    if let Some(msg) = last {
        return Err(invalid(sanitize(&msg)));
    }
    // Verified: the payload can now be read as plain JSON for the account name.
    let payload = text.split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .map_err(|_| invalid("payload is not base64url".into()))?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid("payload is not JSON".into()))?;
    check_azp_and_iat(&claims, client_id, crate::clock::now())?;
    Ok(claims)
}

/// What openidconnect 4 leaves to the caller (SEC-6, OIDC Core §3.1.3.7 items 5 and 10): an
/// `azp` present must be our client id, and `iat` must not lie in the future beyond the
/// 5-minute leeway.
fn check_azp_and_iat(claims: &Value, client_id: &str, now: i64) -> Result<()> {
    let invalid = |reason: &str| Error::IdTokenInvalid {
        reason: reason.into(),
    };
    match claims.get("azp") {
        None => {}
        Some(Value::String(azp)) if azp == client_id => {}
        Some(_) => return Err(invalid("its azp names another client")),
    }
    if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
        && iat > now + 300
    {
        return Err(invalid("it was issued in the future (iat)"));
    }
    Ok(())
}

fn fetch_jwks(jwks_uri: &str) -> Result<CoreJsonWebKeySet> {
    let what = "fetching the provider's signing keys (JWKS)";
    let resp = http::send(what, http::client()?.get(jwks_uri))?;
    if resp.status != 200 {
        return Err(http::status_error(what, &resp));
    }
    serde_json::from_slice(&resp.body).map_err(|e| Error::Http {
        what: what.into(),
        reason: format!("not a JSON Web Key Set: {e}"),
    })
}

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
    Err(Error::Http {
        what: format!("reading the {provider} account"),
        reason: format!("none of {fields:?} found"),
    })
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
    builder = match req
        .identity
        .as_ref()
        .and_then(|i| i.token_header.as_deref())
    {
        Some(header) => builder.header(header, token.as_str()),
        None => builder.bearer_auth(token.as_str()),
    };
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
    serde_json::from_slice(&resp.body).map_err(|_| Error::Http {
        what,
        reason: "the answer is not JSON".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azp_must_be_ours_and_iat_not_in_the_future() {
        let now = 1_000_000;
        let ok = serde_json::json!({"azp": "app", "iat": now});
        assert!(check_azp_and_iat(&ok, "app", now).is_ok());
        assert!(check_azp_and_iat(&serde_json::json!({}), "app", now).is_ok());
        let other = serde_json::json!({"azp": "someone-else"});
        assert!(check_azp_and_iat(&other, "app", now).is_err());
        let future = serde_json::json!({"iat": now + 301});
        assert!(check_azp_and_iat(&future, "app", now).is_err());
        let skew = serde_json::json!({"iat": now + 299});
        assert!(check_azp_and_iat(&skew, "app", now).is_ok());
    }

    fn resp(status: u16, body: &str) -> http::Response {
        http::Response {
            status,
            content_type: "application/json".into(),
            retry_after: None,
            date: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn parse(status: u16, body: &str) -> Result<Tokens> {
        parse_token_response("p", TokenResponseShape::Standard, &resp(status, body))
    }

    #[test]
    fn standard_response_keeps_secrets_out_of_extra() {
        let t = parse(200, r#"{"access_token":"AT","refresh_token":"RT","id_token":"IT","token_type":"Bearer","expires_in":3600,"scope":"a b","x":1}"#).unwrap();
        assert_eq!(t.access_token.expose_secret(), b"AT");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.scope.as_deref(), Some("a b"));
        let extra = serde_json::to_string(&t.extra).unwrap();
        assert!(
            !extra.contains("AT\"") && !extra.contains("RT") && !extra.contains("IT"),
            "{extra}"
        );
    }

    #[test]
    fn malformed_responses_are_rejected_readably() {
        let cases = [
            (200, "<html>oops</html>", "HTML page"),
            (200, "{\"access_token\":", "not a JSON object"),
            (200, "{\"token_type\":\"bearer\"}", "no access_token"),
            (200, "{\"access_token\":\"\"}", "non-empty string"),
            (
                200,
                "{\"access_token\":\"a\",\"expires_in\":-5}",
                "out of range",
            ),
            (
                200,
                "{\"access_token\":\"a\",\"expires_in\":1e12}",
                "out of range",
            ),
            (
                200,
                "{\"access_token\":\"a\",\"expires_in\":\"soon\"}",
                "not a number",
            ),
            (500, "<html>Internal</html>", "HTTP 500"),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"code expired"}"#,
                "invalid_grant: code expired",
            ),
        ];
        for (status, body, want) in cases {
            let e = parse(status, body).err().unwrap().to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
        assert_eq!(
            parse(200, r#"{"access_token":"a","expires_in":"60"}"#)
                .unwrap()
                .expires_in,
            Some(60)
        );
    }

    #[test]
    fn slack_and_github_errors_in_http_200() {
        let e = parse_token_response(
            "slack",
            TokenResponseShape::SlackV2,
            &resp(200, r#"{"ok":false,"error":"invalid_code"}"#),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("invalid_code"), "{e}");
        let e = parse_token_response("github", TokenResponseShape::Github, &resp(200, r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#))
            .err().unwrap().to_string();
        assert!(e.contains("bad_verification_code: The code passed"), "{e}");
        let t = parse_token_response("slack", TokenResponseShape::SlackV2, &resp(200, r#"{"ok":true,"team":{"id":"T1"},"authed_user":{"id":"U1","scope":"users:read","access_token":"xoxp-1","token_type":"user"}}"#)).unwrap();
        assert_eq!(t.access_token.expose_secret(), b"xoxp-1");
        assert_eq!(
            t.raw_public
                .pointer("/authed_user/id")
                .and_then(Value::as_str),
            Some("U1")
        );
        assert!(!t.raw_public.to_string().contains("xoxp"));
    }
}

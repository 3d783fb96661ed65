//! The token endpoint client: the form POST every grant makes (code, refresh, device, client
//! credentials, password), client authentication per the catalog, and the response parsed into
//! [`Tokens`].
//!
//! The request is built here and sent with core's HTTP client (no redirects, timeouts, 1 MiB cap).
//! We do not use `oauth2`'s typed client for this one step because providers differ in ways its
//! response type cannot express (Slack's and GitHub's errors arrive as HTTP 200; Slack nests the
//! user token), and the raw response must be kept for offline inspection. PKCE and state come
//! from `oauth2`, id token verification from `openidconnect` ([`super::id_token`]): no
//! hand-rolled crypto.
//!
//! Response checks (SEC-33): JSON object, `access_token` a non-empty string, `expires_in` a
//! number between 0 and ten years, RFC 6749 §5.2 errors shown readably.

use serde_json::Value;
use zeroize::Zeroizing;

use super::request::FlowRequest;
use crate::catalog::{TokenAuthMethod, TokenResponseShape};
use crate::connections::FieldValue;
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
    verifier: crate::secret::PkceVerifier,
    redirect_uri: &str,
) -> Result<Tokens> {
    let mut form: Vec<(String, Zeroizing<String>)> = vec![
        (
            "grant_type".into(),
            Zeroizing::new("authorization_code".into()),
        ),
        ("code".into(), Zeroizing::new(code.into())),
        ("redirect_uri".into(), Zeroizing::new(redirect_uri.into())),
        ("code_verifier".into(), verifier.into_form_value()),
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
        // An assertion grant authenticates by its assertion: no client_id goes with it.
        _ if client.client_id.is_empty() => {}
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
    if shape == TokenResponseShape::IbmIam
        && resp.status == 400
        && let Some(o) = obj
        && let Some(message) = o.get("errorMessage").and_then(Value::as_str)
    {
        let code = o.get("errorCode").and_then(Value::as_str).unwrap_or("");
        return Err(Error::TokenEndpoint {
            provider: provider.into(),
            error: "invalid_grant".into(),
            description: format!(": {} {}", sanitize(code), sanitize(message)),
        });
    }
    if resp.status != 200 {
        return Err(http::status_error(&what, resp));
    }
    let Some(o) = obj else {
        let looks_html = resp.body.starts_with(b"<") || resp.content_type.contains("html");
        return Err(http::malformed(
            what,
            if looks_html {
                "the server answered with an HTML page instead of JSON"
            } else {
                "the response is not a JSON object"
            },
        ));
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
    let bad = |reason: &str| http::malformed(&what, reason);
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
    // Tumblr sends `"id_token": false` when there is none.
    if o.get("id_token") == Some(&Value::Bool(false)) {
        o.remove("id_token");
    }
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

/// The secret fields of a token response: access token, and refresh and id tokens when given.
pub(crate) fn token_fields(tokens: Tokens) -> Vec<(String, FieldValue)> {
    let mut fields = vec![(
        "access_token".to_string(),
        FieldValue::Secret(tokens.access_token),
    )];
    if let Some(rt) = tokens.refresh_token {
        fields.push(("refresh_token".into(), FieldValue::Secret(rt)));
    }
    if let Some(it) = tokens.id_token {
        fields.push(("id_token".into(), FieldValue::Secret(it)));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> http::Response {
        http::Response {
            status,
            content_type: "application/json".into(),
            retry_after: None,
            date: None,
            www_authenticate: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn parse(status: u16, body: &str) -> Result<Tokens> {
        parse_token_response("p", TokenResponseShape::Standard, &resp(status, body))
    }

    #[test]
    fn ibm_iam_errors_read_as_a_refused_grant() {
        let body = r#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found.","context":{}}"#;
        let e = parse_token_response("ibm-cloud", TokenResponseShape::IbmIam, &resp(400, body))
            .err()
            .unwrap();
        match e {
            Error::TokenEndpoint {
                error, description, ..
            } => {
                assert_eq!(error, "invalid_grant");
                assert_eq!(
                    description,
                    ": BXNIM0415E Provided API key could not be found."
                );
            }
            other => panic!("{other:?}"),
        }
        // Other statuses stay HTTP errors; the standard shape does not read IBM's fields.
        let e = parse_token_response("x", TokenResponseShape::Standard, &resp(400, body));
        assert!(matches!(e, Err(Error::Http { .. })), "an HTTP error");
    }

    #[test]
    fn an_id_token_of_false_means_none() {
        let t = parse(
            200,
            r#"{"access_token":"AT","id_token":false,"token_type":"bearer"}"#,
        )
        .unwrap();
        assert!(t.id_token.is_none());
        assert!(parse(200, r#"{"access_token":"AT","id_token":true}"#).is_err());
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

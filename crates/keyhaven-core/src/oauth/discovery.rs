//! Authorization server metadata: RFC 8414 first, then OpenID Connect Discovery 1.0.
//!
//! The `issuer` in the metadata must equal the configured issuer exactly (RFC 8414 §3.3,
//! SEC-4): a document that names another issuer is a mix-up attempt or a misconfiguration and is
//! refused. Endpoints in it must be https (or http on loopback).

use serde::Deserialize;

use crate::catalog::check_endpoint_url;
use crate::error::{Error, Result};
use crate::http;

/// The metadata fields Keyhaven uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Metadata {
    /// The issuer identifier.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    pub token_endpoint: Option<String>,
    /// Revocation endpoint (RFC 7009).
    pub revocation_endpoint: Option<String>,
    /// Userinfo endpoint (OIDC).
    pub userinfo_endpoint: Option<String>,
    /// Device authorization endpoint (RFC 8628).
    pub device_authorization_endpoint: Option<String>,
    /// JWKS for id token signatures.
    pub jwks_uri: Option<String>,
    /// PKCE methods.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the server sends `iss` in authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Scopes.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7591 dynamic client registration endpoint.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
}

impl Metadata {
    /// Refuses metadata that advertises PKCE without S256 (SEC-1: never fall back to plain).
    pub fn check_pkce(&self) -> Result<()> {
        let m = &self.code_challenge_methods_supported;
        if !m.is_empty() && !m.iter().any(|x| x == "S256") {
            return Err(Error::Http {
                what: format!("metadata of {}", self.issuer),
                kind: crate::error::HttpFailure::Malformed,
                reason: "the server does not support PKCE S256 (only plain?); Keyhaven refuses \
                         to sign in without S256"
                    .into(),
            });
        }
        Ok(())
    }
}

/// Fetches metadata for `issuer`: `/.well-known/oauth-authorization-server` (RFC 8414, inserted
/// before the issuer's path), then `/.well-known/openid-configuration` (appended).
pub fn discover(issuer: &str) -> Result<Metadata> {
    discover_inner(issuer, false)
}

/// Discovery for an issuer the person is typing in (`providers add --issuer`): the same, except
/// that an issuer differing from the metadata's by one trailing `/` is taken as the server says
/// it is. Both forms fetch the same documents, so this names no other server; the returned
/// `issuer` is what is stored, and every later check (metadata, `iss`, id tokens) is exact.
pub fn discover_configured(issuer: &str) -> Result<Metadata> {
    discover_inner(issuer, true)
}

fn discover_inner(issuer: &str, adopt_slash: bool) -> Result<Metadata> {
    let base =
        check_endpoint_url(issuer).map_err(|e| Error::BadInput(format!("issuer {issuer}: {e}")))?;
    let client = http::client()?;
    let path = base.path().trim_end_matches('/');
    let origin = base.origin().ascii_serialization();
    let candidates = [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ),
    ];
    let mut last_err = None;
    for url in candidates {
        let what = format!("discovery at {url}");
        match http::send(&what, client.get(&url).header("Accept", "application/json")) {
            Ok(resp) if resp.status == 200 => {
                let meta: Metadata = serde_json::from_slice(&resp.body).map_err(|e| {
                    crate::http::malformed(&what, format!("not valid metadata JSON: {e}"))
                })?;
                let slash_only = adopt_slash
                    && issuer.trim_end_matches('/') == meta.issuer.trim_end_matches('/')
                    && issuer.len().abs_diff(meta.issuer.len()) == 1;
                if meta.issuer != issuer && !slash_only {
                    return Err(Error::IssuerMismatch {
                        reason: format!(
                            "the metadata at {url} names issuer {:?}, expected {issuer:?}",
                            meta.issuer
                        ),
                    });
                }
                for u in [
                    &meta.authorization_endpoint,
                    &meta.token_endpoint,
                    &meta.revocation_endpoint,
                    &meta.userinfo_endpoint,
                    &meta.device_authorization_endpoint,
                    &meta.jwks_uri,
                    &meta.registration_endpoint,
                ]
                .into_iter()
                .flatten()
                {
                    check_endpoint_url(u)
                        .map_err(|e| crate::http::malformed(&what, format!("endpoint {u}: {e}")))?;
                }
                meta.check_pkce()?;
                return Ok(meta);
            }
            Ok(resp) => last_err = Some(http::status_error(&what, &resp)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.expect("two candidates tried"))
}

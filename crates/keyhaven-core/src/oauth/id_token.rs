//! Verifying an OpenID Connect id token (SEC-6): the signature against the issuer's JWKS with an
//! allowlist of asymmetric algorithms (no `none`, no HS/RS confusion), `iss`, `aud`, `exp`,
//! `nonce` by `openidconnect`, and what it leaves to the caller (`azp`, an `iat` in the future).
//! An unknown `kid` refetches the JWKS once (keys rotate).

use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use serde_json::Value;

use super::client::sanitize;
use crate::error::{Error, Result};
use crate::http;
use crate::secret::SecretBytes;

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
    serde_json::from_slice(&resp.body)
        .map_err(|e| crate::http::malformed(what, format!("not a JSON Web Key Set: {e}")))
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
}

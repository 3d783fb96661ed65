//! The JWT bearer grant (RFC 7523 §2.1) with a Google Cloud service-account key: the key file's
//! RSA key signs a short-lived assertion (RS256), which the token endpoint exchanges for an
//! access token. Signing is the `rsa` crate's PKCS#1 v1.5 with SHA-256; this module only lays
//! out the JWT (RFC 7519) around it.
//!
//! The key file is the connection's one secret field (`key_json`). Its `token_uri` must be the
//! catalog entry's token endpoint: a file naming another server is refused before anything is
//! signed, so an assertion is only ever made for, and sent to, the endpoint the entry names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// How long an assertion is valid: Google accepts at most one hour.
const LIFETIME_SECS: i64 = 3600;

/// A service-account key, read from its JSON file. The private key stays in `Zeroizing`.
pub(crate) struct ServiceAccountKey {
    /// The service account (`name@project.iam.gserviceaccount.com`): the assertion's issuer,
    /// and the connection's account.
    pub client_email: String,
    /// The key's id, sent as the JWT's `kid`.
    pub private_key_id: Option<String>,
    /// The token endpoint the file names.
    pub token_uri: String,
    /// The project the account belongs to, if the file says.
    pub project_id: Option<String>,
    private_key: Zeroizing<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key: Zeroizing<String>,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
}

impl ServiceAccountKey {
    /// Reads the JSON key file. Errors name what is wrong, never the key.
    pub(crate) fn parse(json: &SecretBytes) -> Result<ServiceAccountKey> {
        let bad = |why: &str| {
            Error::BadInput(format!(
                "the service-account key is not a JSON key file from Google Cloud ({why}); \
                 create one under IAM -> Service accounts -> Keys -> Add key -> JSON"
            ))
        };
        let file: KeyFile =
            serde_json::from_slice(json.expose_secret()).map_err(|_| bad("not that JSON"))?;
        if file.kind != "service_account" {
            return Err(bad("its type is not service_account"));
        }
        if !file.client_email.contains('@') {
            return Err(bad("client_email is not an e-mail address"));
        }
        Ok(ServiceAccountKey {
            token_uri: file
                .token_uri
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            client_email: crate::oauth::client::sanitize(&file.client_email),
            private_key_id: file.private_key_id,
            project_id: file.project_id.map(|p| crate::oauth::client::sanitize(&p)),
            private_key: file.private_key,
        })
    }

    /// The signed assertion for `audience` (the entry's token endpoint) with these scopes,
    /// issued at `now` (Unix seconds).
    pub(crate) fn assertion(
        &self,
        audience: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<Zeroizing<String>> {
        if self.token_uri != audience {
            return Err(Error::BadInput(format!(
                "the key file names the token endpoint {}, not {audience}: it is not a key for \
                 this provider",
                crate::oauth::client::sanitize(&self.token_uri)
            )));
        }
        let key = RsaPrivateKey::from_pkcs8_pem(&self.private_key).map_err(|_| {
            Error::BadInput("the key file's private_key is not a PKCS#8 RSA key".into())
        })?;
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": scopes.join(" "),
            "aud": audience,
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let signature = SigningKey::<Sha256>::new(key).sign(signing_input.as_bytes());
        Ok(Zeroizing::new(format!(
            "{signing_input}.{}",
            B64URL.encode(signature.to_bytes())
        )))
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    use super::*;

    /// The fake key file tests/cloud-fake serves for (its RSA key exists only there).
    const KEY_FILE: &str = include_str!("../../../../tests/cloud-fake/gcp-service-account.json");
    const AUD: &str = "https://oauth2.googleapis.com/token";

    #[test]
    fn the_assertion_is_an_rs256_jwt_for_the_entrys_endpoint_only() {
        let sa = ServiceAccountKey::parse(&SecretBytes::from(KEY_FILE.to_string())).unwrap();
        assert_eq!(
            sa.client_email,
            "ci-deployer@keyhaven-fake.iam.gserviceaccount.com"
        );
        assert!(!format!("{sa:?}").contains("PRIVATE"), "{sa:?}");
        let jwt = sa
            .assertion(
                AUD,
                &["https://www.googleapis.com/auth/cloud-platform".into()],
                1_000,
            )
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let json = |p: &str| -> serde_json::Value {
            serde_json::from_slice(&B64URL.decode(p).unwrap()).unwrap()
        };
        let (header, claims) = (json(parts[0]), json(parts[1]));
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "0fa4e0000000000000000000000000000000gcp1");
        assert_eq!(
            claims["iss"],
            "ci-deployer@keyhaven-fake.iam.gserviceaccount.com"
        );
        assert_eq!(claims["aud"], AUD);
        assert_eq!(
            claims["scope"],
            "https://www.googleapis.com/auth/cloud-platform"
        );
        assert_eq!(claims["exp"], 4_600);
        let pem: serde_json::Value = serde_json::from_str(KEY_FILE).unwrap();
        let key = RsaPrivateKey::from_pkcs8_pem(pem["private_key"].as_str().unwrap()).unwrap();
        let sig = Signature::try_from(B64URL.decode(parts[2]).unwrap().as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(key.to_public_key())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .expect("a signature the key's public half verifies");
    }

    #[test]
    fn a_key_for_another_endpoint_or_no_key_file_signs_nothing() {
        let other = KEY_FILE.replace(AUD, "https://evil.example/token");
        let e = ServiceAccountKey::parse(&SecretBytes::from(other))
            .unwrap()
            .assertion(AUD, &[], 1_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a key for this provider"), "{e}");
        let e = ServiceAccountKey::parse(&SecretBytes::from(r#"{"type":"user"}"#.to_string()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not that JSON") || e.contains("not service_account"),
            "{e}"
        );
        let user = KEY_FILE.replace("\"service_account\"", "\"authorized_user\"");
        let e = ServiceAccountKey::parse(&SecretBytes::from(user))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not service_account"), "{e}");
        assert!(!e.contains("PRIVATE"), "{e}");
    }
}

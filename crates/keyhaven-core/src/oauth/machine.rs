//! Grants that need no browser: client credentials (RFC 6749 §4.4) for confidential machine
//! clients such as OVHcloud service accounts, the JWT bearer grant (RFC 7523 §2.1) for
//! service-account keys such as Google Cloud's ([`super::assertion`]), and the resource owner
//! password grant (§4.3), legacy, kept only for providers that offer nothing else (Contabo's
//! API).
//!
//! Here the client *is* the account: its id and secret (and, for the password grant, the API
//! user and password) are the connection's own credential fields, stored encrypted like any
//! token. There is no refresh token to rotate; when the access token expires, the same grant
//! runs again through the single-flight path in [`crate::tokens`], so many processes asking at
//! once still make one request.

use zeroize::Zeroizing;

use super::assertion::ServiceAccountKey;
use super::client::{self as token, ClientAuth, Tokens};
use super::identity;
use super::request::FlowRequest;
use crate::catalog::{AuthMode, ProviderDef};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The stored credentials a machine grant needs. Secrets stay in [`SecretBytes`].
pub(crate) struct MachineCredentials {
    pub client_id: String,
    pub client_secret: Option<SecretBytes>,
    pub username: Option<String>,
    pub password: Option<SecretBytes>,
    /// The JWT bearer grant's key (its `client_email` is also `client_id`).
    pub service_account: Option<ServiceAccountKey>,
    /// An extension grant's fields, sent under their own names (IBM's `apikey`).
    pub extension: Vec<(String, SecretBytes)>,
}

impl std::fmt::Debug for MachineCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineCredentials")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl MachineCredentials {
    /// Picks the grant's inputs out of a connection's fields (`client_id`, `client_secret`,
    /// `username`, `password`), checking the mode has what it needs.
    pub(crate) fn from_fields(
        def: &ProviderDef,
        mut take: impl FnMut(&str) -> Option<SecretBytes>,
    ) -> Result<MachineCredentials> {
        let (mode, provider) = (def.auth_mode, def.id.as_str());
        let text = |b: SecretBytes| String::from_utf8_lossy(b.expose_secret()).into_owned();
        let missing = |name: &str| {
            Error::BadInput(format!(
                "the {provider} connection has no {name}; add its credentials again with \
                 `keyhaven credentials add {provider}`"
            ))
        };
        if mode == AuthMode::Oauth2JwtBearer {
            let key =
                ServiceAccountKey::parse(&take("key_json").ok_or_else(|| missing("key_json"))?)?;
            return Ok(MachineCredentials {
                client_id: key.client_email.clone(),
                client_secret: None,
                username: None,
                password: None,
                service_account: Some(key),
                extension: vec![],
            });
        }
        if mode == AuthMode::Oauth2ExtensionGrant {
            let mut extension = Vec::new();
            for f in def.credential_fields() {
                match take(&f.name) {
                    Some(v) => extension.push((f.name, v)),
                    None if f.optional => {}
                    None => return Err(missing(&f.name)),
                }
            }
            // No client: the key is the whole credential (an empty id sends none).
            return Ok(MachineCredentials {
                client_id: String::new(),
                client_secret: None,
                username: None,
                password: None,
                service_account: None,
                extension,
            });
        }
        let client_id = take("client_id")
            .map(text)
            .ok_or_else(|| missing("client_id"))?;
        let client_secret = take("client_secret");
        let (username, password) = match mode {
            AuthMode::Oauth2Password => (
                Some(
                    take("username")
                        .map(text)
                        .ok_or_else(|| missing("username"))?,
                ),
                Some(take("password").ok_or_else(|| missing("password"))?),
            ),
            AuthMode::Oauth2ClientCredentials => {
                if client_secret.is_none() {
                    return Err(missing("client_secret"));
                }
                (None, None)
            }
            other => {
                return Err(Error::BadInput(format!(
                    "{provider} uses {other:?}, not a machine grant"
                )));
            }
        };
        Ok(MachineCredentials {
            client_id,
            client_secret,
            username,
            password,
            service_account: None,
            extension: vec![],
        })
    }

    /// The account name when the provider has no identity endpoint: the API user for the
    /// password grant, the client id for client credentials (the key file's service account),
    /// empty for an extension grant (the live check or `--account` names it).
    pub(crate) fn fallback_account(&self) -> String {
        self.username
            .clone()
            .unwrap_or_else(|| self.client_id.clone())
    }
}

/// Runs the grant once and returns the parsed tokens.
pub(crate) fn request_token(
    def: &ProviderDef,
    req: &FlowRequest,
    creds: &MachineCredentials,
    scopes: &[String],
) -> Result<Tokens> {
    let mut form: Vec<(String, Zeroizing<String>)> = Vec::new();
    match def.auth_mode {
        AuthMode::Oauth2ClientCredentials => {
            form.push((
                "grant_type".into(),
                Zeroizing::new("client_credentials".into()),
            ));
        }
        AuthMode::Oauth2Password => {
            let username = creds.username.clone().unwrap_or_default();
            let password = creds
                .password
                .as_ref()
                .map(|p| String::from_utf8_lossy(p.expose_secret()).into_owned())
                .unwrap_or_default();
            form.push(("grant_type".into(), Zeroizing::new("password".into())));
            form.push(("username".into(), Zeroizing::new(username)));
            form.push(("password".into(), Zeroizing::new(password)));
        }
        AuthMode::Oauth2ExtensionGrant => {
            let grant = def.grant_type.clone().unwrap_or_default();
            form.push(("grant_type".into(), Zeroizing::new(grant)));
            for (name, value) in &creds.extension {
                let value = String::from_utf8_lossy(value.expose_secret()).into_owned();
                form.push((name.clone(), Zeroizing::new(value)));
            }
        }
        AuthMode::Oauth2JwtBearer => {
            // RFC 7523 §2.1: the assertion is the client's authentication and the grant; its
            // audience is the catalog's token endpoint (not the test redirect of it), and the
            // scopes travel in it (Google reads `scope` from the claims).
            let key = creds
                .service_account
                .as_ref()
                .ok_or_else(|| Error::Catalog {
                    reason: format!("{}: a JWT bearer grant without a key", def.id),
                })?;
            let audience = def.token_url.as_deref().unwrap_or_default();
            let assertion = key.assertion(audience, scopes, crate::clock::now())?;
            let form = vec![
                (
                    "grant_type".into(),
                    Zeroizing::new("urn:ietf:params:oauth:grant-type:jwt-bearer".into()),
                ),
                ("assertion".into(), assertion),
            ];
            let auth = ClientAuth {
                client_id: "",
                client_secret: None,
            };
            return token::token_request(&def.id, req, &auth, form);
        }
        other => {
            return Err(Error::BadInput(format!(
                "{} uses {other:?}, not a machine grant",
                def.id
            )));
        }
    }
    if !scopes.is_empty() {
        form.push((
            "scope".into(),
            Zeroizing::new(scopes.join(&def.scope_separator)),
        ));
    }
    for (k, v) in &def.token_params {
        form.push((k.clone(), Zeroizing::new(v.clone())));
    }
    let auth = ClientAuth {
        client_id: &creds.client_id,
        client_secret: creds.client_secret.as_ref(),
    };
    token::token_request(&def.id, req, &auth, form)
}

/// The account name after a successful grant: from the provider's identity endpoint when the
/// catalog names one, else [`MachineCredentials::fallback_account`].
pub(crate) fn account(
    def: &ProviderDef,
    req: &FlowRequest,
    creds: &MachineCredentials,
    tokens: &Tokens,
) -> Result<String> {
    if def.identity.is_some() {
        identity::account_name(&def.id, req, tokens, None)
    } else {
        Ok(creds.fallback_account())
    }
}

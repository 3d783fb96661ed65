//! Credentials a person types in rather than grants in a browser: API keys, HTTP Basic, and the
//! client id/secret (plus API user/password) of the machine grants.
//!
//! [`add`] is the one entry point for both front ends (`keyhaven credentials add`, the desktop
//! cloud wizard): it checks every value against the catalog's field list (name, required,
//! pattern) without ever echoing a secret, verifies the credentials live unless told not to, and
//! stores them as a connection whose fields keep the catalog's secret flags.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{AuthMode, CredentialField, ProviderDef};
use crate::connections::{ConnectionSummary, FieldValue, NewConnection};
use crate::error::{Error, Result};
use crate::issued::IssuedWith;
use crate::oauth::client::Tokens;
use crate::oauth::machine::{self, MachineCredentials};
use crate::secret::SecretBytes;
use crate::tokens::Endpoints;
use crate::vault::Vault;

mod env;
mod verify;

pub use env::{EnvVar, dotenv_line, environment, family, sh_line};

/// What [`add`] is asked to do beyond the values.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Check the credentials with a live call first (the default in both front ends).
    pub verify: bool,
    /// Template variables (region, zone, endpoint).
    pub vars: BTreeMap<String, String>,
    /// Scopes for the machine grants; the catalog's defaults when empty.
    pub scopes: Vec<String>,
    /// The account name to file the connection under, when the provider's check names none
    /// (Hetzner Cloud tokens belong to a project whose name the API does not expose).
    pub account: Option<String>,
}

/// What [`add`] did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    /// The stored connection.
    #[serde(flatten)]
    pub connection: ConnectionSummary,
    /// Whether a live call confirmed the credentials.
    pub verified: bool,
    /// What the verification found (account, project, organisation, ARN ...), for display.
    pub found: BTreeMap<String, String>,
}

/// The fields a provider asks for, in order ([`ProviderDef::credential_fields`]).
pub fn fields(def: &ProviderDef) -> Vec<CredentialField> {
    def.credential_fields()
}

/// Checks the given values against the provider's fields: no unknown name, every required
/// field present, every pattern matched. Messages name the field, never the value.
pub fn check_values(
    def: &ProviderDef,
    values: &BTreeMap<String, SecretBytes>,
) -> Result<Vec<(CredentialField, Option<SecretBytes>)>> {
    let wanted = fields(def);
    if let Some(unknown) = values
        .keys()
        .find(|k| !wanted.iter().any(|f| &f.name == *k))
    {
        let names: Vec<&str> = wanted.iter().map(|f| f.name.as_str()).collect();
        return Err(Error::BadInput(format!(
            "{} has no field {unknown:?}; its fields are {}",
            def.id,
            names.join(", ")
        )));
    }
    let mut out = Vec::new();
    for f in wanted {
        let value = values
            .get(&f.name)
            .filter(|v| !v.expose_secret().is_empty());
        match value {
            None if !f.optional => {
                return Err(Error::BadInput(format!(
                    "{}: {} ({}) is required",
                    def.id, f.label, f.name
                )));
            }
            None => out.push((f, None)),
            Some(v) => {
                let text = std::str::from_utf8(v.expose_secret()).map_err(|_| {
                    Error::BadInput(format!("{}: {} is not valid UTF-8", def.id, f.label))
                })?;
                // A JSON key file: JSON allows raw line breaks only between tokens, so dropping
                // them keeps the document; what stays must parse (nothing of it is echoed).
                let compact;
                let text = if f.json {
                    compact = zeroize::Zeroizing::new(text.trim().replace(['\n', '\r'], ""));
                    if serde_json::from_str::<serde::de::IgnoredAny>(&compact).is_err() {
                        return Err(Error::BadInput(format!(
                            "{}: {} is not a JSON document",
                            def.id, f.label
                        )));
                    }
                    compact.as_str()
                } else {
                    text
                };
                if text.trim() != text || text.contains(['\n', '\r', '\0']) {
                    return Err(Error::BadInput(format!(
                        "{}: {} has leading/trailing spaces or control characters; paste the \
                         value alone",
                        def.id, f.label
                    )));
                }
                if let Some(p) = &f.pattern {
                    let re = crate::catalog::anchored(p).map_err(|e| Error::Catalog {
                        reason: format!("{} field {}: {e}", def.id, f.name),
                    })?;
                    if !re.is_match(text) {
                        return Err(Error::BadInput(format!(
                            "{}: {} does not look right: {} (field {})",
                            def.id,
                            f.label,
                            describe_mismatch(text, p),
                            f.name
                        )));
                    }
                }
                out.push((f, Some(SecretBytes::new(text.as_bytes().to_vec()))));
            }
        }
    }
    Ok(out)
}

/// What was received against what the pattern wants, in words a person can check without
/// reading a regular expression ("63 characters, expected 64"), never the value itself.
fn describe_mismatch(text: &str, pattern: &str) -> String {
    let got = text.chars().count();
    let lengths = regex_syntax::Parser::new()
        .parse(&format!("^(?:{pattern})$"))
        .ok()
        .map(|hir| {
            let p = hir.properties();
            (p.minimum_len(), p.maximum_len())
        });
    let prefix = literal_prefix(pattern);
    if let Some(prefix) = &prefix
        && !text.starts_with(prefix.as_str())
    {
        return format!("it should start with {prefix:?}");
    }
    match lengths {
        Some((Some(min), Some(max))) if min == max && got != min => {
            format!("{got} characters, expected {min}")
        }
        Some((Some(min), Some(max))) if got < min || got > max => {
            format!("{got} characters, expected {min} to {max}")
        }
        Some((Some(min), None)) if got < min => {
            format!("{got} characters, expected at least {min}")
        }
        _ => format!(
            "{got} characters of the right length, but some are not what this field takes \
             (copy the whole value again)"
        ),
    }
}

/// The fixed start of a pattern (`ghp_[A-Za-z0-9]{36}` -> `ghp_`), when it has one.
fn literal_prefix(pattern: &str) -> Option<String> {
    let lit: String = pattern
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    // A quantifier right after the literal applies to its last character: not fixed then.
    let rest = &pattern[lit.len()..];
    let lit = if rest.starts_with(['{', '?', '*', '+']) {
        lit[..lit.len().saturating_sub(1)].to_string()
    } else {
        lit
    };
    (!lit.is_empty()).then_some(lit)
}

/// Adds (or updates, same provider and account) a credential connection.
pub fn add(
    vault: &mut Vault,
    provider_id: &str,
    values: BTreeMap<String, SecretBytes>,
    opts: &AddOptions,
) -> Result<AddReport> {
    let def = vault.provider_def(provider_id)?;
    let (new, found) = checked_connection(&def, values, opts)?;
    let id = vault.save_connection(new)?;
    let connection = vault
        .connection_summary(&id)?
        .ok_or_else(|| Error::BadInput("the new connection vanished".into()))?;
    Ok(AddReport {
        connection,
        verified: opts.verify,
        found,
    })
}

/// Replaces the credentials of an existing connection (a rotated key), checked live first unless
/// `opts.verify` is false. The connection keeps its id, name, instance and audit history; the
/// audit log records the rotation (`credentials.rotated`). New credentials that belong to another
/// account are refused: they are a new connection (`keyhaven credentials add`).
pub fn update(
    vault: &mut Vault,
    conn_id: &str,
    values: BTreeMap<String, SecretBytes>,
    opts: &AddOptions,
) -> Result<AddReport> {
    let current = vault
        .connection_summary(conn_id)?
        .ok_or_else(|| Error::NoSuchConnection {
            id: conn_id.to_string(),
        })?;
    let def = vault.provider_def(&current.provider)?;
    if def.auth_mode == AuthMode::Oauth2 {
        return Err(Error::BadInput(format!(
            "{} signs in through the browser; sign in again with `keyhaven connect {}`",
            def.name, def.id
        )));
    }
    let stored_vars = crate::connections::rows::lifecycle(vault.conn(), conn_id)?.vars;
    let opts = AddOptions {
        vars: if opts.vars.is_empty() {
            stored_vars
        } else {
            opts.vars.clone()
        },
        account: None,
        ..opts.clone()
    };
    let (mut new, found) = checked_connection(&def, values, &opts)?;
    if opts.verify
        && let Some(account) = found.get("account")
        && *account != current.account
    {
        return Err(Error::BadInput(format!(
            "these credentials belong to {account}, not {}; add them as another connection \
             with `keyhaven credentials add {}`",
            current.account, def.id
        )));
    }
    new.account = current.account.clone();
    if crate::connections::instance_of(&new.vars) != current.instance {
        return Err(Error::BadInput(format!(
            "the variables given name another {} instance than this connection's ({}); add \
             them as another connection",
            def.name, current.instance
        )));
    }
    let id = vault.save_connection(new)?;
    crate::audit::record(vault, Some(&id), "credentials.rotated", None)?;
    let connection = vault
        .connection_summary(&id)?
        .ok_or_else(|| Error::BadInput("the connection vanished".into()))?;
    Ok(AddReport {
        connection,
        verified: opts.verify,
        found,
    })
}

/// Checks the values (fields, patterns, the live check) and builds the connection to store,
/// without storing it; `found` is what the check reported.
fn checked_connection(
    def: &ProviderDef,
    values: BTreeMap<String, SecretBytes>,
    opts: &AddOptions,
) -> Result<(NewConnection, BTreeMap<String, String>)> {
    let def = def.clone();
    if def.auth_mode == AuthMode::Oauth2 {
        return Err(Error::BadInput(format!(
            "{} signs in through the browser; use `keyhaven connect {}`",
            def.name, def.id
        )));
    }
    let resolved = def.resolve(&opts.vars)?;
    let checked = check_values(&def, &values)?;
    let mut stored: Vec<(String, FieldValue)> = Vec::new();
    let mut by_name: BTreeMap<String, SecretBytes> = BTreeMap::new();
    for (f, v) in checked {
        if let Some(v) = v {
            by_name.insert(f.name.clone(), SecretBytes::new(v.expose_secret().to_vec()));
            let value = if f.secret {
                FieldValue::Secret(v)
            } else {
                FieldValue::Plain(String::from_utf8_lossy(v.expose_secret()).into_owned())
            };
            stored.push((f.name, value));
        }
    }
    let mut extra = serde_json::Map::new();
    let scopes = if opts.scopes.is_empty() {
        def.scopes.clone()
    } else {
        opts.scopes.clone()
    };
    let mut found = BTreeMap::new();
    // SEC-39: what a machine grant's tokens are issued with (the token endpoint and the client);
    // an API key is handed out, never sent anywhere by Keyhaven after this check.
    let mut issued_with = IssuedWith::default();
    let (account, tokens) = match def.auth_mode {
        AuthMode::Oauth2ClientCredentials
        | AuthMode::Oauth2Password
        | AuthMode::Oauth2JwtBearer
        | AuthMode::Oauth2ExtensionGrant => {
            let creds = MachineCredentials::from_fields(&def, |n| {
                by_name
                    .get(n)
                    .map(|v| SecretBytes::new(v.expose_secret().to_vec()))
            })?;
            // A key file's service account is the grant's client: kept as `client_id` beside
            // the key, as for the other machine grants (renewal, revocation and SEC-39 read it).
            if creds.service_account.is_some() {
                stored.push((
                    "client_id".into(),
                    FieldValue::Plain(creds.client_id.clone()),
                ));
            }
            // An extension grant has no client: nothing to record for it (SEC-39).
            let client = Some(creds.client_id.as_str()).filter(|c| !c.is_empty());
            issued_with = IssuedWith::from_urls(
                resolved.issuer.as_deref(),
                resolved.token_url.as_deref(),
                resolved.revocation_url.as_deref(),
                client,
            );
            if opts.verify {
                let endpoints = Endpoints::of(&def, &resolved.vars, false)?;
                issued_with.token_origin = Some(crate::issued::origin(&endpoints.token_url));
                if endpoints.revocation_known {
                    issued_with.revocation_origin = endpoints
                        .revocation_url
                        .as_deref()
                        .map(crate::issued::origin);
                }
                let mut req = endpoints.request(&def, &creds.client_id);
                req.identity = def.identity.clone();
                req.userinfo_url = endpoints.userinfo_url.clone();
                req.scopes = scopes.clone();
                let tokens = machine::request_token(&def, &req, &creds, &scopes)
                    .map_err(|e| refused_credentials(&def, e))?;
                let account = match &def.verify {
                    Some(spec) => {
                        found = verify::run(&verify::Check {
                            def: &def,
                            spec,
                            values: &by_name,
                            resolved: &resolved,
                            grant_token: Some(&tokens.access_token),
                        })?;
                        found
                            .get("account")
                            .cloned()
                            .unwrap_or_else(|| creds.fallback_account())
                    }
                    None => machine::account(&def, &req, &creds, &tokens)?,
                };
                let account = if account.is_empty() {
                    unverified_account(&def, &by_name)
                } else {
                    account
                };
                found.insert("account".into(), account.clone());
                if let Some(project) = creds
                    .service_account
                    .as_ref()
                    .and_then(|k| k.project_id.clone())
                {
                    found.insert("project".into(), project);
                }
                (opts.account.clone().unwrap_or(account), Some(tokens))
            } else {
                let fallback = Some(creds.fallback_account())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| unverified_account(&def, &by_name));
                (opts.account.clone().unwrap_or(fallback), None)
            }
        }
        AuthMode::ApiKey | AuthMode::Basic => {
            if opts.verify {
                let spec = def.verify.as_ref().ok_or_else(|| {
                    Error::BadInput(format!(
                        "{} has no live check in the catalog; store with --no-verify",
                        def.name
                    ))
                })?;
                found = verify::run(&verify::Check {
                    def: &def,
                    spec,
                    values: &by_name,
                    resolved: &resolved,
                    grant_token: None,
                })?;
            }
            let account = opts
                .account
                .clone()
                .or_else(|| found.get("account").cloned())
                .unwrap_or_else(|| unverified_account(&def, &by_name));
            (account, None)
        }
        AuthMode::Oauth2 => unreachable!("refused above"),
    };
    for (k, v) in &found {
        if k != "account" {
            extra.insert(format!("found_{k}"), serde_json::Value::String(v.clone()));
        }
    }
    let mut new = NewConnection {
        provider_id: def.id.clone(),
        account,
        auth_mode: def.auth_mode,
        scopes_requested: scopes.clone(),
        scopes_granted: vec![],
        token_type: None,
        expires_at: None,
        extra: serde_json::Value::Object(extra),
        fields: stored,
        vars: resolved.vars.clone(),
        issued_with,
        defaulted: resolved.defaulted.clone(),
    };
    if let Some(tokens) = tokens {
        attach_tokens(&mut new, tokens, &scopes);
    }
    Ok((new, found))
}

/// A machine grant's refusal of the credentials themselves is the person's bad input (exit 2),
/// said like any other failed check: nothing is stored.
fn refused_credentials(def: &ProviderDef, e: Error) -> Error {
    match e {
        Error::TokenEndpoint {
            error, description, ..
        } if matches!(
            error.as_str(),
            "invalid_client" | "unauthorized_client" | "invalid_grant"
        ) =>
        {
            Error::Verification {
                provider: def.id.clone(),
                class: crate::error::VerifyClass::Invalid,
                message: format!(
                    "{} refused these credentials ({error}{description})",
                    def.name
                ),
            }
        }
        other => other,
    }
}

/// Puts a token response into a new connection: the token fields, expiry, type, scopes and
/// the response's other (non-secret) fields.
pub(crate) fn attach_tokens(new: &mut NewConnection, tokens: Tokens, requested: &[String]) {
    new.scopes_granted = tokens.granted_scopes(requested);
    new.expires_at = tokens.expires_in.map(|s| crate::clock::now() + s);
    new.token_type = tokens.token_type.clone();
    if let serde_json::Value::Object(extra) = &mut new.extra {
        for (k, v) in tokens.extra.iter() {
            extra.insert(k.clone(), v.clone());
        }
    }
    new.fields
        .extend(crate::oauth::client::token_fields(tokens));
}

/// An account name when the check named none (or did not run): the first non-secret field's
/// value (an access key id, an application key, a user name), else a fingerprint of the secret
/// (`key sha256:1a2b3c4d`: stable, so adding the same key again updates it, and reveals nothing).
fn unverified_account(def: &ProviderDef, values: &BTreeMap<String, SecretBytes>) -> String {
    use sha2::Digest;
    let all = fields(def);
    if let Some(v) = all
        .iter()
        .filter(|f| !f.secret)
        .find_map(|f| values.get(&f.name))
    {
        return String::from_utf8_lossy(v.expose_secret()).into_owned();
    }
    let mut h = sha2::Sha256::new();
    for f in all.iter().filter(|f| f.secret) {
        if let Some(v) = values.get(&f.name) {
            h.update(v.expose_secret());
        }
    }
    format!("key sha256:{}", &hex::encode(h.finalize())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatches_are_described_by_length_and_prefix_never_by_the_regex() {
        let hex64 = "[0-9a-zA-Z]{64}";
        assert_eq!(
            describe_mismatch(&"a".repeat(63), hex64),
            "63 characters, expected 64"
        );
        assert_eq!(
            describe_mismatch("short", "[A-Za-z0-9/+]{40,44}"),
            "5 characters, expected 40 to 44"
        );
        assert_eq!(
            describe_mismatch("XKIAABCDEFGHIJKLMNOP", "(AKIA|ASIA)[A-Z0-9]{16}"),
            "20 characters of the right length, but some are not what this field takes (copy \
             the whole value again)"
        );
        assert_eq!(
            describe_mismatch("gho_x", "ghp_[A-Za-z0-9]{36}"),
            "it should start with \"ghp_\""
        );
        assert!(!describe_mismatch("secret-value", hex64).contains("secret-value"));
    }
}

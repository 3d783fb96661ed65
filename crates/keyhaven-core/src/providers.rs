//! Provider settings the person owns, kept in the vault: their own OAuth app (client id, and a
//! secret where the provider insists) for a catalog provider, and custom providers (from
//! discovery or explicit endpoints).
//!
//! [`Vault::provider_def`] is the one lookup every flow uses: a custom provider by its id, else
//! the embedded catalog. Custom ids may not shadow catalog ids.
//!
//! A custom definition is checked with the same rules wherever it comes from: when it is added,
//! when a backup brings one in, and every time it is read back from the vault (SEC-40), so a
//! definition written by an older build or smuggled in by a file cannot point a flow at plain
//! http, shadow a catalog provider or carry a shell-hostile variable name. Redefining an existing
//! id must be asked for (`replace`), and even then its connections keep the server they were
//! issued by (SEC-39, enforced in [`crate::tokens`]).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::audit;
use crate::catalog::{
    AuthMode, Catalog, Identity, IdentitySource, ProviderDef, RedirectKind, Refresh,
    TokenAuthMethod, TokenResponseShape, check_endpoint_url, discovery,
};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::vault::Vault;

/// The person's OAuth app for a provider.
#[derive(Debug)]
pub struct ClientConfig {
    /// Client id.
    pub client_id: String,
    /// Client secret, when there is one.
    pub client_secret: Option<SecretBytes>,
}

/// A provider as listed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ProviderSummary {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Auth mode.
    pub auth_mode: AuthMode,
    /// Whether it is a custom provider.
    pub custom: bool,
    /// Whether an OAuth app (client id) is configured.
    pub configured: bool,
    /// Accepted redirect kinds, default first.
    pub redirects: Vec<RedirectKind>,
    /// Categories (`catalog::CATEGORIES`), the one it is listed under first.
    pub categories: Vec<String>,
    /// Other names it is found by (`twitter` for X).
    pub aliases: Vec<String>,
    /// Its brand icon's `simple-icons` slug, if the set has one.
    pub icon: Option<String>,
    /// Template variables it needs.
    pub variables: Vec<String>,
}

impl ProviderSummary {
    /// The summary of a definition, with whether your OAuth app is configured for it.
    pub fn of(d: &ProviderDef, custom: bool, configured: bool) -> ProviderSummary {
        ProviderSummary {
            id: d.id.clone(),
            name: d.name.clone(),
            auth_mode: d.auth_mode,
            custom,
            configured,
            redirects: d.redirects.clone(),
            categories: d.categories.clone(),
            aliases: d.aliases.clone(),
            icon: d.icon.clone(),
            variables: d.variables.keys().cloned().collect(),
        }
    }
}

/// What [`Vault::remove_provider`] removed.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedProvider {
    /// Provider id.
    pub id: String,
    /// A custom provider's definition (else only your OAuth app for a catalog provider).
    pub custom: bool,
    /// The client id of the app that was configured, if any.
    pub client_id: Option<String>,
    /// Connections still using it (with `force`).
    pub connections_left: i64,
}

/// A catalog provider's details, before any vault exists (`keyhaven providers show`,
/// `keyhaven credentials fields` work before `keyhaven init`).
pub fn catalog_provider_info(id: &str) -> Result<ProviderInfo> {
    let def = Catalog::builtin()?
        .require(&id.to_ascii_lowercase())?
        .clone();
    Ok(info_of(def, None))
}

fn info_of(def: ProviderDef, client_id: Option<String>) -> ProviderInfo {
    let redirect_uris = def
        .redirects
        .iter()
        .map(|k| {
            let uri = match k {
                RedirectKind::DeepLink => crate::oauth::redirect::deep_link_redirect_template(
                    &def.id,
                    &def.variables.keys().map(String::as_str).collect::<Vec<_>>(),
                ),
                RedirectKind::Loopback => match def.loopback_port {
                    Some(port) => format!("http://127.0.0.1:{port}/callback"),
                    None => "http://127.0.0.1/callback".to_string(),
                },
            };
            (k.as_str().to_string(), uri)
        })
        .collect();
    ProviderInfo {
        variables: def
            .variables
            .iter()
            .map(|(name, v)| VariableInfo {
                name: name.clone(),
                label: v.label.clone(),
                help: v.help.clone(),
                pattern: v.pattern.clone(),
                default: v.default.clone(),
                example: v.example.clone(),
            })
            .collect(),
        fields: def.credential_fields(),
        env: def.env.keys().cloned().collect(),
        configured: client_id.is_some(),
        client_id,
        redirect_uris,
        issuer: def.issuer,
        authorization_url: def.authorization_url,
        token_url: def.token_url,
        revocation_url: def.revocation_url,
        id: def.id,
        name: def.name,
        auth_mode: def.auth_mode,
        legacy: def.legacy,
        docs_url: def.docs_url,
        register_url: def.register_url,
        categories: def.categories,
        aliases: def.aliases,
        icon: def.icon,
        scopes: def.scopes,
        redirects: def.redirects,
        client_secret_required: def.client_secret_required,
    }
}

/// The catalog alone, as listed before any vault exists (`keyhaven providers list` works before
/// `keyhaven init`): nothing is configured yet.
pub fn catalog_summaries() -> Result<Vec<ProviderSummary>> {
    Ok(Catalog::builtin()?
        .iter()
        .map(|d| ProviderSummary::of(d, false, false))
        .collect())
}

/// What `providers add` takes.
#[derive(Debug, Default)]
pub struct CustomProvider {
    /// New provider id.
    pub id: String,
    /// Issuer, for discovery (RFC 8414, then OIDC).
    pub issuer: Option<String>,
    /// Explicit authorization endpoint (instead of, or overriding, discovery).
    pub authorization_url: Option<String>,
    /// Explicit token endpoint.
    pub token_url: Option<String>,
    /// Explicit userinfo endpoint.
    pub userinfo_url: Option<String>,
    /// Explicit revocation endpoint.
    pub revocation_url: Option<String>,
    /// Default scopes.
    pub scopes: Vec<String>,
    /// Default redirect kind.
    pub redirect: Option<RedirectKind>,
    /// Client id (the browser grant's app). Machine grants keep theirs per connection.
    pub client_id: Option<String>,
    /// Client secret.
    pub client_secret: Option<SecretBytes>,
    /// The grant: `Oauth2` (browser, the default), or a machine grant whose client id and secret
    /// are each connection's own credentials (`keyhaven credentials add`).
    pub auth_mode: Option<AuthMode>,
    /// Redefine an existing custom provider with this id (`--replace`). Its connections are not
    /// re-pointed: they must be connected again (SEC-39).
    pub replace: bool,
    /// RFC 8707: the resource its tokens are for, sent as `resource` on the authorization,
    /// token and refresh requests (`keyhaven connect URL`, `by_url`).
    pub resource: Option<String>,
    /// The catalog's `[mcp]` entry this definition fills in (`keyhaven connect notion-mcp`):
    /// the definition takes the entry's id, name, categories and docs, and the endpoints the
    /// discovery found. `None` for a provider of its own.
    pub catalog_entry: Option<ProviderDef>,
}

/// Everything a front end shows about one provider before connecting it (desktop add-connection
/// and cloud-wizard screens).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ProviderInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Auth mode.
    pub auth_mode: AuthMode,
    /// A grant kept only because the provider offers nothing else.
    pub legacy: bool,
    /// Documentation.
    pub docs_url: String,
    /// Where to register an OAuth app / create a key.
    pub register_url: Option<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Other names it is found by.
    pub aliases: Vec<String>,
    /// Its brand icon's `simple-icons` slug, if the set has one.
    pub icon: Option<String>,
    /// Default scopes.
    pub scopes: Vec<String>,
    /// Accepted redirect kinds, default first.
    pub redirects: Vec<RedirectKind>,
    /// Whether your app needs a client secret.
    pub client_secret_required: bool,
    /// Template variables, with their names.
    pub variables: Vec<VariableInfo>,
    /// Credential fields, in the order to ask them.
    pub fields: Vec<crate::catalog::CredentialField>,
    /// Environment variable names its tools read.
    pub env: Vec<String>,
    /// Whether your OAuth app is stored.
    pub configured: bool,
    /// Its client id (not a secret), when stored.
    pub client_id: Option<String>,
    /// Issuer, as configured (templates unfilled).
    pub issuer: Option<String>,
    /// Authorization endpoint, as configured.
    pub authorization_url: Option<String>,
    /// Token endpoint, as configured.
    pub token_url: Option<String>,
    /// Revocation endpoint, as configured.
    pub revocation_url: Option<String>,
    /// Redirect URI to register at the provider, per kind.
    pub redirect_uris: std::collections::BTreeMap<String, String>,
}

/// A template variable, with its name.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct VariableInfo {
    /// `${name}`.
    pub name: String,
    /// Label.
    pub label: String,
    /// Help.
    pub help: String,
    /// Anchored pattern.
    pub pattern: String,
    /// Default.
    pub default: Option<String>,
    /// Example.
    pub example: String,
}

impl Vault {
    /// What a front end shows about one provider.
    pub fn provider_info(&self, id: &str) -> Result<ProviderInfo> {
        let def = self.provider_def(id)?;
        let client = self.provider_client(&def.id)?;
        Ok(info_of(def, client.map(|c| c.client_id)))
    }

    /// A provider definition: custom first, then the catalog.
    ///
    /// Ids are lowercase; an id typed in another case (`GitHub`) finds its provider. An unknown
    /// id is answered with the closest known one.
    pub fn provider_def(&self, id: &str) -> Result<ProviderDef> {
        let id = id.to_ascii_lowercase();
        if let Some(def) = self.custom_provider(&id)? {
            return Ok(def);
        }
        if let Some(def) = Catalog::builtin_provider(&id)? {
            return Ok(def);
        }
        let catalog = Catalog::builtin()?;
        match catalog.get(&id) {
            Some(def) => Ok(def.clone()),
            None => {
                let custom = self.custom_ids()?;
                Err(Error::UnknownProvider {
                    hint: match catalog.by_alias(&id) {
                        Some(d) => format!(" (did you mean {}?)", d.id),
                        None => crate::suggest::hint(
                            &id,
                            catalog
                                .iter()
                                .map(|d| d.id.as_str())
                                .chain(custom.iter().map(String::as_str)),
                        ),
                    },
                    id,
                })
            }
        }
    }

    fn custom_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(
            "SELECT provider_id FROM provider_settings WHERE custom_definition IS NOT NULL",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    pub(crate) fn custom_provider(&self, id: &str) -> Result<Option<ProviderDef>> {
        let text: Option<Option<String>> = self
            .conn()
            .prepare_cached(
                "SELECT custom_definition FROM provider_settings WHERE provider_id = ?1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?;
        match text.flatten() {
            // SEC-40: checked on every load, not only when it was added.
            Some(json) => parse_custom(id, &json)
                .map(Some)
                .map_err(|reason| Error::Catalog {
                    reason: format!(
                        "the custom provider {id} stored in this vault is invalid ({reason}); \
                         define it again with `keyhaven providers add --id {id} --replace ...`"
                    ),
                }),
            None => Ok(None),
        }
    }

    /// One sentence naming what redefining custom provider `id` would change, `None` when there
    /// is no such provider yet. The CLI's refusal without `--replace` and the desktop app's native
    /// confirmation both say it (SEC-39).
    pub fn describe_provider_replacement(
        &self,
        id: &str,
        new_issuer: Option<&str>,
    ) -> Result<Option<String>> {
        // Read loosely: a stored definition that no longer validates is replaced like any other.
        let stored: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT custom_definition FROM provider_settings WHERE provider_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(json) = stored.flatten() else {
            return Ok(None);
        };
        let old: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let connections: i64 = self.conn().query_row(
            "SELECT count(*) FROM connections WHERE provider_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let was = ["issuer", "token_url"]
            .iter()
            .find_map(|k| old.get(*k).and_then(|v| v.as_str()))
            .unwrap_or("(unknown)")
            .to_string();
        let now = new_issuer.map(str::to_string);
        let mut text = format!("provider {id} is already defined (server {was})");
        if let Some(now) = now.filter(|n| *n != was) {
            text.push_str(&format!("; redefining it points new sign-ins at {now}"));
        }
        match connections {
            0 => {}
            1 => text.push_str(
                ", and its 1 connection keeps talking only to the server that issued it: it \
                 must be connected again",
            ),
            n => text.push_str(&format!(
                ", and its {n} connections keep talking only to the server that issued them: \
                 they must be connected again"
            )),
        }
        Ok(Some(text))
    }

    /// The person's OAuth app for `provider_id`, if configured.
    pub fn provider_client(&self, provider_id: &str) -> Result<Option<ClientConfig>> {
        let row = self
            .conn()
            .query_row(
                "SELECT client_id, client_secret FROM provider_settings WHERE provider_id = ?1",
                [provider_id],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(id, secret)| {
            id.map(|client_id| ClientConfig {
                client_id,
                client_secret: secret.map(SecretBytes::new),
            })
        }))
    }

    /// Stores the person's OAuth app for a catalog or custom provider.
    pub fn configure_provider(
        &mut self,
        provider_id: &str,
        client_id: &str,
        client_secret: Option<SecretBytes>,
    ) -> Result<()> {
        let def = self.provider_def(provider_id)?;
        check_client_id(client_id)?;
        if def.client_secret_required && client_secret.is_none() {
            return Err(Error::BadInput(format!(
                "{} requires a client secret: add --client-secret-file FILE",
                def.name
            )));
        }
        let t = now();
        self.conn().execute(
            "INSERT INTO provider_settings (provider_id, client_id, client_secret, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (provider_id) DO UPDATE SET client_id = ?2, client_secret = ?3, updated_at = ?4",
            params![
                def.id,
                client_id,
                client_secret.as_ref().map(|s| s.expose_secret()),
                t
            ],
        )?;
        audit::record(self, None, "provider.configured", Some(&def.id))?;
        Ok(())
    }

    /// Adds a custom provider, by discovery and/or explicit endpoints.
    pub fn add_custom_provider(&mut self, p: CustomProvider) -> Result<ProviderDef> {
        if !is_provider_id(&p.id) {
            return Err(Error::BadInput(format!(
                "provider id {:?}: use lowercase letters, digits and '-'",
                p.id
            )));
        }
        // A catalog MCP entry is discovered when connected: its definition is filled in here.
        let filling_entry = p
            .catalog_entry
            .as_ref()
            .is_some_and(|e| e.id == p.id && e.mcp.is_some());
        if !filling_entry && Catalog::builtin()?.get(&p.id).is_some() {
            return Err(Error::BadInput(format!(
                "{} is a catalog provider; use `keyhaven providers configure {}` for your own app",
                p.id, p.id
            )));
        }
        // SEC-39: an existing definition is only replaced when asked for, before any request.
        if !p.replace
            && let Some(detail) = self.describe_provider_replacement(&p.id, p.issuer.as_deref())?
        {
            return Err(Error::ProviderExists {
                id: p.id.clone(),
                detail,
            });
        }
        let auth_mode = p.auth_mode.unwrap_or(AuthMode::Oauth2);
        let machine = auth_mode != AuthMode::Oauth2;
        if machine && (p.client_id.is_some() || p.client_secret.is_some()) {
            return Err(Error::BadInput(
                "a client-credentials or password provider keeps the client id and secret per \
                 connection: leave them out here and give them to `keyhaven credentials add`"
                    .into(),
            ));
        }
        match &p.client_id {
            Some(id) => check_client_id(id)?,
            None if !machine => {
                return Err(Error::BadInput(
                    "give --client-id: the browser sign-in needs your OAuth app's client id".into(),
                ));
            }
            None => {}
        }
        if !matches!(
            auth_mode,
            AuthMode::Oauth2 | AuthMode::Oauth2ClientCredentials | AuthMode::Oauth2Password
        ) {
            return Err(Error::BadInput(
                "custom providers are OAuth 2.0: browser, client credentials or password".into(),
            ));
        }
        for u in [
            &p.issuer,
            &p.authorization_url,
            &p.token_url,
            &p.userinfo_url,
            &p.revocation_url,
        ]
        .into_iter()
        .flatten()
        {
            check_endpoint_url(u).map_err(|e| Error::BadInput(format!("{u}: {e}")))?;
        }
        let meta = match &p.issuer {
            Some(issuer) => Some(discovery::discover_configured(issuer)?),
            None => None,
        };
        // The issuer as the server names it (a trailing slash typed or omitted: see
        // `discover_configured`).
        let issuer = meta.as_ref().map(|m| m.issuer.clone()).or(p.issuer.clone());
        let from_meta = |f: fn(&discovery::Metadata) -> Option<String>| meta.as_ref().and_then(f);
        let authorization_url = p
            .authorization_url
            .clone()
            .or_else(|| from_meta(|m| m.authorization_endpoint.clone()));
        let token_url = p
            .token_url
            .clone()
            .or_else(|| from_meta(|m| m.token_endpoint.clone()));
        if (!machine && authorization_url.is_none()) || token_url.is_none() {
            return Err(Error::BadInput(
                "give --issuer (for discovery) or both --authorization-url and --token-url".into(),
            ));
        }
        let userinfo_url = p
            .userinfo_url
            .clone()
            .or_else(|| from_meta(|m| m.userinfo_endpoint.clone()));
        let scopes = if p.scopes.is_empty() {
            meta.as_ref()
                .filter(|m| m.scopes_supported.iter().any(|s| s == "openid"))
                .map(|_| vec!["openid".to_string(), "email".into(), "profile".into()])
                .unwrap_or_default()
        } else {
            p.scopes.clone()
        };
        let openid = scopes.iter().any(|s| s == "openid")
            && meta.as_ref().is_some_and(|m| m.jwks_uri.is_some());
        let identity = Identity {
            source: if openid {
                IdentitySource::IdToken
            } else {
                IdentitySource::Userinfo
            },
            fields: vec![
                "/preferred_username".into(),
                "/email".into(),
                "/login".into(),
                "/sub".into(),
            ],
            headers: Default::default(),
            method: "GET".into(),
            body: None,
            token_header: None,
            token_prefix: None,
        };
        // SEC-42: a custom provider defaults to the loopback redirect, distinct per flow; the
        // deep link is used when asked for (its URI is distinct per provider id).
        let redirects = match p.redirect.unwrap_or(RedirectKind::Loopback) {
            RedirectKind::DeepLink => vec![RedirectKind::DeepLink, RedirectKind::Loopback],
            RedirectKind::Loopback => vec![RedirectKind::Loopback, RedirectKind::DeepLink],
        };
        let has_secret = p.client_secret.is_some() || machine;
        let token_auth_method = match (has_secret, &meta) {
            (false, _) => TokenAuthMethod::None,
            (true, Some(m))
                if !m
                    .token_endpoint_auth_methods_supported
                    .iter()
                    .any(|x| x == "client_secret_basic")
                    && m.token_endpoint_auth_methods_supported
                        .iter()
                        .any(|x| x == "client_secret_post") =>
            {
                TokenAuthMethod::ClientSecretPost
            }
            (true, _) => TokenAuthMethod::ClientSecretBasic,
        };
        let def = ProviderDef {
            id: p.id.clone(),
            name: p.id.clone(),
            categories: vec!["custom".into()],
            aliases: vec![],
            icon: None,
            loopback_port: None,
            domains: vec![],
            shares_endpoints_with: vec![],
            docs_url: issuer
                .clone()
                .or_else(|| authorization_url.clone())
                .unwrap_or_default(),
            register_url: None,
            auth_mode,
            legacy: auth_mode == AuthMode::Oauth2Password,
            issuer,
            authorization_url,
            token_url,
            revocation_url: p
                .revocation_url
                .clone()
                .or_else(|| from_meta(|m| m.revocation_endpoint.clone())),
            userinfo_url,
            device_authorization_url: from_meta(|m| m.device_authorization_endpoint.clone()),
            manual_revocation_url: None,
            scopes,
            scope_separator: " ".into(),
            authorization_params: p
                .resource
                .iter()
                .map(|r| ("resource".to_string(), r.clone()))
                .collect(),
            grant_type: None,
            token_params: p
                .resource
                .iter()
                .map(|r| ("resource".to_string(), r.clone()))
                .collect(),
            token_auth_method,
            client_secret_required: false,
            pkce: true,
            redirects,
            token_response: TokenResponseShape::Standard,
            // A machine token names no person: the account is the client id or API user,
            // unless a userinfo endpoint was given explicitly.
            identity: (!machine || p.userinfo_url.is_some()).then_some(identity),
            variables: Default::default(),
            refresh: Refresh::default(),
            env: Default::default(),
            env_clear: vec![],
            fields: vec![],
            verify: None,
            tools: Default::default(),
            dynamic_registration: p.resource.is_some(),
            mcp: p
                .resource
                .as_ref()
                .map(|url| crate::catalog::McpServer { url: url.clone() }),
        };
        let def = match p.catalog_entry.as_ref().filter(|_| filling_entry) {
            Some(entry) => ProviderDef {
                name: entry.name.clone(),
                categories: entry.categories.clone(),
                docs_url: entry.docs_url.clone(),
                register_url: entry.register_url.clone(),
                mcp: entry.mcp.clone(),
                ..def
            },
            None => def,
        };
        check_custom(&p.id, &def).map_err(|e| Error::BadInput(format!("custom provider: {e}")))?;
        let json = serde_json::to_string(&def).expect("definition serializes");
        let t = now();
        self.conn().execute(
            "INSERT INTO provider_settings (provider_id, custom_definition, client_id, client_secret, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (provider_id) DO UPDATE SET custom_definition = ?2, client_id = ?3,
               client_secret = ?4, updated_at = ?5",
            params![def.id, json, p.client_id, p.client_secret.as_ref().map(|s| s.expose_secret()), t],
        )?;
        audit::record(
            self,
            None,
            if p.replace {
                "provider.replaced"
            } else {
                "provider.added"
            },
            Some(&def.id),
        )?;
        Ok(def)
    }

    /// Removes a custom provider's definition, or your OAuth app for a catalog provider (the
    /// catalog entry itself stays). Refused while connections use it, unless `force`: they then
    /// cannot be refreshed or revoked until it is defined (or configured) again.
    pub fn remove_provider(&mut self, id: &str, force: bool) -> Result<RemovedProvider> {
        let id = id.to_ascii_lowercase();
        let is_catalog = Catalog::builtin()?.get(&id).is_some();
        let row: Option<(Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT custom_definition, client_id FROM provider_settings WHERE provider_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((definition, client_id)) = row else {
            return Err(if is_catalog {
                Error::BadInput(format!(
                    "{id} is a catalog provider with no OAuth app of yours configured: nothing to \
                     remove"
                ))
            } else {
                self.provider_def(&id)
                    .err()
                    .unwrap_or(Error::UnknownProvider {
                        id: id.clone(),
                        hint: String::new(),
                    })
            });
        };
        let connections: i64 = self.conn().query_row(
            "SELECT count(*) FROM connections WHERE provider_id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        if connections > 0 && !force {
            return Err(Error::BadInput(format!(
                "{id} has {connections} connection(s); disconnect them first (`keyhaven \
                 disconnect {id}:ACCOUNT`), or add --force to keep them, unusable until {id} is \
                 {} again",
                if definition.is_some() {
                    "defined"
                } else {
                    "configured"
                }
            )));
        }
        self.conn().execute(
            "DELETE FROM provider_settings WHERE provider_id = ?1",
            [&id],
        )?;
        audit::record(self, None, "provider.removed", Some(&id))?;
        Ok(RemovedProvider {
            id,
            custom: definition.is_some(),
            client_id,
            connections_left: connections,
        })
    }

    /// Catalog and custom providers, with whether each is configured.
    pub fn list_providers(&self) -> Result<Vec<ProviderSummary>> {
        let mut configured = std::collections::BTreeMap::new();
        let mut custom = vec![];
        {
            let mut stmt = self
                .conn()
                .prepare("SELECT provider_id, client_id IS NOT NULL, custom_definition FROM provider_settings")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
            for row in rows {
                let (id, has_client, def) = row?;
                configured.insert(id.clone(), has_client);
                // An invalid stored definition is not listed (SEC-40); using it says why.
                if let Some(json) = def
                    && let Ok(def) = parse_custom(&id, &json)
                {
                    custom.push(def);
                }
            }
        }
        let summary = |d: &ProviderDef, is_custom: bool| {
            ProviderSummary::of(
                d,
                is_custom,
                configured.get(&d.id).copied().unwrap_or(false),
            )
        };
        let mut out: Vec<_> = Catalog::builtin()?
            .iter()
            .map(|d| summary(d, false))
            .collect();
        out.extend(custom.iter().map(|d| summary(d, true)));
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// Parses a stored custom definition and checks it (SEC-40).
pub(crate) fn parse_custom(id: &str, json: &str) -> Result<ProviderDef, String> {
    let def: ProviderDef = serde_json::from_str(json).map_err(|e| e.to_string())?;
    check_custom(id, &def)?;
    Ok(def)
}

/// The rules every custom definition meets, wherever it comes from (SEC-40): the catalog's own
/// validation (https endpoints except on loopback hosts, declared templates, portable variable
/// and environment names, what each auth mode needs), the id it is stored under, and no
/// shadowing of a catalog provider.
pub(crate) fn check_custom(id: &str, def: &ProviderDef) -> Result<(), String> {
    if def.id != id {
        return Err(format!("it names itself {:?}", def.id));
    }
    if let Some(entry) = Catalog::builtin_provider(id).map_err(|e| e.to_string())? {
        // Only a catalog MCP entry is filled in, with its own server (SEC-40).
        if entry.mcp.is_none() || entry.mcp != def.mcp {
            return Err(format!("{id} is a catalog provider's id"));
        }
    }
    if !matches!(
        def.auth_mode,
        AuthMode::Oauth2 | AuthMode::Oauth2ClientCredentials | AuthMode::Oauth2Password
    ) {
        return Err("custom providers are OAuth 2.0".into());
    }
    def.validate()
}

/// A provider id: 1-64 lowercase letters, digits and '-' ([`crate::ids::ProviderId`]).
pub(crate) fn is_provider_id(id: &str) -> bool {
    crate::ids::ProviderId::is_valid(id)
}

pub(crate) fn check_client_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 512 || id.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::BadInput(
            "the client id must be 1-512 printable characters without spaces".into(),
        ));
    }
    Ok(())
}

//! Connecting by URL with no set-up (docs/by-url.md): from the address of an OAuth-protected
//! API (an MCP server's endpoint, say) to a provider Keyhaven can sign in with, the way the MCP
//! authorization spec does it:
//! 1. **RFC 9728.** An unauthenticated request to the URL; its 401's `WWW-Authenticate: Bearer
//!    resource_metadata="..."` names the protected-resource metadata, else the well-known
//!    locations for the URL are tried. The metadata's `resource` must be the URL itself, and
//!    every URL in it https (or http on loopback).
//! 2. **RFC 8414 / OIDC discovery** of the authorization server it names, its `issuer` checked
//!    exactly (`oauth::discovery`), and PKCE S256 required: advertised, not merely not denied.
//! 3. **RFC 7591.** Without a client for that issuer yet, Keyhaven registers itself as a native
//!    public client (`token_endpoint_auth_method=none`, loopback redirect, code + refresh). The
//!    registration is kept in the vault (`client_registrations`) and reused for every resource
//!    that server guards; it is done again when the server no longer knows it (RFC 7592 read
//!    answers 401/403/404) or its secret expired.
//! 4. **RFC 8707.** The provider made for the URL sends `resource=URL` on the authorization,
//!    token and refresh requests, so its tokens are for that resource only.
//!
//! Every document is fetched with the one HTTP client (`http`): no redirects followed, 5 s to
//! connect, 15 s in all, bodies capped (metadata at [`MAX_METADATA`]). Nothing is stored before
//! every check passed.

use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use url::Url;

use crate::catalog::{ProviderDef, RedirectKind};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http;
use crate::oauth::discovery::{self, Metadata};
use crate::providers::CustomProvider;
use crate::secret::SecretBytes;
use crate::vault::Vault;

/// The largest metadata document accepted (protected resource, registration answer).
pub const MAX_METADATA: usize = 64 * 1024;

/// The loopback redirect URI registered: the port is left out, as RFC 8252 §7.3 has servers
/// accept any port for a loopback redirect (Keyhaven's listener takes a new one per sign-in).
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/callback";

/// What the resource's metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// The resource identifier (the URL, as the metadata confirms it).
    pub resource: String,
    /// The authorization server chosen (the first listed).
    pub authorization_server: String,
    /// Scopes to ask for: the 401's `scope`, else the metadata's `scopes_supported`.
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
struct ResourceMetadata {
    resource: String,
    #[serde(default)]
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
}

/// A URL Keyhaven may fetch for discovery: https, or http to this machine; no user, no fragment.
pub fn check_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::BadInput(format!("{raw:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        s => {
            return Err(Error::BadInput(format!(
                "{raw}: only https URLs (or http on this machine) are used, not {s}"
            )));
        }
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(Error::BadInput(format!(
            "{raw}: a URL with a host and no user name"
        )));
    }
    if url.fragment().is_some() {
        return Err(Error::BadInput(format!("{raw}: a URL without a #fragment")));
    }
    Ok(url)
}

/// The `resource_metadata` and `scope` parameters of a `WWW-Authenticate: Bearer` challenge.
fn bearer_params(header: &str) -> (Option<String>, Option<String>) {
    let mut p = challenge_params(header);
    (p.remove("resource_metadata"), p.remove("scope"))
}

/// The parameters of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3: `error`, `scope`,
/// RFC 9728's `resource_metadata`...), names lowercased; empty for another scheme.
pub fn challenge_params(header: &str) -> std::collections::BTreeMap<String, String> {
    let mut params = std::collections::BTreeMap::new();
    let h = header.trim();
    let Some(rest) = h
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("bearer"))
        .map(|_| &h[6..])
    else {
        return params;
    };
    let mut s = rest;
    loop {
        s = s.trim_start_matches([' ', ',', '\t']);
        let Some((name, after)) = s.split_once('=') else {
            break;
        };
        let name = name.trim().to_ascii_lowercase();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => break,
            }
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.entry(name).or_insert(value);
        s = next;
    }
    params
}

fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::blocking::Client,
    what: &str,
    url: &str,
) -> Result<T> {
    check_url(url).map_err(|e| http::malformed(what, e.to_string()))?;
    let resp = http::send(what, client.get(url).header("Accept", "application/json"))?;
    if (300..400).contains(&resp.status) {
        return Err(http::malformed(
            what,
            format!(
                "it answered {} (a redirect): metadata is never followed elsewhere",
                resp.status
            ),
        ));
    }
    if resp.status != 200 {
        return Err(http::status_error(what, &resp));
    }
    if resp.body.len() > MAX_METADATA {
        return Err(http::malformed(
            what,
            format!("the document is larger than {} KiB", MAX_METADATA / 1024),
        ));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|e| http::malformed(what, format!("not the expected JSON: {e}")))
}

/// Step 1: what the resource at `raw` says about who guards it (RFC 9728).
pub fn discover_resource(raw: &str) -> Result<ResourceInfo> {
    let url = check_url(raw)?;
    let client = http::client()?;
    let what = format!("the resource {url}");
    let probe = http::send(&what, client.get(url.as_str()))?;
    let (from_header, scope) = match (probe.status, &probe.www_authenticate) {
        (401, Some(h)) => bearer_params(h),
        _ => (None, None),
    };
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let candidates = match &from_header {
        Some(m) => vec![m.clone()],
        None => vec![
            format!("{origin}/.well-known/oauth-protected-resource{path}"),
            format!("{origin}/.well-known/oauth-protected-resource"),
        ],
    };
    let mut last = None;
    let mut found = None;
    for c in &candidates {
        match fetch_json::<ResourceMetadata>(&client, &format!("resource metadata at {c}"), c) {
            Ok(m) => {
                found = Some(m);
                break;
            }
            // A missing well-known document: try the next one.
            Err(e) if from_header.is_none() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    let Some(meta) = found else {
        return Err(last.unwrap_or_else(|| {
            http::malformed(&what, "no protected-resource metadata was found")
        }));
    };
    // RFC 9728 §3.3: the metadata must be for the very resource asked about.
    let same = meta.resource == raw.trim() || meta.resource == url.as_str();
    if !same {
        return Err(Error::BadInput(format!(
            "the metadata of {url} is for another resource ({}): refused (RFC 9728 §3.3)",
            meta.resource
        )));
    }
    let Some(server) = meta.authorization_servers.first().cloned() else {
        return Err(Error::BadInput(format!(
            "the metadata of {url} names no authorization server"
        )));
    };
    for s in &meta.authorization_servers {
        check_url(s).map_err(|e| {
            Error::BadInput(format!(
                "the metadata of {url} names an authorization server Keyhaven will not use: {e}"
            ))
        })?;
    }
    let scopes = match scope {
        Some(s) => s.split_whitespace().map(str::to_string).collect(),
        None => meta.scopes_supported,
    };
    Ok(ResourceInfo {
        resource: meta.resource,
        authorization_server: server,
        scopes,
    })
}

/// Step 2: the authorization server's metadata, its issuer checked exactly and S256 required.
pub fn server_metadata(issuer: &str) -> Result<Metadata> {
    let meta = discovery::discover(issuer)?;
    if !meta
        .code_challenge_methods_supported
        .iter()
        .any(|m| m == "S256")
    {
        return Err(Error::BadInput(format!(
            "{issuer} does not say it supports PKCE S256 (code_challenge_methods_supported): \
             Keyhaven signs in only with S256"
        )));
    }
    Ok(meta)
}

/// A client Keyhaven registered (RFC 7591), as kept in the vault.
pub struct Registration {
    /// The client id.
    pub client_id: String,
    /// Its secret, when the server issued one anyway.
    pub client_secret: Option<SecretBytes>,
    /// When the secret expires (Unix seconds), 0 or `None`: never.
    pub client_secret_expires_at: Option<i64>,
    /// RFC 7592 management token.
    pub registration_access_token: Option<SecretBytes>,
    /// RFC 7592 management URI.
    pub registration_client_uri: Option<String>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn stored(vault: &Vault, issuer: &str) -> Result<Option<Registration>> {
    Ok(vault
        .conn()
        .query_row(
            "SELECT client_id, client_secret, client_secret_expires_at, registration_access_token,
                    registration_client_uri FROM client_registrations WHERE issuer = ?1",
            [issuer],
            |r| {
                Ok(Registration {
                    client_id: r.get(0)?,
                    client_secret: r.get::<_, Option<Vec<u8>>>(1)?.map(SecretBytes::new),
                    client_secret_expires_at: r.get(2)?,
                    registration_access_token: r
                        .get::<_, Option<Vec<u8>>>(3)?
                        .map(SecretBytes::new),
                    registration_client_uri: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Whether the server still knows the registration: its secret has not expired, and an RFC 7592
/// read (when the server gave the means) does not answer 401, 403 or 404. A read that fails
/// otherwise (network) keeps it: never re-register on a blip.
fn still_valid(reg: &Registration) -> bool {
    if reg
        .client_secret_expires_at
        .is_some_and(|t| t > 0 && t <= now())
    {
        return false;
    }
    let (Some(uri), Some(token)) = (&reg.registration_client_uri, &reg.registration_access_token)
    else {
        return true;
    };
    if check_url(uri).is_err() {
        return true;
    }
    let Ok(client) = http::client() else {
        return true;
    };
    let token = String::from_utf8_lossy(token.expose_secret()).into_owned();
    match http::send(
        "the client registration",
        client.get(uri).bearer_auth(&token),
    ) {
        Ok(r) => !matches!(r.status, 401 | 403 | 404),
        Err(_) => true,
    }
}

#[derive(Deserialize)]
struct RegistrationAnswer {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_secret_expires_at: Option<i64>,
    #[serde(default)]
    registration_access_token: Option<String>,
    #[serde(default)]
    registration_client_uri: Option<String>,
}

/// Step 3: registers Keyhaven at `meta`'s registration endpoint (RFC 7591) and keeps it.
fn register(vault: &mut Vault, meta: &Metadata) -> Result<Registration> {
    let endpoint = meta.registration_endpoint.as_deref().ok_or_else(|| {
        Error::BadInput(format!(
            "{} offers no dynamic client registration: register an app there and connect with \
             `keyhaven providers add --id ID --issuer {} --client-id CLIENT_ID`",
            meta.issuer, meta.issuer
        ))
    })?;
    check_url(endpoint)?;
    let what = format!("client registration at {}", meta.issuer);
    let body = serde_json::json!({
        "client_name": "Keyhaven",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [LOOPBACK_REDIRECT],
    });
    let client = http::client()?;
    let resp = http::send(
        &what,
        client
            .post(endpoint)
            .header("Accept", "application/json")
            .json(&body),
    )?;
    if !matches!(resp.status, 200 | 201) {
        return Err(http::status_error(&what, &resp));
    }
    if resp.body.len() > MAX_METADATA {
        return Err(http::malformed(&what, "the answer is too large"));
    }
    let a: RegistrationAnswer = serde_json::from_slice(&resp.body)
        .map_err(|e| http::malformed(&what, format!("not the expected JSON: {e}")))?;
    let client_id = a
        .client_id
        .filter(|c| !c.is_empty())
        .ok_or_else(|| http::malformed(&what, "the answer has no client_id: nothing was kept"))?;
    if let Some(uri) = &a.registration_client_uri {
        check_url(uri).map_err(|e| http::malformed(&what, e.to_string()))?;
    }
    let reg = Registration {
        client_id,
        client_secret: a.client_secret.map(SecretBytes::from),
        client_secret_expires_at: a.client_secret_expires_at,
        registration_access_token: a.registration_access_token.map(SecretBytes::from),
        registration_client_uri: a.registration_client_uri,
    };
    let actor = vault.actor();
    let tx = vault.conn_mut().transaction()?;
    tx.execute(
        "INSERT INTO client_registrations (issuer, client_id, client_secret,
            client_secret_expires_at, registration_access_token, registration_client_uri,
            redirect_uris, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (issuer) DO UPDATE SET client_id = ?2, client_secret = ?3,
            client_secret_expires_at = ?4, registration_access_token = ?5,
            registration_client_uri = ?6, redirect_uris = ?7, created_at = ?8",
        params![
            meta.issuer,
            reg.client_id,
            reg.client_secret
                .as_ref()
                .map(|s| s.expose_secret().to_vec()),
            reg.client_secret_expires_at,
            reg.registration_access_token
                .as_ref()
                .map(|s| s.expose_secret().to_vec()),
            reg.registration_client_uri,
            serde_json::json!([LOOPBACK_REDIRECT]).to_string(),
            now()
        ],
    )?;
    crate::audit::record_on(&tx, actor, None, "client.registered", Some(&meta.issuer))?;
    tx.commit()?;
    Ok(reg)
}

/// What [`prepare`] made ready.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The provider to connect (`keyhaven connect PROVIDER` from here on).
    pub provider_id: String,
    /// The resource its tokens are for.
    pub resource: String,
    /// The authorization server.
    pub issuer: String,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Whether Keyhaven registered itself just now (false: a kept registration was reused).
    pub registered: bool,
    /// The client id used.
    pub client_id: String,
}

/// The provider id for a resource URL: its host and path, lowercase, `-` for the rest
/// (`https://mcp.example.com/mcp` is `mcp-example-com-mcp`).
pub fn provider_id_for(resource: &Url) -> String {
    let mut id = String::new();
    let text = format!(
        "{}{}{}",
        resource.host_str().unwrap_or(""),
        resource.port().map(|p| format!("-{p}")).unwrap_or_default(),
        resource.path()
    );
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-');
    let mut id: String = id.chars().take(60).collect();
    while id.ends_with('-') {
        id.pop();
    }
    if crate::catalog::Catalog::has_builtin(&id) {
        id.push_str("-url");
    }
    id
}

/// What connecting `target` would do, found out without storing anything: the desktop's
/// "Connect by URL" preview (which server guards it, what it asks for, whether Keyhaven can
/// register itself there).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Preview {
    /// The resource its tokens would be for.
    pub resource: String,
    /// The authorization server that guards it (its issuer, checked).
    pub issuer: String,
    /// The scopes it asks for.
    pub scopes: Vec<String>,
    /// The provider id the connection would get.
    pub provider_id: String,
    /// Keyhaven already holds a registration at that server.
    pub registered: bool,
    /// The server lets Keyhaven register itself (RFC 7591), so no client id is needed.
    pub can_register: bool,
}

/// The catalog entry a provider id names when it is connected by discovery (`[mcp]` with
/// `dynamic_registration`), and its endpoint.
pub fn catalog_target(id: &str) -> Result<Option<(ProviderDef, String)>> {
    Ok(
        crate::catalog::Catalog::builtin_provider(id)?.and_then(|def| {
            let url = def.mcp.as_ref().map(|m| m.url.clone())?;
            def.dynamic_registration.then_some((def, url))
        }),
    )
}

/// What `keyhaven connect` should connect for `target` by discovery: a URL itself, or the
/// endpoint of a provider connected by discovery (a catalog `[mcp]` entry, or a provider made
/// by an earlier connect by URL, so its registration is checked again). `None`: an ordinary
/// provider.
pub fn connect_target(vault: &Vault, target: &str) -> Result<Option<String>> {
    if target.contains("://") {
        return Ok(Some(target.to_string()));
    }
    if let Some((_, url)) = catalog_target(target)? {
        return Ok(Some(url));
    }
    Ok(vault
        .provider_def(target)
        .ok()
        .filter(|d| d.dynamic_registration)
        .and_then(|d| d.mcp.map(|m| m.url)))
}

fn entry_for(raw: &str) -> Result<Option<ProviderDef>> {
    let url = check_url(raw)?;
    let entry = crate::catalog::Catalog::builtin()?.iter().find(|d| {
        d.dynamic_registration
            && d.mcp
                .as_ref()
                .is_some_and(|m| check_url(&m.url).is_ok_and(|u| u == url))
    });
    Ok(entry.cloned())
}

/// [`prepare`] without storing or registering anything.
pub fn preview(vault: &Vault, raw: &str) -> Result<Preview> {
    let info = discover_resource(raw)?;
    let meta = server_metadata(&info.authorization_server)?;
    let url = check_url(&info.resource)?;
    Ok(Preview {
        provider_id: match entry_for(&info.resource)? {
            Some(e) => e.id,
            None => provider_id_for(&url),
        },
        registered: stored(vault, &meta.issuer)?.is_some(),
        can_register: meta.registration_endpoint.is_some(),
        resource: info.resource,
        issuer: meta.issuer,
        scopes: info.scopes,
    })
}

/// Steps 1 to 4 for `raw`: discovers, checks, registers when needed, and defines (or updates)
/// the provider for the resource. `scopes` replaces what the resource asks for. A URL that is a
/// catalog `[mcp]` entry's endpoint fills that entry in (`keyhaven connect notion-mcp`), so the
/// connection carries the entry's id and name.
pub fn prepare(vault: &mut Vault, raw: &str, scopes: &[String]) -> Result<Prepared> {
    let info = discover_resource(raw)?;
    let meta = server_metadata(&info.authorization_server)?;
    let (reg, registered) = match stored(vault, &meta.issuer)? {
        Some(r) if still_valid(&r) => (r, false),
        _ => (register(vault, &meta)?, true),
    };
    let url = check_url(&info.resource)?;
    let entry = entry_for(&info.resource)?;
    let id = match &entry {
        Some(e) => e.id.clone(),
        None => provider_id_for(&url),
    };
    let scopes = if scopes.is_empty() {
        info.scopes.clone()
    } else {
        scopes.to_vec()
    };
    let custom = vault.custom_provider(&id)?;
    let same = custom.as_ref().is_some_and(|d| {
        d.issuer.as_deref() == Some(meta.issuer.as_str())
            && d.authorization_params.get("resource") == Some(&info.resource)
            && d.scopes == scopes
    });
    let secret = || {
        reg.client_secret
            .as_ref()
            .map(|s| SecretBytes::new(s.expose_secret().to_vec()))
    };
    if same {
        vault.configure_provider(&id, &reg.client_id, secret())?;
    } else {
        vault.add_custom_provider(CustomProvider {
            id: id.clone(),
            issuer: Some(meta.issuer.clone()),
            scopes: scopes.clone(),
            redirect: Some(RedirectKind::Loopback),
            client_id: Some(reg.client_id.clone()),
            client_secret: secret(),
            resource: Some(info.resource.clone()),
            replace: custom.is_some(),
            catalog_entry: entry,
            ..Default::default()
        })?;
    }
    Ok(Prepared {
        provider_id: id,
        resource: info.resource,
        issuer: meta.issuer,
        scopes,
        registered,
        client_id: reg.client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read() {
        let (m, s) = bearer_params(
            r#"Bearer realm="x", resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp", scope="a b""#,
        );
        assert_eq!(
            m.as_deref(),
            Some("https://r.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(s.as_deref(), Some("a b"));
        assert_eq!(bearer_params("Basic realm=x"), (None, None));
        assert_eq!(
            bearer_params(r#"Bearer error="invalid_token""#),
            (None, None)
        );
        let p = challenge_params(
            r#"bearer error="insufficient_scope", scope="files:read files:write""#,
        );
        assert_eq!(p["error"], "insufficient_scope");
        assert_eq!(p["scope"], "files:read files:write");
    }

    #[test]
    fn catalog_mcp_entries_are_connected_by_their_endpoint() {
        let (def, url) = catalog_target("notion-mcp").unwrap().expect("an MCP entry");
        assert_eq!(url, "https://mcp.notion.com/mcp");
        assert!(def.dynamic_registration);
        assert_eq!(
            entry_for(&url).unwrap().map(|d| d.id).as_deref(),
            Some("notion-mcp")
        );
        assert!(catalog_target("github").unwrap().is_none());
        assert!(entry_for("https://mcp.example.com/mcp").unwrap().is_none());
    }

    #[test]
    fn urls_are_https_or_loopback_and_ids_are_readable() {
        assert!(check_url("https://mcp.example.com/mcp").is_ok());
        assert!(check_url("http://127.0.0.1:8080/mcp").is_ok());
        assert!(check_url("http://example.com/mcp").is_err());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("https://user@example.com/").is_err());
        assert!(check_url("https://example.com/#x").is_err());
        let id = provider_id_for(&Url::parse("https://mcp.example.com/mcp").unwrap());
        assert_eq!(id, "mcp-example-com-mcp");
        let id = provider_id_for(&Url::parse("http://127.0.0.1:4000/v1/mcp/").unwrap());
        assert_eq!(id, "127-0-0-1-4000-v1-mcp");
        assert!(crate::ids::ProviderId::is_valid(&id));
    }
}

//! The provider catalog: one TOML file per provider under `crates/keyhaven-core/providers/`,
//! embedded at build time, validated on load (and by a test over every entry).
//!
//! - [`schema`]: the fields of a provider definition (documented in docs/providers.md).
//! - [`Catalog::builtin`]: the embedded entries; [`Catalog::get`] finds one.
//! - [`ProviderDef::resolve`]: a definition with its `${var}` templates filled in, each value
//!   checked against the variable's anchored pattern first, so a value can never smuggle a host,
//!   path or query into a URL.
//! - discovery (RFC 8414 / OpenID Connect metadata) is [`crate::oauth::discovery`].

mod categories;
pub mod lint;
pub mod schema;

pub use categories::{CATEGORIES, Category, category};

/// Discovery lives in the OAuth layer; kept reachable here for callers of the catalog.
pub use crate::oauth::discovery;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use include_dir::{Dir, include_dir};
use regex::Regex;
use url::Url;

pub use schema::*;

use crate::error::{Error, Result};

static PROVIDERS_DIR: Dir = include_dir!("$CARGO_MANIFEST_DIR/providers");

/// Set once [`BUILTIN`] has been built (`LazyLock::get` needs a newer Rust than our MSRV).
static BUILTIN_LOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

static BUILTIN: LazyLock<Result<Catalog, String>> = LazyLock::new(|| {
    let catalog = Catalog::load_embedded()?;
    BUILTIN_LOADED.store(true, std::sync::atomic::Ordering::Release);
    Ok(catalog)
});

/// A set of provider definitions.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    providers: BTreeMap<String, ProviderDef>,
}

impl Catalog {
    /// Parses and validates every embedded file, each named by its id. [`Catalog::builtin`]
    /// does this once per process; public for the catalog benchmark.
    pub fn load_embedded() -> Result<Catalog, String> {
        let mut providers = BTreeMap::new();
        for file in PROVIDERS_DIR.files() {
            let path = file.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let text = file
                .contents_utf8()
                .ok_or_else(|| format!("{}: not UTF-8", path.display()))?;
            let def =
                ProviderDef::from_toml(text).map_err(|e| format!("{}: {e}", path.display()))?;
            if def.id != stem {
                return Err(format!(
                    "{}: id {:?} differs from the file name",
                    path.display(),
                    def.id
                ));
            }
            providers.insert(def.id.clone(), def);
        }
        Ok(Catalog { providers })
    }

    /// The catalog embedded in this build.
    pub fn builtin() -> Result<&'static Catalog> {
        BUILTIN
            .as_ref()
            .map_err(|e| Error::Catalog { reason: e.clone() })
    }

    /// Whether the embedded catalog has a provider `id`, without parsing the catalog (a file
    /// per provider, named by its id: checked when the catalog loads).
    pub fn has_builtin(id: &str) -> bool {
        PROVIDERS_DIR.get_file(format!("{id}.toml")).is_some()
    }

    /// One embedded provider, parsed and validated alone: the hand-out path needs one
    /// definition, not all of them (parsing and validating every file, patterns compiled, costs
    /// milliseconds a `keyhaven token` would pay on each call). Once the whole catalog is
    /// loaded, its copy is used.
    pub fn builtin_provider(id: &str) -> Result<Option<ProviderDef>> {
        if BUILTIN_LOADED.load(std::sync::atomic::Ordering::Acquire)
            && let Ok(full) = &*BUILTIN
        {
            return Ok(full.get(id).cloned());
        }
        let Some(file) = PROVIDERS_DIR.get_file(format!("{id}.toml")) else {
            return Ok(None);
        };
        let text = file.contents_utf8().ok_or_else(|| Error::Catalog {
            reason: format!("{id}.toml: not UTF-8"),
        })?;
        let def = ProviderDef::from_toml(text).map_err(|e| Error::Catalog {
            reason: format!("{id}.toml: {e}"),
        })?;
        if def.id != id {
            return Err(Error::Catalog {
                reason: format!("{id}.toml: id {:?} differs from the file name", def.id),
            });
        }
        Ok(Some(def))
    }

    /// A provider by id.
    pub fn get(&self, id: &str) -> Option<&ProviderDef> {
        self.providers.get(id)
    }

    /// A provider by id, or an error naming the unknown id with the closest one; an alias
    /// (`twitter`) names its entry's id (`x`).
    pub fn require(&self, id: &str) -> Result<&ProviderDef> {
        self.get(id).ok_or_else(|| Error::UnknownProvider {
            id: id.into(),
            hint: match self.by_alias(id) {
                Some(d) => format!(" (did you mean {}?)", d.id),
                None => crate::suggest::hint(id, self.providers.keys().map(String::as_str)),
            },
        })
    }

    /// The entry that has `alias` among its aliases.
    pub fn by_alias(&self, alias: &str) -> Option<&ProviderDef> {
        self.iter().find(|d| d.aliases.iter().any(|a| a == alias))
    }

    /// Every provider, by id.
    pub fn iter(&self) -> impl Iterator<Item = &ProviderDef> {
        self.providers.values()
    }

    /// Number of providers.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

impl AuthMode {
    /// The mode named `name` as stored (`oauth2`, `api_key`, ...).
    pub fn parse(name: &str) -> Option<AuthMode> {
        [
            AuthMode::Oauth2,
            AuthMode::Oauth2ClientCredentials,
            AuthMode::Oauth2Password,
            AuthMode::Oauth2JwtBearer,
            AuthMode::Oauth2ExtensionGrant,
            AuthMode::ApiKey,
            AuthMode::Basic,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }

    /// Any OAuth 2.0 grant: there is an access token to renew and revoke.
    pub fn is_oauth(self) -> bool {
        self == AuthMode::Oauth2 || self.is_machine()
    }

    /// A grant without a browser: renewed by running it again with the stored credentials.
    pub fn is_machine(self) -> bool {
        matches!(
            self,
            AuthMode::Oauth2ClientCredentials
                | AuthMode::Oauth2Password
                | AuthMode::Oauth2JwtBearer
                | AuthMode::Oauth2ExtensionGrant
        )
    }
}

/// Endpoints of a provider with its variables filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Issuer (for discovery and `iss` checks), if the provider has one.
    pub issuer: Option<String>,
    /// Authorization endpoint.
    pub authorization_url: Option<String>,
    /// Token endpoint.
    pub token_url: Option<String>,
    /// Revocation endpoint.
    pub revocation_url: Option<String>,
    /// Userinfo endpoint.
    pub userinfo_url: Option<String>,
    /// Device authorization endpoint.
    pub device_authorization_url: Option<String>,
    /// The variable values used (as given or defaulted; what a connection stores).
    pub vars: BTreeMap<String, String>,
    /// Those and the variables they derive (for templates).
    pub all_vars: BTreeMap<String, String>,
    /// The variables that took their default (the person gave no value): a tool is never handed
    /// a value nobody chose (`keyhaven exec` leaves such a variable unset).
    pub defaulted: std::collections::BTreeSet<String>,
    /// The live check's URL with variables filled in; `${field:NAME}` and `${uuid}` are left for
    /// [`crate::credentials`] to fill per request.
    pub verify_url: Option<String>,
    /// OVHcloud's server-time URL, filled in.
    pub time_url: Option<String>,
}

impl ProviderDef {
    /// Parses and validates one TOML definition.
    pub fn from_toml(text: &str) -> Result<ProviderDef, String> {
        let def: ProviderDef = toml::from_str(text).map_err(|e| e.message().to_string())?;
        def.validate()?;
        Ok(def)
    }

    /// Checks what serde cannot: ids, URLs, templates, patterns, required fields per mode.
    pub fn validate(&self) -> Result<(), String> {
        if !crate::ids::ProviderId::is_valid(&self.id) {
            return Err(format!(
                "id {:?}: use lowercase letters, digits and '-'",
                self.id
            ));
        }
        if self.categories.is_empty() {
            return Err(format!(
                "categories: name at least one of {}",
                CATEGORIES
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for c in &self.categories {
            if category(c).is_none() {
                return Err(format!(
                    "category {c:?}{}: not one of catalog::CATEGORIES",
                    crate::suggest::hint(c, CATEGORIES.iter().map(|c| c.id))
                ));
            }
        }
        for a in &self.aliases {
            if !crate::ids::ProviderId::is_valid(a) || *a == self.id {
                return Err(format!(
                    "alias {a:?}: lowercase letters, digits and '-', not the id itself"
                ));
            }
        }
        if let Some(icon) = &self.icon
            && (icon.is_empty()
                || !icon
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        {
            return Err(format!(
                "icon {icon:?}: a simple-icons slug (lowercase letters, digits)"
            ));
        }
        for d in &self.domains {
            if d.is_empty() || d.contains('/') || d.contains(':') || !d.contains('.') {
                return Err(format!(
                    "domains: {d:?} is not a domain such as example.com"
                ));
            }
        }
        for (name, var) in &self.variables {
            // SEC-40: a variable's name appears in templates and in the connection's instance.
            if !is_portable_name(name) {
                return Err(format!("variable {name:?}: not a portable name"));
            }
            let re = anchored(&var.pattern).map_err(|e| format!("variable {name}: {e}"))?;
            if !re.is_match(&var.example) {
                return Err(format!(
                    "variable {name}: example does not match its pattern"
                ));
            }
            if let Some(d) = &var.default
                && !re.is_match(d)
            {
                return Err(format!(
                    "variable {name}: default does not match its pattern"
                ));
            }
        }
        let examples: BTreeMap<String, String> = self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.example.clone()))
            .collect();
        let resolved = self.resolve(&examples).map_err(|e| e.to_string())?;
        for url in resolved.all_urls() {
            check_endpoint_url(url).map_err(|e| format!("{url}: {e}"))?;
        }
        url_ok(&self.docs_url).map_err(|e| format!("docs_url: {e}"))?;
        match self.auth_mode {
            // A catalog MCP entry: everything but the endpoint is discovered when connecting
            // (docs/by-url.md), which fills the definition in.
            AuthMode::Oauth2
                if self.mcp.is_some() && self.issuer.is_none() && self.token_url.is_none() =>
            {
                if !self.dynamic_registration {
                    return Err(
                        "an [mcp] entry without endpoints is connected by discovery and needs \
                         dynamic_registration = true"
                            .into(),
                    );
                }
            }
            AuthMode::Oauth2 => {
                let has_endpoints = self.authorization_url.is_some() && self.token_url.is_some();
                if !has_endpoints && self.issuer.is_none() {
                    return Err("oauth2 needs authorization_url and token_url, or an issuer".into());
                }
                if self.redirects.is_empty() {
                    return Err("oauth2 needs at least one redirect kind".into());
                }
                if self.identity.is_none() {
                    return Err("oauth2 needs an identity section".into());
                }
            }
            AuthMode::Oauth2ExtensionGrant => {
                if self.token_url.is_none() {
                    return Err("oauth2_extension_grant needs token_url".into());
                }
                match &self.grant_type {
                    Some(g) if g.contains(':') && !g.contains(char::is_whitespace) => {}
                    _ => {
                        return Err(
                            "oauth2_extension_grant needs grant_type, an absolute URI".into()
                        );
                    }
                }
                if self.fields.is_empty() {
                    return Err("oauth2_extension_grant needs the fields it sends".into());
                }
            }
            AuthMode::Oauth2ClientCredentials
            | AuthMode::Oauth2Password
            | AuthMode::Oauth2JwtBearer => {
                if self.token_url.is_none() && self.issuer.is_none() {
                    return Err("this mode needs token_url or an issuer".into());
                }
                if self.auth_mode == AuthMode::Oauth2JwtBearer && self.token_url.is_none() {
                    // The assertion's audience is the token endpoint, fixed by the entry.
                    return Err("oauth2_jwt_bearer needs token_url".into());
                }
                // The grant reads these fields by name (oauth::machine); an empty list means
                // the standard ones.
                let needed: &[&str] = match self.auth_mode {
                    AuthMode::Oauth2Password => &["client_id", "username", "password"],
                    AuthMode::Oauth2JwtBearer => &["key_json"],
                    _ => &["client_id", "client_secret"],
                };
                if !self.fields.is_empty()
                    && let Some(n) = needed
                        .iter()
                        .find(|n| !self.fields.iter().any(|f| f.name == **n))
                {
                    return Err(format!("this mode needs a credential field named {n}"));
                }
            }
            AuthMode::ApiKey | AuthMode::Basic => {
                if self.fields.is_empty() {
                    return Err("api_key/basic need credential fields".into());
                }
            }
        }
        if let Some(port) = self.loopback_port
            && (port < 1024 || !self.redirects.contains(&RedirectKind::Loopback))
        {
            return Err(
                "loopback_port is a port from 1024 up, for an entry that takes loopback redirects"
                    .into(),
            );
        }
        if self.grant_type.is_some() && self.auth_mode != AuthMode::Oauth2ExtensionGrant {
            return Err("grant_type is for auth_mode = \"oauth2_extension_grant\"".into());
        }
        if self.auth_mode == AuthMode::Oauth2Password && !self.legacy {
            return Err("the password grant must be marked legacy = true".into());
        }
        if let Some(identity) = &self.identity {
            if identity.fields.is_empty() || identity.fields.iter().any(|f| !f.starts_with('/')) {
                return Err("identity.fields are JSON pointers such as \"/login\"".into());
            }
            if identity.source == IdentitySource::Userinfo
                && self.userinfo_url.is_none()
                && self.issuer.is_none()
            {
                return Err("identity from userinfo needs userinfo_url (or an issuer)".into());
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for f in &self.fields {
            if !names.insert(&f.name) {
                return Err(format!("field {} appears twice", f.name));
            }
            if let Some(p) = &f.pattern {
                anchored(p).map_err(|e| format!("field {}: {e}", f.name))?;
            }
        }
        if let Some(v) = &self.verify {
            self.validate_verify(v, &resolved)?;
        }
        self.validate_tools(&examples)?;
        if let Some(m) = &self.mcp {
            crate::by_url::check_url(&m.url).map_err(|e| format!("mcp.url: {e}"))?;
        }
        for f in &self.fields {
            if let Some(u) = &f.create_url {
                url_ok(u).map_err(|e| format!("field {} create_url: {e}", f.name))?;
            }
        }
        for var in self.env.keys().chain(self.env_clear.iter()) {
            let ok = var
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && var
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(format!("env {var:?}: not a portable variable name"));
            }
        }
        for (var, source) in &self.env {
            let known = ["access_token", "refresh_token", "id_token"].contains(&source.as_str())
                || names.contains(source)
                || self.variables.contains_key(source);
            if !known {
                return Err(format!("env {var}: unknown source {source:?}"));
            }
        }
        Ok(())
    }

    /// The hosts `[tools.git]` (or `[tools.docker]`) names for a connection with these
    /// variables, templates filled in, lowercase. Empty when the section is absent or a
    /// variable is missing.
    pub fn tool_hosts(
        &self,
        tool: &Option<schema::HostTool>,
        vars: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let Some(t) = tool else { return vec![] };
        t.hosts
            .iter()
            .filter_map(|h| expand(h, vars, &self.id).ok())
            .map(|h| h.to_ascii_lowercase())
            .collect()
    }

    fn validate_tools(&self, examples: &BTreeMap<String, String>) -> Result<(), String> {
        for (name, tool) in [("git", &self.tools.git), ("docker", &self.tools.docker)] {
            let Some(t) = tool else { continue };
            if t.hosts.is_empty() {
                return Err(format!("tools.{name}: needs at least one host"));
            }
            if t.username.is_empty() || t.username.contains(['\n', '\r', '\0']) {
                return Err(format!("tools.{name}.username: one non-empty line"));
            }
            for h in &t.hosts {
                let host =
                    expand(h, examples, &self.id).map_err(|e| format!("tools.{name}: {e}"))?;
                if !crate::tools::is_host(&host) {
                    return Err(format!("tools.{name}: {host:?} is not a host[:port]"));
                }
            }
        }
        if let Some(aws) = &self.tools.aws {
            for f in [
                Some(&aws.access_key_id),
                Some(&aws.secret_access_key),
                aws.session_token.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                if !self.fields.iter().any(|x| &x.name == f) {
                    return Err(format!("tools.aws: no credential field named {f}"));
                }
            }
        }
        Ok(())
    }

    fn validate_verify(&self, v: &Verify, resolved: &Resolved) -> Result<(), String> {
        let field = |name: &str| self.fields.iter().find(|f| f.name == name);
        let need = |names: &[&str]| -> Result<(), String> {
            for n in names {
                if field(n).is_none() {
                    return Err(format!(
                        "verify scheme {:?} needs a field named {n}",
                        v.scheme
                    ));
                }
            }
            Ok(())
        };
        if v.scheme != VerifyScheme::Header && v.prefix.is_some() {
            return Err("verify.prefix is for the header scheme".into());
        }
        if v.scheme != VerifyScheme::Basic
            && (v.basic_username.is_some() || v.basic_password.is_some())
        {
            return Err("verify.basic_username/basic_password are for the basic scheme".into());
        }
        match v.scheme {
            VerifyScheme::Bearer | VerifyScheme::Header => {
                let t = v.token_field.as_deref().unwrap_or("token");
                match field(t) {
                    Some(f) if f.secret => {}
                    _ => return Err(format!("verify: token field {t} must be a secret field")),
                }
                if v.scheme == VerifyScheme::Header && v.header.is_none() {
                    return Err("verify scheme header needs `header`".into());
                }
            }
            VerifyScheme::Basic => match (&v.basic_username, &v.basic_password) {
                (None, None) => need(&["username", "password"])?,
                (Some(_), None) => need(&["password"])?,
                (None, Some(_)) => match field("username") {
                    Some(f) if f.secret => {}
                    _ => {
                        return Err(
                            "verify: with basic_password the username field is the key and \
                             must be secret"
                                .into(),
                        );
                    }
                },
                (Some(_), Some(_)) => {
                    return Err("verify: basic_username and basic_password both fixed".into());
                }
            },
            VerifyScheme::OvhSignature => {
                need(&["application_key", "application_secret", "consumer_key"])?;
                if v.time_url.is_none() {
                    return Err("verify scheme ovh_signature needs time_url".into());
                }
            }
            VerifyScheme::ExoscaleSignature => need(&["api_key", "api_secret"])?,
            VerifyScheme::AwsSigv4 => {
                need(&["access_key_id", "secret_access_key"])?;
                if !self.variables.contains_key("region") {
                    return Err("verify scheme aws_sigv4 needs a `region` variable".into());
                }
            }
            VerifyScheme::GrantBearer => {
                if !self.auth_mode.is_machine() {
                    return Err("verify scheme grant_bearer is for machine grants".into());
                }
            }
        }
        for (k, value) in &v.headers {
            if let Some(name) = value
                .strip_prefix("${field:")
                .and_then(|r| r.strip_suffix('}'))
            {
                if field(name).is_none() {
                    return Err(format!("verify.headers {k}: no field named {name}"));
                }
            } else if value.contains("${") && value != "${uuid}" {
                return Err(format!(
                    "verify.headers {k}: a value is text, ${{uuid}} or ${{field:NAME}}"
                ));
            }
        }
        // Secrets never go into a URL: only non-secret fields may be templated there.
        let url = resolved.verify_url.as_deref().unwrap_or_default();
        let mut probe = url.to_string();
        for f in &self.fields {
            let t = format!("${{field:{}}}", f.name);
            if probe.contains(&t) {
                if f.secret {
                    return Err(format!("verify.url uses the secret field {}", f.name));
                }
                probe = probe.replace(&t, "x");
            }
        }
        if probe.contains("${") {
            return Err(format!("verify.url has an unknown template: {url}"));
        }
        check_endpoint_url(&probe).map_err(|e| format!("verify.url {url}: {e}"))?;
        for p in v
            .account
            .iter()
            .chain(v.found.values())
            .chain(v.error_pointer.iter())
        {
            if !p.starts_with('/') {
                return Err(format!("verify pointer {p:?} must start with /"));
            }
        }
        if let Some(var) = &v.probe_variable
            && !self.variables.contains_key(var)
        {
            return Err(format!("verify.probe_variable {var} is not a variable"));
        }
        Ok(())
    }

    /// The fields a provider asks for, in order: the catalog's list, or for a custom machine
    /// provider the grant's standard ones.
    pub fn credential_fields(&self) -> Vec<CredentialField> {
        let def = self;
        if !def.fields.is_empty() {
            return def.fields.clone();
        }
        let field = |name: &str, label: &str, secret: bool, optional: bool| CredentialField {
            name: name.into(),
            label: label.into(),
            help: String::new(),
            secret,
            pattern: None,
            optional,
            create_url: None,
            permissions: None,
            json: false,
        };
        match def.auth_mode {
            AuthMode::Oauth2ClientCredentials => vec![
                field("client_id", "Client ID", false, false),
                field("client_secret", "Client secret", true, false),
            ],
            AuthMode::Oauth2Password => vec![
                field("client_id", "Client ID", false, false),
                field("client_secret", "Client secret", true, true),
                field("username", "API user", false, false),
                field("password", "API password", true, false),
            ],
            AuthMode::Oauth2JwtBearer => {
                vec![field("key_json", "Service-account key (JSON)", true, false)]
            }
            _ => vec![],
        }
    }

    /// Fills in `${var}` templates. Missing values take the variable's default; every value is
    /// checked against its anchored pattern.
    pub fn resolve(&self, given: &BTreeMap<String, String>) -> Result<Resolved> {
        let mut vars = BTreeMap::new();
        let mut defaulted = std::collections::BTreeSet::new();
        for (name, var) in &self.variables {
            if !given.contains_key(name) {
                defaulted.insert(name.clone());
            }
            let value = given
                .get(name)
                .cloned()
                .or_else(|| var.default.clone())
                .ok_or_else(|| Error::BadVariable {
                    name: name.clone(),
                    reason: format!(
                        "{} is required (e.g. --var {name}={})",
                        var.label, var.example
                    ),
                })?;
            let re = anchored(&var.pattern).map_err(|e| Error::Catalog {
                reason: format!("{}: variable {name}: {e}", self.id),
            })?;
            if !re.is_match(&value) {
                return Err(Error::BadVariable {
                    name: name.clone(),
                    reason: format!(
                        "{value:?} is not a valid {} (e.g. {})",
                        var.label, var.example
                    ),
                });
            }
            vars.insert(name.clone(), value);
        }
        for name in given.keys() {
            if !self.variables.contains_key(name) {
                let names: Vec<&str> = self.variables.keys().map(String::as_str).collect();
                let reason = match (
                    crate::suggest::closest(name, names.iter().copied()),
                    names.is_empty(),
                ) {
                    (Some(c), _) => {
                        format!("{} has no variable {name}; did you mean {c}?", self.name)
                    }
                    (None, true) => format!("{} takes no variables", self.name),
                    (None, false) => {
                        format!(
                            "{} has no variable {name}; its variables: {}",
                            self.name,
                            names.join(", ")
                        )
                    }
                };
                return Err(Error::BadVariable {
                    name: name.clone(),
                    reason,
                });
            }
        }
        // Variables fixed by another's value (OVHcloud endpoint -> hosts).
        let mut derived = BTreeMap::new();
        for (name, var) in &self.variables {
            if let Some(fixed) = vars.get(name).and_then(|v| var.derive.get(v)) {
                derived.extend(fixed.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut all = vars.clone();
        all.extend(derived);
        let fill = |t: &Option<String>| -> Result<Option<String>> {
            t.as_ref()
                .map(|t| expand(t, &all, &self.id).map(redirect_for_tests))
                .transpose()
        };
        Ok(Resolved {
            // The issuer is an identity compared byte for byte (RFC 9207): never rewritten.
            issuer: self
                .issuer
                .as_ref()
                .map(|t| expand(t, &all, &self.id))
                .transpose()?,
            authorization_url: fill(&self.authorization_url)?,
            token_url: fill(&self.token_url)?,
            revocation_url: fill(&self.revocation_url)?,
            userinfo_url: fill(&self.userinfo_url)?,
            device_authorization_url: fill(&self.device_authorization_url)?,
            verify_url: self
                .verify
                .as_ref()
                .map(|v| expand_vars_only(&v.url, &all, &self.id))
                .transpose()?,
            time_url: self
                .verify
                .as_ref()
                .and_then(|v| v.time_url.as_ref())
                .map(|u| expand(u, &all, &self.id).map(redirect_for_tests))
                .transpose()?,
            all_vars: all.clone(),
            vars,
            defaulted,
        })
    }
}

impl Resolved {
    fn all_urls(&self) -> impl Iterator<Item = &String> {
        [
            &self.issuer,
            &self.authorization_url,
            &self.token_url,
            &self.revocation_url,
            &self.userinfo_url,
            &self.device_authorization_url,
            &self.time_url,
        ]
        .into_iter()
        .flatten()
    }
}

/// Test-only: sends a catalog endpoint `https://HOST/PATH` to a local fake at
/// `$KEYHAVEN_TEST_API_BASE/HOST/PATH` (tests/cloud-fake), so the CLI tests can check each cloud
/// provider's real authentication scheme without the internet.
///
/// Compiled into debug builds only (what `cargo test` runs); a release build ignores the
/// variable. It is read from the process environment alone: nothing a web page, a deep link or a
/// stored setting can reach. The base must be `http://` on a loopback address.
pub fn redirect_for_tests(url: String) -> String {
    #[cfg(debug_assertions)]
    if let Ok(base) = std::env::var("KEYHAVEN_TEST_API_BASE")
        && let Some(rest) = url.strip_prefix("https://")
        && let Ok(b) = Url::parse(&base)
        && b.scheme() == "http"
        && is_loopback_host(&b)
    {
        return format!("{}/{rest}", base.trim_end_matches('/'));
    }
    url
}

/// Like [`expand`], but leaves `${field:…}` and `${uuid}` untouched.
fn expand_vars_only(
    template: &str,
    vars: &BTreeMap<String, String>,
    provider: &str,
) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| Error::Catalog {
            reason: format!("{provider}: unterminated ${{ in {template}"),
        })?;
        let name = &after[..end];
        out.push_str(&rest[..start]);
        if name.starts_with("field:") || name == "uuid" {
            out.push_str(&rest[start..start + 2 + end + 1]);
        } else {
            out.push_str(&expand(&format!("${{{name}}}"), vars, provider)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `${name}` with the (already validated) value.
fn expand(template: &str, vars: &BTreeMap<String, String>, provider: &str) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| Error::Catalog {
            reason: format!("{provider}: unterminated ${{ in {template}"),
        })?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| Error::Catalog {
            reason: format!("{provider}: template uses undeclared variable {name}"),
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `[A-Za-z_][A-Za-z0-9_]*`: what every shell accepts as a variable name, and what a template
/// variable may be called (SEC-40, SEC-41).
pub fn is_portable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Compiles a pattern anchored at both ends.
pub(crate) fn anchored(pattern: &str) -> Result<Regex, String> {
    // Compiled once per pattern and process: the catalog's entries share a few patterns (the
    // host-name one, with its bounded repetitions, costs far more to compile than to match), and
    // loading the catalog compiles each pattern twice (validation, then the examples).
    static COMPILED: LazyLock<std::sync::Mutex<BTreeMap<String, Regex>>> =
        LazyLock::new(Default::default);
    if let Some(re) = COMPILED.lock().ok().and_then(|m| m.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("bad pattern: {e}"))?;
    if let Ok(mut m) = COMPILED.lock() {
        // Bounded: a custom definition's patterns are few, but the cache must not grow without end.
        if m.len() < 1024 {
            m.insert(pattern.to_string(), re.clone());
        }
    }
    Ok(re)
}

fn url_ok(s: &str) -> Result<Url, String> {
    Url::parse(s).map_err(|e| e.to_string())
}

/// An endpoint must be https, or http on a loopback host (RFC 8252 §8.3, local test servers).
pub fn check_endpoint_url(s: &str) -> Result<Url, String> {
    let url = url_ok(s)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&url) => Ok(url),
        "http" => {
            Err("http:// is accepted only for loopback hosts (127.0.0.1, [::1], localhost)".into())
        }
        other => Err(format!("unsupported scheme {other}:")),
    }
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests;

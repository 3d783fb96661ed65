//! The provider definition: what one `providers/<id>.toml` file says.
//!
//! Everything that differs between providers is data here, so adding a provider never needs
//! code: endpoints (with `${var}` templates), scopes and their separator, extra parameters,
//! client authentication, PKCE, redirect kinds, how to read the account name, environment
//! variable names. Where data cannot carry a quirk, [`TokenResponseShape`] names a small adapter.
//! docs/providers.md documents every field; `validate` enforces what a loader must check.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::VerifyClass;

/// How a provider authenticates.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Authorization Code + PKCE in the system browser.
    Oauth2,
    /// Client credentials grant (machine clients).
    Oauth2ClientCredentials,
    /// Resource owner password grant: legacy, only where a provider offers nothing else.
    Oauth2Password,
    /// A service-account key that signs a JWT assertion (RFC 7523 §2.1) exchanged for access
    /// tokens: Google Cloud's JSON keys.
    Oauth2JwtBearer,
    /// An API key exchanged for access tokens by the provider's own grant type (RFC 6749 §4.5
    /// extension grants: IBM Cloud IAM's `urn:ibm:params:oauth:grant-type:apikey`).
    Oauth2ExtensionGrant,
    /// Static API key fields.
    ApiKey,
    /// HTTP Basic user + password.
    Basic,
}

impl AuthMode {
    /// The name stored and printed (`oauth2`, `api_key`, ...), as in the catalog files.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Oauth2 => "oauth2",
            AuthMode::Oauth2ClientCredentials => "oauth2_client_credentials",
            AuthMode::Oauth2Password => "oauth2_password",
            AuthMode::Oauth2JwtBearer => "oauth2_jwt_bearer",
            AuthMode::Oauth2ExtensionGrant => "oauth2_extension_grant",
            AuthMode::ApiKey => "api_key",
            AuthMode::Basic => "basic",
        }
    }

    /// A few words for a person: "an API key", "a browser sign-in", ...
    pub fn describe(self) -> &'static str {
        match self {
            AuthMode::Oauth2 => "a browser sign-in (OAuth 2.0)",
            AuthMode::Oauth2ClientCredentials => "a machine client (OAuth 2.0 client credentials)",
            AuthMode::Oauth2Password => "an API user and password (OAuth 2.0 password grant)",
            AuthMode::Oauth2JwtBearer => "a service-account key (OAuth 2.0 JWT bearer grant)",
            AuthMode::Oauth2ExtensionGrant => "an API key exchanged for tokens (OAuth 2.0)",
            AuthMode::ApiKey => "an API key",
            AuthMode::Basic => "a user name and password (HTTP Basic)",
        }
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    /// Public client: `client_id` in the body, no secret.
    #[default]
    None,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// HTTP Basic with client id and secret.
    ClientSecretBasic,
}

/// A redirect kind (RFC 8252 §7).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedirectKind {
    /// `dev.keyhaven:/oauth/callback`, delivered by the OS to the app or `keyhaven handle-url`.
    DeepLink,
    /// `http://127.0.0.1:{port}/callback`, a listener open only during the flow.
    Loopback,
}

impl RedirectKind {
    /// `deep-link` / `loopback`, as in the catalog files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RedirectKind::DeepLink => "deep-link",
            RedirectKind::Loopback => "loopback",
        }
    }
}

/// Shape of the token endpoint's response, when it is not RFC 6749 §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenResponseShape {
    /// RFC 6749 §5.1.
    #[default]
    Standard,
    /// Slack OAuth v2: `ok`, errors as `{"ok": false, "error": ...}` with HTTP 200, the user
    /// token nested under `authed_user`.
    SlackV2,
    /// GitHub: errors as HTTP 200 with an `error` field; needs `Accept: application/json`.
    Github,
    /// IBM Cloud IAM: errors as `{"errorCode": "BXNIM...", "errorMessage": ...}`; a 400 is a
    /// grant refused (an API key IAM does not know), read as RFC 6749's `invalid_grant`.
    IbmIam,
}

/// Where the account identity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// A GET on `userinfo_url` with the access token.
    Userinfo,
    /// The validated id token's claims.
    IdToken,
    /// A field of the token response itself (e.g. Slack's `authed_user.id`).
    TokenResponse,
}

/// How to name the account of a new connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Where to read it.
    pub source: IdentitySource,
    /// JSON pointers tried in order (e.g. `/login`, `/email`, `/sub`); the first string wins.
    pub fields: Vec<String>,
    /// Extra headers for the userinfo request (e.g. `Notion-Version`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HTTP method for the userinfo request (`GET` unless a provider wants `POST`).
    #[serde(default = "default_get")]
    pub method: String,
    /// JSON body for a POST identity request (e.g. a GraphQL `viewer` query).
    #[serde(default)]
    pub body: Option<String>,
    /// Send the access token in this header, raw, instead of `Authorization: Bearer`.
    #[serde(default)]
    pub token_header: Option<String>,
    /// Text before the token in that header (or in `Authorization` when `token_header` is not
    /// set), instead of `Bearer ` (SoundCloud and Yandex: `OAuth `).
    #[serde(default)]
    pub token_prefix: Option<String>,
}

fn default_get() -> String {
    "GET".into()
}

/// A template variable such as `${shop}` or `${tenant}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What to ask the person.
    pub label: String,
    /// Help text.
    #[serde(default)]
    pub help: String,
    /// Regular expression the whole value must match (anchored by the loader).
    pub pattern: String,
    /// Default value, if any.
    #[serde(default)]
    pub default: Option<String>,
    /// An example value (also used by the catalog tests).
    pub example: String,
    /// Further template variables fixed by this one's value, e.g. for OVHcloud's
    /// `endpoint = "ovh-ca"`: `api_host = "ca.api.ovh.com"`. value -> (name -> text).
    #[serde(default)]
    pub derive: BTreeMap<String, BTreeMap<String, String>>,
}

/// Token refresh behaviour (used by the token lifecycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    /// Whether the provider issues refresh tokens at all.
    #[serde(default = "yes")]
    pub supported: bool,
    /// Refresh this many seconds before expiry.
    #[serde(default = "default_margin")]
    pub margin_secs: u64,
    /// Refresh tokens die after this many days unused: refresh before that.
    #[serde(default)]
    pub keepalive_days: Option<u64>,
    /// Free text on conditions (e.g. GitHub: only for apps with expiring tokens).
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

fn default_margin() -> u64 {
    60
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh {
            supported: true,
            margin_secs: default_margin(),
            keepalive_days: None,
            note: String::new(),
        }
    }
}

/// A credential field of an API-key / Basic provider (cloud credentials).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialField {
    /// Field name (stable key).
    pub name: String,
    /// Label shown to the person.
    pub label: String,
    /// Help text.
    #[serde(default)]
    pub help: String,
    /// Secret fields are stored encrypted, masked, never listed.
    pub secret: bool,
    /// Regular expression the value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Optional field.
    #[serde(default)]
    pub optional: bool,
    /// Where the person creates this credential.
    #[serde(default)]
    pub create_url: Option<String>,
    /// The permissions or scopes the credential needs for Keyhaven's check (and typical use).
    #[serde(default)]
    pub permissions: Option<String>,
    /// The value is a JSON document (a key file): its line breaks, which JSON allows only
    /// between tokens, are dropped, and a value that does not parse is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json: bool,
}

/// How a live check of `credentials add` authenticates. Each names a scheme from the provider's own API
/// documentation; the credential field names each scheme reads are fixed (see the variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyScheme {
    /// `Authorization: Bearer <token_field>`.
    Bearer,
    /// `<header>: <prefix><token_field>` (Scaleway's `X-Auth-Token`, PagerDuty's
    /// `Authorization: Token token=`).
    Header,
    /// HTTP Basic with fields `username` and `password` (one of them may be fixed by
    /// `basic_username` / `basic_password`).
    Basic,
    /// OVHcloud's `$1$` SHA-1 request signature with fields `application_key`,
    /// `application_secret`, `consumer_key`, on the server's time from `time_url`.
    OvhSignature,
    /// Exoscale's `EXO2-HMAC-SHA256` with fields `api_key`, `api_secret`.
    ExoscaleSignature,
    /// AWS Signature Version 4 (service `sts`) with fields `access_key_id`,
    /// `secret_access_key`, optional `session_token`; signing region from variable `region`.
    AwsSigv4,
    /// Bearer with the access token the machine grant (client credentials, password) just
    /// obtained.
    GrantBearer,
}

/// A provider-specific reading of a failed answer, checked before the defaults
/// (401/400/404 invalid, 403 forbidden, 429/5xx unavailable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classify {
    /// HTTP status.
    pub status: u16,
    /// Text the body must contain (case-insensitive), if any.
    #[serde(default)]
    pub contains: Option<String>,
    /// What it means.
    pub class: VerifyClass,
}

/// The live check of `credentials add`: one cheap read-only call that also names the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// How the call authenticates.
    pub scheme: VerifyScheme,
    /// HTTP method.
    #[serde(default = "default_get")]
    pub method: String,
    /// URL; `${var}` templates, and `${field:NAME}` for a non-secret field (URL-encoded).
    pub url: String,
    /// Request body (form-encoded for AWS STS), if any.
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of the body.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Bearer/header schemes: the field holding the token.
    #[serde(default)]
    pub token_field: Option<String>,
    /// Header scheme: the header name.
    #[serde(default)]
    pub header: Option<String>,
    /// Header scheme: text before the token in the header's value (PagerDuty's
    /// `Token token=`, Discord's `Bot `).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Basic scheme: a fixed user name, the `password` field being the key (Mailchimp takes
    /// any user name with the API key as the password).
    #[serde(default)]
    pub basic_username: Option<String>,
    /// Basic scheme: a fixed password, the `username` field being the key (Freshdesk's `X`,
    /// Stripe's empty password).
    #[serde(default)]
    pub basic_password: Option<String>,
    /// Extra headers; `${uuid}` becomes a fresh UUID v4 (Contabo's `x-request-id`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// OVHcloud: the unauthenticated server-time URL.
    #[serde(default)]
    pub time_url: Option<String>,
    /// JSON pointers (or `/Tag` of an XML answer) naming the account; first found wins.
    #[serde(default)]
    pub account: Vec<String>,
    /// Further things to report: label -> JSON pointer (or `/Tag`).
    #[serde(default)]
    pub found: BTreeMap<String, String>,
    /// A 2xx answer with a value here is a rejection: GraphQL APIs answer a bad key with
    /// HTTP 200 and `/errors` (Railway, Linear). The first error's `message` is shown.
    #[serde(default)]
    pub error_pointer: Option<String>,
    /// Provider-specific readings of failures.
    #[serde(default)]
    pub classify: Vec<Classify>,
    /// On `wrong_region`-looking failures, try the other values of this variable to tell the
    /// person where the credentials do belong (OVHcloud endpoints).
    #[serde(default)]
    pub probe_variable: Option<String>,
}

/// One provider, as written in `providers/<id>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderDef {
    /// Stable id: lowercase letters, digits, `-`; equal to the file name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Categories, from [`CATEGORIES`](super::CATEGORIES); the first is where the desktop's
    /// catalog lists the entry.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Other names a person may search for: a former name (`twitter`), a product served by the
    /// same sign-in (`onedrive`, `entra`). Lowercase; unique across the catalog.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The brand icon: a slug of the `simple-icons` set (`github`), when the set has the brand.
    /// The desktop falls back to a letter badge without it.
    #[serde(default)]
    pub icon: Option<String>,
    /// The provider's OAuth / API documentation, where the endpoints come from.
    pub docs_url: String,
    /// Registrable domains the endpoints live under when they differ from `docs_url`'s
    /// (Microsoft documents at learn.microsoft.com and signs in at microsoftonline.com). The
    /// catalog tests require every endpoint to be under `docs_url`'s domain or one of these.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Other entries this one shares endpoints with on purpose (the same sign-in for another
    /// product, the token and the OAuth flavour of one API). Any other shared endpoint is taken
    /// for a copy-paste mistake by the catalog tests.
    #[serde(default)]
    pub shares_endpoints_with: Vec<String>,
    /// Where a person registers their own OAuth app / creates a key.
    #[serde(default)]
    pub register_url: Option<String>,
    /// How it authenticates.
    pub auth_mode: AuthMode,
    /// `legacy = true` marks a grant kept only because the provider offers nothing else.
    #[serde(default)]
    pub legacy: bool,

    /// OpenID Connect / RFC 8414 issuer; endpoints missing below come from its discovery.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Authorization endpoint.
    #[serde(default)]
    pub authorization_url: Option<String>,
    /// Token endpoint.
    #[serde(default)]
    pub token_url: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_url: Option<String>,
    /// Userinfo / "who am I" endpoint.
    #[serde(default)]
    pub userinfo_url: Option<String>,
    /// RFC 8628 device authorization endpoint.
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    /// Where a person can revoke access by hand (shown when revocation is impossible).
    #[serde(default)]
    pub manual_revocation_url: Option<String>,

    /// Scopes requested by default.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Separator between scopes in the request (`" "` per RFC 6749; some use `","`).
    #[serde(default = "default_separator")]
    pub scope_separator: String,
    /// Extra authorization request parameters (e.g. Google `access_type = "offline"`).
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    /// Extra token request parameters.
    #[serde(default)]
    pub token_params: BTreeMap<String, String>,
    /// `oauth2_extension_grant`: the grant type (an absolute URI, RFC 6749 §4.5); the request
    /// carries it and every credential field under its own name.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// Client authentication at the token endpoint.
    #[serde(default)]
    pub token_auth_method: TokenAuthMethod,
    /// Whether the provider insists on a client secret even for native apps.
    #[serde(default)]
    pub client_secret_required: bool,
    /// Whether the provider supports PKCE (Keyhaven always sends S256; this documents whether
    /// the provider enforces/uses it).
    #[serde(default = "yes")]
    pub pkce: bool,
    /// Accepted redirect kinds; the first is the default.
    #[serde(default = "default_redirects")]
    pub redirects: Vec<RedirectKind>,
    /// The provider matches a loopback redirect exactly, port included (RFC 8252 §7.3 says it
    /// should not): the listener binds this port, and the URI to register is
    /// `http://127.0.0.1:PORT/callback`. Catalog entries use 8417 (docs/providers.md).
    #[serde(default)]
    pub loopback_port: Option<u16>,
    /// Token response shape (named adapter).
    #[serde(default)]
    pub token_response: TokenResponseShape,
    /// How to name the account.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// Template variables used in URLs (`${name}`).
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    /// Refresh behaviour.
    #[serde(default)]
    pub refresh: Refresh,
    /// Environment variables the provider's own tools read: NAME -> field (`access_token` or a
    /// credential field name).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Further variables of the same tools that `keyhaven exec` clears when the connection does
    /// not set them, so a stale value from the calling shell cannot mix with the connection's
    /// (AWS: `AWS_PROFILE`, `AWS_SECURITY_TOKEN`, ...). Variables in `env` that come from a
    /// credential field are cleared the same way without being listed here.
    #[serde(default)]
    pub env_clear: Vec<String>,
    /// Credential fields (api_key / basic / password modes).
    #[serde(default)]
    pub fields: Vec<CredentialField>,
    /// The live check of `credentials add`.
    #[serde(default)]
    pub verify: Option<Verify>,
    /// What the tools' own credential helpers need to know (docs/tools.md): the hosts git and
    /// container registries reach this provider at, the username each expects, the AWS fields.
    #[serde(default, skip_serializing_if = "ToolsDef::is_empty")]
    pub tools: ToolsDef,
    /// The provider lets a native app register itself (RFC 7591 dynamic client registration):
    /// connecting needs no client id (docs/by-url.md). The endpoints come from discovery.
    #[serde(default)]
    pub dynamic_registration: bool,
    /// A remote MCP server (Streamable HTTP): its endpoint, the resource its tokens are for,
    /// and what `keyhaven mcp-proxy` forwards to (docs/mcp.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<McpServer>,
}

/// `[mcp]` of a provider: a remote MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    /// The server's Streamable HTTP endpoint (`https://mcp.notion.com/mcp`), which is also the
    /// protected resource (RFC 9728) whose metadata names the authorization server.
    pub url: String,
}

/// `[tools]` of a provider: how its credentials serve the tools' helper protocols.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsDef {
    /// git's credential helper (`keyhaven git-credential`).
    #[serde(default)]
    pub git: Option<HostTool>,
    /// The docker credential helper (`docker-credential-keyhaven`): registry hosts.
    #[serde(default)]
    pub docker: Option<HostTool>,
    /// AWS `credential_process` (`keyhaven aws credential-process`): which stored fields are
    /// the key pair.
    #[serde(default)]
    pub aws: Option<AwsTool>,
}

impl ToolsDef {
    /// Nothing declared.
    pub fn is_empty(&self) -> bool {
        self.git.is_none() && self.docker.is_none() && self.aws.is_none()
    }
}

/// A tool that names a host in its request (git, a container registry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostTool {
    /// Hosts (with `:port` when not the default) this provider answers for; `${var}` templates
    /// are filled from the connection's variables (`${host}` of a self-managed GitLab).
    pub hosts: Vec<String>,
    /// The username the host expects beside the token (`x-access-token` for GitHub, `oauth2`
    /// for GitLab, `x-token-auth` for Bitbucket).
    pub username: String,
}

/// The stored fields that make an AWS key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsTool {
    /// The access key id's field.
    pub access_key_id: String,
    /// The secret access key's field.
    pub secret_access_key: String,
    /// The session token's field, for temporary credentials.
    #[serde(default)]
    pub session_token: Option<String>,
}

fn default_separator() -> String {
    " ".into()
}

fn default_redirects() -> Vec<RedirectKind> {
    vec![RedirectKind::Loopback, RedirectKind::DeepLink]
}

//! The one error type of keyhaven-core.
//!
//! Every variant is a situation a person can act on, so each message says what happened and what
//! to do, on one line. Two rules shape this file:
//! - no message ever carries a secret (key, passphrase, token) or a detail an attacker could use
//!   to tell *why* a decryption failed beyond "wrong key" vs "damaged";
//! - every variant knows whether it is the caller's bad input ([`Error::is_bad_input`], exit code
//!   2 in the CLI) or a failure of the environment (exit code 1), and has a stable machine code
//!   ([`Error::code`]) that the desktop app sends to its UI as `{code, message}`.

use std::path::PathBuf;

/// Everything that can go wrong in keyhaven-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No OS keychain could be reached (no Secret Service on the session bus, no session bus).
    #[error(
        "no OS keychain is available ({detail}); start a Secret Service such as gnome-keyring in \
         this session, or create a passphrase-protected vault with `keyhaven init --passphrase`"
    )]
    KeychainUnavailable {
        /// What the platform said, free of secrets.
        detail: String,
    },

    /// The keychain is there but locked, and unlocking was refused or impossible.
    #[error(
        "the OS keychain is locked; unlock it (log in to your desktop session, or open your \
         keyring manager) and try again"
    )]
    KeychainLocked,

    /// Any other keychain failure.
    #[error("the OS keychain failed: {detail}")]
    Keychain {
        /// What the platform said, free of secrets.
        detail: String,
    },

    /// The vault exists but its key item is gone from the keychain.
    #[error(
        "the vault at {path} exists but its key is missing from the OS keychain (item \
         \"{item}\"); the vault was left untouched: restore that keychain item, or move the vault \
         aside and run `keyhaven init` to start a new one"
    )]
    KeyMissing {
        /// The vault file.
        path: PathBuf,
        /// The keychain item that should hold the key.
        item: String,
    },

    /// The keychain holds a key, but not the one that opens this vault.
    #[error(
        "the key in the OS keychain does not open the vault at {path} (wrong key); the vault was \
         left untouched"
    )]
    WrongKey {
        /// The vault file.
        path: PathBuf,
    },

    /// The passphrase given does not open this vault.
    #[error("wrong passphrase for the vault at {path}; the vault was left untouched")]
    WrongPassphrase {
        /// The vault file.
        path: PathBuf,
    },

    /// The vault is passphrase-protected and no passphrase could be asked for.
    #[error(
        "the vault at {path} is protected by a passphrase: run on a terminal to be asked for it, \
         pass --passphrase-file FILE, or run `keyhaven unlock` once"
    )]
    PassphraseRequired {
        /// The vault file.
        path: PathBuf,
    },

    /// A passphrase was given but cannot be used.
    #[error("unusable passphrase: {reason}")]
    BadPassphrase {
        /// Why, without the passphrase itself.
        reason: String,
    },

    /// The file is not a Keyhaven vault at all.
    #[error("{path} is not a Keyhaven vault ({reason}); it was left untouched")]
    NotAVault {
        /// The file looked at.
        path: PathBuf,
        /// What it looks like instead.
        reason: String,
    },

    /// The vault's key is right but its content fails authentication or is truncated.
    #[error(
        "the vault at {path} is damaged ({reason}); it was left untouched: restore it from a \
         backup, or move it aside and run `keyhaven init`"
    )]
    Corrupt {
        /// The vault file.
        path: PathBuf,
        /// What was found, e.g. "integrity check failed".
        reason: String,
    },

    /// The vault was written by a newer Keyhaven.
    #[error(
        "the vault at {path} has schema version {found}, newer than this Keyhaven understands \
         (up to {supported}); upgrade Keyhaven. The vault was left untouched"
    )]
    SchemaTooNew {
        /// The vault file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// The data directory cannot be created or written.
    #[error("the data directory {path} is not writable: {source}")]
    DataDirNotWritable {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// No data directory could be determined.
    #[error("cannot find a data directory: set KEYHAVEN_HOME")]
    NoDataDir,

    /// `init` on a directory that already holds a vault.
    #[error("a vault already exists at {path}; nothing was changed")]
    AlreadyInitialized {
        /// The vault file.
        path: PathBuf,
    },

    /// A command that needs a vault, run before `init`.
    #[error("no vault at {path}: run `keyhaven init` first (or set KEYHAVEN_HOME)")]
    NotInitialized {
        /// Where the vault was looked for.
        path: PathBuf,
    },

    /// The vault is open in this process but locked (the desktop app before unlocking, or after
    /// "Lock").
    #[error("the vault is locked: unlock it first")]
    VaultLocked,

    /// The agent could not be started, reached or used for what was asked (`keyhaven unlock`,
    /// `lock`, the desktop app hosting it). Hand-outs never see this: they use the direct path.
    #[error("{reason}")]
    Agent {
        /// What went wrong, and what to do.
        reason: String,
    },

    /// The vault's metadata file is missing or unreadable while the vault file exists, or the
    /// other way round.
    #[error("the vault metadata at {path} is unusable ({reason}); the vault was left untouched")]
    BadMetadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// The database engine failed in a way none of the variants above covers.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),

    /// A rekey was interrupted after the database changed key, and the new key is not available.
    #[error("rekey failed: {reason}; the vault still opens with its previous key")]
    RekeyFailed {
        /// What went wrong.
        reason: String,
    },

    /// The embedded catalog or a custom provider definition is invalid.
    #[error("provider catalog error: {reason}")]
    Catalog {
        /// What is wrong.
        reason: String,
    },

    /// No provider with this id in the catalog or among custom providers.
    #[error("unknown provider {id:?}{hint}; `keyhaven providers list` shows them all")]
    UnknownProvider {
        /// The id asked for.
        id: String,
        /// " (did you mean X?)" or empty.
        hint: String,
    },

    /// No connection with this id.
    #[error("no connection {id}; `keyhaven list` shows them")]
    NoSuchConnection {
        /// The id asked for.
        id: String,
    },

    /// A template variable (`--var NAME=VALUE`) is missing or invalid.
    #[error("variable {name}: {reason}")]
    BadVariable {
        /// Variable name.
        name: String,
        /// What is wrong.
        reason: String,
    },

    /// The provider needs the person's own OAuth app (client id) first.
    #[error(
        "no OAuth app configured for {provider}: register one at {register_url} with the \
         redirect URI {redirect_uri}, then run `keyhaven providers configure {provider} \
         --client-id ID{secret_hint}`"
    )]
    NotConfigured {
        /// Provider id.
        provider: String,
        /// Where to register the app.
        register_url: String,
        /// The redirect URI to register.
        redirect_uri: String,
        /// " --client-secret-file FILE" when the provider insists on a secret.
        secret_hint: String,
    },

    /// Input that is not acceptable (a URL, an option value).
    #[error("{0}")]
    BadInput(String),

    /// A tool helper asked for a host (or registry, profile) no connection answers for: the
    /// tool then tries elsewhere (git its next helper, docker says "credentials not found").
    #[error("no connection serves {tool} for {target} (keyhaven setup {tool} CONN ... maps one)")]
    NotForTool {
        /// git, docker, terraform, cargo...
        tool: String,
        /// The host or registry asked for.
        target: String,
    },

    /// A token was asked for over plain `http` to a host that is not this machine.
    #[error("no token is sent over plain http to {host}: use https")]
    InsecureTransport {
        /// The host asked for.
        host: String,
    },

    /// A redirect URL (deep link or loopback callback) that Keyhaven will not process.
    #[error("rejected redirect URL: {reason}")]
    BadRedirect {
        /// Why (never echoes the code or state).
        reason: String,
    },

    /// The callback's state matches no pending flow: never issued, already used, or forged.
    #[error(
        "this sign-in link does not match any sign-in in progress (it was already used, or was \
         not started here); start again with `keyhaven connect`"
    )]
    UnknownState,

    /// The pending flow expired before its callback arrived.
    #[error(
        "the sign-in expired (flows are valid for 10 minutes); start again with `keyhaven connect`"
    )]
    FlowExpired,

    /// The authorization server answered the authorization request with an error.
    #[error("{provider} refused the sign-in: {error}{description}")]
    AuthorizationDenied {
        /// Provider id.
        provider: String,
        /// RFC 6749 error code (`access_denied` means the person cancelled).
        error: String,
        /// ": <error_description>" when given.
        description: String,
    },

    /// The `iss` parameter or issuer metadata does not match the expected issuer (mix-up).
    #[error("issuer mismatch: {reason}; the sign-in was rejected")]
    IssuerMismatch {
        /// What did not match.
        reason: String,
    },

    /// The id token failed validation.
    #[error("the id token failed validation ({reason}); nothing was stored")]
    IdTokenInvalid {
        /// Which check failed.
        reason: String,
    },

    /// The token endpoint answered with an RFC 6749 §5.2 error.
    #[error("{provider} token endpoint error: {error}{description}")]
    TokenEndpoint {
        /// Provider id.
        provider: String,
        /// Error code, e.g. invalid_grant.
        error: String,
        /// ": <error_description>" when given.
        description: String,
    },

    /// An HTTP exchange failed: status, malformed body, network, timeout.
    #[error("{what}: {reason}")]
    Http {
        /// Which request (e.g. "token request to github").
        what: String,
        /// What kind of failure: what retry and back-off decide on.
        kind: HttpFailure,
        /// Why, readable, without secrets.
        reason: String,
    },

    /// The system browser could not be opened (`$BROWSER`, `xdg-open`).
    #[error("{what}: {reason}")]
    Browser {
        /// What was tried.
        what: String,
        /// Why, with the URL left out.
        reason: String,
    },

    /// The flow finished with an error in another process (the message it recorded).
    #[error("{message}")]
    FlowFailed {
        /// The error as the completing process reported it.
        message: String,
    },

    /// The refresh token was refused: the person must connect again.
    #[error(
        "the {provider} connection {connection} needs you to sign in again (its refresh token was \
         refused); run `keyhaven connect {provider}`. The old tokens are kept for viewing"
    )]
    NeedsReauth {
        /// Connection id.
        connection: String,
        /// Provider id.
        provider: String,
    },

    /// The access token expired and the provider issues no refresh token.
    #[error(
        "the {provider} connection {connection} has expired and {provider} gives no refresh \
         token; run `keyhaven connect {provider}` to sign in again"
    )]
    Expired {
        /// Connection id.
        connection: String,
        /// Provider id.
        provider: String,
    },

    /// The device flow's wait (`--timeout`) ran out before the person approved.
    #[error(
        "gave up waiting for the {provider} sign-in after {waited_secs} s (--timeout); run \
         `keyhaven connect {provider} --device` again when you are ready"
    )]
    DeviceTimeout {
        /// Provider id.
        provider: String,
        /// Seconds waited.
        waited_secs: u64,
    },

    /// Waiting for the browser ran out of time.
    #[error(
        "timed out waiting for the sign-in to finish in the browser; if the browser showed a \
         URL starting with dev.keyhaven: or http://127.0.0.1, run `keyhaven handle-url -` and paste it"
    )]
    FlowTimeout,

    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,

    /// The connection was exported with `--move`: another vault refreshes it now.
    #[error(
        "the {provider} connection {connection} was moved to another vault (exported with \
         --move on {since}) and is no longer refreshed here; use it there, import it back, or run \
         `keyhaven connect {provider}`"
    )]
    Moved {
        /// Connection id.
        connection: String,
        /// Provider id.
        provider: String,
        /// When it was moved (RFC 3339).
        since: String,
    },

    /// The token endpoint failed recently; this vault waits before asking again (SEC-35).
    #[error(
        "{provider} failed to renew the token recently ({reason}); Keyhaven waits {wait_secs} s \
         more before asking again (`keyhaven refresh` tries now)"
    )]
    BackingOff {
        /// Provider id.
        provider: String,
        /// The last failure.
        reason: String,
        /// Seconds until the next attempt.
        wait_secs: i64,
    },

    /// A backup file that does not decrypt with the passphrase given.
    #[error(
        "{path}: wrong passphrase, or not a passphrase-encrypted Keyhaven backup; nothing was changed"
    )]
    BackupWrongPassphrase {
        /// The file.
        path: PathBuf,
    },

    /// A live check of credentials failed; `class` says why. Nothing was stored.
    #[error("{message}; nothing was stored")]
    Verification {
        /// Provider id.
        provider: String,
        /// What the failure means.
        class: VerifyClass,
        /// A readable sentence (no secret in it).
        message: String,
    },

    /// A backup file that is damaged, truncated or not a backup at all.
    #[error("{path} is not a usable Keyhaven backup ({reason}); nothing was changed")]
    BackupDamaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// `providers add` for an id that already exists, without `--replace` (SEC-39).
    #[error("{detail}; nothing was changed (add --replace to redefine it)")]
    ProviderExists {
        /// Provider id.
        id: String,
        /// What exists now and what would change.
        detail: String,
    },

    /// The provider's definition no longer matches what the connection was issued with (another
    /// issuer, token or revocation endpoint, or OAuth app): nothing was sent (SEC-39).
    #[error(
        "the {provider} connection {connection} was made with {reason}; nothing was sent. \
         Make it again with {remedy} (or restore the provider's previous definition)"
    )]
    ProviderChanged {
        /// Connection id.
        connection: String,
        /// Provider id.
        provider: String,
        /// What it was issued with, and what the definition says now.
        reason: String,
        /// The command that makes it again (`keyhaven connect P`, `keyhaven credentials add P`).
        remedy: String,
    },
}

/// Each variant once, with its stable machine code and its exit class: `bad` is the caller's bad
/// input or usage (CLI exit code 2), `env` a failure of the environment or the data (exit 1).
///
/// The `match`es this expands to are exhaustive, so a variant added to [`Error`] without a line
/// here does not compile. [`Error::Verification`] is read through its [`VerifyClass`], which has
/// a code and a class of its own.
macro_rules! classify {
    ($($variant:ident => $code:literal, $class:ident;)*) => {
        impl Error {
            /// True when the error is the caller's bad input or usage (CLI exit code 2); false
            /// when it is a failure of the environment or the data (exit code 1).
            pub fn is_bad_input(&self) -> bool {
                match self {
                    Error::Verification { class, .. } => class.is_bad_input(),
                    $(Error::$variant { .. } => classify!(@bad $class),)*
                }
            }

            /// A stable, machine-readable code for this error (`code` in the desktop app's
            /// `{code, message}` errors; the CLI reports errors as one line on stderr and an
            /// exit code, with `--json` too, like `gh`).
            pub fn code(&self) -> &'static str {
                match self {
                    Error::Verification { class, .. } => class.code(),
                    $(Error::$variant { .. } => $code,)*
                }
            }

            /// Every code [`Error::code`] can return, once each (for front ends that map codes,
            /// e.g. the types the desktop app generates for its UI).
            pub fn all_codes() -> Vec<&'static str> {
                let mut codes = vec![$($code),*];
                codes.extend(VerifyClass::ALL.iter().map(|c| c.code()));
                codes
            }
        }
    };
    (@bad bad) => { true };
    (@bad env) => { false };
}

classify! {
    KeychainUnavailable => "keychain_unavailable", env;
    KeychainLocked => "keychain_locked", env;
    Keychain => "keychain_error", env;
    KeyMissing => "key_missing", env;
    WrongKey => "wrong_key", env;
    WrongPassphrase => "wrong_passphrase", bad;
    PassphraseRequired => "passphrase_required", bad;
    BadPassphrase => "bad_passphrase", bad;
    NotAVault => "not_a_vault", env;
    Corrupt => "vault_corrupt", env;
    SchemaTooNew => "schema_too_new", env;
    DataDirNotWritable => "data_dir_not_writable", env;
    NoDataDir => "no_data_dir", env;
    AlreadyInitialized => "already_initialized", bad;
    NotInitialized => "not_initialized", env;
    VaultLocked => "vault_locked", env;
    Agent => "agent_unavailable", env;
    BadMetadata => "bad_metadata", env;
    Io => "io", env;
    Database => "database", env;
    RekeyFailed => "rekey_failed", env;
    Random => "random", env;
    Catalog => "catalog", env;
    UnknownProvider => "unknown_provider", bad;
    NoSuchConnection => "no_such_connection", bad;
    BadVariable => "bad_variable", bad;
    NotConfigured => "not_configured", bad;
    BadInput => "bad_input", bad;
    BadRedirect => "bad_redirect", bad;
    UnknownState => "unknown_state", bad;
    FlowExpired => "flow_expired", env;
    AuthorizationDenied => "authorization_denied", env;
    IssuerMismatch => "issuer_mismatch", env;
    IdTokenInvalid => "id_token_invalid", env;
    TokenEndpoint => "token_endpoint_error", env;
    Http => "http", env;
    Browser => "browser", env;
    FlowTimeout => "flow_timeout", env;
    DeviceTimeout => "device_timeout", env;
    FlowFailed => "flow_failed", env;
    NeedsReauth => "needs_reauth", env;
    Expired => "expired", env;
    Moved => "moved", env;
    BackingOff => "backing_off", env;
    BackupWrongPassphrase => "backup_wrong_passphrase", bad;
    BackupDamaged => "backup_damaged", env;
    ProviderExists => "provider_exists", bad;
    ProviderChanged => "provider_changed", env;
    NotForTool => "no_credential_for_tool", env;
    InsecureTransport => "insecure_transport", bad;
}

/// What a failed live check of credentials means (`credentials add`, the cloud wizard). The
/// catalog's `classify` rules name these; each has its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyClass {
    /// The provider does not accept these credentials.
    Invalid,
    /// Accepted, but not allowed to make the check.
    Forbidden,
    /// The credentials belong to another region or endpoint.
    WrongRegion,
    /// This machine's clock is too far from the provider's.
    ClockSkew,
    /// The provider could not be asked (network, 5xx, 429, an unexpected answer).
    Unavailable,
}

impl VerifyClass {
    /// Every class.
    pub const ALL: [VerifyClass; 5] = [
        VerifyClass::Invalid,
        VerifyClass::Forbidden,
        VerifyClass::WrongRegion,
        VerifyClass::ClockSkew,
        VerifyClass::Unavailable,
    ];

    /// The error code of a failed check of this class.
    pub fn code(self) -> &'static str {
        match self {
            VerifyClass::Invalid => "credentials_invalid",
            VerifyClass::Forbidden => "credentials_forbidden",
            VerifyClass::WrongRegion => "credentials_wrong_region",
            VerifyClass::ClockSkew => "clock_skew",
            VerifyClass::Unavailable => "provider_unavailable",
        }
    }

    /// Whether the person's input is at fault (the credentials or the region they gave), rather
    /// than the clock or the provider.
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            VerifyClass::Invalid | VerifyClass::Forbidden | VerifyClass::WrongRegion
        )
    }
}

/// The kind of an HTTP failure. Decisions (back off, honour `Retry-After`, retry once when the
/// outcome is unknown) are made on this, never on the message text, so rewording a message
/// cannot change behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpFailure {
    /// No answer within the time budget.
    Timeout,
    /// No connection could be made (DNS, refused, TLS).
    Connect,
    /// The connection broke after the request went out: the server may have acted on it.
    Dropped,
    /// An unexpected HTTP status.
    Status {
        /// The status code.
        status: u16,
        /// The `Retry-After` header's delta-seconds, when it gave them.
        retry_after: Option<i64>,
    },
    /// The body is larger than the 1 MiB limit.
    TooLarge,
    /// An answer arrived but is not what the protocol says (not JSON, fields missing, an
    /// endpoint URL Keyhaven refuses).
    Malformed,
    /// A local step around the request (building the client, waiting for another process).
    Local,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand for results in keyhaven-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The agent protocol, version 1 (docs/agent.md is the reference; this is its code).
//!
//! Newline-delimited JSON over a UNIX stream socket, one connection per request:
//! 1. the agent writes a [`Hello`] line as soon as it accepts (who it is, which vault, whether
//!    it is locked), so a client learns everything it needs before it sends anything, and a
//!    hung agent is noticed within [`HELLO_TIMEOUT`](crate::client::HELLO_TIMEOUT);
//! 2. the client writes one [`Request`] line;
//! 3. the agent writes one reply line, a [`Reply`], and closes.
//!
//! Versioning: [`PROTOCOL`] changes when a message changes incompatibly. A client that meets
//! another version uses the direct path; it never guesses. Lines are capped at
//! [`MAX_LINE`] bytes on both sides.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The protocol version this build speaks.
pub const PROTOCOL: u32 = 1;
/// The longest line either side accepts, in bytes (a token reply is a few KiB at most).
pub const MAX_LINE: usize = 256 * 1024;

/// The agent's first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// Always `"keyhaven"`: a socket that answers something else is not our agent.
    pub agent: String,
    /// [`PROTOCOL`] of the agent.
    pub protocol: u32,
    /// The vault it serves: its random id (from the metadata)...
    pub vault_id: String,
    /// ...and its database file.
    pub vault_path: String,
    /// Whether it holds no key right now.
    pub locked: bool,
    /// The agent's process id.
    pub pid: u32,
}

/// A request, the client's one line.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// A hand-out: what `keyhaven token CONN` prints.
    Token {
        /// CONN as typed: an id, PROVIDER or PROVIDER:ACCOUNT.
        conn: String,
        /// `--margin SECS`.
        #[serde(default)]
        margin: Option<u64>,
        /// `--field NAME`.
        #[serde(default)]
        field: Option<String>,
        /// The tool the credential is for (`token`, `git`, `aws`...), for the audit log.
        #[serde(default)]
        tool: Option<String>,
        /// The client's own account of who asks (its program and its parent's), used in the
        /// audit row only where the kernel will not tell the agent: `/proc/PID/exe` of a
        /// non-dumpable client (every Keyhaven program is one) is closed to other processes
        /// of the same user. The pid always comes from `SO_PEERCRED`.
        #[serde(default)]
        claimed: Option<crate::peer::Requester>,
    },
    /// A tool helper's hand-out (`keyhaven git-credential get`, `kube credential`...): the
    /// agent maps the query to a connection (docs/tools.md) and answers a [`TokenReply`] with
    /// `username` and `fields` filled as the tool needs; a query Keyhaven has no connection
    /// for fails with [`codes::NOT_FOUND`].
    Credential {
        /// What the tool asked.
        query: ToolQuery,
        /// As for [`Request::Token`].
        #[serde(default)]
        claimed: Option<crate::peer::Requester>,
    },
    /// git's `erase` (the token got a 401): mark the access token stale, so the next hand-out
    /// refreshes it once, when `token` is still the stored one. Answered with [`DoneReply`].
    Erase {
        /// What the tool asked.
        query: ToolQuery,
        /// The token the tool was refused with.
        token: Zeroizing<String>,
        /// As for [`Request::Token`].
        #[serde(default)]
        claimed: Option<crate::peer::Requester>,
    },
    /// The agent's state (`keyhaven agent status`).
    Status,
    /// Forget the key now (`keyhaven lock`).
    Lock,
    /// Take the key: from the keychain (no passphrase), or derived from `passphrase`.
    Unlock {
        /// The vault passphrase, for a passphrase vault.
        #[serde(default)]
        passphrase: Option<Zeroizing<String>>,
        /// Lock after this many idle seconds (default: the agent's setting).
        #[serde(default)]
        idle_secs: Option<u64>,
    },
    /// Lock and exit (the desktop app takes over the socket; tests clean up).
    Shutdown,
    /// Debug builds only: move the agent's clock forward, as `KEYHAVEN_TEST_TIME_OFFSET` moves
    /// a command's (idle lock and hard cap are tested without sleeping).
    TestAdvanceClock {
        /// Seconds.
        secs: i64,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The passphrase never appears; the rest is not secret.
        match self {
            Request::Token { conn, .. } => write!(f, "Token({conn})"),
            Request::Credential { query, .. } => write!(f, "Credential({query:?})"),
            Request::Erase { query, .. } => write!(f, "Erase({query:?}, [redacted])"),
            Request::Status => f.write_str("Status"),
            Request::Lock => f.write_str("Lock"),
            Request::Unlock { .. } => f.write_str("Unlock([redacted])"),
            Request::Shutdown => f.write_str("Shutdown"),
            Request::TestAdvanceClock { secs } => write!(f, "TestAdvanceClock({secs})"),
        }
    }
}

/// A failure reply: the same code and one-line message the direct path would print, and its
/// exit code. `locked` and `wrong_vault` tell the client to use the direct path instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The stable error code (`keyhaven_core::Error::code`, or one of this module's).
    pub code: String,
    /// One line, no secret.
    pub message: String,
    /// 2 for bad input, 1 otherwise.
    pub exit: u8,
}

/// Codes of failures that are the agent's own, not a hand-out's.
pub mod codes {
    /// The agent holds no key: use the direct path (or `keyhaven unlock`).
    pub const LOCKED: &str = "agent_locked";
    /// The request could not be read (garbage, too long, unknown op).
    pub const BAD_REQUEST: &str = "agent_bad_request";
    /// The peer's uid is not the agent's.
    pub const FORBIDDEN: &str = "agent_forbidden";
    /// A tool's query names nothing Keyhaven holds (git then asks its next helper, docker
    /// says "credentials not found"). The same code as `keyhaven_core::Error::NotForTool`.
    pub const NOT_FOUND: &str = "no_credential_for_tool";
}

/// What a tool helper asks for (docs/tools.md): `conn` for the tools configured with a
/// connection (aws, kubectl), `host` for those that name a server (git, docker, terraform: a
/// host with `:port` when not the default; cargo: the registry's name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolQuery {
    /// `git`, `aws`, `kubectl`, `docker`, `terraform` or `cargo`: the audit log's tool.
    pub tool: String,
    /// CONN as configured (an id, PROVIDER or PROVIDER:ACCOUNT).
    #[serde(default)]
    pub conn: Option<String>,
    /// The server the tool is talking to.
    #[serde(default)]
    pub host: Option<String>,
    /// git: `https` or `http` (a token goes over plain http only to a loopback host).
    #[serde(default)]
    pub protocol: Option<String>,
    /// git: the username it already has (picks among several connections for one host).
    #[serde(default)]
    pub username: Option<String>,
    /// `--margin SECS`, as for `keyhaven token`.
    #[serde(default)]
    pub margin: Option<u64>,
}

/// A token hand-out's answer: the fields of `keyhaven token --json`.
#[derive(Serialize, Deserialize)]
pub struct TokenReply {
    /// The secret.
    pub token: Zeroizing<String>,
    /// `Bearer`, `DPoP`... or null for an API key.
    pub token_type: Option<String>,
    /// RFC 3339, or null.
    pub expires_at: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Connection id.
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// Account.
    pub account: String,
    /// Tool hand-outs: the username the tool sends beside the token (git, docker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Tool hand-outs: further stored fields the tool needs (aws: `access_key_id`,
    /// `session_token`), by the tool's own name for them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReply")
            .field("token", &"[redacted]")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What `keyhaven agent status --json` prints (with `running`), and the agent's status reply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// Whether an agent answered.
    pub running: bool,
    /// Its pid.
    pub pid: Option<u32>,
    /// The socket asked.
    pub socket: String,
    /// The vault it serves.
    pub vault_id: Option<String>,
    /// Its database file.
    pub vault_path: Option<String>,
    /// Whether it serves the vault this command would use (KEYHAVEN_HOME).
    pub this_vault: bool,
    /// Holds no key.
    pub locked: bool,
    /// Why it is locked: `not_unlocked`, `idle`, `hard_cap`, `asked` (keyhaven lock, the app).
    pub lock_reason: Option<String>,
    /// Running since (RFC 3339).
    pub since: Option<String>,
    /// Unlocked since (RFC 3339), while unlocked.
    pub unlocked_at: Option<String>,
    /// When it locks if nothing asks (RFC 3339), while unlocked.
    pub locks_at: Option<String>,
    /// Idle lock, seconds.
    pub idle_lock_secs: Option<u64>,
    /// Hard cap on one unlock, seconds.
    pub hard_cap_secs: Option<u64>,
    /// Who hosts it: `cli` (keyhaven agent) or `desktop`.
    pub host: Option<String>,
    /// Protocol version.
    pub protocol: Option<u32>,
    /// Hand-outs served since it started.
    pub served: Option<u64>,
}

/// A failure reply, `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedReply {
    /// The failure.
    pub error: Failure,
}

/// The reply to lock, unlock and shutdown, `{"done": true}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneReply {
    /// Always true.
    pub done: bool,
}

//! The vault: one SQLCipher database holding every credential, keyed from the OS keychain.
//!
//! - [`Vault::init`] creates it: 32 random bytes in the keychain (or an Argon2id key from a
//!   passphrase, chosen explicitly), the database with that raw key, the schema.
//! - [`Vault::open`] opens it, and fails closed: a missing, locked or unreachable keychain, a
//!   wrong key, a damaged file, a newer schema each stop with a one-line error and leave the
//!   vault byte-for-byte unchanged (SEC-16, SEC-19).
//! - [`Vault::rekey`] changes the key in steps that survive a crash at any point (SEC-21).
//!
//! Submodules: [`meta`] (the plaintext metadata beside the database), [`keychain`] (the OS
//! keychain), [`passphrase`] (Argon2id), [`db`] (SQLCipher connection set-up), [`schema`]
//! (migrations), `open` and `rekey` (the procedures).

pub mod backup;
pub(crate) mod db;
pub(crate) mod keychain;
pub(crate) mod meta;
mod open;
pub(crate) mod passphrase;
mod rekey;
pub mod schema;

use std::path::PathBuf;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths::DataDir;
use crate::secret::Passphrase;
use meta::{KeySpec, VaultMeta};

pub use rekey::RekeyStep;

/// How long this process keeps the vault open, which decides two trade-offs (docs/agent.md):
/// SQLCipher's memory wiping and whether a hand-out checkpoints the WAL when it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessLifetime {
    /// A command that exits within milliseconds (`keyhaven token` on the direct path).
    Short,
    /// The agent and the desktop app (the default).
    Long,
}

/// Declares this process's [`ProcessLifetime`]; call it before opening the vault.
pub fn set_process_lifetime(lifetime: ProcessLifetime) {
    db::set_short_lived(lifetime == ProcessLifetime::Short);
}

/// Whether the vault in `dir` is a passphrase vault (from its metadata; no key needed).
pub fn uses_passphrase(dir: &DataDir) -> Result<bool> {
    Ok(VaultMeta::read(&dir.meta_file())?.key.is_passphrase())
}

/// Who is acting on the vault; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The `keyhaven` command.
    Cli,
    /// The desktop app.
    Desktop,
    /// The agent (`keyhaven agent`, or the agent the desktop app hosts), answering a hand-out
    /// for another process.
    Agent,
}

impl Actor {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Actor::Cli => "cli",
            Actor::Desktop => "desktop",
            Actor::Agent => "agent",
        }
    }
}

/// How a new vault's key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChoice {
    /// 32 random bytes in the OS keychain (the default).
    Keychain,
    /// Derived from a passphrase with Argon2id (machines without a keychain).
    Passphrase,
}

/// Why a passphrase is being asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphrasePurpose {
    /// To open an existing vault.
    Unlock,
    /// To protect a new vault (the front end should ask twice).
    NewVault,
    /// The new passphrase during a rekey (the front end should ask twice).
    Rekey,
}

/// Supplies passphrases on demand; front ends prompt, read a file, or decline.
pub trait PassphraseSource {
    /// A passphrase for `purpose`, or `Ok(None)` when none can be had (no terminal, no file).
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<Option<Passphrase>>;
}

/// A [`PassphraseSource`] holding at most one passphrase, given for unlocking (the desktop's
/// unlock form, the agent's `unlock` request). It has none for a new vault or a rekey.
#[derive(Debug, Default)]
pub struct GivenPassphrase(pub Option<Passphrase>);

impl PassphraseSource for GivenPassphrase {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Ok(match purpose {
            PassphrasePurpose::Unlock => self.0.take(),
            PassphrasePurpose::NewVault | PassphrasePurpose::Rekey => None,
        })
    }
}

/// A [`PassphraseSource`] that never has one: for keychain vaults in non-interactive code.
#[derive(Debug, Default)]
pub struct NoPassphrase;

impl PassphraseSource for NoPassphrase {
    fn passphrase(&mut self, _: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Ok(None)
    }
}

/// An open, unlocked vault.
pub struct Vault {
    conn: Connection,
    dir: DataDir,
    meta: VaultMeta,
    actor: Actor,
    /// The key this handle opened with, for [`Vault::reopen`]. SQLCipher holds it in memory for
    /// as long as the connection is open anyway; this copy is zeroized on drop like it.
    key: std::sync::Arc<crate::secret::VaultKey>,
    /// Who the next hand-outs are for, written into their audit rows.
    hand_out: HandOutContext,
}

/// Who a hand-out is for, recorded in its audit row (docs/agent.md): the process that asked and
/// its parent, and the tool the credential was shaped for.
#[derive(Debug, Clone, Default)]
pub struct HandOutContext {
    /// The asking process.
    pub requester: keyhaven_ipc::peer::Requester,
    /// `token`, `env`, `exec`, `git`...
    pub tool: Option<String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.dir.vault_file())
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// Where the vault key comes from, for display.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeySourceInfo {
    /// The OS keychain item holding the key.
    Keychain {
        /// Keychain service.
        service: String,
        /// Keychain account (item name).
        account: String,
    },
    /// An Argon2id-derived key.
    Passphrase {
        /// KDF name.
        kdf: String,
        /// Memory cost in KiB.
        m_cost: u32,
        /// Passes.
        t_cost: u32,
        /// Lanes.
        p_cost: u32,
    },
}

/// Row counts per table, for `vault status`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VaultCounts {
    /// Provider settings (own OAuth apps, custom providers).
    pub providers: i64,
    /// Connections.
    pub connections: i64,
    /// Authorization flows waiting for their redirect.
    pub pending_flows: i64,
    /// Audit events.
    pub audit_events: i64,
}

/// What `vault status` reports.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct VaultStatus {
    /// The database file.
    pub path: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The vault's random id.
    pub vault_id: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Where the key comes from.
    pub key_source: KeySourceInfo,
    /// Schema version in the file.
    pub schema_version: i64,
    /// Newest schema version this build knows.
    pub schema_latest: i64,
    /// Size of the database file in bytes.
    pub size_bytes: u64,
    /// Result of SQLCipher's page authentication over the whole file.
    pub integrity: String,
    /// Row counts.
    pub counts: VaultCounts,
}

impl Vault {
    /// Creates a new vault in `dir`. Fails if one exists.
    pub fn init(
        dir: &DataDir,
        choice: KeyChoice,
        passphrases: &mut dyn PassphraseSource,
        actor: Actor,
    ) -> Result<Vault> {
        open::init(dir, choice, passphrases, actor)
    }

    /// Opens the vault in `dir`, asking `passphrases` only for a passphrase vault.
    pub fn open(
        dir: &DataDir,
        passphrases: &mut dyn PassphraseSource,
        actor: Actor,
    ) -> Result<Vault> {
        open::open(dir, passphrases, actor)
    }

    /// Whether a vault (database file) exists in `dir`.
    pub fn exists(dir: &DataDir) -> bool {
        dir.vault_file().exists()
    }

    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.dir.vault_file()
    }

    /// A second handle on the same vault, with the key this one holds (no keychain or
    /// passphrase prompt): for a background worker (the desktop app's refresh scheduler, a
    /// loopback listener) that must not hold the first handle during network calls.
    pub fn reopen(&self, actor: Actor) -> Result<Vault> {
        let conn = db::open(&self.dir.vault_file(), &self.key, false).map_err(|e| match e {
            db::OpenFailure::NotAuthentic => Error::RekeyFailed {
                reason: "the vault was re-keyed by another process; open it again".into(),
            },
            db::OpenFailure::Other(e) => e,
        })?;
        Ok(Vault {
            conn,
            dir: self.dir.clone(),
            meta: self.meta.clone(),
            actor,
            key: self.key.clone(),
            hand_out: HandOutContext::default(),
        })
    }

    /// Says who the following hand-outs are for (the agent sets it per request; a command on
    /// the direct path sets itself).
    pub fn set_hand_out_context(&mut self, context: HandOutContext) {
        self.hand_out = context;
    }

    /// Who the following hand-outs are for.
    pub(crate) fn hand_out_context(&self) -> &HandOutContext {
        &self.hand_out
    }

    /// The vault's random id (from its metadata).
    pub fn vault_id(&self) -> &str {
        &self.meta.vault_id
    }

    /// Keeps this handle's key copy out of swap (`mlock`), for a process that holds it long:
    /// the agent. Best effort; the key is zeroized on drop either way.
    pub fn lock_key_in_memory(&self) {
        self.key.lock_in_memory();
    }

    /// The actor recorded in audit events.
    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// Whether the key comes from a passphrase.
    pub fn uses_passphrase(&self) -> bool {
        self.meta.key.is_passphrase()
    }

    /// Reports path, key source, schema, counts and integrity.
    pub fn status(&self) -> Result<VaultStatus> {
        let count = |table: &str| -> Result<i64> {
            Ok(self
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        let problems = db::integrity_problems(&self.conn).map_err(|e| self.classify(e))?;
        if !problems.is_empty() {
            return Err(Error::Corrupt {
                path: self.path(),
                reason: format!("integrity check failed on {} page(s)", problems.len()),
            });
        }
        let counts = VaultCounts {
            providers: count("provider_settings")?,
            connections: count("connections")?,
            pending_flows: count("pending_flows")?,
            audit_events: count("audit_events")?,
        };
        let size_bytes = std::fs::metadata(self.path()).map(|m| m.len()).unwrap_or(0);
        Ok(VaultStatus {
            path: self.path(),
            data_dir: self.dir.path().to_path_buf(),
            vault_id: self.meta.vault_id.clone(),
            created_at: self.meta.created_at.clone(),
            key_source: key_source_info(&self.meta.key),
            schema_version: schema::current_version(&self.conn)?,
            schema_latest: schema::latest_version(),
            size_bytes,
            integrity: "ok".into(),
            counts,
        })
    }

    /// Changes the vault key (a new keychain key, or a new passphrase for a passphrase vault).
    ///
    /// `on_step` is told after each durable step; the CLI's fault-injection tests kill the
    /// process there to prove that every intermediate state opens.
    pub fn rekey(
        &mut self,
        passphrases: &mut dyn PassphraseSource,
        on_step: &mut dyn FnMut(RekeyStep),
    ) -> Result<()> {
        rekey::rekey(self, passphrases, on_step)
    }

    /// Checks that `passphrase` is this vault's current passphrase, without changing anything
    /// (the desktop app asks for it before a rekey: SEC-43). A keychain vault has none.
    pub fn verify_passphrase(&self, passphrase: &Passphrase) -> Result<()> {
        if !matches!(self.meta.key, KeySpec::Passphrase { .. }) {
            return Err(Error::BadInput(
                "this vault's key is in the OS keychain; it has no passphrase".into(),
            ));
        }
        let key = passphrase::key_for(passphrase, &self.meta.key)?;
        if key.matches_check_value(&self.meta.vault_id, self.meta.key.check()) {
            Ok(())
        } else {
            Err(Error::WrongPassphrase { path: self.path() })
        }
    }

    /// The underlying connection, for the other core modules.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The underlying connection, mutable (transactions).
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Maps a database error to a corruption error where it means one.
    pub(crate) fn classify(&self, e: Error) -> Error {
        match e {
            Error::Database(ref db) if db::is_corruption(db) => Error::Corrupt {
                path: self.path(),
                reason: "a page failed authentication".into(),
            },
            other => other,
        }
    }
}

fn key_source_info(spec: &KeySpec) -> KeySourceInfo {
    match spec {
        KeySpec::Keychain {
            service, account, ..
        } => KeySourceInfo::Keychain {
            service: service.clone(),
            account: account.clone(),
        },
        KeySpec::Passphrase {
            kdf,
            m_cost,
            t_cost,
            p_cost,
            ..
        } => KeySourceInfo::Passphrase {
            kdf: kdf.clone(),
            m_cost: *m_cost,
            t_cost: *t_cost,
            p_cost: *p_cost,
        },
    }
}

/// A fresh passphrase vault in a temporary directory, for unit tests anywhere in core (no
/// keychain needed). Keep the `TempDir` alive as long as the vault.
#[cfg(test)]
pub(crate) fn test_vault() -> (tempfile::TempDir, Vault) {
    struct Pass;
    impl PassphraseSource for Pass {
        fn passphrase(&mut self, _: PassphrasePurpose) -> Result<Option<Passphrase>> {
            Passphrase::new("unit test passphrase".into()).map(Some)
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = DataDir::new(tmp.path().join("v"));
    let vault =
        Vault::init(&dir, KeyChoice::Passphrase, &mut Pass, Actor::Cli).expect("test vault");
    (tmp, vault)
}

/// A GitHub connection (OAuth, bearer, no expiry) holding `token`, for unit tests.
#[cfg(test)]
pub(crate) fn test_github_connection(
    vault: &mut Vault,
    account: &str,
    expires_at: Option<i64>,
    token: &str,
) -> String {
    use crate::connections::{FieldValue, NewConnection};
    vault
        .save_connection(NewConnection {
            provider_id: "github".into(),
            account: account.into(),
            auth_mode: crate::catalog::AuthMode::Oauth2,
            scopes_requested: vec!["repo".into()],
            scopes_granted: vec!["repo".into()],
            token_type: Some("bearer".into()),
            expires_at,
            extra: serde_json::json!({}),
            vars: Default::default(),
            issued_with: Default::default(),
            defaulted: Default::default(),
            fields: vec![(
                "access_token".into(),
                FieldValue::Secret(crate::secret::SecretBytes::from(token.to_string())),
            )],
        })
        .expect("test connection")
}

#[cfg(test)]
mod tests;

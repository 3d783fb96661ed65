//! The vault's plaintext metadata file, `vault.meta.json`, beside the encrypted database.
//!
//! It says how to obtain the key (which keychain item, or which Argon2id salt and parameters) and
//! carries a key check value, so a wrong key is told apart from a damaged file without touching
//! the database. It holds no secret. During a rekey it also records the key being introduced
//! (`pending_key`) and the key being retired (`retired_key`): with those two pointers, a process
//! killed at any step of a rekey leaves enough on disk for the next open to finish or undo it.
//!
//! Writes are atomic: a temporary file, fsync, rename, fsync of the directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Format marker, so a stray JSON file is not taken for vault metadata.
const FORMAT: &str = "keyhaven-vault";
/// Metadata layout version this build reads and writes.
const VERSION: u32 = 1;

/// Contents of `vault.meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct VaultMeta {
    pub format: String,
    pub version: u32,
    /// Random id of this vault; names its keychain items and salts its key check value.
    pub vault_id: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// The key that opens the vault.
    pub key: KeySpec,
    /// A new key being introduced by an unfinished rekey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_key: Option<KeySpec>,
    /// An old key whose keychain item is still to be deleted after a rekey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_key: Option<KeySpec>,
}

/// Where a key comes from, plus its check value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "source", rename_all = "snake_case")]
pub(crate) enum KeySpec {
    /// 32 random bytes kept in the OS keychain.
    Keychain {
        /// Keychain service name.
        service: String,
        /// Keychain account (user) name of the item.
        account: String,
        /// Key check value (hex HMAC-SHA256).
        check: String,
    },
    /// Derived from a passphrase with Argon2id.
    Passphrase {
        /// Always "argon2id".
        kdf: String,
        /// Memory cost in KiB.
        m_cost: u32,
        /// Iterations.
        t_cost: u32,
        /// Parallelism (lanes).
        p_cost: u32,
        /// Salt, hex.
        salt: String,
        /// Key check value (hex HMAC-SHA256).
        check: String,
    },
}

impl KeySpec {
    pub(crate) fn check(&self) -> &str {
        match self {
            KeySpec::Keychain { check, .. } | KeySpec::Passphrase { check, .. } => check,
        }
    }

    pub(crate) fn is_passphrase(&self) -> bool {
        matches!(self, KeySpec::Passphrase { .. })
    }
}

impl VaultMeta {
    pub(crate) fn new(vault_id: String, created_at: String, key: KeySpec) -> Self {
        VaultMeta {
            format: FORMAT.into(),
            version: VERSION,
            vault_id,
            created_at,
            key,
            pending_key: None,
            retired_key: None,
        }
    }

    /// Reads and validates the metadata file.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::BadMetadata {
            path: path.to_path_buf(),
            reason,
        };
        let text = fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let meta: VaultMeta =
            serde_json::from_str(&text).map_err(|e| bad(format!("not valid metadata: {e}")))?;
        if meta.format != FORMAT {
            return Err(bad(format!("unknown format {:?}", meta.format)));
        }
        if meta.version > VERSION {
            return Err(bad(format!(
                "metadata version {} is newer than this Keyhaven understands; upgrade Keyhaven",
                meta.version
            )));
        }
        Ok(meta)
    }

    /// Writes the metadata atomically (temp file, fsync, rename, fsync dir).
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp: PathBuf = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("metadata serializes");
        let ctx = |what: &str| format!("{what} {}", tmp.display());
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io(ctx("cannot create"), e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(ctx("cannot write"), e))?;
        drop(f);
        super::open::restrict_permissions(&tmp);
        fs::rename(&tmp, path)
            .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e))?;
        sync_dir(dir);
        Ok(())
    }
}

/// Makes a rename durable. Best effort: not every platform can open a directory.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

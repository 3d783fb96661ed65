//! Where the vault lives.
//!
//! One rule for both front ends, so the CLI and the desktop app always share one vault:
//! `KEYHAVEN_HOME` when set, else the platform's app-data directory for the app identifier
//! `dev.keyhaven` (the directory Tauri's `app_data_dir()` returns for the desktop app:
//! `~/.local/share/dev.keyhaven` on Linux, `~/Library/Application Support/dev.keyhaven` on macOS,
//! `%APPDATA%\dev.keyhaven` on Windows).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The application identifier; also the directory name under the platform data dir.
pub const APP_IDENTIFIER: &str = "dev.keyhaven";

/// Environment variable that overrides the data directory.
pub const HOME_ENV: &str = "KEYHAVEN_HOME";

/// File name of the encrypted database inside the data directory.
pub const VAULT_FILE: &str = "vault.db";

/// File name of the vault's plaintext metadata (key source, KDF salt and parameters).
pub const META_FILE: &str = "vault.meta.json";

/// The data directory holding one vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// `KEYHAVEN_HOME` when set and non-empty, else the platform app-data directory.
    ///
    /// A relative `KEYHAVEN_HOME` is refused: resolved against the current directory it would
    /// name another vault in every directory a command runs from.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(HOME_ENV) {
            Some(home) if !home.is_empty() => {
                let path = PathBuf::from(home);
                if path.is_relative() {
                    return Err(Error::BadInput(format!(
                        "{HOME_ENV} must be an absolute path, not {:?}: a relative one would \
                         name a different vault in each directory",
                        path.display().to_string()
                    )));
                }
                Ok(DataDir(path))
            }
            _ => Self::platform_default(),
        }
    }

    /// The platform app-data directory for `dev.keyhaven`, ignoring `KEYHAVEN_HOME`.
    pub fn platform_default() -> Result<Self> {
        dirs::data_dir()
            .map(|d| DataDir(d.join(APP_IDENTIFIER)))
            .ok_or(Error::NoDataDir)
    }

    /// A specific directory.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DataDir(path.into())
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The encrypted database file.
    pub fn vault_file(&self) -> PathBuf {
        self.0.join(VAULT_FILE)
    }

    /// The metadata file beside it.
    pub fn meta_file(&self) -> PathBuf {
        self.0.join(META_FILE)
    }
}

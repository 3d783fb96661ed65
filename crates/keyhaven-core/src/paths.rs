//! Where the vault lives.
//!
//! One rule for both front ends, so the CLI and the desktop app always share one vault:
//! `KEYHAVEN_HOME` when set, else the platform's app-data directory for the app identifier
//! `dev.keyhaven` (the directory Tauri's `app_data_dir()` returns for the desktop app:
//! `~/.local/share/dev.keyhaven` on Linux, `~/Library/Application Support/dev.keyhaven` on macOS,
//! `%APPDATA%\dev.keyhaven` on Windows).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The rule itself lives in keyhaven-ipc (the front binary resolves the vault without core).
fn data_dir_error(e: keyhaven_ipc::paths::DataDirError) -> Error {
    match e {
        keyhaven_ipc::paths::DataDirError::Relative(path) => Error::BadInput(format!(
            "{HOME_ENV} must be an absolute path, not {:?}: a relative one would name a \
             different vault in each directory",
            path.display().to_string()
        )),
        keyhaven_ipc::paths::DataDirError::NoPlatformDir => Error::NoDataDir,
    }
}

pub use keyhaven_ipc::paths::{APP_IDENTIFIER, HOME_ENV, META_FILE, VAULT_FILE};

/// The data directory holding one vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// `KEYHAVEN_HOME` when set and non-empty, else the platform app-data directory.
    ///
    /// A relative `KEYHAVEN_HOME` is refused: resolved against the current directory it would
    /// name another vault in every directory a command runs from.
    pub fn from_env() -> Result<Self> {
        keyhaven_ipc::paths::data_dir()
            .map(DataDir)
            .map_err(data_dir_error)
    }

    /// The platform app-data directory for `dev.keyhaven`, ignoring `KEYHAVEN_HOME`.
    pub fn platform_default() -> Result<Self> {
        keyhaven_ipc::paths::platform_data_dir()
            .map(DataDir)
            .map_err(data_dir_error)
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

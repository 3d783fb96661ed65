//! Where the vault and the agent's socket live.
//!
//! The data directory: `KEYHAVEN_HOME` when set, else the platform app-data directory for
//! `dev.keyhaven` (what Tauri's `app_data_dir()` gives the desktop app), so the CLI and the app
//! always share one vault. keyhaven-core's `DataDir` is built from [`data_dir`].
//!
//! The socket: `KEYHAVEN_AGENT_SOCK` when set, else `$XDG_RUNTIME_DIR/keyhaven/agent.sock`
//! (a per-user tmpfs that systemd-logind creates 0700 and removes at logout), else, where there
//! is no runtime directory (a container, a cron job on a system without logind), a directory of
//! the user's own under the temp dir, `/tmp/keyhaven-UID/agent.sock`. The agent refuses to serve
//! from a directory that is not the user's own with mode 0700 (docs/security.md, SEC-50).

use std::path::{Path, PathBuf};

/// The application identifier; also the directory name under the platform data dir.
pub const APP_IDENTIFIER: &str = "dev.keyhaven";
/// Environment variable that overrides the data directory.
pub const HOME_ENV: &str = "KEYHAVEN_HOME";
/// Environment variable that overrides the agent's socket path.
pub const SOCK_ENV: &str = "KEYHAVEN_AGENT_SOCK";
/// `KEYHAVEN_NO_AGENT=1`: never ask or start an agent (the direct path only).
pub const NO_AGENT_ENV: &str = "KEYHAVEN_NO_AGENT";
/// File name of the encrypted database inside the data directory.
pub const VAULT_FILE: &str = "vault.db";
/// File name of the vault's plaintext metadata.
pub const META_FILE: &str = "vault.meta.json";

/// Why no data directory could be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataDirError {
    /// `KEYHAVEN_HOME` is relative: it would name another vault in every directory.
    Relative(PathBuf),
    /// No home directory, so no platform data directory.
    NoPlatformDir,
}

/// The data directory: `KEYHAVEN_HOME` (absolute) when set and non-empty, else the platform's.
pub fn data_dir() -> Result<PathBuf, DataDirError> {
    match std::env::var_os(HOME_ENV) {
        Some(home) if !home.is_empty() => {
            let path = PathBuf::from(home);
            if path.is_relative() {
                return Err(DataDirError::Relative(path));
            }
            Ok(path)
        }
        _ => platform_data_dir(),
    }
}

/// The platform app-data directory for `dev.keyhaven`, ignoring `KEYHAVEN_HOME`.
pub fn platform_data_dir() -> Result<PathBuf, DataDirError> {
    dirs::data_dir()
        .map(|d| d.join(APP_IDENTIFIER))
        .ok_or(DataDirError::NoPlatformDir)
}

/// True when `KEYHAVEN_NO_AGENT` asks for the direct path (any value but empty and `0`).
pub fn agent_disabled() -> bool {
    std::env::var_os(NO_AGENT_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The agent's socket path (see the module comment for the order).
pub fn socket_path() -> PathBuf {
    if let Some(p) = std::env::var_os(SOCK_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return run.join("keyhaven").join("agent.sock");
    }
    std::env::temp_dir()
        .join(format!("keyhaven-{}", crate::peer::my_uid()))
        .join("agent.sock")
}

/// The vault id recorded in the metadata file of the vault in `dir`, if it can be read. Only
/// the id is parsed; the client compares it with the agent's before asking for anything.
pub fn vault_id(dir: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Meta {
        vault_id: String,
    }
    let bytes = std::fs::read(dir.join(META_FILE)).ok()?;
    serde_json::from_slice::<Meta>(&bytes)
        .ok()
        .map(|m| m.vault_id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vault_id_is_read_from_the_metadata_and_nothing_else_is_needed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(super::META_FILE),
            r#"{"format":1,"vault_id":"abc123","key":{"kind":"keychain"}}"#,
        )
        .unwrap();
        assert_eq!(super::vault_id(tmp.path()).as_deref(), Some("abc123"));
        std::fs::write(tmp.path().join(super::META_FILE), b"{not json").unwrap();
        assert_eq!(super::vault_id(tmp.path()), None);
    }
}

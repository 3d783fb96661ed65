//! The agent's settings: `[agent]` in `$XDG_CONFIG_HOME/keyhaven/config.toml` (or
//! `~/.config/keyhaven/config.toml`), each overridable on the command line.
//!
//! ```toml
//! [agent]
//! autostart = false        # hand-outs never start an agent (like KEYHAVEN_NO_AGENT=1)
//! idle_lock_secs = 900     # lock after 15 min without a hand-out
//! hard_cap_secs = 43200    # and 12 h after an unlock, however busy
//! ```
//!
//! A missing file is the defaults; a file that does not parse is reported by the commands that
//! start an agent (`keyhaven agent`, `unlock`) and ignored by hand-outs, which never fail for it.

use std::path::PathBuf;

use serde::Deserialize;

use super::AgentConfig;
use crate::error::{Error, Result};

/// The settings file's `[agent]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Whether a hand-out starts an agent when none runs (default true).
    pub autostart: Option<bool>,
    /// Idle lock, seconds.
    pub idle_lock_secs: Option<u64>,
    /// Hard cap, seconds.
    pub hard_cap_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    agent: Settings,
}

impl Settings {
    /// The settings file's path.
    pub fn path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("keyhaven").join("config.toml"))
    }

    /// Reads the file (defaults when there is none).
    pub fn load() -> Result<Settings> {
        let Some(path) = Self::path() else {
            return Ok(Settings::default());
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        toml::from_str::<File>(&text)
            .map(|f| f.agent)
            .map_err(|e| Error::BadInput(format!("{}: {}", path.display(), e.message())))
    }

    /// Whether hand-outs may start an agent: not with `KEYHAVEN_NO_AGENT=1`, not with
    /// `autostart = false`.
    pub fn autostart(&self) -> bool {
        !keyhaven_ipc::paths::agent_disabled() && self.autostart.unwrap_or(true)
    }

    /// The agent configuration these settings describe.
    pub fn config(&self) -> AgentConfig {
        let d = AgentConfig::default();
        AgentConfig {
            idle_lock_secs: self.idle_lock_secs.unwrap_or(d.idle_lock_secs).max(1),
            hard_cap_secs: self.hard_cap_secs.unwrap_or(d.hard_cap_secs).max(1),
            exit_when_locked_secs: d.exit_when_locked_secs,
        }
    }
}

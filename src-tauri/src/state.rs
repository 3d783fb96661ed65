//! What the desktop app holds between IPC calls: where the vault lives, and the vault once open.
//!
//! [`AppState`] is built completely before `tauri::Builder::manage` (STYLE.md 11), so no command
//! ever sees a half-initialised app. The open [`Vault`] sits behind a `Mutex` because commands
//! run concurrently on Tauri's async runtime and a SQLite connection must be used by one thread
//! at a time. A passphrase given to unlock is consumed by `Vault::open` and dropped (zeroized);
//! the app keeps only the open connection, never the passphrase.
//!
//! The methods here are glue, not policy: each is one call into keyhaven-core plus the
//! bookkeeping of the `Mutex`.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use keyhaven_core::secret::Passphrase;
use keyhaven_core::vault::VaultStatus;
use keyhaven_core::{
    Actor, DataDir, Error, KeyChoice, NoPassphrase, PassphrasePurpose, PassphraseSource, Result,
    Vault,
};
use serde::Serialize;

/// The app's state, shared by every command.
#[derive(Debug)]
pub struct AppState {
    /// `None` when no data directory can be determined; commands then report `no_data_dir`.
    data_dir: Option<DataDir>,
    vault: Mutex<Option<Vault>>,
    /// Browser sign-ins started in this window, by flow id (the state's SHA-256): what "open
    /// again" and "copy link" need. No secret: the URL carries the public PKCE challenge.
    flows: Mutex<std::collections::HashMap<String, String>>,
    /// Deep links that arrived while a passphrase vault was locked; finished once it opens.
    pending_links: Mutex<Vec<String>>,
}

/// What the UI shows: the vault's state as seen from the desktop app.
///
/// Mirrored by `VaultView` in `ui/src/lib/vault/types.ts`.
#[derive(Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VaultView {
    /// No vault yet: the first-run screen, which offers to create one in `data_dir`.
    Missing {
        /// Where `vault_init` will create the vault.
        data_dir: PathBuf,
    },
    /// A passphrase-protected vault that has not been unlocked in this session.
    LockedPassphrase {
        /// The vault file.
        path: PathBuf,
    },
    /// The vault is open.
    Open {
        /// Path, key source, schema, counts and integrity, from core.
        status: VaultStatus,
    },
}

impl AppState {
    /// Reads `KEYHAVEN_HOME` (else the platform data dir) once, at start-up.
    pub fn from_env() -> Self {
        let data_dir = DataDir::from_env()
            .inspect_err(|e| tracing::warn!(error = %e, "no data directory"))
            .ok();
        Self::new(data_dir)
    }

    /// A state over a given data directory, with no vault open.
    pub fn new(data_dir: Option<DataDir>) -> Self {
        AppState {
            data_dir,
            vault: Mutex::new(None),
            flows: Mutex::new(Default::default()),
            pending_links: Mutex::new(Vec::new()),
        }
    }

    /// The vault's state, opening a keychain vault on the way (it needs no input).
    pub fn view(&self) -> Result<VaultView> {
        let dir = self.data_dir()?;
        let mut slot = self.slot();
        if let Some(vault) = slot.as_ref() {
            return open_view(vault);
        }
        if !Vault::exists(dir) {
            return Ok(VaultView::Missing {
                data_dir: dir.path().to_path_buf(),
            });
        }
        match Vault::open(dir, &mut NoPassphrase, Actor::Desktop) {
            Ok(vault) => open_view(slot.insert(vault)),
            Err(Error::PassphraseRequired { path }) => Ok(VaultView::LockedPassphrase { path }),
            Err(e) => Err(e),
        }
    }

    /// Creates a new keychain-protected vault (first run) and keeps it open.
    pub fn init(&self) -> Result<VaultView> {
        let dir = self.data_dir()?;
        let mut slot = self.slot();
        let vault = Vault::init(dir, KeyChoice::Keychain, &mut NoPassphrase, Actor::Desktop)?;
        open_view(slot.insert(vault))
    }

    /// Opens a passphrase vault with `passphrase` and keeps it open.
    pub fn unlock(&self, passphrase: Passphrase) -> Result<VaultView> {
        let dir = self.data_dir()?;
        let mut slot = self.slot();
        if let Some(vault) = slot.as_ref() {
            return open_view(vault);
        }
        let vault = Vault::open(dir, &mut Given(Some(passphrase)), Actor::Desktop)?;
        open_view(slot.insert(vault))
    }

    /// Runs `f` on the open vault, opening a keychain vault on demand. A passphrase vault that
    /// is not unlocked yet answers `passphrase_required` (the UI shows the unlock form).
    pub fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        let dir = self.data_dir()?;
        let mut slot = self.slot();
        if slot.is_none() {
            if !Vault::exists(dir) {
                return Err(Error::NotInitialized {
                    path: dir.vault_file(),
                });
            }
            *slot = Some(Vault::open(dir, &mut NoPassphrase, Actor::Desktop)?);
        }
        f(slot.as_mut().expect("just opened"))
    }

    /// A second handle on the open vault for a worker thread (the refresh scheduler, a loopback
    /// listener), so the first is never held across a network call. `None` while locked.
    pub fn worker_vault(&self) -> Option<Vault> {
        self.slot()
            .as_ref()
            .and_then(|v| v.reopen(Actor::Desktop).ok())
    }

    /// Forgets the open vault (Settings -> Lock).
    pub fn lock(&self) {
        *self.slot() = None;
    }

    /// Remembers a started flow's authorization URL.
    pub fn remember_flow(&self, flow_id: &str, authorization_url: &str) {
        lock(&self.flows).insert(flow_id.to_string(), authorization_url.to_string());
    }

    /// The authorization URL of a flow started here.
    pub fn flow_url(&self, flow_id: &str) -> Option<String> {
        lock(&self.flows).get(flow_id).cloned()
    }

    /// Forgets a flow.
    pub fn forget_flow(&self, flow_id: &str) {
        lock(&self.flows).remove(flow_id);
    }

    /// Keeps a deep link for when the vault opens.
    pub fn defer_link(&self, url: String) {
        lock(&self.pending_links).push(url);
    }

    /// Deep links kept while the vault was locked.
    pub fn take_deferred_links(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.pending_links))
    }

    fn data_dir(&self) -> Result<&DataDir> {
        self.data_dir.as_ref().ok_or(Error::NoDataDir)
    }

    /// The vault slot. A panic while it was held cannot leave a `Vault` half-changed (core's
    /// writes are transactions), so a poisoned lock is simply taken over.
    fn slot(&self) -> MutexGuard<'_, Option<Vault>> {
        self.vault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A lock whose holder panicked is taken over: the maps it guards stay consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn open_view(vault: &Vault) -> Result<VaultView> {
    Ok(VaultView::Open {
        status: vault.status()?,
    })
}

/// A passphrase typed into the unlock form, handed to core once.
struct Given(Option<Passphrase>);

impl PassphraseSource for Given {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Ok(match purpose {
            PassphrasePurpose::Unlock => self.0.take(),
            // The desktop app never creates or rekeys a passphrase vault (yet).
            PassphrasePurpose::NewVault | PassphrasePurpose::Rekey => None,
        })
    }
}

#[cfg(test)]
mod tests;

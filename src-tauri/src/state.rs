//! What the desktop app holds between IPC calls: where the vault lives, and the vault once open.
//!
//! [`AppState`] is built completely before `tauri::Builder::manage`, so no command
//! ever sees a half-initialised app. The open [`Vault`] sits behind a `Mutex` because commands
//! run concurrently on Tauri's async runtime and a SQLite connection must be used by one thread
//! at a time. A passphrase given to unlock is consumed by `Vault::open` and dropped (zeroized);
//! the app keeps only the open connection, never the passphrase.
//!
//! The methods here are glue, not policy: each is one call into keyhaven-core plus the
//! bookkeeping of the `Mutex`. Besides the vault, the state keeps the UI's event channels
//! (`events.rs`, SEC-44) and the deep links that arrived while a passphrase vault was locked
//! (`deeplink.rs`, SEC-46); neither prints a secret in `Debug`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use keyhaven_core::connections::ConnectionSummary;
use keyhaven_core::secret::Passphrase;
use keyhaven_core::vault::VaultStatus;
use keyhaven_core::{
    Actor, DataDir, Error, GivenPassphrase, KeyChoice, NoPassphrase, Result, Vault,
};
use serde::Serialize;
use tauri::ipc::Channel;

use crate::deeplink::{CallbackLink, DeferredLinks};
use crate::events::UiEvent;

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
    pending_links: Mutex<DeferredLinks>,
    /// The UI's event channel per webview label (`events_subscribe`).
    subscribers: Mutex<Subscribers>,
    /// The agent this app hosts (agent.rs), once started.
    agent: Mutex<Option<keyhaven_core::agent::Agent>>,
}

/// The webviews' event channels. `Debug` shows the labels only.
#[derive(Default)]
struct Subscribers(HashMap<String, Channel<UiEvent>>);

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What became of a deep link handed to [`AppState::complete_or_defer`].
#[derive(Debug)]
pub enum LinkOutcome {
    /// Core finished the flow (or refused the link).
    Finished(Result<ConnectionSummary>),
    /// The vault is a locked passphrase vault: kept until `vault_unlock`.
    Deferred,
}

/// What the UI shows: the vault's state as seen from the desktop app.
#[cfg_attr(test, derive(ts_rs::TS))]
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
            pending_links: Mutex::new(DeferredLinks::default()),
            subscribers: Mutex::new(Subscribers::default()),
            agent: Mutex::new(None),
        }
    }

    /// Remembers the hosted agent, and shares the vault with it if it is open already.
    pub fn set_agent(&self, agent: keyhaven_core::agent::Agent) {
        if let Some(vault) = self.slot().as_ref() {
            crate::agent::share(&agent, vault);
        }
        *lock(&self.agent) = Some(agent);
    }

    /// The data directory, when there is one (for hosting the agent).
    pub fn data_dir_if_any(&self) -> Option<DataDir> {
        self.data_dir.clone()
    }

    /// Before a rekey: the hosted agent closes its handle (the rekey needs the vault alone).
    pub fn pause_agent(&self) {
        if let Some(agent) = lock(&self.agent).as_ref() {
            agent.lock(keyhaven_core::agent::LockReason::KeyChanged);
        }
    }

    /// After a rekey: the agent forgets its handle (the old key) and gets one with the new key.
    pub fn refresh_agent(&self) {
        // The slot first, then the agent: the order `with_vault` takes them in.
        let slot = self.slot();
        if let Some(agent) = lock(&self.agent).as_ref() {
            agent.lock(keyhaven_core::agent::LockReason::KeyChanged);
            if let Some(vault) = slot.as_ref() {
                crate::agent::share(agent, vault);
            }
        }
    }

    /// Gives the hosted agent the vault now open in `slot` (when it is locked).
    fn share(&self, vault: &Vault) {
        if let Some(agent) = lock(&self.agent).as_ref() {
            crate::agent::share(agent, vault);
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
            Ok(vault) => {
                self.share(&vault);
                open_view(slot.insert(vault))
            }
            Err(Error::PassphraseRequired { path }) => Ok(VaultView::LockedPassphrase { path }),
            Err(e) => Err(e),
        }
    }

    /// Creates a new keychain-protected vault (first run) and keeps it open.
    pub fn init(&self) -> Result<VaultView> {
        let dir = self.data_dir()?;
        let mut slot = self.slot();
        let vault = Vault::init(dir, KeyChoice::Keychain, &mut NoPassphrase, Actor::Desktop)?;
        self.share(&vault);
        open_view(slot.insert(vault))
    }

    /// Opens a passphrase vault with `passphrase` and keeps it open.
    pub fn unlock(&self, passphrase: Passphrase) -> Result<VaultView> {
        let dir = self.data_dir()?;
        let mut slot = self.slot();
        if let Some(vault) = slot.as_ref() {
            return open_view(vault);
        }
        let vault = Vault::open(dir, &mut GivenPassphrase(Some(passphrase)), Actor::Desktop)?;
        self.share(&vault);
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
        let vault = slot.as_mut().expect("just opened");
        let out = f(vault);
        // After every use: an agent that locked while idle (or after a rekey made its handle
        // stale) gets the vault again.
        self.share(vault);
        out
    }

    /// A second handle on the open vault for a worker thread (the refresh scheduler, a loopback
    /// listener), so the first is never held across a network call. `None` while locked.
    pub fn worker_vault(&self) -> Option<Vault> {
        self.slot()
            .as_ref()
            .and_then(|v| v.reopen(Actor::Desktop).ok())
    }

    /// Forgets the open vault (Settings -> Lock), and locks the hosted agent with it: the CLI's
    /// hand-outs need the keychain or the passphrase again.
    pub fn lock(&self) {
        self.forget_vault();
        if let Some(agent) = lock(&self.agent).as_ref() {
            agent.lock(keyhaven_core::agent::LockReason::Asked);
        }
    }

    /// Forgets the open vault only (the agent was locked by `keyhaven lock` already).
    pub fn forget_vault(&self) {
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

    /// Finishes the flow of a (validated) deep link, or keeps it for when a locked passphrase
    /// vault is unlocked. Decided while holding the vault slot, so a link cannot slip in between
    /// an unlock and the drain that follows it (`vault_unlock`).
    pub fn complete_or_defer(&self, link: CallbackLink) -> LinkOutcome {
        let dir = match self.data_dir() {
            Ok(d) => d,
            Err(e) => return LinkOutcome::Finished(Err(e)),
        };
        let mut slot = self.slot();
        if slot.is_none() {
            if !Vault::exists(dir) {
                return LinkOutcome::Finished(Err(Error::NotInitialized {
                    path: dir.vault_file(),
                }));
            }
            match Vault::open(dir, &mut NoPassphrase, Actor::Desktop) {
                Ok(vault) => *slot = Some(vault),
                Err(Error::PassphraseRequired { .. }) => {
                    if let Some(dropped) = lock(&self.pending_links).push(link) {
                        tracing::warn!(
                            kept = crate::deeplink::MAX_DEFERRED_LINKS,
                            dropped_flow = %dropped.flow_id(),
                            "too many sign-in links while the vault is locked; dropped the oldest"
                        );
                    }
                    return LinkOutcome::Deferred;
                }
                Err(e) => return LinkOutcome::Finished(Err(e)),
            }
        }
        let vault = slot.as_mut().expect("opened just above");
        LinkOutcome::Finished(keyhaven_core::flows::complete(vault, link.as_str()))
    }

    /// The deep links kept while the vault was locked, oldest first (emptied).
    pub fn take_deferred_links(&self) -> Vec<CallbackLink> {
        lock(&self.pending_links).take()
    }

    /// Remembers the UI's event channel of one webview (replacing an older one: a reload).
    pub fn subscribe(&self, webview: &str, channel: Channel<UiEvent>) {
        lock(&self.subscribers)
            .0
            .insert(webview.to_string(), channel);
    }

    /// Sends `event` to every subscribed webview; a channel that fails is forgotten.
    pub fn publish(&self, event: &UiEvent) {
        lock(&self.subscribers)
            .0
            .retain(|label, channel| match channel.send(event.clone()) {
                Ok(()) => true,
                Err(e) => {
                    tracing::debug!(webview = %label, error = %e, "event channel closed");
                    false
                }
            });
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

#[cfg(test)]
mod tests;

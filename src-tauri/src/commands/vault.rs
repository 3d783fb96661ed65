//! Vault commands: what the one screen of the app needs to show and open the vault.
//!
//! All three return the same [`VaultView`], so the UI renders whatever comes back without a
//! second round trip. They are `async` commands so that a slow keychain or a passphrase
//! derivation (Argon2id, about a second) runs on Tauri's async runtime rather than freezing the
//! window on the main thread. Secrets only come in (the unlock passphrase); nothing secret goes
//! out. Unlocking also finishes the sign-in links that arrived while the vault was locked
//! (SEC-46), and `app_info` tells the add-connection screen whether `dev.keyhaven:` links reach
//! this app (SEC-49).

use keyhaven_core::secret::Passphrase;
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::error::CommandError;
use crate::state::{AppState, VaultView};

/// The vault's state: missing, locked (passphrase vault) or open with its status.
#[tauri::command(async)]
pub fn vault_status(state: State<'_, AppState>) -> Result<VaultView, CommandError> {
    Ok(state.view()?)
}

/// Creates a new vault whose key lives in the OS keychain (first run).
#[tauri::command(async)]
pub fn vault_init(state: State<'_, AppState>) -> Result<VaultView, CommandError> {
    Ok(state.init()?)
}

/// Unlocks a passphrase-protected vault. The passphrase is wrapped at once in core's zeroizing
/// `Passphrase` and is never logged, stored or returned. Then the deep links kept while it was
/// locked are finished (on a worker thread; the UI hears of them through its event channel).
#[tauri::command(async)]
pub fn vault_unlock(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: String,
) -> Result<VaultView, CommandError> {
    let view = state.unlock(Passphrase::new(passphrase)?)?;
    crate::deeplink::finish_deferred(&app);
    Ok(view)
}

/// Facts about this installation the screens need.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct AppInfo {
    /// Whether `dev.keyhaven:` links open this app; `null` when the system cannot say.
    pub deep_link_registered: Option<bool>,
}

/// What `AppInfo` says (runs `xdg-mime` on Linux, hence async).
#[tauri::command(async)]
pub fn app_info(app: AppHandle) -> Result<AppInfo, CommandError> {
    Ok(AppInfo {
        deep_link_registered: crate::deeplink::handler_registered(&app),
    })
}

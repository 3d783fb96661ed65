//! Vault commands: what the one screen of the app needs to show and open the vault.
//!
//! All three return the same [`VaultView`], so the UI renders whatever comes back without a
//! second round trip. They are `async` commands so that a slow keychain or a passphrase
//! derivation (Argon2id, about a second) runs on Tauri's async runtime rather than freezing the
//! window on the main thread. Secrets only come in (the unlock passphrase); nothing secret goes
//! out.

use keyhaven_core::secret::Passphrase;
use tauri::State;

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
/// `Passphrase` and is never logged, stored or returned.
#[tauri::command(async)]
pub fn vault_unlock(
    state: State<'_, AppState>,
    passphrase: String,
) -> Result<VaultView, CommandError> {
    Ok(state.unlock(Passphrase::new(passphrase)?)?)
}

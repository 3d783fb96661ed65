//! Settings: encrypted backup export/import, lock, rekey.

use keyhaven_core::secret::Passphrase;
use keyhaven_core::vault::backup::{ExportReport, ImportReport};
use keyhaven_core::{PassphrasePurpose, PassphraseSource, Result};
use tauri::{AppHandle, Emitter, State};

use crate::error::CommandError;
use crate::state::AppState;

/// Writes an encrypted (age, passphrase) backup to `path`.
#[tauri::command(async)]
pub fn vault_export(
    state: State<'_, AppState>,
    path: String,
    passphrase: String,
    move_out: bool,
) -> Result<ExportReport, CommandError> {
    let pass = Passphrase::new(passphrase)?;
    Ok(state.with_vault(|v| v.export_backup(std::path::Path::new(&path), &pass, move_out))?)
}

/// Merges an encrypted backup.
#[tauri::command(async)]
pub fn vault_import(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    passphrase: String,
) -> Result<ImportReport, CommandError> {
    let pass = Passphrase::new(passphrase)?;
    let report = state.with_vault(|v| v.import_backup(std::path::Path::new(&path), &pass))?;
    let _ = app.emit(crate::EVENT_CONNECTIONS_CHANGED, ());
    Ok(report)
}

/// Forgets the open vault.
#[tauri::command(async)]
pub fn vault_lock(state: State<'_, AppState>) -> Result<(), CommandError> {
    state.lock();
    Ok(())
}

/// Re-encrypts the vault: a new keychain key, or for a passphrase vault `new_passphrase`.
#[tauri::command(async)]
pub fn vault_rekey(
    state: State<'_, AppState>,
    new_passphrase: Option<String>,
) -> Result<(), CommandError> {
    let mut source = NewPassphrase(new_passphrase.map(Passphrase::new).transpose()?);
    Ok(state.with_vault(|v| v.rekey(&mut source, &mut |_| {}))?)
}

struct NewPassphrase(Option<Passphrase>);

impl PassphraseSource for NewPassphrase {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Ok(match purpose {
            PassphrasePurpose::Rekey => self.0.take(),
            _ => None,
        })
    }
}

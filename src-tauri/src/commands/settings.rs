//! Settings: encrypted backup export/import, lock, rekey.
//!
//! Each privileged action is the person's own, not the page's (SEC-43): the backup file is chosen
//! in the platform's save or open dialog opened from here (the page sends no path), an import is
//! applied only after a native confirmation listing what it adds, updates and refuses, and a
//! rekey needs the current passphrase (passphrase vault, checked by core) or a native
//! confirmation (keychain vault). Passphrases come in over IPC, go straight into core's zeroizing
//! `Passphrase`, and core enforces their rules (length included).

use keyhaven_core::secret::Passphrase;
use keyhaven_core::vault::backup::{ExportReport, ImportReport};
use keyhaven_core::{PassphrasePurpose, PassphraseSource, Result};
use tauri::{AppHandle, State};

use crate::dialogs;
use crate::error::CommandError;
use crate::events::{UiEvent, publish};
use crate::state::AppState;

/// Writes an encrypted (age, passphrase) backup to a file the person picks in the native save
/// dialog.
#[tauri::command]
pub async fn vault_export(
    app: AppHandle,
    passphrase: String,
    move_out: bool,
) -> Result<ExportReport, CommandError> {
    let pass = Passphrase::new(passphrase)?;
    super::blocking(&app, move |app, state| {
        let path = dialogs::save_file(
            app,
            "export a backup",
            &backup_file_name(),
            "no backup was written",
        )?;
        Ok(state.with_vault(|v| v.export_backup(&path, &pass, move_out))?)
    })
    .await
}

/// The name the save dialog proposes: `keyhaven-backup-YYYY-MM-DD.age`.
fn backup_file_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let day = keyhaven_core::audit::format_time(now);
    format!("keyhaven-backup-{}.age", day.get(..10).unwrap_or("latest"))
}

/// Merges an encrypted backup the person picks in the native open dialog.
#[tauri::command]
pub async fn vault_import(
    app: AppHandle,
    passphrase: String,
) -> Result<ImportReport, CommandError> {
    let pass = Passphrase::new(passphrase)?;
    super::blocking(&app, move |app, state| {
        let path = dialogs::open_file(app, "import a backup", "nothing was imported")?;
        let report = state.with_vault(|v| v.import_backup(&path, &pass))?;
        publish(app, UiEvent::ConnectionsChanged);
        Ok(report)
    })
    .await
}

/// Forgets the open vault.
#[tauri::command(async)]
pub fn vault_lock(state: State<'_, AppState>) -> Result<(), CommandError> {
    state.lock();
    Ok(())
}

/// Re-encrypts the vault: a new keychain key (after a native confirmation), or for a passphrase
/// vault `new_passphrase`.
#[tauri::command]
pub async fn vault_rekey(
    app: AppHandle,
    new_passphrase: Option<String>,
) -> Result<(), CommandError> {
    let new_passphrase = new_passphrase.map(Passphrase::new).transpose()?;
    super::blocking(&app, move |app, state| {
        let passphrase_vault = state.with_vault(|v| Ok(v.uses_passphrase()))?;
        if !passphrase_vault {
            dialogs::confirm(
                app,
                KEYCHAIN_REKEY_QUESTION,
                "Replace key",
                "the key was not changed",
            )?;
        }
        let mut source = NewPassphrase(new_passphrase);
        Ok(state.with_vault(|v| v.rekey(&mut source, &mut |_| {}))?)
    })
    .await
}

/// The keychain rekey confirmation.
const KEYCHAIN_REKEY_QUESTION: &str = "Replace the vault key?\n\nKeyhaven creates a new random \
     key, re-encrypts the vault with it and stores it in the system keychain in place of the old \
     one. Backups you exported are not affected.";

struct NewPassphrase(Option<Passphrase>);

impl PassphraseSource for NewPassphrase {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<Option<Passphrase>> {
        Ok(match purpose {
            PassphrasePurpose::Rekey => self.0.take(),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proposed_backup_name_carries_the_date() {
        let name = backup_file_name();
        assert!(name.starts_with("keyhaven-backup-20"), "{name}");
        assert!(name.ends_with(".age"), "{name}");
        assert_eq!(name.len(), "keyhaven-backup-2025-01-31.age".len(), "{name}");
    }
}

//! Settings: encrypted backup export/import, lock, rekey.
//!
//! Each privileged action is the person's own, not the page's (SEC-43): the backup file is chosen
//! in the platform's save or open dialog opened from here (the page sends no path), an import is
//! applied only after a native confirmation listing what it adds, updates and refuses, and a
//! rekey needs the current passphrase (passphrase vault, checked by core) or a native
//! confirmation (keychain vault). Passphrases come in over IPC, go straight into core's zeroizing
//! `Passphrase`, and core enforces their rules (length included).

use std::path::Path;

use keyhaven_core::secret::Passphrase;
use keyhaven_core::vault::backup::{ExportReport, ImportReport};
use keyhaven_core::{Error, PassphrasePurpose, PassphraseSource, Result};
use tauri::{AppHandle, State};

use crate::dialogs::{self, quoted};
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
    // Core's rule for a new passphrase, before the person picks a file for nothing (core's
    // export checks it again).
    pass.check_new()?;
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

/// Merges an encrypted backup the person picks in the native open dialog, once they confirmed
/// what it would add, update and refuse (core's preview) in a native dialog.
#[tauri::command]
pub async fn vault_import(
    app: AppHandle,
    passphrase: String,
) -> Result<ImportReport, CommandError> {
    let pass = Passphrase::new(passphrase)?;
    super::blocking(&app, move |app, state| {
        let path = dialogs::open_file(app, "import a backup", "nothing was imported")?;
        let report = import(state, &path, &pass, |plan| {
            dialogs::confirm(
                app,
                &import_question(&path, plan),
                "Import",
                "nothing was imported",
            )
        })?;
        publish(app, UiEvent::ConnectionsChanged);
        Ok(report)
    })
    .await
}

/// Previews the import (core, nothing changes), asks `confirm` with that plan, then imports.
pub(crate) fn import(
    state: &AppState,
    path: &Path,
    pass: &Passphrase,
    confirm: impl FnOnce(&ImportReport) -> Result<(), CommandError>,
) -> Result<ImportReport, CommandError> {
    let plan = state.with_vault(|v| v.preview_backup_import(path, pass))?;
    confirm(&plan)?;
    Ok(state.with_vault(|v| v.import_backup(path, pass))?)
}

/// The import confirmation: the file, then what would be added, updated and refused (names come
/// from the file: quoted, and at most a few of each).
pub fn import_question(path: &Path, plan: &ImportReport) -> String {
    const SHOWN: usize = 6;
    fn list<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
        let n = items.len();
        let mut shown: Vec<String> = items.take(SHOWN).map(quoted).collect();
        if n > SHOWN {
            shown.push(format!("and {} more", n - SHOWN));
        }
        shown.join(", ")
    }
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut text = format!("Import the backup {} into this vault?\n", quoted(&file));
    if plan.added.is_empty() && plan.updated.is_empty() {
        text.push_str("\nNothing in it would be added or updated.");
    }
    if !plan.added.is_empty() {
        text.push_str(&format!(
            "\nAdds {}: {}.",
            plan.added.len(),
            list(plan.added.iter().map(String::as_str))
        ));
    }
    if !plan.updated.is_empty() {
        text.push_str(&format!(
            "\nReplaces with the backup's newer copy {}: {}.",
            plan.updated.len(),
            list(plan.updated.iter().map(String::as_str))
        ));
    }
    if !plan.refused.is_empty() {
        let refused: Vec<String> = plan
            .refused
            .iter()
            .take(SHOWN)
            .map(|(what, why)| format!("{} ({})", quoted(what), dialogs::plain(why)))
            .collect();
        let more = plan.refused.len().saturating_sub(SHOWN);
        text.push_str(&format!(
            "\nRefuses {} (not imported): {}{}.",
            plan.refused.len(),
            refused.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
    if !plan.skipped.is_empty() {
        text.push_str(&format!(
            "\nLeaves {} alone (the same, or newer here).",
            plan.skipped.len()
        ));
    }
    text
}

/// Forgets the open vault.
#[tauri::command(async)]
pub fn vault_lock(state: State<'_, AppState>) -> Result<(), CommandError> {
    state.lock();
    Ok(())
}

/// Re-encrypts the vault: for a passphrase vault `new_passphrase`, once core verified
/// `current_passphrase`; a new keychain key after a native confirmation.
#[tauri::command]
pub async fn vault_rekey(
    app: AppHandle,
    current_passphrase: Option<String>,
    new_passphrase: Option<String>,
) -> Result<(), CommandError> {
    let current = current_passphrase.map(Passphrase::new).transpose()?;
    let new = new_passphrase.map(Passphrase::new).transpose()?;
    super::blocking(&app, move |app, state| {
        rekey(state, current, new, || {
            dialogs::confirm(
                app,
                KEYCHAIN_REKEY_QUESTION,
                "Replace key",
                "the key was not changed",
            )
        })
    })
    .await
}

/// The rekey: a passphrase vault proves its current passphrase (core checks it, then core's
/// rekey applies its rules to the new one) before anything changes; a keychain vault asks
/// `confirm_keychain` first.
pub(crate) fn rekey(
    state: &AppState,
    current: Option<Passphrase>,
    new: Option<Passphrase>,
    confirm_keychain: impl FnOnce() -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let passphrase_vault = state.with_vault(|v| Ok(v.uses_passphrase()))?;
    let current = match (passphrase_vault, current) {
        (true, Some(c)) => Some(c),
        (true, None) => {
            return Err(Error::BadInput("enter the current passphrase to change it".into()).into());
        }
        (false, _) => {
            confirm_keychain()?;
            None
        }
    };
    // A rekey needs the vault to itself: the hosted agent lets go of its handle first, and
    // takes one from the re-keyed vault (or the unchanged one, if the rekey failed) after.
    state.pause_agent();
    let outcome = state.with_vault(|v| {
        if let Some(current) = &current {
            v.verify_passphrase(current)?;
        }
        v.rekey(&mut NewPassphrase(new), &mut |_| {})
    });
    state.refresh_agent();
    Ok(outcome?)
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
    use keyhaven_core::providers::CustomProvider;
    use keyhaven_core::{Actor, DataDir, KeyChoice, Vault};

    use super::*;

    #[test]
    fn the_proposed_backup_name_carries_the_date() {
        let name = backup_file_name();
        assert!(name.starts_with("keyhaven-backup-20"), "{name}");
        assert!(name.ends_with(".age"), "{name}");
        assert_eq!(name.len(), "keyhaven-backup-2025-01-31.age".len(), "{name}");
    }

    /// The UI's early check says core's rule (SEC-43: core enforces it; the UI only words it).
    #[test]
    fn the_ui_minimum_is_cores() {
        let forms = include_str!("../../../ui/src/lib/ui/forms.ts");
        let expected = format!(
            "export const MIN_PASSPHRASE_CHARS = {};",
            keyhaven_core::secret::MIN_NEW_PASSPHRASE_CHARS
        );
        assert!(forms.contains(&expected), "forms.ts lacks {expected}");
    }

    struct Fixed(&'static str);

    impl PassphraseSource for Fixed {
        fn passphrase(&mut self, _: PassphrasePurpose) -> Result<Option<Passphrase>> {
            Passphrase::new(self.0.to_owned()).map(Some)
        }
    }

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s.to_string()).unwrap()
    }

    /// A passphrase vault in `dir`, opened in a fresh app state.
    fn unlocked(dir: &std::path::Path, passphrase: &'static str, create: bool) -> AppState {
        let data = DataDir::new(dir);
        if create {
            drop(
                Vault::init(
                    &data,
                    KeyChoice::Passphrase,
                    &mut Fixed(passphrase),
                    Actor::Cli,
                )
                .unwrap(),
            );
        }
        let state = AppState::new(Some(data));
        state.unlock(pass(passphrase)).unwrap();
        state
    }

    fn opens_with(dir: &std::path::Path, passphrase: &str) -> Option<&'static str> {
        let state = AppState::new(Some(DataDir::new(dir)));
        state
            .unlock(pass(passphrase))
            .err()
            .map(|e| CommandError::from(e).code)
    }

    /// SEC-43: changing a vault's passphrase needs the current one, checked by core before
    /// anything changes; the new one follows core's rules; the keychain question is not asked.
    #[test]
    fn a_passphrase_rekey_needs_the_current_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let state = unlocked(&dir, "first passphrase", true);
        let never = || -> Result<(), CommandError> {
            panic!("a passphrase vault asks no keychain question")
        };

        let e = rekey(&state, None, Some(pass("second passphrase")), never).unwrap_err();
        assert_eq!(e.code, "bad_input");
        let e = rekey(
            &state,
            Some(pass("not the passphrase")),
            Some(pass("second passphrase")),
            never,
        )
        .unwrap_err();
        assert_eq!(e.code, "wrong_passphrase");
        assert!(!e.message.contains("not the passphrase"));
        let e = rekey(
            &state,
            Some(pass("first passphrase")),
            Some(pass("short")),
            never,
        )
        .unwrap_err();
        assert_eq!(e.code, "bad_passphrase");
        assert_eq!(
            opens_with(&dir, "first passphrase"),
            None,
            "nothing changed so far"
        );

        rekey(
            &state,
            Some(pass("first passphrase")),
            Some(pass("second passphrase")),
            never,
        )
        .unwrap();
        assert_eq!(opens_with(&dir, "second passphrase"), None);
        assert_eq!(
            opens_with(&dir, "first passphrase"),
            Some("wrong_passphrase")
        );
    }

    /// SEC-43: an import is previewed, confirmed with that plan, and only then applied; declined,
    /// it changes nothing.
    #[test]
    fn an_import_is_applied_only_once_its_plan_is_confirmed() {
        let tmp = tempfile::tempdir().unwrap();
        let source = unlocked(&tmp.path().join("a"), "source passphrase", true);
        source
            .with_vault(|v| {
                v.add_custom_provider(CustomProvider {
                    id: "corp".into(),
                    authorization_url: Some("https://sso.example.com/authorize".into()),
                    token_url: Some("https://sso.example.com/token".into()),
                    userinfo_url: Some("https://sso.example.com/userinfo".into()),
                    client_id: Some("keyhaven".into()),
                    ..Default::default()
                })
                .map(drop)
            })
            .unwrap();
        let file = tmp.path().join("backup.age");
        let backup_pass = pass("backup passphrase");
        source
            .with_vault(|v| v.export_backup(&file, &backup_pass, false))
            .unwrap();

        let target = unlocked(&tmp.path().join("b"), "target passphrase", true);
        let custom = |s: &AppState| {
            s.with_vault(|v| v.list_providers())
                .unwrap()
                .into_iter()
                .filter(|p| p.custom)
                .count()
        };
        let mut asked = None;
        let e = import(&target, &file, &backup_pass, |plan| {
            asked = Some(import_question(&file, plan));
            Err(dialogs::cancelled("nothing was imported"))
        })
        .unwrap_err();
        assert_eq!(e.code, "cancelled");
        let asked = asked.unwrap();
        assert!(
            asked.starts_with("Import the backup “backup.age” into this vault?"),
            "{asked}"
        );
        assert!(asked.contains("Adds 1: “provider corp”."), "{asked}");
        assert_eq!(custom(&target), 0, "declined: nothing imported");

        let report = import(&target, &file, &backup_pass, |_| Ok(())).unwrap();
        assert_eq!(report.added, ["provider corp"]);
        assert_eq!(custom(&target), 1);
    }

    #[test]
    fn the_import_question_lists_a_few_of_each_and_the_refusals() {
        let plan = ImportReport {
            added: (0..9).map(|i| format!("github:user{i}")).collect(),
            updated: vec!["slack:acme".into()],
            skipped: vec![("google:me".into(), "identical".into())],
            refused: vec![(
                "provider evil".into(),
                "its token URL is not https\nclick".into(),
            )],
        };
        let q = import_question(Path::new("/tmp/x/b.age"), &plan);
        assert!(q.contains("Adds 9: “github:user0”"), "{q}");
        assert!(q.contains("and 3 more."), "{q}");
        assert!(q.contains("newer copy 1: “slack:acme”."), "{q}");
        assert!(q.contains("Refuses 1 (not imported): “provider evil” (its token URL is not https\u{fffd}click)."), "{q}");
        assert!(q.contains("Leaves 1 alone"), "{q}");
        let empty = import_question(Path::new("b.age"), &ImportReport::default());
        assert!(
            empty.contains("Nothing in it would be added or updated."),
            "{empty}"
        );
    }
}

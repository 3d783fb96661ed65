//! Changing the vault key, safely against a crash at any step (SEC-21).
//!
//! The steps, each durable before the next starts:
//! 1. [`RekeyStep::PendingRecorded`]: the metadata names the new key as `pending_key` (for a
//!    keychain vault: a new item, generation + 1; for a passphrase vault: a new salt).
//! 2. [`RekeyStep::NewKeyStored`]: the new key is in the keychain (nothing to store for a
//!    passphrase).
//! 3. [`RekeyStep::Rekeyed`]: `PRAGMA rekey` re-encrypted every page in one rollback-journal
//!    transaction, and a fresh connection proved the new key opens it. (SQLCipher's rekey reports
//!    success even when its commit fails, hence the proof.)
//! 4. [`RekeyStep::PointerSwitched`]: the metadata's current key is the new one; the old one is
//!    `retired_key`.
//! 5. [`RekeyStep::OldKeyRetired`]: the old keychain item is deleted.
//!
//! Opening tries the current key and then the pending one, and [`super::open`]'s
//! `finish_key_change` completes whatever a killed process left: so every state between two steps
//! opens, and converges to the same clean end state.

use super::db::{self, OpenFailure};
use super::keychain::KeychainItem;
use super::meta::KeySpec;
use super::open::{finish_key_change, item_label};
use super::{PassphrasePurpose, PassphraseSource, Vault, passphrase};
use crate::audit;
use crate::error::{Error, Result};
use crate::secret::VaultKey;

/// A durable step of a rekey, reported to the caller's observer after it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyStep {
    /// The new key is recorded as pending in the metadata.
    PendingRecorded,
    /// The new key is stored in the keychain.
    NewKeyStored,
    /// The database is re-encrypted with the new key, and proven to open with it.
    Rekeyed,
    /// The metadata names the new key as current.
    PointerSwitched,
    /// The old keychain item is gone.
    OldKeyRetired,
}

impl RekeyStep {
    /// Every step, in order.
    pub const ALL: [RekeyStep; 5] = [
        RekeyStep::PendingRecorded,
        RekeyStep::NewKeyStored,
        RekeyStep::Rekeyed,
        RekeyStep::PointerSwitched,
        RekeyStep::OldKeyRetired,
    ];

    /// Stable name, e.g. `pending-recorded`.
    pub fn name(self) -> &'static str {
        match self {
            RekeyStep::PendingRecorded => "pending-recorded",
            RekeyStep::NewKeyStored => "new-key-stored",
            RekeyStep::Rekeyed => "rekeyed",
            RekeyStep::PointerSwitched => "pointer-switched",
            RekeyStep::OldKeyRetired => "old-key-retired",
        }
    }
}

pub(super) fn rekey(
    vault: &mut Vault,
    passphrases: &mut dyn PassphraseSource,
    on_step: &mut dyn FnMut(RekeyStep),
) -> Result<()> {
    let meta_path = vault.dir.meta_file();
    let db_path = vault.dir.vault_file();
    let vault_id = vault.meta.vault_id.clone();

    // The new key and how to find it again.
    let (new_key, new_spec, new_item) = match &vault.meta.key {
        KeySpec::Keychain {
            account, service, ..
        } => {
            let generation = KeychainItem {
                service: service.clone(),
                account: account.clone(),
            }
            .generation();
            let item = KeychainItem::for_vault(&vault_id, generation + 1);
            let key = VaultKey::generate()?;
            let spec = KeySpec::Keychain {
                service: item.service.clone(),
                account: item.account.clone(),
                check: key.check_value(&vault_id),
            };
            (key, spec, Some(item))
        }
        KeySpec::Passphrase { .. } => {
            let pass = passphrases
                .passphrase(PassphrasePurpose::Rekey)?
                .ok_or_else(|| Error::BadPassphrase {
                    reason: "the new passphrase is needed: run on a terminal to be asked for it \
                             (twice), or pass --new-passphrase-file FILE"
                        .into(),
                })?;
            let (key, spec) = passphrase::new_key(&pass, &vault_id)?;
            (key, spec, None)
        }
    };

    // 1. Record the pending key.
    vault.meta.pending_key = Some(new_spec);
    vault.meta.write(&meta_path)?;
    on_step(RekeyStep::PendingRecorded);

    // 2. Store it.
    if let Some(item) = &new_item
        && let Err(e) = item.set(&new_key, &item_label(&vault.dir))
    {
        vault.meta.pending_key = None;
        let _ = vault.meta.write(&meta_path);
        return Err(e);
    }
    on_step(RekeyStep::NewKeyStored);

    // 3. Re-encrypt in a rollback journal (atomic), then prove the new key opens the file.
    let mode: String = vault
        .conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        abandon(vault, &meta_path, new_item.as_ref());
        return Err(Error::RekeyFailed {
            reason: "another process is using the vault; close it (and the desktop app) and retry"
                .into(),
        });
    }
    let rekeyed = vault
        .conn
        .execute_batch(&new_key.pragma_key_statement("rekey"));
    let proof =
        rekeyed
            .map_err(Error::from)
            .and_then(|()| match db::open(&db_path, &new_key, false) {
                Ok(conn) => Ok(conn),
                Err(OpenFailure::NotAuthentic) => Err(Error::RekeyFailed {
                    reason: "the database did not accept the new key".into(),
                }),
                Err(OpenFailure::Other(e)) => Err(e),
            });
    let new_conn = match proof {
        Ok(conn) => conn,
        Err(e) => {
            // The old key still opens the file (the rekey transaction rolled back).
            abandon(vault, &meta_path, new_item.as_ref());
            let _ = vault
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
            return Err(e);
        }
    };
    vault.conn = new_conn;
    vault.key = std::sync::Arc::new(new_key);
    on_step(RekeyStep::Rekeyed);

    // 4 and 5. Switch the pointer, then retire the old item: the same code that finishes an
    // interrupted rekey on open.
    let new = vault.meta.pending_key.take().expect("pending key recorded");
    vault.meta.retired_key = Some(std::mem::replace(&mut vault.meta.key, new));
    vault.meta.write(&meta_path)?;
    on_step(RekeyStep::PointerSwitched);
    finish_key_change(&mut vault.meta, &meta_path, false)?;
    on_step(RekeyStep::OldKeyRetired);

    audit::record(vault, None, "vault.rekeyed", None)?;
    Ok(())
}

/// Undo steps 1-2 after a failure before the database changed key.
fn abandon(vault: &mut Vault, meta_path: &std::path::Path, item: Option<&KeychainItem>) {
    if let Some(item) = item {
        let _ = item.delete();
    }
    vault.meta.pending_key = None;
    let _ = vault.meta.write(meta_path);
}

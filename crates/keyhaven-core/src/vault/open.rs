//! Creating and opening a vault.
//!
//! Opening checks, in order, everything that can be checked without writing: the file exists, is
//! not empty, plaintext or truncated; the metadata parses; the directory is writable; the key can
//! be had; the key's check value matches; SQLCipher accepts the key; the schema is not newer.
//! Only then does anything write (migrations, the WAL). So every failure leaves the vault file
//! byte-for-byte unchanged.
//!
//! A rekey may have been interrupted: the metadata then names a `pending_key` besides the current
//! one. Both are tried, and whichever opens the database becomes the current key
//! ([`finish_key_change`]); the loser's keychain item is deleted.

use std::fs;
use std::io::Read;
use std::path::Path;

use time::format_description::well_known::Rfc3339;

use super::db::{self, OpenFailure};
use super::keychain::{KeychainItem, Lookup};
use super::meta::{self, KeySpec, VaultMeta};
use super::{Actor, KeyChoice, PassphrasePurpose, PassphraseSource, Vault, passphrase, schema};
use crate::audit;
use crate::error::{Error, Result};
use crate::paths::DataDir;
use crate::secret::{Passphrase, VaultKey};

/// SQLCipher's page size; a vault file is always a whole number of pages.
const PAGE_SIZE: u64 = 4096;
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

pub(super) fn init(
    dir: &DataDir,
    choice: KeyChoice,
    passphrases: &mut dyn PassphraseSource,
    actor: Actor,
) -> Result<Vault> {
    let db_path = dir.vault_file();
    if db_path.exists() {
        return Err(Error::AlreadyInitialized { path: db_path });
    }
    ensure_writable_dir(dir.path())?;

    let vault_id = random_id()?;
    let created_at = now_rfc3339();
    let (key, spec) = match choice {
        KeyChoice::Keychain => {
            let item = KeychainItem::for_vault(&vault_id, 1);
            let key = VaultKey::generate()?;
            item.set(&key, &item_label(dir))?;
            let spec = KeySpec::Keychain {
                service: item.service.clone(),
                account: item.account.clone(),
                check: key.check_value(&vault_id),
            };
            (key, spec)
        }
        KeyChoice::Passphrase => {
            let pass = passphrases
                .passphrase(PassphrasePurpose::NewVault)?
                .ok_or_else(|| Error::BadPassphrase {
                    reason: "a new vault needs a passphrase: run on a terminal to be asked for \
                             it (twice), or pass --passphrase-file FILE"
                        .into(),
                })?;
            passphrase::new_key(&pass, &vault_id)?
        }
    };

    // Build the database under a temporary name, then publish metadata and file.
    let tmp = dir.path().join(format!(".vault-{vault_id}.db.tmp"));
    let built = build_new_database(&tmp, &key, actor);
    let published = built.and_then(|()| {
        VaultMeta::new(vault_id.clone(), created_at, spec.clone()).write(&dir.meta_file())?;
        fs::rename(&tmp, &db_path)
            .map_err(|e| Error::io(format!("cannot create {}", db_path.display()), e))?;
        meta::sync_dir(dir.path());
        Ok(())
    });
    if let Err(e) = published {
        let _ = fs::remove_file(&tmp);
        if let KeySpec::Keychain {
            account, service, ..
        } = &spec
        {
            let _ = KeychainItem {
                service: service.clone(),
                account: account.clone(),
            }
            .delete();
        }
        return Err(e);
    }
    tracing::info!(path = %db_path.display(), "vault created");
    // The key is known: reopen without asking for the passphrase a second time.
    open_inner(dir, passphrases, Some(key), actor)
}

fn build_new_database(tmp: &Path, key: &VaultKey, actor: Actor) -> Result<()> {
    let _ = fs::remove_file(tmp);
    let mut conn = match db::open(tmp, key, true) {
        Ok(c) => c,
        Err(OpenFailure::NotAuthentic) => {
            return Err(Error::RekeyFailed {
                reason: "a fresh database did not accept its key".into(),
            });
        }
        Err(OpenFailure::Other(e)) => return Err(e),
    };
    restrict_permissions(tmp);
    schema::migrate(&mut conn, tmp)?;
    audit::record_on(&conn, actor, None, "vault.created", None)?;
    // Fold the WAL back so the single renamed file is the whole vault.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")?;
    conn.close().map_err(|(_, e)| Error::Database(e))?;
    Ok(())
}

pub(super) fn open(
    dir: &DataDir,
    passphrases: &mut dyn PassphraseSource,
    actor: Actor,
) -> Result<Vault> {
    open_inner(dir, passphrases, None, actor)
}

/// `known`: the current key when the caller already holds it (right after `init`).
fn open_inner(
    dir: &DataDir,
    passphrases: &mut dyn PassphraseSource,
    mut known: Option<VaultKey>,
    actor: Actor,
) -> Result<Vault> {
    let db_path = dir.vault_file();
    let meta_path = dir.meta_file();
    if !db_path.exists() {
        return Err(Error::NotInitialized { path: db_path });
    }
    precheck_file(&db_path)?;
    if !meta_path.exists() {
        return Err(Error::NotAVault {
            path: db_path,
            reason: "its metadata file vault.meta.json is missing".into(),
        });
    }
    let mut meta = VaultMeta::read(&meta_path)?;
    check_writable(dir.path(), &db_path)?;

    // Candidate keys: the current one, then one an interrupted rekey was introducing.
    let mut candidates = vec![(meta.key.clone(), false)];
    if let Some(p) = meta.pending_key.clone() {
        candidates.push((p, true));
    }
    let mut pass: Option<Passphrase> = None;
    let mut outcome = Outcome::default();
    for (spec, is_pending) in candidates {
        let key = match known.take().filter(|_| !is_pending) {
            Some(key) => key,
            None => match obtain_key(&spec, &db_path, passphrases, &mut pass, &mut outcome)? {
                Some(key) => key,
                None => continue,
            },
        };
        if !key.matches_check_value(&meta.vault_id, spec.check()) {
            outcome.mismatch = true;
            continue;
        }
        match db::open(&db_path, &key, false) {
            Ok(mut conn) => {
                schema::migrate(&mut conn, &db_path)?;
                finish_key_change(&mut meta, &meta_path, is_pending)?;
                return Ok(Vault {
                    conn,
                    dir: dir.clone(),
                    meta,
                    actor,
                    key: std::sync::Arc::new(key),
                    hand_out: Default::default(),
                });
            }
            Err(OpenFailure::NotAuthentic) => outcome.key_ok_db_failed = true,
            Err(OpenFailure::Other(e)) => return Err(classify_open_error(e, dir.path(), &db_path)),
        }
    }
    Err(outcome.into_error(&meta, &db_path))
}

/// What the candidate keys told us, to pick the right error.
#[derive(Default)]
struct Outcome {
    missing_item: Option<String>,
    mismatch: bool,
    key_ok_db_failed: bool,
    passphrase: bool,
}

impl Outcome {
    fn into_error(self, meta: &VaultMeta, db_path: &Path) -> Error {
        let path = db_path.to_path_buf();
        if self.key_ok_db_failed {
            // The key is provably right (check value), yet page 1 does not authenticate.
            return Error::Corrupt {
                path,
                reason: "its first page failed authentication".into(),
            };
        }
        if self.mismatch {
            return if self.passphrase {
                Error::WrongPassphrase { path }
            } else {
                Error::WrongKey { path }
            };
        }
        let item = self.missing_item.unwrap_or_else(|| match &meta.key {
            KeySpec::Keychain {
                service, account, ..
            } => format!("{service} / {account}"),
            KeySpec::Passphrase { .. } => "passphrase".into(),
        });
        Error::KeyMissing { path, item }
    }
}

/// Gets the key a spec describes. `Ok(None)`: this candidate has no key (missing item).
fn obtain_key(
    spec: &KeySpec,
    db_path: &Path,
    passphrases: &mut dyn PassphraseSource,
    pass: &mut Option<Passphrase>,
    outcome: &mut Outcome,
) -> Result<Option<VaultKey>> {
    match spec {
        KeySpec::Keychain {
            service, account, ..
        } => {
            let item = KeychainItem {
                service: service.clone(),
                account: account.clone(),
            };
            match item.get()? {
                Lookup::Found(key) => Ok(Some(key)),
                Lookup::Missing => {
                    outcome.missing_item.get_or_insert_with(|| item.describe());
                    Ok(None)
                }
            }
        }
        KeySpec::Passphrase { .. } => {
            outcome.passphrase = true;
            if pass.is_none() {
                *pass = passphrases.passphrase(PassphrasePurpose::Unlock)?;
            }
            let Some(p) = pass.as_ref() else {
                return Err(Error::PassphraseRequired {
                    path: db_path.to_path_buf(),
                });
            };
            passphrase::key_for(p, spec).map(Some)
        }
    }
}

/// Makes the metadata agree with the key that opened the database, finishing or undoing an
/// interrupted rekey, and deletes keychain items that are no longer needed.
pub(super) fn finish_key_change(
    meta: &mut VaultMeta,
    meta_path: &Path,
    opened_with_pending: bool,
) -> Result<()> {
    let mut changed = false;
    if opened_with_pending {
        // The database already uses the new key: switch the pointer.
        let new = meta.pending_key.take().expect("pending key present");
        meta.retired_key = Some(std::mem::replace(&mut meta.key, new));
        meta.write(meta_path)?;
        tracing::info!("completed an interrupted rekey");
        changed = true;
    } else if let Some(abandoned) = meta.pending_key.take() {
        // The database still uses the current key: the new one was never applied.
        delete_item(&abandoned);
        changed = true;
        tracing::info!("rolled back an interrupted rekey");
    }
    if let Some(retired) = meta.retired_key.take() {
        if !delete_item(&retired) {
            // Keep the pointer so a later open retries the deletion.
            meta.retired_key = Some(retired);
        }
        changed = true;
    }
    if changed {
        meta.write(meta_path)?;
    }
    Ok(())
}

/// Deletes a keychain key item; true when gone (or not a keychain key).
fn delete_item(spec: &KeySpec) -> bool {
    match spec {
        KeySpec::Keychain {
            service, account, ..
        } => {
            let item = KeychainItem {
                service: service.clone(),
                account: account.clone(),
            };
            match item.delete() {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(item = %item.describe(), error = %e, "could not delete an old vault key item");
                    false
                }
            }
        }
        KeySpec::Passphrase { .. } => true,
    }
}

/// Cheap checks on the raw file: empty, plaintext SQLite, truncated.
fn precheck_file(path: &Path) -> Result<()> {
    let mut f = fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let len = f
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
        .len();
    let not_a_vault = |reason: &str| Error::NotAVault {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    if len == 0 {
        return Err(not_a_vault("the file is empty"));
    }
    let mut head = [0u8; 16];
    let n = f.read(&mut head).unwrap_or(0);
    if head[..n] == SQLITE_MAGIC[..n.min(SQLITE_MAGIC.len())] && n == SQLITE_MAGIC.len() {
        return Err(not_a_vault("it is an unencrypted SQLite database"));
    }
    if len % PAGE_SIZE != 0 {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("its size, {len} bytes, is not a whole number of pages: truncated"),
        });
    }
    Ok(())
}

/// The directory must be writable for SQLite's WAL and our metadata. Checked before asking the
/// keychain, so a read-only location is reported as such.
fn check_writable(dir: &Path, db_path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        for p in [dir, db_path] {
            let c = std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| {
                Error::io("path contains NUL", std::io::ErrorKind::InvalidInput.into())
            })?;
            // SAFETY: `c` is a valid NUL-terminated path; access(2) only reads it.
            if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
                return Err(Error::DataDirNotWritable {
                    path: dir.to_path_buf(),
                    source: std::io::Error::last_os_error(),
                });
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, db_path);
    Ok(())
}

/// Creates the data directory (0700 on Unix) and proves it writable with a probe file.
fn ensure_writable_dir(dir: &Path) -> Result<()> {
    let not_writable = |source| Error::DataDirNotWritable {
        path: dir.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(not_writable)?;
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map_err(not_writable)?;
    let probe = dir.join(".keyhaven-write-probe");
    fs::write(&probe, b"").map_err(not_writable)?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The vault and its metadata are readable by their owner only (the directory already is).
pub(super) fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn classify_open_error(e: Error, dir: &Path, db_path: &Path) -> Error {
    match e {
        Error::Database(ref d) if db::is_not_writable(d) => Error::DataDirNotWritable {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, d.to_string()),
        },
        Error::Database(ref d) if db::is_corruption(d) => Error::Corrupt {
            path: db_path.to_path_buf(),
            reason: "a page failed authentication".into(),
        },
        other => other,
    }
}

pub(super) fn item_label(dir: &DataDir) -> String {
    format!("Keyhaven vault key ({})", dir.path().display())
}

fn random_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| Error::Random)?;
    Ok(hex::encode(b))
}

pub(crate) fn now_rfc3339() -> String {
    crate::clock::now_datetime()
        .format(&Rfc3339)
        .unwrap_or_default()
}

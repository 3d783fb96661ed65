//! Encrypted backup: every provider setting and connection in one file, encrypted with a
//! passphrase in the age format (the `age` crate, scrypt recipient), so the standard `age -d`
//! opens it too.
//!
//! **Export** writes to a temporary file beside the target, fsyncs it and renames it into place
//! (mode 0600); an existing file is never overwritten. With `--move`, once the file is safely on
//! disk, the exported OAuth connections are marked moved: this vault keeps handing out their
//! current access tokens until expiry but never presents their refresh tokens again. A rotated
//! refresh token works in exactly one place; whichever vault refreshes first wins.
//!
//! **Import** decrypts and parses the whole file before touching the vault (age authenticates
//! every 64 KiB chunk and the end of the stream, so a damaged or truncated file fails here), then
//! merges in one transaction: missing rows are added, rows the backup has newer are updated,
//! the rest skipped, and the report says which.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Vault;
use crate::audit;
use crate::error::{Error, Result};
use crate::secret::Passphrase;

const FORMAT: &str = "keyhaven-backup";
const VERSION: u32 = 1;
/// Largest backup accepted on import (a vault of tens of thousands of connections fits).
const MAX_PLAINTEXT: u64 = 256 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct Backup {
    format: String,
    version: u32,
    exported_at: i64,
    providers: Vec<ProviderRow>,
    connections: Vec<ConnectionRow>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct ProviderRow {
    provider_id: String,
    custom_definition: Option<String>,
    client_id: Option<String>,
    /// Base64, secret.
    client_secret: Option<Zeroizing<String>>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Serialize, Deserialize)]
struct ConnectionRow {
    id: String,
    provider_id: String,
    account: String,
    label: Option<String>,
    auth_mode: String,
    status: String,
    scopes_requested: String,
    scopes_granted: String,
    token_type: Option<String>,
    expires_at: Option<i64>,
    last_error: Option<String>,
    extra: String,
    created_at: i64,
    updated_at: i64,
    last_used_at: Option<i64>,
    fields: Vec<FieldRow>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct FieldRow {
    name: String,
    /// Base64 of the value (secret when `is_secret`).
    value: Zeroizing<String>,
    is_secret: bool,
    updated_at: i64,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The file written.
    pub path: PathBuf,
    /// Provider settings exported.
    pub providers: usize,
    /// Connections exported.
    pub connections: usize,
    /// Connections marked moved (with `--move`): their refresh tokens now belong to the file.
    pub moved: Vec<String>,
}

/// What an import did, per kind of row: ids (connections as `provider:account`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    /// New here.
    pub added: Vec<String>,
    /// Present here, and newer in the backup: replaced.
    pub updated: Vec<String>,
    /// Present here and identical, or newer here: left alone (with the reason).
    pub skipped: Vec<(String, String)>,
}

impl Vault {
    /// Writes an encrypted backup of every provider setting and connection to `path`.
    /// `mark_moved`: afterwards, stop refreshing the exported OAuth connections here.
    pub fn export_backup(
        &mut self,
        path: &Path,
        passphrase: &Passphrase,
        mark_moved: bool,
    ) -> Result<ExportReport> {
        if path.exists() {
            return Err(Error::BadInput(format!(
                "{} already exists; choose a new file name (a backup never overwrites)",
                path.display()
            )));
        }
        let backup = self.snapshot_rows()?;
        let plain = Zeroizing::new(serde_json::to_vec(&backup).expect("rows serialize"));
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".keyhaven-backup-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
        {
            let encryptor = age::Encryptor::with_user_passphrase(passphrase.to_secret_string());
            let mut w = encryptor
                .wrap_output(tmp.as_file_mut())
                .map_err(|e| Error::io("encrypting the backup", e))?;
            w.write_all(&plain)
                .and_then(|_| w.finish().map(|_| ()))
                .map_err(|e| Error::io("encrypting the backup", e))?;
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("writing the backup", e))?;
        tmp.persist_noclobber(path)
            .map_err(|e| Error::io(format!("saving the backup as {}", path.display()), e.error))?;
        let mut moved = Vec::new();
        if mark_moved {
            let now = crate::flows::pending::now();
            let actor = self.actor();
            let tx = self
                .conn_mut()
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            for c in backup
                .connections
                .iter()
                .filter(|c| c.fields.iter().any(|f| f.name == "refresh_token"))
            {
                let n = tx.execute(
                    "UPDATE connections SET moved_at = ?2 WHERE id = ?1 AND moved_at IS NULL",
                    params![c.id, now],
                )?;
                if n == 1 {
                    audit::record_on(&tx, actor, Some(&c.id), "connection.moved", None)?;
                    moved.push(c.id.clone());
                }
            }
            tx.commit()?;
        }
        audit::record(
            self,
            None,
            "vault.exported",
            Some(&path.display().to_string()),
        )?;
        Ok(ExportReport {
            path: path.to_path_buf(),
            providers: backup.providers.len(),
            connections: backup.connections.len(),
            moved,
        })
    }

    /// Merges an encrypted backup into this vault. Nothing changes unless the whole file
    /// decrypts and parses.
    pub fn import_backup(&mut self, path: &Path, passphrase: &Passphrase) -> Result<ImportReport> {
        let backup = read_backup(path, passphrase)?;
        let actor = self.actor();
        let mut report = ImportReport::default();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for p in &backup.providers {
            let name = format!("provider {}", p.provider_id);
            let local: Option<ProviderRow> = tx
                .query_row(
                    "SELECT provider_id, custom_definition, client_id, client_secret, created_at, updated_at
                     FROM provider_settings WHERE provider_id = ?1",
                    [&p.provider_id],
                    provider_row,
                )
                .optional()?;
            match local {
                Some(l) if l == *p => report.skipped.push((name, "identical".into())),
                Some(l) if l.updated_at >= p.updated_at => report
                    .skipped
                    .push((name, "this vault's copy is newer".into())),
                existed => {
                    let secret = p.client_secret.as_ref().map(|s| decode(s)).transpose()?;
                    tx.execute(
                        "INSERT INTO provider_settings (provider_id, custom_definition, client_id, client_secret, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (provider_id) DO UPDATE SET custom_definition = ?2, client_id = ?3,
                           client_secret = ?4, updated_at = ?6",
                        params![p.provider_id, p.custom_definition, p.client_id,
                                secret.as_ref().map(|s| s.as_slice()), p.created_at, p.updated_at],
                    )?;
                    if existed.is_some() {
                        report.updated.push(name);
                    } else {
                        report.added.push(name);
                    }
                }
            }
        }
        for c in &backup.connections {
            let name = format!("{}:{}", c.provider_id, c.account);
            let local: Option<(String, i64)> = tx
                .query_row(
                    "SELECT id, updated_at FROM connections WHERE provider_id = ?1 AND account = ?2",
                    params![c.provider_id, c.account],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let id = match &local {
                Some((_, updated)) if *updated > c.updated_at => {
                    report
                        .skipped
                        .push((name, "this vault's copy is newer".into()));
                    continue;
                }
                Some((id, updated)) if *updated == c.updated_at && fields_equal(&tx, id, c)? => {
                    report.skipped.push((name, "identical".into()));
                    continue;
                }
                Some((id, _)) => {
                    tx.execute("DELETE FROM connections WHERE id = ?1", [id])?;
                    report.updated.push(name);
                    id.clone()
                }
                None => {
                    let taken: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM connections WHERE id = ?1)",
                        [&c.id],
                        |r| r.get(0),
                    )?;
                    report.added.push(name);
                    if taken {
                        crate::connections::new_id()?
                    } else {
                        c.id.clone()
                    }
                }
            };
            tx.execute(
                "INSERT INTO connections (id, provider_id, account, label, auth_mode, status,
                   scopes_requested, scopes_granted, token_type, expires_at, last_error, extra,
                   created_at, updated_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    id,
                    c.provider_id,
                    c.account,
                    c.label,
                    c.auth_mode,
                    c.status,
                    c.scopes_requested,
                    c.scopes_granted,
                    c.token_type,
                    c.expires_at,
                    c.last_error,
                    c.extra,
                    c.created_at,
                    c.updated_at,
                    c.last_used_at
                ],
            )?;
            for f in &c.fields {
                let value = decode(&f.value)?;
                tx.execute(
                    "INSERT INTO connection_fields (connection_id, name, value, is_secret, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, f.name, value.as_slice(), f.is_secret, f.updated_at],
                )?;
            }
            audit::record_on(&tx, actor, Some(&id), "connection.imported", None)?;
        }
        audit::record_on(
            &tx,
            actor,
            None,
            "vault.imported",
            Some(&format!(
                "{} added, {} updated, {} skipped",
                report.added.len(),
                report.updated.len(),
                report.skipped.len()
            )),
        )?;
        tx.commit()?;
        Ok(report)
    }

    fn snapshot_rows(&self) -> Result<Backup> {
        let conn = self.conn();
        let providers = conn
            .prepare(
                "SELECT provider_id, custom_definition, client_id, client_secret, created_at, updated_at
                 FROM provider_settings ORDER BY provider_id",
            )?
            .query_map([], provider_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut fields: BTreeMap<String, Vec<FieldRow>> = BTreeMap::new();
        {
            let mut stmt = conn.prepare(
                "SELECT connection_id, name, value, is_secret, updated_at FROM connection_fields
                 ORDER BY connection_id, name",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let value = Zeroizing::new(r.get::<_, Vec<u8>>(2)?);
                fields.entry(r.get(0)?).or_default().push(FieldRow {
                    name: r.get(1)?,
                    value: Zeroizing::new(B64.encode(value.as_slice())),
                    is_secret: r.get(3)?,
                    updated_at: r.get(4)?,
                });
            }
        }
        let connections = conn
            .prepare(
                "SELECT id, provider_id, account, label, auth_mode, status, scopes_requested,
                   scopes_granted, token_type, expires_at, last_error, extra, created_at,
                   updated_at, last_used_at
                 FROM connections WHERE moved_at IS NULL ORDER BY provider_id, account",
            )?
            .query_map([], |r| {
                Ok(ConnectionRow {
                    id: r.get(0)?,
                    provider_id: r.get(1)?,
                    account: r.get(2)?,
                    label: r.get(3)?,
                    auth_mode: r.get(4)?,
                    status: r.get(5)?,
                    scopes_requested: r.get(6)?,
                    scopes_granted: r.get(7)?,
                    token_type: r.get(8)?,
                    expires_at: r.get(9)?,
                    last_error: r.get(10)?,
                    extra: r.get(11)?,
                    created_at: r.get(12)?,
                    updated_at: r.get(13)?,
                    last_used_at: r.get(14)?,
                    fields: vec![],
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(|mut c| {
                c.fields = fields.remove(&c.id).unwrap_or_default();
                c
            })
            .collect();
        Ok(Backup {
            format: FORMAT.into(),
            version: VERSION,
            exported_at: crate::flows::pending::now(),
            providers,
            connections,
        })
    }
}

fn provider_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProviderRow> {
    Ok(ProviderRow {
        provider_id: r.get(0)?,
        custom_definition: r.get(1)?,
        client_id: r.get(2)?,
        client_secret: r
            .get::<_, Option<Vec<u8>>>(3)?
            .map(|s| Zeroizing::new(B64.encode(Zeroizing::new(s).as_slice()))),
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

/// Whether the stored fields of `id` equal the backup's.
fn fields_equal(tx: &rusqlite::Transaction<'_>, id: &str, c: &ConnectionRow) -> Result<bool> {
    let mut stmt = tx.prepare(
        "SELECT name, value, is_secret, updated_at FROM connection_fields WHERE connection_id = ?1
         ORDER BY name",
    )?;
    let local = stmt
        .query_map([id], |r| {
            Ok(FieldRow {
                name: r.get(0)?,
                value: Zeroizing::new(
                    B64.encode(Zeroizing::new(r.get::<_, Vec<u8>>(1)?).as_slice()),
                ),
                is_secret: r.get(2)?,
                updated_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(local == c.fields)
}

fn decode(b64: &str) -> Result<Zeroizing<Vec<u8>>> {
    B64.decode(b64)
        .map(Zeroizing::new)
        .map_err(|_| Error::BadInput("the backup holds a value that is not base64".into()))
}

/// Decrypts and parses a backup file, whole, or fails without side effects.
fn read_backup(path: &Path, passphrase: &Passphrase) -> Result<Backup> {
    let damaged = |reason: String| Error::BackupDamaged {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let decryptor = age::Decryptor::new(std::io::BufReader::new(file)).map_err(|e| match e {
        age::DecryptError::Io(e) => damaged(format!("cannot read it: {e}")),
        other => damaged(format!("not an age file: {other}")),
    })?;
    if !decryptor.is_scrypt() {
        return Err(damaged(
            "it is encrypted to age recipients, not with a passphrase".into(),
        ));
    }
    let identity = age::scrypt::Identity::new(passphrase.to_secret_string());
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            // The scrypt stanza fails to unwrap: the passphrase is wrong. (A damaged header
            // fails its MAC instead, and a damaged payload fails while reading below.)
            age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed
            | age::DecryptError::DecryptionFailed => Error::BackupWrongPassphrase {
                path: path.to_path_buf(),
            },
            other => damaged(other.to_string()),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    (&mut reader)
        .take(MAX_PLAINTEXT + 1)
        .read_to_end(&mut plain)
        .map_err(|e| damaged(format!("decryption failed: {e}")))?;
    if plain.len() as u64 > MAX_PLAINTEXT {
        return Err(damaged("it is larger than 256 MiB".into()));
    }
    let backup: Backup =
        serde_json::from_slice(&plain).map_err(|e| damaged(format!("unreadable contents: {e}")))?;
    if backup.format != FORMAT {
        return Err(damaged(format!("format {:?}", backup.format)));
    }
    if backup.version > VERSION {
        return Err(damaged(format!(
            "written by a newer Keyhaven (backup version {}); upgrade to import it",
            backup.version
        )));
    }
    Ok(backup)
}

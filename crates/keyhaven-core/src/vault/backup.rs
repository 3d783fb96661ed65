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
//!
//! **A backup is input, not trust (SEC-40).** A file may come from someone else. Every provider
//! definition in it passes the same checks as `providers add` (https except loopback, no
//! catalog-id shadowing, portable names); rows whose timestamps lie in the future (which would
//! win every merge) are refused, as are connections of unknown or refused providers, unknown
//! statuses or modes, and malformed fields. Refused rows are listed, never half-applied. An
//! imported definition that replaces a local one cannot re-point local connections: they keep
//! the server they were issued by (SEC-39). [`Vault::preview_backup_import`] computes the same
//! report without changing anything, so a front end can show it before applying.

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
/// 2: connections carry what they were issued with (`issued_with`, SEC-39).
const VERSION: u32 = 2;
/// How far in the future an imported timestamp may lie (clock skew between two machines).
const FUTURE_SLACK_SECS: i64 = 86_400;
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
    /// JSON of [`crate::issued::IssuedWith`]; absent in version 1 files.
    #[serde(default)]
    issued_with: Option<String>,
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    /// New here.
    pub added: Vec<String>,
    /// Present here, and newer in the backup: replaced.
    pub updated: Vec<String>,
    /// Present here and identical, or newer here: left alone (with the reason).
    pub skipped: Vec<(String, String)>,
    /// Not imported because the file's row is not acceptable (with the reason, SEC-40).
    pub refused: Vec<(String, String)>,
}

impl Vault {
    /// Writes an encrypted backup of every provider setting and connection to `out` (standard
    /// output for `vault export -`). Nothing is marked moved: whether the bytes reached a safe
    /// place cannot be known here.
    pub fn export_backup_to(
        &mut self,
        out: &mut dyn Write,
        passphrase: &Passphrase,
    ) -> Result<ExportReport> {
        passphrase.check_new()?;
        let backup = self.snapshot_rows()?;
        let plain = Zeroizing::new(serde_json::to_vec(&backup).expect("rows serialize"));
        encrypt_to(out, &plain, passphrase)?;
        out.flush()
            .map_err(|e| Error::io("writing the backup", e))?;
        audit::record(self, None, "vault.exported", Some("standard output"))?;
        Ok(ExportReport {
            path: PathBuf::from("-"),
            providers: backup.providers.len(),
            connections: backup.connections.len(),
            moved: vec![],
        })
    }

    /// Writes an encrypted backup of every provider setting and connection to `path`.
    /// `mark_moved`: afterwards, stop refreshing the exported OAuth connections here.
    pub fn export_backup(
        &mut self,
        path: &Path,
        passphrase: &Passphrase,
        mark_moved: bool,
    ) -> Result<ExportReport> {
        passphrase.check_new()?;
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
        encrypt_to(tmp.as_file_mut(), &plain, passphrase)?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("writing the backup", e))?;
        tmp.persist_noclobber(path)
            .map_err(|e| Error::io(format!("saving the backup as {}", path.display()), e.error))?;
        let mut moved = Vec::new();
        if mark_moved {
            let now = crate::clock::now();
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
    /// decrypts and parses; rows that fail the checks are refused and listed (SEC-40).
    pub fn import_backup(&mut self, path: &Path, passphrase: &Passphrase) -> Result<ImportReport> {
        let backup = read_backup(path, passphrase)?;
        self.merge_backup(&backup, true)
    }

    /// What [`Vault::import_backup`] would do with this file, without changing anything.
    pub fn preview_backup_import(
        &mut self,
        path: &Path,
        passphrase: &Passphrase,
    ) -> Result<ImportReport> {
        let backup = read_backup(path, passphrase)?;
        self.merge_backup(&backup, false)
    }

    /// The merge, in one transaction: committed with `apply`, rolled back without (a preview
    /// computed by the very code that would apply it).
    fn merge_backup(&mut self, backup: &Backup, apply: bool) -> Result<ImportReport> {
        let actor = self.actor();
        let now = crate::clock::now();
        let mut report = ImportReport::default();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Custom providers known after the merge: the ones here, and the acceptable ones in the
        // file. Connections of any other provider are refused.
        let mut custom_ok: BTreeMap<String, crate::catalog::ProviderDef> = BTreeMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT provider_id, custom_definition FROM provider_settings
                 WHERE custom_definition IS NOT NULL",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (id, json) = row?;
                if let Ok(def) = crate::providers::parse_custom(&id, &json) {
                    custom_ok.insert(id, def);
                }
            }
        }
        for p in &backup.providers {
            let name = format!("provider {}", p.provider_id);
            if let Err(reason) = check_provider_row(p, now) {
                report.refused.push((name, reason));
                continue;
            }
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
                    if let Some(json) = &p.custom_definition
                        && let Ok(def) = crate::providers::parse_custom(&p.provider_id, json)
                    {
                        custom_ok.insert(p.provider_id.clone(), def);
                    }
                    match existed {
                        Some(l) => report.updated.push(describe_provider_change(&name, &l, p)),
                        None => report.added.push(name),
                    }
                }
            }
        }
        let catalog = crate::catalog::Catalog::builtin()?;
        for c in &backup.connections {
            let def = custom_ok
                .get(&c.provider_id)
                .or_else(|| catalog.get(&c.provider_id));
            let vars = match check_connection_row(c, def, now) {
                Ok(vars) => vars,
                Err(reason) => {
                    report
                        .refused
                        .push((format!("{}:{}", c.provider_id, c.account), reason));
                    continue;
                }
            };
            let instance = crate::connections::instance_of(&vars);
            let name = if instance.is_empty() {
                format!("{}:{}", c.provider_id, c.account)
            } else {
                format!("{}:{} at {instance}", c.provider_id, c.account)
            };
            let local: Option<(String, i64)> = tx
                .query_row(
                    "SELECT id, updated_at FROM connections
                     WHERE provider_id = ?1 AND instance = ?2 AND account = ?3",
                    params![c.provider_id, instance, c.account],
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
                    if taken || !crate::ids::ConnectionId::is_valid(&c.id) {
                        crate::connections::new_id()?
                    } else {
                        c.id.clone()
                    }
                }
            };
            tx.execute(
                "INSERT INTO connections (id, provider_id, instance, account, label, auth_mode,
                   status, scopes_requested, scopes_granted, token_type, expires_at, last_error,
                   extra, created_at, updated_at, last_used_at, issued_with)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                params![
                    id,
                    c.provider_id,
                    instance,
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
                    c.last_used_at,
                    c.issued_with
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
                "{} added, {} updated, {} skipped, {} refused",
                report.added.len(),
                report.updated.len(),
                report.skipped.len(),
                report.refused.len()
            )),
        )?;
        if apply {
            tx.commit()?;
        }
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
                   updated_at, last_used_at, issued_with
                 FROM connections WHERE moved_at IS NULL ORDER BY provider_id, instance, account",
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
                    issued_with: r.get(15)?,
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
            exported_at: crate::clock::now(),
            providers,
            connections,
        })
    }
}

/// age, scrypt recipient: what `age -d` opens with the passphrase.
fn encrypt_to(out: &mut dyn Write, plain: &[u8], passphrase: &Passphrase) -> Result<()> {
    let encryptor = age::Encryptor::with_user_passphrase(passphrase.to_secret_string());
    let mut w = encryptor
        .wrap_output(out)
        .map_err(|e| Error::io("encrypting the backup", e))?;
    w.write_all(plain)
        .and_then(|_| w.finish().map(|_| ()))
        .map_err(|e| Error::io("encrypting the backup", e))
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

/// A provider row from a file (SEC-40): a portable id, timestamps not in the future, a usable
/// client id, and a custom definition that passes every check `providers add` makes.
fn check_provider_row(p: &ProviderRow, now: i64) -> std::result::Result<(), String> {
    if !crate::providers::is_provider_id(&p.provider_id) {
        return Err("its id is not a provider id".into());
    }
    if p.created_at > now + FUTURE_SLACK_SECS || p.updated_at > now + FUTURE_SLACK_SECS {
        return Err("its timestamps lie in the future".into());
    }
    if let Some(id) = &p.client_id {
        crate::providers::check_client_id(id).map_err(|e| e.to_string())?;
    }
    match &p.custom_definition {
        Some(json) => crate::providers::parse_custom(&p.provider_id, json)
            .map(|_| ())
            .map_err(|e| format!("its definition is not acceptable: {e}")),
        None if crate::catalog::Catalog::builtin()
            .map_err(|e| e.to_string())?
            .get(&p.provider_id)
            .is_some() =>
        {
            Ok(())
        }
        None => Ok(()), // settings for a custom provider defined here or elsewhere in the file
    }
}

/// A connection row from a file (SEC-40): a known provider, known status and mode, timestamps
/// not in the future, readable JSON, portable field names, and template variables the provider
/// accepts. Returns the variables (the connection's instance).
fn check_connection_row(
    c: &ConnectionRow,
    def: Option<&crate::catalog::ProviderDef>,
    now: i64,
) -> std::result::Result<BTreeMap<String, String>, String> {
    let def = def.ok_or("its provider is not defined here or in the file")?;
    if crate::connections::ConnectionStatus::parse(&c.status).is_none() {
        return Err(format!("unknown status {:?}", c.status));
    }
    if crate::catalog::AuthMode::parse(&c.auth_mode).is_none() {
        return Err(format!("unknown auth mode {:?}", c.auth_mode));
    }
    let future = |t: i64| t > now + FUTURE_SLACK_SECS;
    if future(c.created_at)
        || future(c.updated_at)
        || c.last_used_at.is_some_and(future)
        || c.fields.iter().any(|f| future(f.updated_at))
    {
        return Err("its timestamps lie in the future".into());
    }
    for json in [&c.scopes_requested, &c.scopes_granted] {
        serde_json::from_str::<Vec<String>>(json).map_err(|_| "unreadable scopes".to_string())?;
    }
    if let Some(j) = &c.issued_with {
        serde_json::from_str::<crate::issued::IssuedWith>(j)
            .map_err(|_| "unreadable issued_with".to_string())?;
    }
    let extra: serde_json::Value =
        serde_json::from_str(&c.extra).map_err(|_| "unreadable extra fields".to_string())?;
    let vars: BTreeMap<String, String> = match extra.get("keyhaven_vars") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| "unreadable variables")?,
        None => BTreeMap::new(),
    };
    if !vars.is_empty() || !def.variables.is_empty() {
        let resolved = def.resolve(&vars).map_err(|e| e.to_string())?;
        if resolved.vars != vars {
            return Err("its variables do not match the provider's".into());
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for f in &c.fields {
        let ok = !f.name.is_empty()
            && f.name.len() <= 64
            && f.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !ok || !names.insert(&f.name) {
            return Err(format!("bad or repeated field name {:?}", f.name));
        }
    }
    if c.account.is_empty() || c.account.len() > 512 || c.account.chars().any(char::is_control) {
        return Err("unusable account name".into());
    }
    Ok(vars)
}

/// "provider corp", with what an update changes about where it points.
fn describe_provider_change(name: &str, local: &ProviderRow, new: &ProviderRow) -> String {
    let server = |r: &ProviderRow| -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(r.custom_definition.as_deref()?).ok()?;
        ["issuer", "token_url"]
            .iter()
            .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(str::to_string))
    };
    let mut parts = vec![];
    match (server(local), server(new)) {
        (Some(a), Some(b)) if a != b => parts.push(format!("server {a} -> {b}")),
        _ => {}
    }
    if local.client_id != new.client_id {
        parts.push("another OAuth app".to_string());
    }
    if parts.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", parts.join(", "))
    }
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
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        // A file the person named that is not there (or not theirs) is their bad input.
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            Error::BadInput(format!("cannot open {}: {e}", path.display()))
        }
        _ => Error::io(format!("opening {}", path.display()), e),
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::{FieldValue, NewConnection};
    use crate::secret::SecretBytes;

    fn pass() -> Passphrase {
        Passphrase::new("backup passphrase".into()).unwrap()
    }

    /// Encrypts a backup as a file someone else could have written.
    fn write(dir: &Path, backup: &Backup) -> PathBuf {
        let path = dir.join(format!("b{}.age", rand_suffix()));
        let plain = serde_json::to_vec(backup).unwrap();
        let enc = age::Encryptor::with_user_passphrase(pass().to_secret_string());
        let file = std::fs::File::create(&path).unwrap();
        let mut w = enc.wrap_output(file).unwrap();
        w.write_all(&plain).unwrap();
        w.finish().unwrap();
        path
    }

    fn rand_suffix() -> String {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).unwrap();
        hex::encode(b)
    }

    fn custom(id: &str, mutate: impl FnOnce(&mut serde_json::Value)) -> ProviderRow {
        let mut def = serde_json::json!({
            "id": id, "name": id, "categories": ["custom"], "docs_url": "https://as.example",
            "auth_mode": "oauth2", "issuer": "https://as.example",
            "authorization_url": "https://as.example/auth", "token_url": "https://as.example/token",
            "redirects": ["loopback"],
            "identity": {"source": "userinfo", "fields": ["/sub"]},
            "userinfo_url": "https://as.example/me"
        });
        mutate(&mut def);
        ProviderRow {
            provider_id: id.into(),
            custom_definition: Some(def.to_string()),
            client_id: Some("app".into()),
            client_secret: None,
            created_at: 1,
            updated_at: 1,
        }
    }

    fn backup(providers: Vec<ProviderRow>, connections: Vec<ConnectionRow>) -> Backup {
        Backup {
            format: FORMAT.into(),
            version: VERSION,
            exported_at: 1,
            providers,
            connections,
        }
    }

    fn connection(provider: &str, account: &str, updated_at: i64) -> ConnectionRow {
        ConnectionRow {
            id: "c_0123456789abcdef".into(),
            provider_id: provider.into(),
            account: account.into(),
            label: None,
            auth_mode: "oauth2".into(),
            status: "connected".into(),
            scopes_requested: "[]".into(),
            scopes_granted: "[]".into(),
            token_type: None,
            expires_at: None,
            last_error: None,
            extra: "{}".into(),
            created_at: 1,
            updated_at,
            last_used_at: None,
            issued_with: None,
            fields: vec![FieldRow {
                name: "access_token".into(),
                value: Zeroizing::new(B64.encode("imported")),
                is_secret: true,
                updated_at: 1,
            }],
        }
    }

    /// SEC-40: each hostile row is refused with its reason; the acceptable ones are imported; a
    /// preview shows the same and changes nothing.
    #[test]
    fn hostile_backups_are_refused_row_by_row_and_previewed_first() {
        let (tmp, mut vault) = crate::vault::test_vault();
        let now = crate::clock::now();
        let far_future = now + 10 * 365 * 86_400;
        let mut future = custom("later", |_| {});
        future.updated_at = far_future;
        let b = backup(
            vec![
                custom("good", |_| {}),
                custom("plain-http", |d| {
                    d["token_url"] = "http://evil.example/token".into();
                }),
                custom("github", |d| d["name"] = "not GitHub".into()),
                custom("shell", |d| {
                    d["env"] = serde_json::json!({"X=$(touch /tmp/pwned) #": "access_token"});
                }),
                custom("renamed", |d| d["id"] = "other".into()),
                future,
            ],
            vec![
                connection("good", "alice", 5),
                connection("plain-http", "mallory", 5),
                connection("nowhere", "bob", 5),
                connection("good", "eve", far_future),
            ],
        );
        let file = write(tmp.path(), &b);
        let before = vault.list_providers().unwrap().len();

        let plan = vault.preview_backup_import(&file, &pass()).unwrap();
        assert_eq!(
            vault.list_providers().unwrap().len(),
            before,
            "a preview changes nothing"
        );
        assert!(vault.list_connections().unwrap().is_empty());

        let report = vault.import_backup(&file, &pass()).unwrap();
        assert_eq!(
            plan.added, report.added,
            "the preview is what the import does"
        );
        assert_eq!(plan.refused, report.refused);
        assert_eq!(report.added, ["provider good", "good:alice"]);
        let refused: BTreeMap<&str, &str> = report
            .refused
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(
            refused["provider plain-http"].contains("http://"),
            "{refused:?}"
        );
        assert!(
            refused["provider github"].contains("catalog"),
            "{refused:?}"
        );
        assert!(
            refused["provider shell"].contains("portable"),
            "{refused:?}"
        );
        assert!(
            refused["provider renamed"].contains("names itself"),
            "{refused:?}"
        );
        assert!(refused["provider later"].contains("future"), "{refused:?}");
        assert!(
            refused["plain-http:mallory"].contains("not defined"),
            "{refused:?}"
        );
        assert!(
            refused["nowhere:bob"].contains("not defined"),
            "{refused:?}"
        );
        assert!(refused["good:eve"].contains("future"), "{refused:?}");
        // GitHub is still the catalog's.
        assert_eq!(vault.provider_def("github").unwrap().name, "GitHub");
    }

    /// A stored definition that would not pass `providers add` is refused when it is used, not
    /// only when it is added (an older build, or a hand-edited vault).
    #[test]
    fn an_invalid_stored_definition_is_refused_on_load() {
        let (_tmp, vault) = crate::vault::test_vault();
        let row = custom("sneaky", |d| {
            d["token_url"] = "http://evil.example/t".into()
        });
        vault
            .conn()
            .execute(
                "INSERT INTO provider_settings (provider_id, custom_definition, created_at, updated_at)
                 VALUES (?1, ?2, 1, 1)",
                params![row.provider_id, row.custom_definition],
            )
            .unwrap();
        let e = vault.provider_def("sneaky").unwrap_err().to_string();
        assert!(e.contains("invalid") && e.contains("--replace"), "{e}");
        assert!(
            vault
                .list_providers()
                .unwrap()
                .iter()
                .all(|p| p.id != "sneaky")
        );
    }

    /// Connections are matched by (provider, instance, account) and keep what they were
    /// issued with across an export and import.
    #[test]
    fn export_and_import_keep_instances_and_issued_with() {
        let (tmp, mut vault) = crate::vault::test_vault();
        for host in ["git.one.example", "git.two.example"] {
            vault
                .save_connection(NewConnection {
                    provider_id: "gitlab-self-managed".into(),
                    account: "alice".into(),
                    auth_mode: crate::catalog::AuthMode::Oauth2,
                    scopes_requested: vec![],
                    scopes_granted: vec![],
                    token_type: None,
                    expires_at: None,
                    extra: serde_json::json!({}),
                    fields: vec![(
                        "access_token".into(),
                        FieldValue::Secret(SecretBytes::from(format!("at-{host}"))),
                    )],
                    vars: [("host".to_string(), host.to_string())].into(),
                    issued_with: crate::issued::IssuedWith::from_urls(
                        Some(&format!("https://{host}")),
                        Some(&format!("https://{host}/oauth/token")),
                        None,
                        Some("app"),
                    ),
                    defaulted: Default::default(),
                })
                .unwrap();
        }
        // SEC-45: the same account at two hosts is two connections, named apart.
        assert_eq!(
            vault.list_connections().unwrap().len(),
            2,
            "two hosts, two connections"
        );
        let e = vault
            .find_connection("gitlab-self-managed:alice")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("at host=git.one.example") && e.contains("at host=git.two.example"),
            "{e}"
        );
        let file = tmp.path().join("out.age");
        vault.export_backup(&file, &pass(), false).unwrap();
        let (_tmp2, mut other) = crate::vault::test_vault();
        let report = other.import_backup(&file, &pass()).unwrap();
        assert_eq!(report.added.len(), 2, "{report:?}");
        let list = other.list_connections().unwrap();
        let instances: Vec<&str> = list.iter().map(|c| c.instance.as_str()).collect();
        assert_eq!(instances, ["host=git.one.example", "host=git.two.example"]);
        let issued: String = other
            .conn()
            .query_row(
                "SELECT issued_with FROM connections WHERE instance = 'host=git.two.example'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(issued.contains("https://git.two.example"), "{issued}");
        // Importing again: identical, skipped.
        let again = other.import_backup(&file, &pass()).unwrap();
        assert_eq!(again.skipped.len(), 2, "{again:?}");
    }

    #[test]
    fn a_short_backup_passphrase_is_refused_by_core() {
        let (tmp, mut vault) = crate::vault::test_vault();
        let short = Passphrase::new("short".into()).unwrap();
        let e = vault
            .export_backup(&tmp.path().join("x.age"), &short, false)
            .unwrap_err();
        assert!(matches!(e, Error::BadPassphrase { .. }), "{e}");
        assert!(!tmp.path().join("x.age").exists());
    }
}

//! Opening the SQLCipher database with a raw key.
//!
//! Order matters (SEC-16): `PRAGMA key` first, SQLCipher's own logging silenced (the person sees
//! Keyhaven's message, not `hmac check failed`), then one read of `sqlite_master` to prove the key
//! before anything writes. Only then the connection is configured: memory wiping, WAL, foreign
//! keys, a busy timeout and `synchronous=FULL` (a rotated token must survive a power cut).
//! `temp_store` is left at the bundled build's in-memory default and extensions stay disabled
//! (SEC-17: no plaintext temp files).
//!
//! The file is opened without `SQLITE_OPEN_CREATE` unless we are creating it, so a vault that
//! vanished between checks is never silently re-created as an empty one.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};
use crate::secret::VaultKey;

/// How long a writer waits for another process's lock before giving up (SEC-38).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the database would not open with a key.
pub(crate) enum OpenFailure {
    /// SQLCipher could not authenticate page 1 with this key ("file is not a database").
    NotAuthentic,
    /// Anything else.
    Other(Error),
}

/// Opens `path` with `key`, proving the key with a read before returning.
pub(crate) fn open(path: &Path, key: &VaultKey, create: bool) -> Result<Connection, OpenFailure> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| OpenFailure::Other(e.into()))?;
    conn.execute_batch(&key.pragma_key_statement("key"))
        .map_err(|e| OpenFailure::Other(e.into()))?;
    silence_sqlcipher_log(&conn);
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(e) if is_not_authentic(&e) => return Err(OpenFailure::NotAuthentic),
        Err(e) => return Err(OpenFailure::Other(e.into())),
    }
    configure(&conn).map_err(OpenFailure::Other)?;
    Ok(conn)
}

/// SQLCipher logs decryption failures to stderr by default. Route them nowhere: Keyhaven turns
/// every such failure into its own one-line message.
pub(crate) fn silence_sqlcipher_log(conn: &Connection) {
    // Both pragmas exist in SQLCipher >= 4.5; an unknown pragma is a no-op in SQLite.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // SEC-25: wipe SQLCipher's buffers on free (off by default since SQLCipher 4.5).
    let _: String = conn
        .query_row("PRAGMA cipher_memory_security = ON", [], |r| r.get(0))
        .unwrap_or_default();
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "vault is not in WAL mode");
    }
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;",
    )?;
    Ok(())
}

/// True when SQLCipher says the page could not be authenticated/decrypted.
pub(crate) fn is_not_authentic(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase))
}

/// True for errors that mean the content is damaged.
pub(crate) fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt)
    )
}

/// True for errors that mean the file or directory cannot be written.
pub(crate) fn is_not_writable(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied)
    )
}

/// Runs SQLCipher's page authentication over the whole file (SEC-18).
pub(crate) fn integrity_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA cipher_integrity_check")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

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

/// How long this process keeps vault connections open; decided once, at start-up, by the front
/// end ([`crate::vault::set_process_lifetime`]).
static SHORT_LIVED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// See [`crate::vault::ProcessLifetime`].
pub(crate) fn set_short_lived(short: bool) {
    SHORT_LIVED.store(short, std::sync::atomic::Ordering::Relaxed);
}

pub(crate) fn short_lived() -> bool {
    SHORT_LIVED.load(std::sync::atomic::Ordering::Relaxed)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement of the hand-out path (the agent runs it on one connection for
    // hours): compiling a statement again costs more than running it.
    conn.set_prepared_statement_cache_capacity(64);
    // SEC-25: a process that keeps the vault open (the agent, the desktop app) has SQLCipher
    // wipe and mlock its buffers; a command that exits within milliseconds does not, because
    // its memory goes back to the kernel (which clears it) at exit and the ~970 mlock/munlock
    // calls cost it 2 ms (docs/agent.md, "Memory security"). The setting is process-wide in
    // SQLCipher and sticky once on, so it is decided once per process.
    let pragma = if short_lived() {
        "PRAGMA cipher_memory_security = OFF"
    } else {
        "PRAGMA cipher_memory_security = ON"
    };
    let _: String = conn.query_row(pragma, [], |r| r.get(0)).unwrap_or_default();
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

/// Leaves the WAL in place when this connection closes, instead of checkpointing it into the
/// database and deleting it (4 fsyncs). For the hand-out of a short-lived command: its audit
/// row waits in the WAL until a checkpoint. A crash loses nothing: the WAL is replayed on the
/// next open.
///
/// The WAL is kept short, though (`wal_autocheckpoint` of [`HAND_OUT_WAL_PAGES`]): the first
/// connection to open a vault whose WAL was left behind rebuilds the WAL index by reading the
/// whole WAL, so a WAL grown to SQLite's default 1000 pages made every later call slower
/// (measured: +5 ms at a few hundred frames) than the fsyncs it saved. With a short WAL, one
/// hand-out in about ten checkpoints (on commit, passive, with its fsyncs), the rest pay none.
pub(crate) fn keep_wal_on_close(conn: &Connection) {
    if short_lived() {
        let _ = conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        );
        let _ = conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {HAND_OUT_WAL_PAGES}"));
    }
}

/// The WAL length, in pages, at which a short-lived command's commit checkpoints.
const HAND_OUT_WAL_PAGES: u32 = 24;

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

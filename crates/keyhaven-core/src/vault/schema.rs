//! Schema versions and migrations.
//!
//! Migrations are numbered SQL files under `crates/keyhaven-core/migrations/NN-name/up.sql`,
//! embedded at compile time (`build.rs` reruns the build when the directory changes) and applied
//! by `rusqlite_migration`, which records the version in SQLite's `user_version`.
//!
//! A vault whose `user_version` is newer than this build knows is refused before any statement
//! writes to it: an older Keyhaven must never "repair" a newer vault.

use include_dir::{Dir, include_dir};
use rusqlite::Connection;
use rusqlite_migration::Migrations;
use std::sync::LazyLock;

use crate::error::{Error, Result};

static MIGRATIONS_DIR: Dir = include_dir!("$CARGO_MANIFEST_DIR/migrations");

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::from_directory(&MIGRATIONS_DIR).expect("embedded migrations are well-formed")
});

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS_DIR.dirs().count() as i64
}

/// The schema version recorded in the database.
pub(crate) fn current_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the schema up to date, refusing a newer one.
pub(crate) fn migrate(conn: &mut Connection, path: &std::path::Path) -> Result<()> {
    let found = current_version(conn)?;
    let supported = latest_version();
    if found > supported {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    if found == supported {
        return Ok(());
    }
    MIGRATIONS.to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => Error::Database(err),
        other => Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("schema migration failed: {other}"),
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_migrations_validate() {
        assert!(super::latest_version() >= 1);
        super::MIGRATIONS
            .validate()
            .expect("migrations apply cleanly");
    }
}

//! Schema versions and migrations.
//!
//! Migrations are numbered SQL files under `crates/keyhaven-core/migrations/NN-name/up.sql`,
//! embedded at compile time (`build.rs` reruns the build when the directory changes) and applied
//! by `rusqlite_migration`, which records the version in SQLite's `user_version`.
//!
//! A vault whose `user_version` is newer than this build knows is refused before any statement
//! writes to it: an older Keyhaven must never "repair" a newer vault.

use include_dir::{Dir, include_dir};
use rusqlite::{Connection, OptionalExtension};
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
    // Foreign keys off while migrating: a migration that rebuilds a table (SQLite's documented
    // create-copy-drop-rename) must not cascade the drop into the child tables. The pragma only
    // takes effect outside a transaction, hence here and not in the SQL. Afterwards every
    // reference is checked before the keys are on again.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let migrated = MIGRATIONS.to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => Error::Database(err),
        other => Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("schema migration failed: {other}"),
        },
    });
    let dangling: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    migrated?;
    if let Some(table) = dangling {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("schema migration left dangling references in {table}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema 3 rebuilds `connections` (SEC-45): every row, field, lease and tombstone survives,
    /// the instance is computed from the stored variables the way `connections::instance_of`
    /// does, and foreign keys are on again afterwards.
    #[test]
    fn schema_3_rebuilds_connections_without_losing_children() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        MIGRATIONS.to_version(&mut conn, 2).unwrap();
        conn.execute_batch(
            r#"INSERT INTO connections (id, provider_id, account, auth_mode, extra, created_at, updated_at)
                 VALUES ('c_1', 'gitlab-self-managed', 'alice', 'oauth2',
                         '{"keyhaven_vars":{"host":"git.example","a":"1"},"scope":"x"}', 1, 2),
                        ('c_2', 'github', 'alice', 'oauth2', '{}', 1, 2);
               INSERT INTO connection_fields (connection_id, name, value, updated_at)
                 VALUES ('c_1', 'access_token', x'01', 1), ('c_1', 'refresh_token', x'02', 1),
                        ('c_2', 'access_token', x'03', 1);
               INSERT INTO refresh_leases VALUES ('c_1', 'holder', 9);
               INSERT INTO revocation_tombstones (connection_id, provider_id, token_kind, token,
                   client_id, next_attempt_at, created_at)
                 VALUES ('c_0', 'ccas', 'access_token', x'04', 'machine', 1, 1),
                        ('c_9', 'testas', 'refresh_token', x'05', NULL, 1, 1);"#,
        )
        .unwrap();
        migrate(&mut conn, std::path::Path::new("test.db")).unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest_version());
        let instances: Vec<(String, String)> = conn
            .prepare("SELECT id, instance FROM connections ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let vars: std::collections::BTreeMap<String, String> = [
            ("host".into(), "git.example".into()),
            ("a".into(), "1".into()),
        ]
        .into();
        assert_eq!(
            instances,
            [
                ("c_1".to_string(), crate::connections::instance_of(&vars)),
                ("c_2".to_string(), String::new())
            ]
        );
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM connection_fields"),
            3,
            "no cascade"
        );
        assert_eq!(count("SELECT count(*) FROM refresh_leases"), 1);
        assert_eq!(
            count("SELECT own_client FROM revocation_tombstones WHERE connection_id = 'c_0'"),
            1
        );
        assert_eq!(
            count("SELECT own_client FROM revocation_tombstones WHERE connection_id = 'c_9'"),
            0
        );
        assert_eq!(count("PRAGMA foreign_keys"), 1, "foreign keys are on again");
        // The new identity: the same account at another host is another connection.
        conn.execute(
            "INSERT INTO connections (id, provider_id, instance, account, auth_mode, created_at, updated_at)
             VALUES ('c_3', 'gitlab-self-managed', 'host=other.example', 'alice', 'oauth2', 1, 1)",
            [],
        )
        .unwrap();
        // Deleting a connection still cascades to its fields.
        conn.execute("DELETE FROM connections WHERE id = 'c_1'", [])
            .unwrap();
        assert_eq!(count("SELECT count(*) FROM connection_fields"), 1);
    }

    #[test]
    fn embedded_migrations_validate() {
        assert!(super::latest_version() >= 1);
        super::MIGRATIONS
            .validate()
            .expect("migrations apply cleanly");
    }
}

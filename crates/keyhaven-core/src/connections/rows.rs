//! The statements on `connections` and `connection_fields` that the token lifecycle, the
//! hand-outs and revocation run, in one place: what a row holds and how it changes is read here
//! and nowhere else (save, list and find are in [`super`]).
//!
//! Each function takes the connection or transaction to run on, because its callers decide the
//! transaction: a refresh commits the new pair, the expiry and the audit row together (SEC-28).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use super::ConnectionStatus;
use crate::catalog::AuthMode;
use crate::error::{Error, Result};
use crate::issued::IssuedWith;
use crate::secret::SecretBytes;

// The enums are stored by their names; an unknown name in a row is a damaged row.
impl rusqlite::types::FromSql for ConnectionStatus {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = v.as_str()?;
        ConnectionStatus::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown status {text:?}").into())
        })
    }
}

impl rusqlite::types::ToSql for ConnectionStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for AuthMode {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = v.as_str()?;
        AuthMode::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown auth mode {text:?}").into())
        })
    }
}

impl rusqlite::types::ToSql for AuthMode {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// What the token lifecycle needs to know about a connection, read in one statement.
pub(crate) struct Lifecycle {
    pub provider_id: String,
    pub auth_mode: AuthMode,
    pub has_access_token: bool,
    pub moved_at: Option<i64>,
    pub retry_after: Option<i64>,
    pub failures: i64,
    pub last_error: Option<String>,
    pub status: ConnectionStatus,
    pub expires_at: Option<i64>,
    pub updated_at: i64,
    pub refresh_token: Option<Zeroizing<Vec<u8>>>,
    pub vars: BTreeMap<String, String>,
    pub scopes_granted: Vec<String>,
    /// What it was issued with (SEC-39); empty for connections older than schema 3.
    pub issued_with: IssuedWith,
}

/// The lifecycle view of connection `id`.
pub(crate) fn lifecycle(conn: &Connection, id: &str) -> Result<Lifecycle> {
    conn.prepare_cached(
        "SELECT provider_id, status, expires_at, updated_at, extra, scopes_granted,
                (SELECT value FROM connection_fields WHERE connection_id = c.id AND name = 'refresh_token')
                  AS refresh_token,
                auth_mode,
                EXISTS (SELECT 1 FROM connection_fields WHERE connection_id = c.id AND name = 'access_token')
                  AS has_access_token,
                moved_at, retry_after, failures, last_error, issued_with
         FROM connections c WHERE id = ?1",
    )?
    .query_row([id], |r| {
        let extra: String = r.get("extra")?;
        let scopes: String = r.get("scopes_granted")?;
        let issued: Option<String> = r.get("issued_with")?;
        Ok(Lifecycle {
            provider_id: r.get("provider_id")?,
            auth_mode: r.get("auth_mode")?,
            has_access_token: r.get("has_access_token")?,
            moved_at: r.get("moved_at")?,
            retry_after: r.get("retry_after")?,
            failures: r.get("failures")?,
            last_error: r.get("last_error")?,
            status: r.get("status")?,
            expires_at: r.get("expires_at")?,
            updated_at: r.get("updated_at")?,
            refresh_token: r
                .get::<_, Option<Vec<u8>>>("refresh_token")?
                .map(Zeroizing::new),
            vars: vars_of(&extra),
            scopes_granted: serde_json::from_str(&scopes).unwrap_or_default(),
            issued_with: issued
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default(),
        })
    })
    .optional()?
    .ok_or_else(|| Error::NoSuchConnection { id: id.to_string() })
}

/// The template variables a connection was made with (`extra.keyhaven_vars`).
pub(crate) fn vars_of(extra: &str) -> BTreeMap<String, String> {
    serde_json::from_str::<serde_json::Value>(extra)
        .ok()
        .and_then(|v| serde_json::from_value(v.get("keyhaven_vars")?.clone()).ok())
        .unwrap_or_default()
}

/// The non-secret extra fields of a connection (JSON object), `Null` when unreadable.
pub(crate) fn extra(conn: &Connection, id: &str) -> Result<serde_json::Value> {
    let text: Option<String> = conn
        .prepare_cached("SELECT extra FROM connections WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

/// One stored field of a connection.
pub(crate) fn read_field(conn: &Connection, id: &str, name: &str) -> Result<Option<SecretBytes>> {
    Ok(conn
        .prepare_cached(
            "SELECT value FROM connection_fields WHERE connection_id = ?1 AND name = ?2",
        )?
        .query_row(params![id, name], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .map(SecretBytes::new))
}

/// A field read as text (client ids, user names).
pub(crate) fn read_text_field(conn: &Connection, id: &str, name: &str) -> Result<Option<String>> {
    Ok(
        read_field(conn, id, name)?
            .map(|v| String::from_utf8_lossy(v.expose_secret()).into_owned()),
    )
}

/// Whether the connection still exists (a disconnect may have run meanwhile).
pub(crate) fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM connections WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

/// Stores a secret field, replacing the old value.
pub(crate) fn upsert_secret(
    conn: &Connection,
    id: &str,
    name: &str,
    value: &SecretBytes,
    at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO connection_fields (connection_id, name, value, is_secret, updated_at)
         VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (connection_id, name) DO UPDATE SET value = ?3, updated_at = ?4",
        params![id, name, value.expose_secret(), at],
    )?;
    Ok(())
}

/// A refresh landed: new expiry and scopes, connected again, backoff cleared.
pub(crate) fn set_refreshed(
    conn: &Connection,
    id: &str,
    expires_at: Option<i64>,
    scopes: &[String],
    updated_at: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE connections SET expires_at = ?2, status = 'connected', last_error = NULL,
         scopes_granted = ?3, updated_at = ?4, retry_after = NULL, failures = 0
         WHERE id = ?1",
        params![
            id,
            expires_at,
            serde_json::to_string(scopes).expect("strings serialize"),
            updated_at
        ],
    )?;
    Ok(())
}

/// The person must act: `needs_reauth` (with why), or `expired` (no way to renew).
pub(crate) fn set_status(
    conn: &Connection,
    id: &str,
    status: ConnectionStatus,
    last_error: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE connections SET status = ?2, last_error = COALESCE(?3, last_error)
         WHERE id = ?1 AND (status != 'needs_reauth' OR ?2 = 'needs_reauth')",
        params![id, status, last_error],
    )?;
    Ok(())
}

/// A failed refresh: the error, and the backoff state (SEC-35).
pub(crate) fn set_failure(
    conn: &Connection,
    id: &str,
    last_error: &str,
    failures: i64,
    retry_after: Option<i64>,
) -> Result<()> {
    conn.execute(
        "UPDATE connections SET last_error = ?2, failures = ?3, retry_after = ?4 WHERE id = ?1",
        params![id, last_error, failures, retry_after],
    )?;
    Ok(())
}

/// Records what the connection was issued with (a part seen for the first time, SEC-39).
pub(crate) fn set_issued_with(conn: &Connection, id: &str, r: &IssuedWith) -> Result<()> {
    conn.execute(
        "UPDATE connections SET issued_with = ?2 WHERE id = ?1",
        params![id, serde_json::to_string(r).expect("strings serialize")],
    )?;
    Ok(())
}

/// A hand-out: the last-used time (cached statement: this is the hot path).
pub(crate) fn touch_last_used(conn: &Connection, id: &str, at: i64) -> Result<()> {
    conn.prepare_cached("UPDATE connections SET last_used_at = ?2 WHERE id = ?1")?
        .execute(params![id, at])?;
    Ok(())
}

/// Deletes the connection (its fields and lease go with it).
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("DELETE FROM connections WHERE id = ?1", [id])?;
    Ok(())
}

/// A row of [`due_candidates`].
pub(crate) struct DueCandidate {
    pub id: String,
    pub provider_id: String,
    pub expires_at: Option<i64>,
    pub updated_at: i64,
    /// When the refresh token last changed, if there is one.
    pub refresh_token_at: Option<i64>,
}

/// Connections that can renew themselves and are not held back (needs_reauth, moved, backing
/// off at `at`), soonest expiry first: what the scheduler looks at.
pub(crate) fn due_candidates(conn: &Connection, at: i64) -> Result<Vec<DueCandidate>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.provider_id, c.expires_at, c.updated_at, f.updated_at
         FROM connections c
         LEFT JOIN connection_fields f ON f.connection_id = c.id AND f.name = 'refresh_token'
         WHERE c.status != 'needs_reauth' AND c.moved_at IS NULL
           AND (c.retry_after IS NULL OR c.retry_after <= ?1)
           AND (f.updated_at IS NOT NULL
                OR c.auth_mode IN ('oauth2_client_credentials', 'oauth2_password'))
         ORDER BY c.expires_at",
    )?;
    let rows = stmt
        .query_map([at], |r| {
            Ok(DueCandidate {
                id: r.get(0)?,
                provider_id: r.get(1)?,
                expires_at: r.get(2)?,
                updated_at: r.get(3)?,
                refresh_token_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

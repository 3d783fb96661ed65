//! The audit log: who did what to which connection, and when. Never a secret.
//!
//! Rows are appended in the same transaction as the change they describe where there is one, and
//! outlive the connection they name (no foreign key), so a deletion stays visible.

use rusqlite::{Connection, params};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Result;
use crate::vault::{Actor, Vault};

/// One audit event.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// Row id, increasing.
    pub id: i64,
    /// RFC 3339 time.
    pub at: String,
    /// The connection concerned, if any.
    pub connection_id: Option<String>,
    /// Who it is about, `provider:account` (kept after the connection is deleted).
    pub subject: Option<String>,
    /// What happened, e.g. `vault.created`, `connection.created`.
    pub action: String,
    /// `cli` or `desktop`.
    pub actor: String,
    /// Non-secret detail (an error code, a field name).
    pub detail: Option<String>,
    /// Hand-outs: the pid of the process that asked (the agent's peer, or the command itself
    /// on the direct path).
    pub pid: Option<i64>,
    /// Hand-outs: that process's executable (`/proc/PID/exe`).
    pub program: Option<String>,
    /// Hand-outs: its parent's executable (the tool behind a helper or a script).
    pub parent_program: Option<String>,
    /// Hand-outs: the tool the credential was for (`token`, `env`, `git`...).
    pub tool: Option<String>,
}

/// Appends an event on the vault's connection, as the vault's actor.
pub(crate) fn record(
    vault: &Vault,
    connection_id: Option<&str>,
    action: &str,
    detail: Option<&str>,
) -> Result<()> {
    record_on(vault.conn(), vault.actor(), connection_id, action, detail)
}

/// Appends an event on a given connection (inside a transaction, or before a `Vault` exists).
pub(crate) fn record_on(
    conn: &Connection,
    actor: Actor,
    connection_id: Option<&str>,
    action: &str,
    detail: Option<&str>,
) -> Result<()> {
    // Cached: with SQLCipher's memory security every statement compiled costs locked pages.
    conn.prepare_cached(
        "INSERT INTO audit_events (at, connection_id, action, actor, detail, subject)
         VALUES (?1, ?2, ?3, ?4, ?5,
           (SELECT provider_id || ':' || account
                   || CASE WHEN instance = '' THEN '' ELSE ' at ' || instance END
            FROM connections WHERE id = ?2))",
    )?
    .execute(params![
        crate::clock::now(),
        connection_id,
        action,
        actor.as_str(),
        detail
    ])?;
    Ok(())
}

/// Records a hand-out with who asked for it (docs/agent.md): the requester's pid and programs
/// and the tool, besides what [`record_on`] writes.
pub(crate) fn record_hand_out_on(
    conn: &Connection,
    actor: Actor,
    connection_id: &str,
    detail: Option<&str>,
    who: &crate::vault::HandOutContext,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (at, connection_id, action, actor, detail, subject, pid,
                                   program, parent_program, tool)
         VALUES (?1, ?2, 'token.handed_out', ?3, ?4,
           (SELECT provider_id || ':' || account
                   || CASE WHEN instance = '' THEN '' ELSE ' at ' || instance END
            FROM connections WHERE id = ?2), ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        crate::clock::now(),
        connection_id,
        actor.as_str(),
        detail,
        who.requester.pid,
        who.requester.program,
        who.requester.parent_program,
        who.tool,
    ])?;
    Ok(())
}

/// Which audit events to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery<'a> {
    /// Only this connection's.
    pub connection_id: Option<&'a str>,
    /// Only events at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
    /// Only hand-outs to this tool (`git`, `aws`, `kubectl`, `token`...).
    pub tool: Option<&'a str>,
}

impl Vault {
    /// Audit events, oldest first, optionally for one connection.
    pub fn audit_events(&self, connection_id: Option<&str>) -> Result<Vec<AuditEvent>> {
        let mut events = self.audit_query(&AuditQuery {
            connection_id,
            ..Default::default()
        })?;
        events.reverse();
        Ok(events)
    }

    /// Audit events, newest first, filtered as asked.
    pub fn audit_query(&self, q: &AuditQuery<'_>) -> Result<Vec<AuditEvent>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, at, connection_id, action, actor, detail, subject, pid, program,
                    parent_program, tool FROM audit_events
             WHERE (?1 IS NULL OR connection_id = ?1) AND (?2 IS NULL OR at >= ?2)
               AND (?4 IS NULL OR tool = ?4)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let limit = q
            .limit
            .map(|l| l.min(i64::MAX as usize) as i64)
            .unwrap_or(-1);
        let rows = stmt
            .query_map(
                rusqlite::params![q.connection_id, q.since, limit, q.tool],
                |r| {
                    let at: i64 = r.get(1)?;
                    Ok(AuditEvent {
                        id: r.get(0)?,
                        at: format_time(at),
                        connection_id: r.get(2)?,
                        action: r.get(3)?,
                        actor: r.get(4)?,
                        detail: r.get(5)?,
                        subject: r.get(6)?,
                        pid: r.get(7)?,
                        program: r.get(8)?,
                        parent_program: r.get(9)?,
                        tool: r.get(10)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

/// Unix seconds as RFC 3339 (UTC).
pub fn format_time(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

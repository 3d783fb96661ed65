//! Disconnecting: revoke at the provider (RFC 7009), then delete locally, whatever happened
//! remotely (SEC-31).
//!
//! Order: the refresh token first (it can mint new access tokens), then the access token, each
//! with the client authentication the token endpoint uses (the person's OAuth app, or a machine
//! connection's own client). HTTP 200 means revoked. A definite refusal or a missing endpoint is
//! reported plainly, with where to revoke by hand. An uncertain outcome (5xx, timeout, network)
//! means the token may still be live: it goes to a tombstone, retried later by
//! [`retry_revocations`] until the provider confirms. The local copy is deleted in every case.
//!
//! **Only where they were issued (SEC-39).** Before anything is sent, the endpoints are checked
//! against what the connection was issued with; a connection whose provider was redefined is
//! deleted here without a request to the new server, and the report says so. A tombstone keeps
//! the exact revocation URL and client id it was made with, so a retry never follows a later
//! redefinition either.
//!
//! **A late refresh cannot bring tokens back.** Disconnect first takes the connection's refresh
//! lease, so a refresh in flight (in any process) finishes and commits before the tokens are
//! read; and a refresh whose answer arrives after the row is gone revokes what it received
//! (see `refresh_inner`).

use std::time::Duration;

use rusqlite::{TransactionBehavior, params};
use serde::Serialize;
use zeroize::Zeroizing;

use super::binding::{current_partial, verdict};
use super::lease::{self, OnWaitLimit, Step};
use super::snapshot::snapshot;
use crate::audit;
use crate::catalog::ProviderDef;
use crate::clock::now;
use crate::connections::rows::{self, read_field};
use crate::error::{Error, Result};
use crate::oauth::client::{ClientAuth, client_post};
use crate::oauth::endpoints::Endpoints;
use crate::secret::SecretBytes;
use crate::vault::Vault;

/// How long disconnect holds the refresh lease: two whole revocation requests and slack, so a
/// refresher cannot take it back while revocation is still running.
const DISCONNECT_LEASE_SECS: i64 = 120;
/// How long disconnect waits for a refresh in flight elsewhere.
const LEASE_WAIT: Duration = Duration::from_secs(45);
/// Tombstones are abandoned (and reported) after this many uncertain attempts.
const MAX_ATTEMPTS: i64 = 20;

/// What `disconnect` did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct DisconnectReport {
    /// Connection id.
    pub id: String,
    /// Token kinds revoked at the provider (`refresh_token`, `access_token`).
    pub revoked: Vec<String>,
    /// Token kinds not revoked, with the reason.
    pub not_revoked: Vec<(String, String)>,
    /// Of those, the ones kept in a tombstone and retried later (the outcome was uncertain).
    pub retry_pending: Vec<String>,
    /// Where the person can revoke access by hand, when something was not revoked.
    pub manual_revocation_url: Option<String>,
    /// Whether revocation was skipped on request (`--keep-remote`).
    pub kept_remote: bool,
    /// The credentials themselves (an API key, a machine client's secret) stay valid at the
    /// provider: deleting them here does not revoke them. `manual_revocation_url` says where.
    pub key_stays_valid: bool,
    /// Tools that were set up to use the connection and are now put back as they were
    /// (`keyhaven setup ... --remove`, docs/tools.md): `TOOL TARGET`.
    pub tools_removed: Vec<String>,
    /// Tools whose setup could not be taken out (`TOOL TARGET`, why): their config still names
    /// Keyhaven's helper, which now answers "not found".
    pub tools_left: Vec<(String, String)>,
}

/// A pending revocation, as listed (no secret in it).
#[derive(Debug, Clone, Serialize)]
pub struct PendingRevocation {
    /// The deleted connection it belonged to.
    pub connection_id: String,
    /// Provider id.
    pub provider: String,
    /// `refresh_token` or `access_token`.
    pub token_kind: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Next attempt (RFC 3339).
    pub next_attempt_at: String,
    /// Why the last attempt did not confirm.
    pub last_error: Option<String>,
}

/// What [`retry_revocations`] did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RetryReport {
    /// `connection:kind` confirmed revoked now.
    pub revoked: Vec<String>,
    /// Still uncertain, to be retried.
    pub pending: Vec<String>,
    /// Given up (definite refusal, or too many attempts), with the reason.
    pub abandoned: Vec<(String, String)>,
}

/// The client that authenticates revocation for one connection.
struct RevokingClient {
    client_id: String,
    client_secret: Option<SecretBytes>,
}

enum Outcome {
    Revoked,
    /// The provider answered definitely, or cannot be asked: no point retrying.
    Refused(String),
    /// 5xx, timeout, network: the token may be live; retry later.
    Uncertain(String),
}

/// Revokes (unless `keep_remote`) and deletes a connection.
pub fn disconnect(vault: &mut Vault, conn_id: &str, keep_remote: bool) -> Result<DisconnectReport> {
    let snap = snapshot(vault.conn(), conn_id)?;
    let def = vault.provider_def(&snap.provider_id)?;
    let mut report = DisconnectReport {
        id: conn_id.to_string(),
        kept_remote: keep_remote,
        ..Default::default()
    };
    take_lease_for_disconnect(vault, conn_id)?;
    let client = revoking_client(vault, &def, conn_id, snap.is_machine())?;
    let mut tombstones = Vec::new();
    if !keep_remote {
        // SEC-39: the endpoint must be where the tokens were issued; else nothing is sent.
        let endpoint = Endpoints::of(&def, &snap.vars, true).and_then(|e| {
            let partial = current_partial(vault, &def, &snap, conn_id, Some(&e))?;
            verdict(conn_id, &snap, &partial)?;
            Ok(e.revocation_url)
        });
        for kind in ["refresh_token", "access_token"] {
            let Some(value) = read_field(vault.conn(), conn_id, kind)? else {
                continue;
            };
            let outcome = match (&endpoint, &client) {
                (Err(Error::ProviderChanged { reason, .. }), _) => Outcome::Refused(format!(
                    "not sent: {} was redefined since this connection was made ({reason}); \
                     revoke it at the server that issued it",
                    def.id
                )),
                (Err(e), _) => {
                    Outcome::Uncertain(format!("could not find the revocation endpoint: {e}"))
                }
                (Ok(None), _) => {
                    Outcome::Refused(format!("{} has no revocation endpoint", def.name))
                }
                (_, None) => Outcome::Refused(
                    "no OAuth app configured to authenticate the revocation".into(),
                ),
                (Ok(Some(url)), Some(client)) => revoke_one(&def, url, client, kind, &value),
            };
            match outcome {
                Outcome::Revoked => {
                    audit::record(vault, Some(conn_id), "token.revoked", Some(kind))?;
                    report.revoked.push(kind.to_string());
                }
                Outcome::Refused(reason) => {
                    audit::record(vault, Some(conn_id), "token.revocation_failed", Some(kind))?;
                    report.not_revoked.push((kind.to_string(), reason));
                }
                Outcome::Uncertain(reason) => {
                    audit::record(vault, Some(conn_id), "token.revocation_failed", Some(kind))?;
                    report.retry_pending.push(kind.to_string());
                    report.not_revoked.push((kind.to_string(), reason.clone()));
                    // Only a checked endpoint is kept; "could not find it" retries discovery.
                    let url = endpoint.as_ref().ok().cloned().flatten();
                    tombstones.push((kind, value, reason, url));
                }
            }
        }
        if !report.not_revoked.is_empty() {
            report.manual_revocation_url = def.manual_revocation_url.clone();
        }
    }
    if snap.auth_mode != crate::catalog::AuthMode::Oauth2 {
        report.key_stays_valid = true;
        report.manual_revocation_url = def
            .manual_revocation_url
            .clone()
            .or_else(|| def.fields.iter().find_map(|f| f.create_url.clone()))
            .or_else(|| def.register_url.clone());
    }
    // The tools set up for it go back to what they were: once the connection is gone, its
    // bindings (and what restoring needs) go with it.
    for b in crate::tools::bindings(vault, Some(conn_id))? {
        let what = format!("{} {}", b.tool.as_str(), b.target);
        match crate::tools::setup::remove(vault, b.tool, &b.target) {
            Ok(_) => report.tools_removed.push(what),
            Err(e) => report.tools_left.push((what, e.to_string())),
        }
    }
    let actor = vault.actor();
    let vars = serde_json::to_string(&snap.vars).expect("strings serialize");
    let tx = vault
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (kind, value, reason, url) in &tombstones {
        insert_tombstone(
            &tx,
            &Tombstone {
                conn_id,
                provider: &def.id,
                kind,
                value,
                client: client.as_ref(),
                own_client: snap.is_machine(),
                vars: &vars,
                revocation_url: url.as_deref(),
            },
            Some(reason),
        )?;
    }
    // The audit row first: it names the connection (provider:account) while the row exists.
    audit::record_on(&tx, actor, Some(conn_id), "connection.deleted", None)?;
    rows::delete(&tx, conn_id)?;
    tx.commit()?;
    Ok(report)
}

/// Waits for any refresh of `conn_id` in flight (in any process) and takes its lease, so the
/// tokens read next are the newest and no refresh starts until the row is gone. A holder that
/// keeps it past the wait is overtaken: no request it could be making lasts that long.
fn take_lease_for_disconnect(vault: &mut Vault, conn_id: &str) -> Result<()> {
    let me = lease::holder_id();
    lease::acquire::<()>(
        vault,
        conn_id,
        &me,
        DISCONNECT_LEASE_SECS,
        LEASE_WAIT,
        OnWaitLimit::TakeOver,
        |_| Ok(Step::TakeLease),
    )?;
    Ok(())
}

fn revoking_client(
    vault: &Vault,
    def: &ProviderDef,
    conn_id: &str,
    machine: bool,
) -> Result<Option<RevokingClient>> {
    if machine {
        let id = read_field(vault.conn(), conn_id, "client_id")?;
        return Ok(id.map(|id| RevokingClient {
            client_id: String::from_utf8_lossy(id.expose_secret()).into_owned(),
            client_secret: read_field(vault.conn(), conn_id, "client_secret")
                .ok()
                .flatten(),
        }));
    }
    Ok(vault.provider_client(&def.id)?.map(|c| RevokingClient {
        client_id: c.client_id,
        client_secret: c.client_secret,
    }))
}

fn revoke_one(
    def: &ProviderDef,
    url: &str,
    client: &RevokingClient,
    kind: &str,
    value: &SecretBytes,
) -> Outcome {
    let auth = ClientAuth {
        client_id: &client.client_id,
        client_secret: client.client_secret.as_ref(),
    };
    let form = vec![
        (
            "token".to_string(),
            Zeroizing::new(String::from_utf8_lossy(value.expose_secret()).into_owned()),
        ),
        (
            "token_type_hint".to_string(),
            Zeroizing::new(kind.to_string()),
        ),
    ];
    match client_post(
        &format!("revocation at {}", def.id),
        url,
        def.token_auth_method,
        &auth,
        form,
    ) {
        Ok(r) if r.status == 200 => Outcome::Revoked,
        // RFC 7009 §2.2.1: 503 means "try again later"; any 5xx or 429 is as uncertain.
        Ok(r) if r.status >= 500 || r.status == 429 => {
            Outcome::Uncertain(crate::http::status_error("the revocation request", &r).to_string())
        }
        Ok(r) => {
            Outcome::Refused(crate::http::status_error("the revocation request", &r).to_string())
        }
        Err(e) => Outcome::Uncertain(e.to_string()),
    }
}

/// What a tombstone keeps: the token, the client that authenticates its revocation (a machine
/// connection's own id and secret; for a browser connection the app's client id only, its secret
/// looked up again at retry time and used only if the app is still the same), and the
/// revocation URL that was checked against the connection's record (SEC-39).
struct Tombstone<'a> {
    conn_id: &'a str,
    provider: &'a str,
    kind: &'a str,
    value: &'a SecretBytes,
    client: Option<&'a RevokingClient>,
    /// The client is the connection's own (machine grant): keep its secret too.
    own_client: bool,
    vars: &'a str,
    revocation_url: Option<&'a str>,
}

fn insert_tombstone(
    tx: &rusqlite::Transaction<'_>,
    t: &Tombstone<'_>,
    reason: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO revocation_tombstones (connection_id, provider_id, token_kind, token,
           client_id, client_secret, vars, next_attempt_at, last_error, created_at, revocation_url,
           own_client)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?10, ?11)",
        params![
            t.conn_id,
            t.provider,
            t.kind,
            t.value.expose_secret(),
            t.client.map(|c| c.client_id.as_str()),
            t.client
                .filter(|_| t.own_client)
                .and_then(|c| c.client_secret.as_ref())
                .map(|s| s.expose_secret()),
            t.vars,
            now(),
            reason,
            t.revocation_url,
            t.own_client
        ],
    )?;
    Ok(())
}

/// Called by a refresh whose answer arrived after its connection was deleted: the tokens it
/// received are put in tombstones and revoked right away, so they never outlive the disconnect.
/// `revocation_url`: the endpoint the refresh checked against the connection's record.
#[allow(clippy::too_many_arguments)]
pub(super) fn revoke_orphaned(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    vars: &std::collections::BTreeMap<String, String>,
    tokens: &crate::oauth::client::Tokens,
    client: Option<(String, Option<SecretBytes>)>,
    revocation_url: Option<&str>,
    own_client: bool,
) -> Result<()> {
    let client = client.map(|(client_id, client_secret)| RevokingClient {
        client_id,
        client_secret,
    });
    let vars = serde_json::to_string(vars).expect("strings serialize");
    let tx = vault
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (kind, value) in [
        ("refresh_token", tokens.refresh_token.as_ref()),
        ("access_token", Some(&tokens.access_token)),
    ] {
        if let Some(value) = value {
            insert_tombstone(
                &tx,
                &Tombstone {
                    conn_id,
                    provider: &def.id,
                    kind,
                    value,
                    client: client.as_ref(),
                    own_client,
                    vars: &vars,
                    revocation_url,
                },
                None,
            )?;
        }
    }
    tx.commit()?;
    retry_revocations(vault, true).map(|_| ())
}

/// Pending revocations, newest first.
pub fn pending_revocations(vault: &Vault) -> Result<Vec<PendingRevocation>> {
    let mut stmt = vault.conn().prepare(
        "SELECT connection_id, provider_id, token_kind, attempts, next_attempt_at, last_error
         FROM revocation_tombstones ORDER BY id DESC",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(PendingRevocation {
                connection_id: r.get(0)?,
                provider: r.get(1)?,
                token_kind: r.get(2)?,
                attempts: r.get(3)?,
                next_attempt_at: audit::format_time(r.get(4)?),
                last_error: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Retries pending revocations: those due, or all with `all`. Each is attempted once; a
/// confirmed one is deleted, an uncertain one waits longer (doubling, up to a day), a refused
/// one or one tried [`MAX_ATTEMPTS`] times is abandoned and reported.
pub fn retry_revocations(vault: &mut Vault, all: bool) -> Result<RetryReport> {
    struct Row {
        id: i64,
        connection_id: String,
        provider_id: String,
        kind: String,
        token: SecretBytes,
        client_id: Option<String>,
        client_secret: Option<SecretBytes>,
        vars: String,
        attempts: i64,
        revocation_url: Option<String>,
        own_client: bool,
    }
    let rows: Vec<Row> = {
        let mut stmt = vault.conn().prepare(
            "SELECT id, connection_id, provider_id, token_kind, token, client_id, client_secret,
                    vars, attempts, revocation_url, own_client
             FROM revocation_tombstones WHERE ?1 OR next_attempt_at <= ?2
             ORDER BY id",
        )?;
        stmt.query_map(params![all, now()], |r| {
            Ok(Row {
                id: r.get(0)?,
                connection_id: r.get(1)?,
                provider_id: r.get(2)?,
                kind: r.get(3)?,
                token: SecretBytes::new(r.get(4)?),
                client_id: r.get(5)?,
                client_secret: r.get::<_, Option<Vec<u8>>>(6)?.map(SecretBytes::new),
                vars: r.get(7)?,
                attempts: r.get(8)?,
                revocation_url: r.get(9)?,
                own_client: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut report = RetryReport::default();
    for row in rows {
        let name = format!("{}:{}", row.connection_id, row.kind);
        let outcome = (|| -> Result<Outcome> {
            let def = vault.provider_def(&row.provider_id)?;
            // SEC-39: the URL checked when the tombstone was made; only a tombstone that never
            // had one (made before schema 3, or while discovery failed) resolves it now.
            let url = match &row.revocation_url {
                Some(url) => Some(url.clone()),
                None => {
                    let vars = serde_json::from_str(&row.vars).unwrap_or_default();
                    Endpoints::of(&def, &vars, true)?.revocation_url
                }
            };
            let Some(url) = url else {
                return Ok(Outcome::Refused(format!(
                    "{} has no revocation endpoint",
                    def.name
                )));
            };
            let app = vault.provider_client(&def.id)?;
            let client = match (row.own_client, row.client_id.clone(), app) {
                // A machine connection's own client, kept whole.
                (true, Some(client_id), _) => Some(RevokingClient {
                    client_id,
                    client_secret: row
                        .client_secret
                        .as_ref()
                        .map(|s| SecretBytes::new(s.expose_secret().to_vec())),
                }),
                // The person's app, only while it is still the one the tokens were issued to.
                (false, Some(client_id), Some(app)) if app.client_id == client_id => {
                    Some(RevokingClient {
                        client_id,
                        client_secret: app.client_secret,
                    })
                }
                (false, Some(_), Some(_)) => {
                    return Ok(Outcome::Refused(
                        "the OAuth app was replaced since; revoke it at the provider".into(),
                    ));
                }
                // Made before schema 3 (the client was not recorded): the app configured now.
                (false, None, Some(app)) => Some(RevokingClient {
                    client_id: app.client_id,
                    client_secret: app.client_secret,
                }),
                _ => None,
            };
            Ok(match client {
                Some(c) => revoke_one(&def, &url, &c, &row.kind, &row.token),
                None => Outcome::Refused("no OAuth app configured any more".into()),
            })
        })()
        .unwrap_or_else(|e| Outcome::Uncertain(e.to_string()));
        let attempts = row.attempts + 1;
        // The tombstone ends (deleted, with its audit row) unless the outcome is still uncertain.
        let end = |vault: &mut Vault, action: &str| -> Result<()> {
            vault
                .conn()
                .execute("DELETE FROM revocation_tombstones WHERE id = ?1", [row.id])?;
            audit::record(vault, Some(&row.connection_id), action, Some(&row.kind))
        };
        match outcome {
            Outcome::Revoked => {
                end(vault, "token.revoked")?;
                report.revoked.push(name);
            }
            Outcome::Uncertain(reason) if attempts < MAX_ATTEMPTS => {
                let wait = (60i64 << (attempts - 1).min(12)).min(86_400);
                vault.conn().execute(
                    "UPDATE revocation_tombstones SET attempts = ?2, next_attempt_at = ?3,
                     last_error = ?4 WHERE id = ?1",
                    params![row.id, attempts, now() + wait, reason],
                )?;
                report.pending.push(name);
            }
            Outcome::Uncertain(reason) | Outcome::Refused(reason) => {
                end(vault, "token.revocation_abandoned")?;
                report.abandoned.push((name, reason));
            }
        }
    }
    Ok(report)
}

/// `Error` for a refresh that finished after its connection was disconnected.
pub(super) fn disconnected_meanwhile(conn_id: &str) -> Error {
    Error::BadInput(format!(
        "connection {conn_id} was disconnected while it was being refreshed; the tokens the \
         provider had just issued were revoked"
    ))
}

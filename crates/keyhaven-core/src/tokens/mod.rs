//! Keeping tokens usable: hand-out, refresh exactly once across processes, and revocation.
//!
//! **Single flight (SEC-27).** A refresh is coordinated through a lease row in the vault
//! (`refresh_leases`), not an in-process mutex, so any number of `keyhaven token` processes, the
//! desktop scheduler and threads agree. Taking the lease, and every decision around it, happens
//! in a `BEGIN IMMEDIATE` transaction that first re-reads the connection: whoever finds a fresh
//! token (one the lease holder just committed) uses it instead of refreshing. The lease lives
//! 30 s, longer than one whole token request (15 s), so it cannot expire under a live holder.
//! No network I/O happens inside a transaction (SEC-38).
//!
//! **Durable rotation (SEC-28).** The new access token, the rotated refresh token (or the old one
//! when the response has none), the expiry and a narrower scope are written in one transaction
//! with `synchronous=FULL`, the moment the response is parsed.
//!
//! **Failures (SEC-29, 30, 34).** `invalid_grant`: re-read the vault first (a peer may have
//! rotated); if the refresh token is unchanged the connection becomes `needs_reauth`, tokens are
//! kept for viewing, and no further request is made until the person reconnects. A transport
//! failure (timeout, dropped connection: outcome unknown) is retried once. Every outcome is in the
//! audit log with its error code, never the token.

pub mod inspect;
mod revoke;

pub use revoke::{
    DisconnectReport, PendingRevocation, RetryReport, disconnect, pending_revocations,
    retry_revocations,
};

use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use zeroize::Zeroizing;

use crate::audit;
use crate::catalog::{ProviderDef, discovery};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::flows::machine::{self, MachineCredentials};
use crate::flows::pending::FlowRequest;
use crate::flows::token::{self, ClientAuth};
use crate::issued::{IssuedWith, Partial, origin};
use crate::secret::SecretBytes;
use crate::vault::Vault;

/// How long a refresh lease lives: longer than one whole token request.
const LEASE_SECS: i64 = 30;
/// How long a waiter waits for a lease holder before giving up.
const WAIT_LIMIT: Duration = Duration::from_secs(40);

/// What the lifecycle needs to know about a connection, read in one go.
struct Snapshot {
    provider_id: String,
    auth_mode: String,
    has_access_token: bool,
    moved_at: Option<i64>,
    retry_after: Option<i64>,
    failures: i64,
    last_error: Option<String>,
    status: String,
    expires_at: Option<i64>,
    updated_at: i64,
    refresh_token: Option<Zeroizing<Vec<u8>>>,
    vars: std::collections::BTreeMap<String, String>,
    scopes_granted: Vec<String>,
    /// What it was issued with (SEC-39); empty for connections older than schema 3.
    issued_with: IssuedWith,
}

fn snapshot(conn: &rusqlite::Connection, id: &str) -> Result<Snapshot> {
    let snap = conn
        .prepare_cached(
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
            let extra: serde_json::Value = serde_json::from_str(&extra).unwrap_or_default();
            let scopes: String = r.get("scopes_granted")?;
            let issued: Option<String> = r.get("issued_with")?;
            Ok(Snapshot {
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
                vars: extra
                    .get("keyhaven_vars")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default(),
                scopes_granted: serde_json::from_str(&scopes).unwrap_or_default(),
                issued_with: issued
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default(),
            })
        })
        .optional()?
        .ok_or_else(|| Error::BadInput(format!("no connection {id}")))?;
    Ok(snap)
}

fn read_field(conn: &rusqlite::Connection, id: &str, name: &str) -> Result<Option<SecretBytes>> {
    Ok(conn
        .prepare_cached(
            "SELECT value FROM connection_fields WHERE connection_id = ?1 AND name = ?2",
        )?
        .query_row(params![id, name], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .map(SecretBytes::new))
}

/// A stored field of a connection (for the credentials module; secrets stay wrapped).
pub(crate) fn read_field_pub(vault: &Vault, id: &str, name: &str) -> Result<Option<SecretBytes>> {
    read_field(vault.conn(), id, name)
}

/// Options for [`access_token`].
#[derive(Debug, Clone, Default)]
pub struct TokenOptions {
    /// Refresh when the token expires within this many seconds, exactly as asked (a margin
    /// longer than the token lives refreshes on every call). Default: the provider's
    /// `refresh.margin_secs` (60 unless the catalog says otherwise), capped at half the token's
    /// lifetime so a short-lived token is not "expiring" the moment it is minted.
    pub margin_secs: Option<u64>,
    /// For an API-key connection: which secret field to hand out, when the provider has several.
    pub field: Option<String>,
}

/// How close to expiry a token may be: as the caller asked, or the provider's default (capped at
/// half the token's lifetime, see [`effective_margin`]).
#[derive(Debug, Clone, Copy)]
enum Margin {
    Asked(i64),
    Default(i64),
}

/// A currently valid access token for `conn_id`, refreshing first when it is expired or within
/// the margin. Recorded in the audit log as a hand-out.
pub fn access_token(vault: &mut Vault, conn_id: &str, opts: TokenOptions) -> Result<SecretBytes> {
    let snap = snapshot(vault.conn(), conn_id)?;
    if snap.status == "needs_reauth" {
        return Err(needs_reauth(conn_id, &snap));
    }
    let def = vault.provider_def(&snap.provider_id)?;
    if !snap.auth_mode.starts_with("oauth2") {
        // An API key has no access token to renew: hand out the key itself, change nothing.
        return static_secret(vault, conn_id, &def, opts.field.as_deref());
    }
    // SEC-39: nothing is handed out for a connection whose provider was redefined.
    let partial = current_partial(vault, &def, &snap, conn_id, None)?;
    match verdict(conn_id, &snap, &partial) {
        Ok(None) => {}
        Ok(Some(filled)) => record_issued_with(vault.conn(), conn_id, &filled)?,
        Err(e) => {
            let actor = vault.actor();
            let tx = vault
                .conn_mut()
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            mark_provider_changed(&tx, actor, conn_id, &e)?;
            tx.commit()?;
            return Err(e);
        }
    }
    let margin = match opts.margin_secs {
        Some(m) => Margin::Asked(m.min(i64::MAX as u64) as i64),
        None => Margin::Default(def.refresh.margin_secs as i64),
    };
    if !snap.is_fresh(margin) {
        match snap.retry_after.filter(|t| *t > now()) {
            // SEC-35: the endpoint failed recently. A token still valid (only inside the margin)
            // is handed out; an expired one is refused without a request.
            Some(_) if snap.is_fresh(Margin::Asked(0)) => {}
            Some(until) => {
                return Err(Error::BackingOff {
                    provider: snap.provider_id.clone(),
                    reason: snap
                        .last_error
                        .clone()
                        .unwrap_or_else(|| "unavailable".into()),
                    wait_secs: until - now(),
                });
            }
            None => refresh_inner(vault, conn_id, &def, Some(margin), false)?,
        }
    }
    let token = read_field(vault.conn(), conn_id, "access_token")?
        .ok_or_else(|| Error::BadInput(format!("connection {conn_id} has no access token")))?;
    record_hand_out(vault, conn_id, None)?;
    Ok(token)
}

/// The secret an API-key connection hands out: the field asked for, else the one its provider's
/// tools authenticate with (the live check's token field, or its only required secret).
/// Recorded in the audit log like any hand-out, with the field's name.
fn static_secret(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    asked: Option<&str>,
) -> Result<SecretBytes> {
    let fields = crate::credentials::fields(def);
    let secret_fields: Vec<&str> = fields
        .iter()
        .filter(|f| f.secret)
        .map(|f| f.name.as_str())
        .collect();
    let name = match asked {
        Some(name) if secret_fields.contains(&name) => name.to_string(),
        Some(name) => {
            return Err(Error::BadInput(format!(
                "{} has no secret field {name:?}; its secret fields are {}",
                def.id,
                secret_fields.join(", ")
            )));
        }
        None => match primary_secret_field(def) {
            Some(name) => name,
            None => {
                return Err(Error::BadInput(format!(
                    "this {} connection is an API key with several secret fields ({}): ask for \
                     one with `keyhaven token CONN --field NAME`, or give a tool all of them \
                     with `keyhaven env CONN` / `keyhaven exec --with CONN`",
                    def.name,
                    secret_fields.join(", ")
                )));
            }
        },
    };
    let value = read_field(vault.conn(), conn_id, &name)?.ok_or_else(|| {
        Error::BadInput(format!("this {} connection has no {name} stored", def.name))
    })?;
    record_hand_out(vault, conn_id, Some(&name))?;
    Ok(value)
}

/// The field an API key's tools authenticate with: the live check's token field (bearer and
/// header schemes), else the only required secret field; `None` when that is ambiguous.
pub(crate) fn primary_secret_field(def: &ProviderDef) -> Option<String> {
    use crate::catalog::VerifyScheme;
    if let Some(v) = &def.verify
        && matches!(v.scheme, VerifyScheme::Bearer | VerifyScheme::Header)
    {
        return Some(v.token_field.clone().unwrap_or_else(|| "token".into()));
    }
    let required: Vec<String> = crate::credentials::fields(def)
        .into_iter()
        .filter(|f| f.secret && !f.optional)
        .map(|f| f.name)
        .collect();
    match required.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// The client id a connection's tokens are renewed and revoked with: the person's OAuth app for
/// a browser connection, the connection's own client for a machine grant; `None` for API keys.
fn connection_client_id(
    vault: &Vault,
    def: &ProviderDef,
    snap: &Snapshot,
    conn_id: &str,
) -> Result<Option<String>> {
    Ok(if snap.is_machine() {
        read_field(vault.conn(), conn_id, "client_id")?
            .map(|id| String::from_utf8_lossy(id.expose_secret()).into_owned())
    } else if snap.auth_mode == "oauth2" {
        vault.provider_client(&def.id)?.map(|c| c.client_id)
    } else {
        None
    })
}

/// What can be said now about the server a connection would talk to (SEC-39): from resolved
/// `endpoints` when the caller has them (refresh, revocation), else from the definition alone,
/// with no network request (a hand-out), leaving out what only discovery would tell.
fn current_partial(
    vault: &Vault,
    def: &ProviderDef,
    snap: &Snapshot,
    conn_id: &str,
    endpoints: Option<&Endpoints>,
) -> Result<Partial> {
    let is_oauth = snap.auth_mode.starts_with("oauth2");
    if !is_oauth {
        return Ok(Partial::default());
    }
    let resolved = def.resolve(&snap.vars)?;
    let client = connection_client_id(vault, def, snap, conn_id)?;
    let (token, revocation) = match endpoints {
        Some(e) => (
            Some(Some(origin(&e.token_url))),
            e.revocation_known
                .then(|| e.revocation_url.as_deref().map(origin)),
        ),
        None => (
            resolved.token_url.as_deref().map(|u| Some(origin(u))),
            resolved.revocation_url.as_deref().map(|u| Some(origin(u))),
        ),
    };
    Ok(Partial {
        issuer: Some(resolved.issuer),
        token_origin: token,
        revocation_origin: revocation,
        client_id: Some(client),
    })
}

/// Compares the record with what is known now: `Ok(Some(filled))` when a part was seen for the
/// first time, `Err(ProviderChanged)` when anything recorded differs.
fn verdict(conn_id: &str, snap: &Snapshot, partial: &Partial) -> Result<Option<IssuedWith>> {
    snap.issued_with
        .check(partial)
        .map_err(|reason| Error::ProviderChanged {
            connection: conn_id.to_string(),
            provider: snap.provider_id.clone(),
            reason,
            remedy: remedy(snap),
        })
}

/// How to make a connection again: a browser sign-in, or its credentials typed in again.
fn remedy(snap: &Snapshot) -> String {
    if snap.auth_mode == "oauth2" {
        format!("`keyhaven connect {}`", snap.provider_id)
    } else {
        format!("`keyhaven credentials add {}`", snap.provider_id)
    }
}

fn record_issued_with(conn: &rusqlite::Connection, conn_id: &str, r: &IssuedWith) -> Result<()> {
    conn.execute(
        "UPDATE connections SET issued_with = ?2 WHERE id = ?1",
        params![
            conn_id,
            serde_json::to_string(r).expect("strings serialize")
        ],
    )?;
    Ok(())
}

/// The connection must be made again: its status says so, with the reason (SEC-39).
fn mark_provider_changed(
    tx: &rusqlite::Transaction<'_>,
    actor: crate::Actor,
    conn_id: &str,
    e: &Error,
) -> Result<()> {
    let Error::ProviderChanged { reason, .. } = e else {
        return Ok(());
    };
    tx.execute(
        "UPDATE connections SET status = 'needs_reauth', last_error = ?2 WHERE id = ?1",
        params![conn_id, format!("{PROVIDER_CHANGED}: {reason}")],
    )?;
    audit::record_on(
        tx,
        actor,
        Some(conn_id),
        "token.refused",
        Some(PROVIDER_CHANGED),
    )
}

/// The `last_error` prefix of a connection refused because its provider changed.
const PROVIDER_CHANGED: &str = "provider_changed";

/// Records a hand-out (last-used time and audit row) in one transaction.
///
/// This is the hot path of `keyhaven token`, so it commits with `synchronous=NORMAL`: in WAL
/// mode that survives a crash of the application and loses at most the newest audit rows on a
/// power cut. Token rotation, which must never lose a refresh token, keeps `FULL`.
fn record_hand_out(vault: &mut Vault, conn_id: &str, field: Option<&str>) -> Result<()> {
    let actor = vault.actor();
    vault.conn().execute_batch("PRAGMA synchronous = NORMAL")?;
    let outcome = (|| -> Result<()> {
        let tx = vault.conn_mut().transaction()?;
        tx.prepare_cached("UPDATE connections SET last_used_at = ?2 WHERE id = ?1")?
            .execute(params![conn_id, now()])?;
        audit::record_on(&tx, actor, Some(conn_id), "token.handed_out", field)?;
        Ok(tx.commit()?)
    })();
    vault.conn().execute_batch("PRAGMA synchronous = FULL")?;
    outcome
}

/// Why a connection is due for a refresh now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueReason {
    /// The access token expires within the provider's margin.
    Expiring,
    /// The refresh token has not been used for half the provider's idle limit
    /// (`refresh.keepalive_days`): refreshing now keeps it from dying of disuse.
    Keepalive,
}

impl DueReason {
    /// `expiring` / `keepalive`, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DueReason::Expiring => "expiring",
            DueReason::Keepalive => "keepalive",
        }
    }
}

/// A connection the scheduler (desktop) or `keyhaven refresh --due` should refresh now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Due {
    /// Connection id.
    pub id: String,
    /// Provider id.
    pub provider: String,
    /// Why.
    pub reason: DueReason,
}

/// Connections due for a refresh at `at` (Unix seconds): expiring ones, and keep-alives.
/// Connections that need re-authentication, were moved, or are backing off are left out. No
/// network, no secret read.
pub fn due(vault: &Vault, at: i64) -> Result<Vec<Due>> {
    let mut stmt = vault.conn().prepare(
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
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    let mut defs = std::collections::BTreeMap::new();
    for (id, provider, expires_at, updated_at, rt_updated) in rows {
        if !defs.contains_key(&provider) {
            defs.insert(provider.clone(), vault.provider_def(&provider).ok());
        }
        let Some(def) = defs[&provider].as_ref() else {
            continue;
        };
        let margin = def.refresh.margin_secs as i64;
        let reason = match (expires_at, rt_updated, def.refresh.keepalive_days) {
            (Some(e), _, _) if at + effective_margin(margin, e, updated_at) >= e => {
                Some(DueReason::Expiring)
            }
            (_, Some(rt_at), Some(days)) if at - rt_at >= (days as i64) * 86_400 / 2 => {
                Some(DueReason::Keepalive)
            }
            _ => None,
        };
        if let Some(reason) = reason {
            out.push(Due {
                id,
                provider,
                reason,
            });
        }
    }
    Ok(out)
}

/// Refreshes every connection [`due`] now, each through the single-flight path; returns each
/// outcome. One failure does not stop the others.
pub fn refresh_due(vault: &mut Vault) -> Result<Vec<(Due, Result<()>)>> {
    let list = due(vault, now())?;
    let mut out = Vec::with_capacity(list.len());
    for d in list {
        let r = refresh(vault, &d.id);
        out.push((d, r));
    }
    Ok(out)
}

/// Forces one refresh now (or joins one already running in another process).
pub fn refresh(vault: &mut Vault, conn_id: &str) -> Result<()> {
    let snap = snapshot(vault.conn(), conn_id)?;
    let def = vault.provider_def(&snap.provider_id)?;
    if !snap.auth_mode.starts_with("oauth2") {
        // Nothing to renew, and nothing to change: an API key is valid until it is revoked.
        return Err(Error::BadInput(format!(
            "this {} connection is an API key: it does not expire, so there is nothing to \
             refresh (it stays valid until revoked at the provider; `keyhaven credentials \
             update` replaces it)",
            def.name
        )));
    }
    refresh_inner(vault, conn_id, &def, None, true)
}

/// The error for a connection in `needs_reauth`: the provider's redefinition when that is why
/// (SEC-39), else the refused refresh token.
fn needs_reauth(conn_id: &str, snap: &Snapshot) -> Error {
    if let Some(reason) = snap
        .last_error
        .as_deref()
        .and_then(|e| e.strip_prefix(PROVIDER_CHANGED))
        .and_then(|e| e.strip_prefix(": "))
    {
        return Error::ProviderChanged {
            connection: conn_id.to_string(),
            provider: snap.provider_id.clone(),
            reason: reason.to_string(),
            remedy: remedy(snap),
        };
    }
    Error::NeedsReauth {
        connection: conn_id.to_string(),
        provider: snap.provider_id.clone(),
    }
}

/// The single-flight refresh. `margin`: when the caller only needs a token valid for that long
/// (`None` with `force`: a refresh is wanted regardless).
fn refresh_inner(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    margin: Option<Margin>,
    force: bool,
) -> Result<()> {
    let me = holder_id();
    let actor = vault.actor();
    let first = snapshot(vault.conn(), conn_id)?;
    let started = Instant::now();
    let mut retried_unknown_outcome = false;
    loop {
        // Decide, and take the lease, in one immediate transaction.
        let tx = vault
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let snap = snapshot(&tx, conn_id)?;
        if snap.status == "needs_reauth" {
            return Err(needs_reauth(conn_id, &snap));
        }
        if let Some(at) = snap.moved_at {
            return Err(Error::Moved {
                connection: conn_id.to_string(),
                provider: snap.provider_id.clone(),
                since: crate::audit::format_time(at),
            });
        }
        // Someone committed a refresh since we looked: use theirs (SEC-27).
        let refreshed_by_peer =
            snap.updated_at != first.updated_at && snap.is_fresh(Margin::Asked(0));
        let fresh_enough = margin.is_some_and(|m| snap.is_fresh(m));
        if refreshed_by_peer || (!force && fresh_enough) {
            return Ok(tx.commit()?);
        }
        let lease: Option<(String, i64)> = tx
            .query_row(
                "SELECT holder, expires_at FROM refresh_leases WHERE connection_id = ?1",
                [conn_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((holder, until)) = lease
            && holder != me
            && until > now()
            && holder_alive(&holder)
        {
            tx.commit()?;
            if started.elapsed() > WAIT_LIMIT {
                return Err(Error::Http {
                    what: format!("refreshing {conn_id}"),
                    reason: "another process has been refreshing for too long".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let grant = match (snap.is_machine(), snap.refresh_token.clone()) {
            (true, _) => Grant::Machine,
            (false, Some(rt)) => Grant::Refresh(rt),
            (false, None) => {
                tx.execute(
                "UPDATE connections SET status = 'expired' WHERE id = ?1 AND status != 'needs_reauth'",
                [conn_id],
            )?;
                tx.commit()?;
                return Err(Error::Expired {
                    connection: conn_id.to_string(),
                    provider: snap.provider_id.clone(),
                });
            }
        };
        tx.execute(
            "INSERT INTO refresh_leases (connection_id, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (connection_id) DO UPDATE SET holder = ?2, expires_at = ?3",
            params![conn_id, me, now() + LEASE_SECS],
        )?;
        tx.commit()?;

        // The network, outside any transaction: resolve the endpoints (discovery when the
        // catalog has none), check them against what the connection was issued with (SEC-39:
        // on any difference nothing is sent), then ask.
        let machine_client = match grant {
            Grant::Machine => read_field(vault.conn(), conn_id, "client_id")?.map(|id| {
                (
                    String::from_utf8_lossy(id.expose_secret()).into_owned(),
                    read_field(vault.conn(), conn_id, "client_secret")
                        .ok()
                        .flatten(),
                )
            }),
            Grant::Refresh(_) => None,
        };
        let mut first_seen: Option<IssuedWith> = None;
        let mut revocation_url: Option<String> = None;
        let result = (|| -> Result<token::Tokens> {
            let endpoints = Endpoints::of(def, &snap.vars, false)?;
            let partial = current_partial(vault, def, &snap, conn_id, Some(&endpoints))?;
            first_seen = verdict(conn_id, &snap, &partial)?;
            revocation_url = endpoints.revocation_url.clone();
            match &grant {
                Grant::Refresh(rt) => request_refresh(vault, def, &endpoints, rt),
                Grant::Machine => request_machine_token(vault, def, &endpoints, &snap, conn_id),
            }
        })();

        let tx = vault
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let still_there: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM connections WHERE id = ?1)",
            [conn_id],
            |r| r.get(0),
        )?;
        if !still_there {
            // Disconnected while the request was out (SEC-31): what just arrived must not
            // outlive the disconnect.
            tx.commit()?;
            if let Ok(tokens) = &result {
                let client = match machine_client {
                    Some(c) => Some(c),
                    None => vault.provider_client(&def.id)?.map(|c| (c.client_id, None)),
                };
                revoke::revoke_orphaned(
                    vault,
                    conn_id,
                    def,
                    &snap.vars,
                    tokens,
                    client,
                    revocation_url.as_deref(),
                    snap.is_machine(),
                )?;
            }
            return Err(revoke::disconnected_meanwhile(conn_id));
        }
        tx.execute(
            "DELETE FROM refresh_leases WHERE connection_id = ?1 AND holder = ?2",
            params![conn_id, me],
        )?;
        match result {
            Ok(tokens) => {
                let t = now();
                // A response without a refresh token keeps the old one (SEC-29).
                for (name, value) in [
                    ("access_token", Some(&tokens.access_token)),
                    ("refresh_token", tokens.refresh_token.as_ref()),
                    ("id_token", tokens.id_token.as_ref()),
                ] {
                    if let Some(value) = value {
                        tx.execute(
                            "INSERT INTO connection_fields (connection_id, name, value, is_secret, updated_at)
                             VALUES (?1, ?2, ?3, 1, ?4)
                             ON CONFLICT (connection_id, name) DO UPDATE SET value = ?3, updated_at = ?4",
                            params![conn_id, name, value.expose_secret(), t],
                        )?;
                    }
                }
                // A narrower scope in the response is recorded; no scope means unchanged.
                let scopes = tokens.granted_scopes(&snap.scopes_granted);
                if let Some(r) = &first_seen {
                    record_issued_with(&tx, conn_id, r)?;
                }
                // updated_at must change even within the same second: peers watch it.
                let updated = (t).max(snap.updated_at + 1);
                tx.execute(
                    "UPDATE connections SET expires_at = ?2, status = 'connected', last_error = NULL,
                     scopes_granted = ?3, updated_at = ?4, retry_after = NULL, failures = 0
                     WHERE id = ?1",
                    params![
                        conn_id,
                        tokens.expires_in.map(|s| t + s),
                        serde_json::to_string(&scopes).expect("strings serialize"),
                        updated
                    ],
                )?;
                audit::record_on(&tx, actor, Some(conn_id), "token.refreshed", None)?;
                tx.commit()?;
                return Ok(());
            }
            Err(e @ Error::ProviderChanged { .. }) => {
                mark_provider_changed(&tx, actor, conn_id, &e)?;
                tx.commit()?;
                return Err(e);
            }
            Err(Error::TokenEndpoint {
                error, description, ..
            }) if error == "invalid_grant" => {
                // Re-read first: a peer may have rotated the refresh token meanwhile.
                let now_snap = snapshot(&tx, conn_id)?;
                if let Grant::Refresh(rt) = &grant
                    && now_snap.refresh_token.as_ref().map(|t| t.as_slice()) != Some(rt.as_slice())
                {
                    tx.commit()?;
                    continue;
                }
                tx.execute(
                    "UPDATE connections SET status = 'needs_reauth', last_error = ?2 WHERE id = ?1",
                    params![conn_id, format!("invalid_grant{description}")],
                )?;
                audit::record_on(
                    &tx,
                    actor,
                    Some(conn_id),
                    "token.refresh_failed",
                    Some("invalid_grant"),
                )?;
                tx.commit()?;
                return Err(Error::NeedsReauth {
                    connection: conn_id.to_string(),
                    provider: snap.provider_id.clone(),
                });
            }
            Err(e @ Error::Http { .. }) if !retried_unknown_outcome && is_outcome_unknown(&e) => {
                // SEC-30: the server may have rotated; try once more, then give up cleanly.
                retried_unknown_outcome = true;
                tx.commit()?;
                continue;
            }
            Err(e) => {
                let code = match &e {
                    Error::TokenEndpoint { error, .. } => error.clone(),
                    other => other.code().to_string(),
                };
                // SEC-35: a transient failure (5xx, 429, network) backs off exponentially with
                // jitter, or as long as Retry-After says; a definite answer does not.
                let (failures, retry_after) = if is_transient(&e) {
                    let failures = snap.failures + 1;
                    (
                        failures,
                        Some(now() + backoff_secs(failures, retry_after_secs(&e))),
                    )
                } else {
                    (0, None)
                };
                tx.execute(
                    "UPDATE connections SET last_error = ?2, failures = ?3, retry_after = ?4
                     WHERE id = ?1",
                    params![conn_id, e.to_string(), failures, retry_after],
                )?;
                audit::record_on(
                    &tx,
                    actor,
                    Some(conn_id),
                    "token.refresh_failed",
                    Some(&code),
                )?;
                tx.commit()?;
                return Err(e);
            }
        }
    }
}

/// Failures worth trying again later: the network, a 5xx or 429, or the endpoint saying it is
/// temporarily unavailable. Not: invalid_client, invalid_scope, a malformed request.
fn is_transient(e: &Error) -> bool {
    match e {
        Error::Http { .. } => true,
        Error::TokenEndpoint { error, .. } => {
            matches!(error.as_str(), "temporarily_unavailable" | "server_error")
        }
        _ => false,
    }
}

/// Seconds to wait after `failures` transient failures in a row: none after the first (the next
/// call may find the server recovered), then 2, 4, 8 ... up to 5 minutes, each with up to 25 %
/// random jitter so many clients do not return in step; a server's Retry-After (capped at an
/// hour) wins when given.
fn backoff_secs(failures: i64, retry_after: Option<i64>) -> i64 {
    if let Some(secs) = retry_after {
        return secs.clamp(1, 3600);
    }
    if failures <= 1 {
        return 0;
    }
    let base = 1i64 << (failures - 1).min(8);
    let base = base.min(300);
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    let jitter = (u16::from_le_bytes(b) as i64 * base) / (4 * 65_535);
    base + jitter
}

/// The `Retry-After` delta-seconds a failed request carried (see [`crate::http::status_error`]).
fn retry_after_secs(e: &Error) -> Option<i64> {
    let Error::Http { reason, .. } = e else {
        return None;
    };
    let rest = reason.split("retry after ").nth(1)?;
    rest.trim_end_matches(')').trim().parse().ok()
}

/// A dropped connection after the request was sent: the server may have rotated (SEC-30), so
/// one retry is worth it. A timeout is not retried: the whole call must fail within its 15 s
/// budget (a hung token endpoint must not hang `keyhaven token`), and the next call tries
/// again anyway.
fn is_outcome_unknown(e: &Error) -> bool {
    let text = e.to_string();
    !text.contains("timeout")
        && (text.contains("reading the response failed") || text.contains("error sending request"))
}

/// What renews a connection's access token.
enum Grant {
    /// RFC 6749 §6 with the stored refresh token.
    Refresh(Zeroizing<Vec<u8>>),
    /// The machine grant again (client credentials, password), with the stored credentials.
    Machine,
}

impl Snapshot {
    /// Whether the stored access token is usable for at least `margin` more seconds. No expiry
    /// means it lives until revoked.
    fn is_fresh(&self, margin: Margin) -> bool {
        self.has_access_token
            && self.expires_at.is_none_or(|e| {
                let m = match margin {
                    Margin::Asked(m) => m,
                    Margin::Default(m) => effective_margin(m, e, self.updated_at),
                };
                now().saturating_add(m) < e
            })
    }

    fn is_machine(&self) -> bool {
        matches!(
            self.auth_mode.as_str(),
            "oauth2_client_credentials" | "oauth2_password"
        )
    }
}

fn request_machine_token(
    vault: &Vault,
    def: &ProviderDef,
    endpoints: &Endpoints,
    snap: &Snapshot,
    conn_id: &str,
) -> Result<token::Tokens> {
    let creds = MachineCredentials::from_fields(def.auth_mode, &def.id, |name| {
        read_field(vault.conn(), conn_id, name).ok().flatten()
    })?;
    let req = endpoints.request(def, &creds.client_id);
    let scopes: Vec<String> = if snap.scopes_granted.is_empty() {
        def.scopes.clone()
    } else {
        snap.scopes_granted.clone()
    };
    machine::request_token(def, &req, &creds, &scopes)
}

fn request_refresh(
    vault: &Vault,
    def: &ProviderDef,
    endpoints: &Endpoints,
    refresh_token: &[u8],
) -> Result<token::Tokens> {
    let client = vault
        .provider_client(&def.id)?
        .ok_or_else(|| Error::BadInput(format!("no OAuth app configured for {}", def.id)))?;
    let req = endpoints.request(def, &client.client_id);
    let auth = ClientAuth {
        client_id: &client.client_id,
        client_secret: client.client_secret.as_ref(),
    };
    let mut form = vec![
        (
            "grant_type".to_string(),
            Zeroizing::new("refresh_token".to_string()),
        ),
        (
            "refresh_token".to_string(),
            Zeroizing::new(String::from_utf8_lossy(refresh_token).into_owned()),
        ),
    ];
    for (k, v) in &def.token_params {
        form.push((k.clone(), Zeroizing::new(v.clone())));
    }
    token::token_request(&def.id, &req, &auth, form)
}

/// Token and revocation endpoints of a provider, from the catalog or its discovery document.
pub(crate) struct Endpoints {
    pub token_url: String,
    pub revocation_url: Option<String>,
    /// Whether `revocation_url` is the provider's answer (the catalog's, or discovery's), not
    /// merely "not looked up": only then is its absence compared (SEC-39).
    pub revocation_known: bool,
    pub userinfo_url: Option<String>,
}

impl Endpoints {
    /// `want_revocation`: also discover the revocation endpoint when the catalog has none.
    pub(crate) fn of(
        def: &ProviderDef,
        vars: &std::collections::BTreeMap<String, String>,
        want_revocation: bool,
    ) -> Result<Endpoints> {
        let resolved = def.resolve(vars)?;
        let needs_discovery =
            resolved.token_url.is_none() || (want_revocation && resolved.revocation_url.is_none());
        let meta = match (&resolved.issuer, needs_discovery) {
            (Some(issuer), true) => Some(discovery::discover(issuer)?),
            _ => None,
        };
        let token_url = resolved
            .token_url
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.token_endpoint.clone()))
            .ok_or_else(|| Error::Catalog {
                reason: format!("{}: no token endpoint", def.id),
            })?;
        let revocation_url = resolved
            .revocation_url
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.revocation_endpoint.clone()));
        let userinfo_url = resolved
            .userinfo_url
            .clone()
            .or_else(|| meta.as_ref().and_then(|m| m.userinfo_endpoint.clone()));
        Ok(Endpoints {
            revocation_known: revocation_url.is_some()
                || meta.is_some()
                || resolved.issuer.is_none(),
            token_url,
            revocation_url,
            userinfo_url,
        })
    }

    pub(crate) fn request(&self, def: &ProviderDef, client_id: &str) -> FlowRequest {
        FlowRequest {
            client_id: client_id.to_string(),
            scopes: vec![],
            vars: Default::default(),
            token_url: self.token_url.clone(),
            userinfo_url: None,
            jwks_uri: None,
            iss_required: false,
            token_auth_method: def.token_auth_method,
            token_response: def.token_response,
            token_params: def.token_params.clone(),
            identity: None,
            openid: false,
            issued_with: Default::default(),
            defaulted: Default::default(),
        }
    }
}

/// The refresh margin for one token: the configured margin, but at most half the token's
/// lifetime. Without the cap, a token that lives less than the margin (seconds-long test tokens,
/// some providers' 5-minute tokens with a 10-minute margin) would be "expiring" the moment it is
/// minted, and every caller would refresh again: more than one refresh per expiry.
fn effective_margin(margin: i64, expires_at: i64, issued_at: i64) -> i64 {
    margin.min(((expires_at - issued_at) / 2).max(0))
}

/// Whether the process that holds a lease still runs. A holder killed mid-refresh would
/// otherwise block every other caller until its lease expires (30 s). Holder ids start with the
/// pid; a pid that no longer exists frees the lease at once. Where that cannot be checked, the
/// holder is presumed alive and the lease expiry decides.
fn holder_alive(holder: &str) -> bool {
    #[cfg(unix)]
    if let Some(pid) = holder.split('-').next().and_then(|p| p.parse::<i32>().ok())
        && pid > 0
    {
        // SAFETY: kill with signal 0 only checks that the process exists; nothing is sent.
        let r = unsafe { libc::kill(pid, 0) };
        return r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    }
    let _ = holder;
    true
}

/// A random lease holder id for this call.
fn holder_id() -> String {
    let mut b = [0u8; 12];
    let _ = getrandom::fill(&mut b);
    format!("{}-{}", std::process::id(), hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_lists_expiring_and_keepalive_connections_only() {
        use crate::connections::{FieldValue, NewConnection};
        let (_tmp, mut vault) = crate::vault::test_vault();
        let t = now();
        let mut add = |provider: &str, account: &str, expires: Option<i64>, rt: bool| {
            let mut fields = vec![(
                "access_token".to_string(),
                FieldValue::Secret(crate::secret::SecretBytes::from("a".to_string())),
            )];
            if rt {
                fields.push((
                    "refresh_token".into(),
                    FieldValue::Secret(crate::secret::SecretBytes::from("r".to_string())),
                ));
            }
            vault
                .save_connection(NewConnection {
                    provider_id: provider.into(),
                    account: account.into(),
                    auth_mode: "oauth2".into(),
                    scopes_requested: vec![],
                    scopes_granted: vec![],
                    token_type: None,
                    expires_at: expires,
                    extra: serde_json::json!({}),
                    vars: Default::default(),
                    issued_with: Default::default(),
                    defaulted: Default::default(),
                    fields,
                })
                .unwrap()
        };
        // google: margin 60 s (or the catalog's), keep-alive 180 days.
        let expiring = add("google", "expiring", Some(t + 10), true);
        let fresh = add("google", "fresh", Some(t + 3000), true);
        let idle = add("google", "idle", Some(t + 3000), true);
        let no_rt = add("google", "no-rt", Some(t + 10), false);
        let github_idle = add("github", "idle", None, true);
        let reauth = add("google", "reauth", Some(t + 10), true);
        let c = vault.conn();
        // The idle ones' refresh tokens were last rotated 100 days ago.
        for id in [&idle, &github_idle] {
            c.execute(
                "UPDATE connection_fields SET updated_at = ?2 WHERE connection_id = ?1",
                params![id, t - 100 * 86_400],
            )
            .unwrap();
            c.execute(
                "UPDATE connections SET updated_at = ?2 WHERE id = ?1",
                params![id, t - 100 * 86_400],
            )
            .unwrap();
        }
        c.execute(
            "UPDATE connections SET status = 'needs_reauth' WHERE id = ?1",
            [&reauth],
        )
        .unwrap();
        // A one-hour token issued 59 min 50 s ago.
        c.execute(
            "UPDATE connections SET updated_at = ?2 WHERE id = ?1",
            params![&expiring, t - 3590],
        )
        .unwrap();
        let due = due(&vault, t).unwrap();
        let got: Vec<(&str, DueReason)> = due.iter().map(|d| (d.id.as_str(), d.reason)).collect();
        assert!(
            got.contains(&(expiring.as_str(), DueReason::Expiring)),
            "{got:?}"
        );
        assert!(
            got.contains(&(idle.as_str(), DueReason::Keepalive)),
            "{got:?}"
        );
        for not in [&fresh, &no_rt, &github_idle, &reauth] {
            assert!(
                !got.iter().any(|(id, _)| id == not),
                "{not} is not due: {got:?}"
            );
        }
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn backoff_grows_with_jitter_caps_and_honours_retry_after() {
        assert_eq!(backoff_secs(1, None), 0, "the first failure does not wait");
        for failures in 2..20 {
            let base = (1i64 << (failures - 1).min(8)).min(300);
            for _ in 0..20 {
                let b = backoff_secs(failures, None);
                assert!(b >= base && b <= base + base / 4, "{failures}: {b}");
            }
        }
        assert_eq!(backoff_secs(5, Some(120)), 120);
        assert_eq!(backoff_secs(1, Some(999_999)), 3600, "capped at an hour");
        assert_eq!(backoff_secs(1, Some(0)), 1);
    }

    #[test]
    fn retry_after_is_read_back_from_the_status_error() {
        let resp = crate::http::Response {
            status: 503,
            content_type: "text/plain".into(),
            retry_after: Some("42".into()),
            date: None,
            body: vec![],
        };
        let e = crate::http::status_error("token request to x", &resp);
        assert_eq!(retry_after_secs(&e), Some(42));
        assert!(is_transient(&e));
        let dated = crate::http::Response {
            retry_after: Some("wed, 21 oct 2026 07:28:00 gmt".into()),
            ..resp
        };
        assert_eq!(
            retry_after_secs(&crate::http::status_error("x", &dated)),
            None
        );
        let definite = Error::TokenEndpoint {
            provider: "x".into(),
            error: "invalid_client".into(),
            description: String::new(),
        };
        assert!(!is_transient(&definite));
    }
}

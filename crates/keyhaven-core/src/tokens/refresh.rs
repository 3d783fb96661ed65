//! The single-flight refresh (SEC-27 to SEC-30, SEC-35), in three steps:
//! 1. [`decide`], in an immediate transaction with the lease ([`super::lease`]): a peer may have
//!    refreshed already (use theirs), the token may be fresh enough, the connection may be
//!    moved, need a sign-in, or have nothing to renew with; else the lease is taken;
//! 2. [`request`], outside any transaction (SEC-38): endpoints resolved and checked against what
//!    the connection was issued with (SEC-39), then the refresh or machine grant;
//! 3. [`commit`], in one transaction with `synchronous=FULL` (SEC-28): the new pair, or the
//!    failure's consequence (needs_reauth, backoff), and the audit row.
//!
//! A disconnect that ran while the request was out wins: what arrived is revoked (SEC-31).

use std::time::Duration;

use rusqlite::Transaction;
use zeroize::Zeroizing;

use crate::audit;
use crate::catalog::ProviderDef;
use crate::clock::now;
use crate::connections::{ConnectionStatus, rows};
use crate::error::{Error, Result};
use crate::issued::IssuedWith;
use crate::oauth::client::{self as token, ClientAuth};
use crate::oauth::endpoints::Endpoints;
use crate::oauth::machine::{self, MachineCredentials};
use crate::secret::SecretBytes;
use crate::vault::Vault;

use super::backoff::{backoff_secs, is_outcome_unknown, is_transient, retry_after_secs};
use super::binding::{current_partial, mark_provider_changed, needs_reauth, verdict};
use super::lease::{self, Acquired, OnWaitLimit, Step};
use super::revoke;
use super::snapshot::{Margin, Snapshot, snapshot};

/// How long a refresh lease lives: longer than one whole token request (15 s).
const LEASE_SECS: i64 = 30;
/// How long a caller waits for another process's refresh before giving up.
const WAIT_LIMIT: Duration = Duration::from_secs(40);

/// What renews a connection's access token.
enum Grant {
    /// RFC 6749 §6 with the stored refresh token.
    Refresh(Zeroizing<Vec<u8>>),
    /// The machine grant again (client credentials, password), with the stored credentials.
    Machine,
}

/// Forces one refresh now (or joins one already running in another process).
pub fn refresh(vault: &mut Vault, conn_id: &str) -> Result<()> {
    let snap = snapshot(vault.conn(), conn_id)?;
    let def = vault.provider_def(&snap.provider_id)?;
    if !snap.auth_mode.is_oauth() {
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

/// The single-flight refresh. `margin`: when the caller only needs a token valid for that long
/// (`None` with `force`: a refresh is wanted regardless).
pub(super) fn refresh_inner(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    margin: Option<Margin>,
    force: bool,
) -> Result<()> {
    let me = lease::holder_id();
    let first = snapshot(vault.conn(), conn_id)?;
    let mut retried_unknown_outcome = false;
    loop {
        let mut chosen = None;
        let decided = lease::acquire(
            vault,
            conn_id,
            &me,
            LEASE_SECS,
            WAIT_LIMIT,
            OnWaitLimit::GiveUp,
            |tx| decide(tx, conn_id, &first, margin, force, &mut chosen),
        )?;
        match decided {
            Acquired::Done(outcome) => return outcome,
            Acquired::Busy => {
                return Err(Error::Http {
                    what: format!("refreshing {conn_id}"),
                    kind: crate::error::HttpFailure::Local,
                    reason: "another process has been refreshing for too long".into(),
                });
            }
            Acquired::Taken => {}
        }
        let (snap, grant) = chosen.expect("decide chose a grant before the lease was taken");
        let attempt = request(vault, conn_id, def, &snap, &grant);
        let retry_allowed = !retried_unknown_outcome;
        match commit(
            vault,
            conn_id,
            def,
            &me,
            &snap,
            &grant,
            attempt,
            retry_allowed,
        )? {
            Committed::Done(outcome) => return outcome,
            Committed::RotatedByPeer => continue,
            Committed::OutcomeUnknown => {
                // SEC-30: the server may have rotated; try once more, then give up cleanly.
                retried_unknown_outcome = true;
                continue;
            }
        }
    }
}

/// Step 1, in the lease's transaction: finish here, or choose the grant and take the lease.
fn decide(
    tx: &Transaction<'_>,
    conn_id: &str,
    first: &Snapshot,
    margin: Option<Margin>,
    force: bool,
    chosen: &mut Option<(Snapshot, Grant)>,
) -> Result<Step<Result<()>>> {
    let snap = snapshot(tx, conn_id)?;
    if snap.status == ConnectionStatus::NeedsReauth {
        return Ok(Step::Done(Err(needs_reauth(conn_id, &snap))));
    }
    if let Some(at) = snap.moved_at {
        return Ok(Step::Done(Err(Error::Moved {
            connection: conn_id.to_string(),
            provider: snap.provider_id.clone(),
            since: crate::audit::format_time(at),
        })));
    }
    // Someone committed a refresh since we looked: use theirs (SEC-27).
    let refreshed_by_peer = snap.updated_at != first.updated_at && snap.is_fresh(Margin::Asked(0));
    let fresh_enough = margin.is_some_and(|m| snap.is_fresh(m));
    if refreshed_by_peer || (!force && fresh_enough) {
        return Ok(Step::Done(Ok(())));
    }
    let grant = match (snap.is_machine(), snap.refresh_token.clone()) {
        (true, _) => Grant::Machine,
        (false, Some(rt)) => Grant::Refresh(rt),
        (false, None) => {
            rows::set_status(tx, conn_id, ConnectionStatus::Expired, None)?;
            return Ok(Step::Done(Err(Error::Expired {
                connection: conn_id.to_string(),
                provider: snap.provider_id.clone(),
            })));
        }
    };
    *chosen = Some((snap, grant));
    Ok(Step::TakeLease)
}

/// What step 2 sent and got.
struct Attempt {
    result: Result<token::Tokens>,
    /// Parts of the issued-with record seen for the first time (recorded on success).
    first_seen: Option<IssuedWith>,
    /// The checked revocation endpoint (for revoking what a late answer brought).
    revocation_url: Option<String>,
    /// A machine connection's own client, read before the request: if a disconnect deletes the
    /// rows meanwhile, what arrives is still revoked with the client it was issued to.
    machine_client: Option<(String, Option<SecretBytes>)>,
}

/// Step 2, no transaction: resolve, check (SEC-39: on any difference nothing is sent), ask.
fn request(
    vault: &Vault,
    conn_id: &str,
    def: &ProviderDef,
    snap: &Snapshot,
    grant: &Grant,
) -> Attempt {
    let mut first_seen = None;
    let mut revocation_url = None;
    let machine_client = match grant {
        Grant::Machine => rows::read_text_field(vault.conn(), conn_id, "client_id")
            .ok()
            .flatten()
            .map(|id| {
                (
                    id,
                    rows::read_field(vault.conn(), conn_id, "client_secret")
                        .ok()
                        .flatten(),
                )
            }),
        Grant::Refresh(_) => None,
    };
    let result = (|| -> Result<token::Tokens> {
        let endpoints = Endpoints::of(def, &snap.vars, false)?;
        let partial = current_partial(vault, def, snap, conn_id, Some(&endpoints))?;
        first_seen = verdict(conn_id, snap, &partial)?;
        revocation_url = endpoints.revocation_url.clone();
        match grant {
            Grant::Refresh(rt) => request_refresh(vault, def, &endpoints, rt),
            Grant::Machine => request_machine_token(vault, def, &endpoints, snap, conn_id),
        }
    })();
    Attempt {
        result,
        first_seen,
        revocation_url,
        machine_client,
    }
}

/// What step 3 decided.
enum Committed {
    /// The refresh is over, one way or the other.
    Done(Result<()>),
    /// `invalid_grant`, but the stored refresh token changed meanwhile: a peer rotated it; ask
    /// again with the new one.
    RotatedByPeer,
    /// The request may or may not have reached the server (SEC-30).
    OutcomeUnknown,
}

/// Step 3: the outcome, durably, in one transaction with its audit row.
#[allow(clippy::too_many_arguments)]
fn commit(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    me: &str,
    snap: &Snapshot,
    grant: &Grant,
    attempt: Attempt,
    retry_allowed: bool,
) -> Result<Committed> {
    let actor = vault.actor();
    let tx = vault
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if !rows::exists(&tx, conn_id)? {
        // Disconnected while the request was out (SEC-31): what just arrived must not
        // outlive the disconnect.
        tx.commit()?;
        if let Ok(tokens) = &attempt.result {
            revoke_late(vault, conn_id, def, snap, tokens, &attempt)?;
        }
        return Ok(Committed::Done(Err(revoke::disconnected_meanwhile(
            conn_id,
        ))));
    }
    lease::release(&tx, conn_id, me)?;
    let committed = match attempt.result {
        Ok(tokens) => {
            store_tokens(&tx, conn_id, snap, &tokens, attempt.first_seen.as_ref())?;
            audit::record_on(&tx, actor, Some(conn_id), "token.refreshed", None)?;
            Committed::Done(Ok(()))
        }
        Err(e @ Error::ProviderChanged { .. }) => {
            mark_provider_changed(&tx, actor, conn_id, &e)?;
            Committed::Done(Err(e))
        }
        Err(Error::TokenEndpoint {
            error, description, ..
        }) if error == "invalid_grant" => {
            // Re-read first: a peer may have rotated the refresh token meanwhile (SEC-29).
            let now_snap = snapshot(&tx, conn_id)?;
            if let Grant::Refresh(rt) = grant
                && now_snap.refresh_token.as_ref().map(|t| t.as_slice()) != Some(rt.as_slice())
            {
                Committed::RotatedByPeer
            } else {
                rows::set_status(
                    &tx,
                    conn_id,
                    ConnectionStatus::NeedsReauth,
                    Some(&format!("invalid_grant{description}")),
                )?;
                audit::record_on(
                    &tx,
                    actor,
                    Some(conn_id),
                    "token.refresh_failed",
                    Some("invalid_grant"),
                )?;
                Committed::Done(Err(Error::NeedsReauth {
                    connection: conn_id.to_string(),
                    provider: snap.provider_id.clone(),
                }))
            }
        }
        // Recorded nowhere: the caller retries once (the lease was given back above).
        Err(e) if retry_allowed && is_outcome_unknown(&e) => Committed::OutcomeUnknown,
        Err(e) => {
            record_failure(&tx, actor, conn_id, snap, &e)?;
            Committed::Done(Err(e))
        }
    };
    tx.commit()?;
    Ok(committed)
}

/// The new pair: a response without a refresh token keeps the old one; a narrower scope is
/// recorded, none means unchanged (SEC-29).
fn store_tokens(
    tx: &Transaction<'_>,
    conn_id: &str,
    snap: &Snapshot,
    tokens: &token::Tokens,
    first_seen: Option<&IssuedWith>,
) -> Result<()> {
    let t = now();
    for (name, value) in [
        ("access_token", Some(&tokens.access_token)),
        ("refresh_token", tokens.refresh_token.as_ref()),
        ("id_token", tokens.id_token.as_ref()),
    ] {
        if let Some(value) = value {
            rows::upsert_secret(tx, conn_id, name, value, t)?;
        }
    }
    if let Some(r) = first_seen {
        rows::set_issued_with(tx, conn_id, r)?;
    }
    // updated_at must change even within the same second: peers watch it.
    rows::set_refreshed(
        tx,
        conn_id,
        tokens.expires_in.map(|s| t + s),
        &tokens.granted_scopes(&snap.scopes_granted),
        t.max(snap.updated_at + 1),
    )
}

/// A failure: its error and, when it is transient (5xx, 429, network), the backoff before the
/// next attempt (exponential with jitter, or as long as Retry-After says; SEC-35).
fn record_failure(
    tx: &Transaction<'_>,
    actor: crate::Actor,
    conn_id: &str,
    snap: &Snapshot,
    e: &Error,
) -> Result<()> {
    let code = match e {
        Error::TokenEndpoint { error, .. } => error.clone(),
        other => other.code().to_string(),
    };
    let (failures, retry_after) = if is_transient(e) {
        let failures = snap.failures + 1;
        (
            failures,
            Some(now() + backoff_secs(failures, retry_after_secs(e))),
        )
    } else {
        (0, None)
    };
    rows::set_failure(tx, conn_id, &e.to_string(), failures, retry_after)?;
    audit::record_on(
        tx,
        actor,
        Some(conn_id),
        "token.refresh_failed",
        Some(&code),
    )
}

/// Tokens that arrived after their connection was deleted are revoked at once, with the client
/// they were issued to (SEC-31).
fn revoke_late(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    snap: &Snapshot,
    tokens: &token::Tokens,
    attempt: &Attempt,
) -> Result<()> {
    // The connection's rows are gone with it: a machine client's own id and secret were read
    // before the request; for a browser connection the app configured now is the one.
    let client = match &attempt.machine_client {
        Some((id, secret)) => Some((
            id.clone(),
            secret
                .as_ref()
                .map(|s| SecretBytes::new(s.expose_secret().to_vec())),
        )),
        None => vault.provider_client(&def.id)?.map(|c| (c.client_id, None)),
    };
    revoke::revoke_orphaned(
        vault,
        conn_id,
        def,
        &snap.vars,
        tokens,
        client,
        attempt.revocation_url.as_deref(),
        snap.is_machine(),
    )
}

fn request_machine_token(
    vault: &Vault,
    def: &ProviderDef,
    endpoints: &Endpoints,
    snap: &Snapshot,
    conn_id: &str,
) -> Result<token::Tokens> {
    let creds = MachineCredentials::from_fields(def, |name| {
        rows::read_field(vault.conn(), conn_id, name).ok().flatten()
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

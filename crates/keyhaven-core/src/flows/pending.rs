//! Pending authorization flows, kept in the vault so that whichever process receives the
//! redirect can finish the flow (docs/design.md, Flows; SEC-2).
//!
//! A flow is consumed by value in one `BEGIN IMMEDIATE` transaction (`DELETE … RETURNING`):
//! of two processes delivering the same callback at once, exactly one gets the flow and makes
//! the token request; the other sees "unknown state". Expired flows are deleted on sight.
//!
//! The outcome is written to `flow_results` under the SHA-256 of the state (never the state), so
//! the process that started the flow can wait for it without holding any secret in that table.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::clock::now;
use crate::error::{Error, Result};
pub(crate) use crate::oauth::request::FlowRequest;
use crate::vault::Vault;

/// How long a flow stays valid (SEC-2: 10 minutes or less).
pub const FLOW_TTL_SECS: i64 = 600;

/// A flow waiting for its redirect.
pub(crate) struct PendingFlow {
    pub state: Zeroizing<String>,
    pub provider_id: String,
    pub redirect_uri: String,
    pub verifier: Zeroizing<String>,
    pub nonce: Option<String>,
    pub issuer: Option<String>,
    pub request: FlowRequest,
    pub expires_at: i64,
}

/// SHA-256 of a state, hex: the key of its result row.
pub fn state_digest(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// Stores a new pending flow.
pub(crate) fn insert(vault: &Vault, flow: &PendingFlow) -> Result<()> {
    let request = serde_json::to_string(&flow.request).expect("flow request serializes");
    vault.conn().execute(
        "INSERT INTO pending_flows (state, provider_id, redirect_uri, pkce_verifier, nonce, issuer,
         request, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            flow.state.as_str(),
            flow.provider_id,
            flow.redirect_uri,
            flow.verifier.as_bytes(),
            flow.nonce,
            flow.issuer,
            request,
            now(),
            flow.expires_at
        ],
    )?;
    Ok(())
}

/// Takes the flow for `state` out of the vault, atomically. Expired flows are deleted too.
pub(crate) fn consume(vault: &mut Vault, state: &str) -> Result<PendingFlow> {
    let tx = vault
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row = tx
        .query_row(
            "DELETE FROM pending_flows WHERE state = ?1
             RETURNING provider_id, redirect_uri, pkce_verifier, nonce, issuer, request, expires_at",
            [state],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    Zeroizing::new(r.get::<_, Vec<u8>>(2)?),
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            },
        )
        .optional()?;
    tx.execute("DELETE FROM pending_flows WHERE expires_at < ?1", [now()])?;
    tx.commit()?;
    let Some((provider_id, redirect_uri, verifier, nonce, issuer, request, expires_at)) = row
    else {
        return Err(Error::UnknownState);
    };
    if expires_at < now() {
        return Err(Error::FlowExpired);
    }
    let request: FlowRequest = serde_json::from_str(&request).map_err(|e| Error::Catalog {
        reason: format!("stored flow unreadable: {e}"),
    })?;
    let verifier =
        Zeroizing::new(String::from_utf8(verifier.to_vec()).map_err(|_| Error::UnknownState)?);
    Ok(PendingFlow {
        state: Zeroizing::new(state.to_string()),
        provider_id,
        redirect_uri,
        verifier,
        nonce,
        issuer,
        request,
        expires_at,
    })
}

/// Records how a flow ended, for the process waiting on it.
pub(crate) fn record_result(
    vault: &Vault,
    state: &str,
    outcome: &Result<String, String>,
) -> Result<()> {
    let (conn_id, error) = match outcome {
        Ok(id) => (Some(id.as_str()), None),
        Err(msg) => (None, Some(msg.as_str())),
    };
    vault.conn().execute(
        "INSERT OR REPLACE INTO flow_results (state_digest, connection_id, error, finished_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![state_digest(state), conn_id, error, now()],
    )?;
    // Results older than a day are of no use to anyone.
    vault.conn().execute(
        "DELETE FROM flow_results WHERE finished_at < ?1",
        [now() - 86_400],
    )?;
    Ok(())
}

/// The outcome of a flow, if it has finished: `Ok(connection id)` or `Err(message)`.
pub fn poll_result(vault: &Vault, digest: &str) -> Result<Option<Result<String, String>>> {
    let row = vault
        .conn()
        .query_row(
            "SELECT connection_id, error FROM flow_results WHERE state_digest = ?1",
            [digest],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(id, err)| match (id, err) {
        (Some(id), _) => Ok(id),
        (None, err) => Err(err.unwrap_or_else(|| "the sign-in failed".into())),
    }))
}

/// Whether the flow is still waiting (not consumed, not expired).
pub fn is_pending(vault: &Vault, state: &str) -> Result<bool> {
    Ok(vault
        .conn()
        .query_row(
            "SELECT 1 FROM pending_flows WHERE state = ?1 AND expires_at >= ?2",
            params![state, now()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Forgets a flow (cancel).
pub(crate) fn cancel(vault: &Vault, state: &str) -> Result<()> {
    vault
        .conn()
        .execute("DELETE FROM pending_flows WHERE state = ?1", [state])?;
    Ok(())
}

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
use zeroize::Zeroizing;

use crate::clock::now;
use crate::error::{Error, Result};
pub(crate) use crate::oauth::request::FlowRequest;
use crate::secret::{FlowState, PkceVerifier};
use crate::vault::Vault;

/// How long a flow stays valid (SEC-2: 10 minutes or less).
pub const FLOW_TTL_SECS: i64 = 600;

/// A flow waiting for its redirect.
pub(crate) struct PendingFlow {
    pub state: FlowState,
    pub provider_id: String,
    pub redirect_uri: String,
    pub verifier: PkceVerifier,
    pub nonce: Option<String>,
    pub issuer: Option<String>,
    pub request: FlowRequest,
    pub expires_at: i64,
}

/// SHA-256 of a state, hex: the key of its result row (a state from a callback URL; a flow's own
/// is [`FlowState::digest`]).
pub fn state_digest(state: &str) -> String {
    FlowState::from_stored(state.to_string()).digest()
}

/// Stores a new pending flow.
pub(crate) fn insert(vault: &Vault, flow: &PendingFlow) -> Result<()> {
    let request = serde_json::to_string(&flow.request).expect("flow request serializes");
    vault.conn().execute(
        "INSERT INTO pending_flows (state, provider_id, redirect_uri, pkce_verifier, nonce, issuer,
         request, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            flow.state.expose(),
            flow.provider_id,
            flow.redirect_uri,
            flow.verifier.stored_bytes(),
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
        PkceVerifier::new(String::from_utf8(verifier.to_vec()).map_err(|_| Error::UnknownState)?);
    Ok(PendingFlow {
        state: FlowState::from_stored(state.to_string()),
        provider_id,
        redirect_uri,
        verifier,
        nonce,
        issuer,
        request,
        expires_at,
    })
}

/// Why a flow ended without a connection: the error's stable code and its message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowFailure {
    /// The code of the error ([`Error::code`]), e.g. `authorization_denied`.
    pub code: String,
    /// The message.
    pub message: String,
}

impl From<&Error> for FlowFailure {
    fn from(e: &Error) -> Self {
        FlowFailure {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

/// Records how a flow ended, for the process waiting on it (filed under the state's digest).
pub(crate) fn record_result(
    vault: &Vault,
    digest: &str,
    outcome: &Result<String, FlowFailure>,
) -> Result<()> {
    let (conn_id, code, error) = match outcome {
        Ok(id) => (Some(id.as_str()), None, None),
        Err(f) => (None, Some(f.code.as_str()), Some(f.message.as_str())),
    };
    vault.conn().execute(
        "INSERT OR REPLACE INTO flow_results (state_digest, connection_id, error, error_code,
           finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![digest, conn_id, error, code, now()],
    )?;
    // Results older than a day are of no use to anyone.
    vault.conn().execute(
        "DELETE FROM flow_results WHERE finished_at < ?1",
        [now() - 86_400],
    )?;
    Ok(())
}

/// The outcome of a flow, if it has finished: `Ok(connection id)` or why it failed.
pub fn poll_result(vault: &Vault, digest: &str) -> Result<Option<Result<String, FlowFailure>>> {
    let row = vault
        .conn()
        .query_row(
            "SELECT connection_id, error, error_code FROM flow_results WHERE state_digest = ?1",
            [digest],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(id, err, code)| match (id, err) {
        (Some(id), _) => Ok(id),
        (None, err) => Err(FlowFailure {
            code: code.unwrap_or_else(|| "flow_failed".into()),
            message: err.unwrap_or_else(|| "the sign-in failed".into()),
        }),
    }))
}

/// Forgets the flows whose state has this digest (cancel, or a wait that ran out); returns
/// how many. Pending flows are few, so each state is hashed here rather than stored twice.
pub(crate) fn cancel(vault: &Vault, digest: &str) -> Result<usize> {
    let states: Vec<FlowState> = {
        let mut stmt = vault.conn().prepare("SELECT state FROM pending_flows")?;
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(FlowState::from_stored)
            .collect()
    };
    let mut n = 0;
    for state in states.iter().filter(|s| s.digest() == digest) {
        n += vault.conn().execute(
            "DELETE FROM pending_flows WHERE state = ?1",
            [state.expose()],
        )?;
    }
    Ok(n)
}

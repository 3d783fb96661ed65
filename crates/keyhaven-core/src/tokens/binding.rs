//! SEC-39 for the token lifecycle: before a hand-out, a refresh or a revocation, what the
//! provider's definition says now is compared with what the connection was issued with
//! ([`crate::issued`]). A difference sends nothing and marks the connection `needs_reauth` with
//! the reason; a part seen for the first time is recorded.

use crate::audit;
use crate::catalog::{AuthMode, ProviderDef};
use crate::connections::ConnectionStatus;
use crate::connections::rows;
use crate::error::{Error, Result};
use crate::issued::{IssuedWith, Partial, origin};
use crate::oauth::endpoints::Endpoints;
use crate::vault::Vault;

use super::snapshot::Snapshot;

/// The `last_error` prefix of a connection refused because its provider changed.
const PROVIDER_CHANGED: &str = "provider_changed";

/// The client id a connection's tokens are renewed and revoked with: the person's OAuth app for
/// a browser connection, the connection's own client for a machine grant; `None` for API keys.
pub(super) fn connection_client_id(
    vault: &Vault,
    def: &ProviderDef,
    snap: &Snapshot,
    conn_id: &str,
) -> Result<Option<String>> {
    Ok(if snap.is_machine() {
        rows::read_text_field(vault.conn(), conn_id, "client_id")?
    } else if snap.auth_mode == AuthMode::Oauth2 {
        vault.provider_client(&def.id)?.map(|c| c.client_id)
    } else {
        None
    })
}

/// What can be said now about the server a connection would talk to (SEC-39): from resolved
/// `endpoints` when the caller has them (refresh, revocation), else from the definition alone,
/// with no network request (a hand-out), leaving out what only discovery would tell.
pub(super) fn current_partial(
    vault: &Vault,
    def: &ProviderDef,
    snap: &Snapshot,
    conn_id: &str,
    endpoints: Option<&Endpoints>,
) -> Result<Partial> {
    let is_oauth = snap.auth_mode.is_oauth();
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
        // As `Endpoints` sees them (the tests' fake takes the place of the real host in debug
        // builds only, and in both branches alike).
        None => (
            resolved
                .token_url
                .clone()
                .map(|u| Some(origin(&crate::catalog::redirect_for_tests(u)))),
            resolved
                .revocation_url
                .clone()
                .map(|u| Some(origin(&crate::catalog::redirect_for_tests(u)))),
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
pub(super) fn verdict(
    conn_id: &str,
    snap: &Snapshot,
    partial: &Partial,
) -> Result<Option<IssuedWith>> {
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
    if snap.auth_mode == AuthMode::Oauth2 {
        format!("`keyhaven connect {}`", snap.provider_id)
    } else {
        format!("`keyhaven credentials add {}`", snap.provider_id)
    }
}

/// The connection must be made again: its status says so, with the reason (SEC-39).
pub(super) fn mark_provider_changed(
    tx: &rusqlite::Transaction<'_>,
    actor: crate::Actor,
    conn_id: &str,
    e: &Error,
) -> Result<()> {
    let Error::ProviderChanged { reason, .. } = e else {
        return Ok(());
    };
    rows::set_status(
        tx,
        conn_id,
        ConnectionStatus::NeedsReauth,
        Some(&format!("{PROVIDER_CHANGED}: {reason}")),
    )?;
    audit::record_on(
        tx,
        actor,
        Some(conn_id),
        "token.refused",
        Some(PROVIDER_CHANGED),
    )
}

/// The error for a connection in `needs_reauth`: the provider's redefinition when that is why
/// (SEC-39), else the refused refresh token.
pub(super) fn needs_reauth(conn_id: &str, snap: &Snapshot) -> Error {
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

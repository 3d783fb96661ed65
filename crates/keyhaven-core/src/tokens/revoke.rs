//! Disconnecting: revoke at the provider (RFC 7009), then delete locally, whatever happened
//! remotely (SEC-31).
//!
//! Order: the refresh token first (it can mint new access tokens), then the access token, each
//! with the client authentication the token endpoint uses. HTTP 200 means revoked. Anything else
//! (no endpoint, an error, a timeout) is reported plainly, with where to revoke by hand, and the
//! local copy is deleted anyway: the person asked for it to be gone from this machine.

use serde::Serialize;
use zeroize::Zeroizing;

use super::{Endpoints, read_field, snapshot};
use crate::audit;
use crate::error::Result;
use crate::flows::token::{ClientAuth, client_post};
use crate::vault::Vault;

/// What `disconnect` did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DisconnectReport {
    /// Connection id.
    pub id: String,
    /// Token kinds revoked at the provider (`refresh_token`, `access_token`).
    pub revoked: Vec<String>,
    /// Token kinds not revoked, with the reason.
    pub not_revoked: Vec<(String, String)>,
    /// Where the person can revoke access by hand, when something was not revoked.
    pub manual_revocation_url: Option<String>,
    /// Whether revocation was skipped on request (`--keep-remote`).
    pub kept_remote: bool,
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
    if !keep_remote {
        let tokens = [
            (
                "refresh_token",
                read_field(vault.conn(), conn_id, "refresh_token")?,
            ),
            (
                "access_token",
                read_field(vault.conn(), conn_id, "access_token")?,
            ),
        ];
        let endpoint = Endpoints::of(&def, &snap.vars, true).map(|e| e.revocation_url);
        let client = vault.provider_client(&def.id)?;
        for (kind, value) in tokens {
            let Some(value) = value else { continue };
            let outcome = match (&endpoint, &client) {
                (Err(e), _) => Err(format!("could not find the revocation endpoint: {e}")),
                (Ok(None), _) => Err(format!("{} has no revocation endpoint", def.name)),
                (_, None) => Err("no OAuth app configured to authenticate the revocation".into()),
                (Ok(Some(url)), Some(client)) => {
                    let auth = ClientAuth {
                        client_id: &client.client_id,
                        client_secret: client.client_secret.as_ref(),
                    };
                    let form = vec![
                        (
                            "token".to_string(),
                            Zeroizing::new(
                                String::from_utf8_lossy(value.expose_secret()).into_owned(),
                            ),
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
                        Ok(r) if r.status == 200 => Ok(()),
                        Ok(r) => {
                            Err(crate::http::status_error("the revocation request", &r).to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            match outcome {
                Ok(()) => {
                    audit::record(vault, Some(conn_id), "token.revoked", Some(kind))?;
                    report.revoked.push(kind.to_string());
                }
                Err(reason) => {
                    audit::record(vault, Some(conn_id), "token.revocation_failed", Some(kind))?;
                    report.not_revoked.push((kind.to_string(), reason));
                }
            }
        }
        if !report.not_revoked.is_empty() {
            report.manual_revocation_url = def.manual_revocation_url.clone();
        }
    }
    let tx = vault.conn_mut().transaction()?;
    tx.execute("DELETE FROM connections WHERE id = ?1", [conn_id])?;
    tx.commit()?;
    audit::record(vault, Some(conn_id), "connection.deleted", None)?;
    Ok(report)
}

//! The overview behind `keyhaven status` (like `gh auth status`): the vault, and for each
//! connection whether it will keep working by itself or needs the person, with what to run.
//!
//! It reads the vault only (no network), so it answers offline and fast. "Needs attention"
//! means something a person must do: sign in again, re-add credentials, configure an OAuth app,
//! fix a provider definition; a token that is merely expired but renews itself does not count.

use serde::Serialize;

use crate::connections::ConnectionSummary;
use crate::error::Result;
use crate::vault::{Vault, VaultStatus};

/// One connection and its health.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionHealth {
    /// The connection.
    #[serde(flatten)]
    pub connection: ConnectionSummary,
    /// `ok`, or `attention` when the person must act.
    pub health: &'static str,
    /// What is wrong, or a note (e.g. "renews at next use").
    pub note: Option<String>,
    /// What to run about it.
    pub remedy: Option<String>,
}

/// Everything `keyhaven status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// The vault.
    pub vault: VaultStatus,
    /// Each connection.
    pub connections: Vec<ConnectionHealth>,
    /// Revocations not yet confirmed by their providers.
    pub pending_revocations: usize,
    /// How many things need the person.
    pub attention: usize,
}

impl Vault {
    /// The overview, offline.
    pub fn overview(&self) -> Result<Overview> {
        let vault = self.status()?;
        let now = crate::clock::now();
        let mut out = Vec::new();
        for c in self.list_connections()? {
            let (moved, retry_after, last_error, auth_mode): (
                Option<i64>,
                Option<i64>,
                Option<String>,
                String,
            ) = self.conn().query_row(
                "SELECT moved_at, retry_after, last_error, auth_mode FROM connections WHERE id = ?1",
                [&c.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let again = if auth_mode == "oauth2" {
                format!("keyhaven connect {}", c.provider)
            } else {
                format!("keyhaven credentials update {}", c.spec())
            };
            let def = self.provider_def(&c.provider);
            let (attention, note, remedy) = match () {
                _ if def.is_err() => (
                    true,
                    Some(format!(
                        "its provider cannot be used: {}",
                        def.as_ref()
                            .err()
                            .map(|e| e.to_string())
                            .unwrap_or_default()
                    )),
                    Some(format!(
                        "keyhaven providers add --id {} --replace ...",
                        c.provider
                    )),
                ),
                _ if c.status == "needs_reauth" => (
                    true,
                    Some(match last_error.as_deref() {
                        Some(e) if e.starts_with("provider_changed") => {
                            "its provider was redefined since it was made".into()
                        }
                        _ => "the provider refused its refresh token".into(),
                    }),
                    Some(again.clone()),
                ),
                _ if moved.is_some() => (
                    false,
                    Some("moved to another vault (exported with --move)".into()),
                    None,
                ),
                _ if c.status == "expired" && !c.renewable && auth_mode == "oauth2" => (
                    true,
                    Some("expired, and it cannot renew itself".into()),
                    Some(again.clone()),
                ),
                _ if auth_mode == "oauth2"
                    && c.renewable
                    && self.provider_client(&c.provider)?.is_none() =>
                {
                    (
                        true,
                        Some("no OAuth app is configured to renew it".into()),
                        Some(format!(
                            "keyhaven providers configure {} --client-id ID",
                            c.provider
                        )),
                    )
                }
                _ if retry_after.is_some_and(|t| t > now) => (
                    false,
                    Some(format!(
                        "its provider failed recently ({}); retried in {} s",
                        last_error.as_deref().unwrap_or("unavailable"),
                        retry_after.unwrap_or(now) - now
                    )),
                    None,
                ),
                _ if c.status == "expired" => {
                    (false, Some("expired; renews at its next use".into()), None)
                }
                _ if !auth_mode.starts_with("oauth2") => {
                    (false, Some("API key: valid until revoked".into()), None)
                }
                _ => (false, None, None),
            };
            out.push(ConnectionHealth {
                connection: c,
                health: if attention { "attention" } else { "ok" },
                note,
                remedy,
            });
        }
        let pending_revocations = crate::tokens::pending_revocations(self)?.len();
        let attention = out.iter().filter(|h| h.health == "attention").count()
            + usize::from(pending_revocations > 0)
            + usize::from(vault.integrity != "ok");
        Ok(Overview {
            vault,
            connections: out,
            pending_revocations,
            attention,
        })
    }
}

//! What is due for a refresh now (the desktop scheduler, `keyhaven refresh --due`): access
//! tokens about to expire, and keep-alives for providers whose refresh tokens die of disuse.

use crate::connections::rows;
use crate::error::Result;
use crate::vault::Vault;

use super::snapshot::effective_margin;

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
    let rows = rows::due_candidates(vault.conn(), at)?;
    let mut out = Vec::new();
    let mut defs = std::collections::BTreeMap::new();
    for rows::DueCandidate {
        id,
        provider_id: provider,
        expires_at,
        updated_at,
        refresh_token_at: rt_updated,
    } in rows
    {
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
    let list = due(vault, crate::clock::now())?;
    let mut out = Vec::with_capacity(list.len());
    for d in list {
        let r = super::refresh::refresh(vault, &d.id);
        out.push((d, r));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now;
    use rusqlite::params;

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
}

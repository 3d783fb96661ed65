//! The hand-out (`keyhaven token`, `env`, `exec`, the desktop's copy): a valid access token,
//! refreshed first when needed, or an API key's secret; checked against what the connection was
//! issued with (SEC-39) and recorded in the audit log. This is the hot path: two cached reads,
//! one small write.

use rusqlite::TransactionBehavior;

use crate::audit;
use crate::catalog::ProviderDef;
use crate::clock::now;
use crate::connections::rows;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::vault::Vault;

use super::binding::{current_partial, mark_provider_changed, needs_reauth, verdict};
use super::snapshot::{self, Margin};

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

/// A currently valid access token for `conn_id`, refreshing first when it is expired or within
/// the margin. Recorded in the audit log as a hand-out.
pub fn access_token(vault: &mut Vault, conn_id: &str, opts: TokenOptions) -> Result<SecretBytes> {
    let snap = snapshot::snapshot(vault.conn(), conn_id)?;
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
        Ok(Some(filled)) => rows::set_issued_with(vault.conn(), conn_id, &filled)?,
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
            None => super::refresh::refresh_inner(vault, conn_id, &def, Some(margin), false)?,
        }
    }
    let token = rows::read_field(vault.conn(), conn_id, "access_token")?
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
    let fields = def.credential_fields();
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
    let value = rows::read_field(vault.conn(), conn_id, &name)?.ok_or_else(|| {
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
    let required: Vec<String> = def
        .credential_fields()
        .into_iter()
        .filter(|f| f.secret && !f.optional)
        .map(|f| f.name)
        .collect();
    match required.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

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
        rows::touch_last_used(&tx, conn_id, now())?;
        audit::record_on(&tx, actor, Some(conn_id), "token.handed_out", field)?;
        Ok(tx.commit()?)
    })();
    vault.conn().execute_batch("PRAGMA synchronous = FULL")?;
    outcome
}

//! The hand-out (`keyhaven token`, `env`, `exec`, the desktop's copy): a valid access token,
//! refreshed first when needed, or an API key's secret; checked against what the connection was
//! issued with (SEC-39) and recorded in the audit log. This is the hot path: two cached reads,
//! one small write.

use rusqlite::TransactionBehavior;

use crate::audit;
use crate::catalog::ProviderDef;
use crate::clock::now;
use crate::connections::{ConnectionStatus, rows};
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
    let ready = prepare(vault, conn_id, opts)?;
    record_hand_out(vault, conn_id, ready.field.as_deref())?;
    Ok(ready.token)
}

/// A token ready to hand out, not yet recorded.
struct Ready {
    token: SecretBytes,
    /// The API-key field handed out (the audit row's detail), `None` for an access token.
    field: Option<String>,
    /// Until when (Unix seconds) it stays fresh by the margin asked; `i64::MAX` for an API key
    /// or a token without expiry.
    fresh_until: i64,
}

fn prepare(vault: &mut Vault, conn_id: &str, opts: TokenOptions) -> Result<Ready> {
    let snap = snapshot::snapshot(vault.conn(), conn_id)?;
    if snap.status == ConnectionStatus::NeedsReauth {
        return Err(needs_reauth(conn_id, &snap));
    }
    let def = vault.provider_def(&snap.provider_id)?;
    if !snap.auth_mode.is_oauth() {
        // An API key has no access token to renew: hand out the key itself, change nothing.
        let (token, field) = static_secret(vault, conn_id, &def, opts.field.as_deref())?;
        return Ok(Ready {
            token,
            field: Some(field),
            fresh_until: i64::MAX,
        });
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
    // Read again: a refresh just now moved the expiry.
    let after = snapshot::snapshot(vault.conn(), conn_id)?;
    Ok(Ready {
        token,
        field: None,
        fresh_until: after.fresh_until(margin),
    })
}

/// A hand-out with what `keyhaven token --json` shows beside the token, read after it (a refresh
/// may just have changed expiry and scopes). What the agent answers, and the CLI prints.
pub struct HandOut {
    /// The token (or API key).
    pub token: SecretBytes,
    /// `Bearer`, `DPoP`..., or `None` for an API key.
    pub token_type: Option<String>,
    /// The connection after the hand-out.
    pub connection: crate::connections::ConnectionSummary,
}

impl std::fmt::Debug for HandOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandOut")
            .field("token", &self.token)
            .field("connection", &self.connection.id)
            .finish_non_exhaustive()
    }
}

impl HandOut {
    /// The agent protocol's token reply (the same fields as `keyhaven token --json`).
    pub fn into_reply(self) -> keyhaven_ipc::wire::TokenReply {
        let c = self.connection;
        keyhaven_ipc::wire::TokenReply {
            token: zeroize::Zeroizing::new(
                String::from_utf8_lossy(self.token.expose_secret()).into_owned(),
            ),
            token_type: self.token_type,
            expires_at: c.expires_at,
            scopes: c.scopes,
            id: c.id.as_str().to_string(),
            provider: c.provider,
            account: c.account,
            username: None,
            fields: Default::default(),
        }
    }
}

/// `keyhaven token CONN`: finds the connection `spec` names, hands out its token
/// ([`access_token`]) and reads what goes with it.
pub fn hand_out(vault: &mut Vault, spec: &str, opts: TokenOptions) -> Result<HandOut> {
    let (out, unrecorded, _) = hand_out_unrecorded(vault, spec, opts)?;
    unrecorded.record(vault)?;
    Ok(out)
}

/// A hand-out not yet in the audit log: the agent replies first and records right after
/// (docs/agent.md, "Answering from memory"), on the same connection before it serves anyone
/// else.
#[must_use = "a hand-out must be recorded"]
pub struct Unrecorded {
    conn_id: String,
    field: Option<String>,
}

impl Unrecorded {
    /// Writes the hand-out's audit row and last-used time.
    pub fn record(self, vault: &mut Vault) -> Result<()> {
        record_hand_out(vault, &self.conn_id, self.field.as_deref())
    }
}

/// [`hand_out`] without the audit row, and until when the answer stays fresh.
fn hand_out_unrecorded(
    vault: &mut Vault,
    spec: &str,
    opts: TokenOptions,
) -> Result<(HandOut, Unrecorded, i64)> {
    let conn = vault.find_connection(spec)?;
    let ready = prepare(vault, &conn.id, opts)?;
    let token = ready.token;
    let connection = vault.find_connection(&conn.id)?;
    let token_type: Option<String> = vault
        .conn()
        .prepare_cached("SELECT token_type FROM connections WHERE id = ?1")?
        .query_row([conn.id.as_str()], |r| r.get(0))?;
    let unrecorded = Unrecorded {
        conn_id: conn.id.as_str().to_string(),
        field: ready.field,
    };
    Ok((
        HandOut {
            token,
            token_type,
            connection,
        },
        unrecorded,
        ready.fresh_until,
    ))
}

/// The agent's memory of its recent answers (docs/agent.md, "Answering from memory"): a
/// hand-out asked again while nothing in the vault changed and the token is still fresh by the
/// margin asked is answered without reading the vault again. Only the audit row (and the
/// last-used time) is written, as for every hand-out.
///
/// "Nothing changed" is SQLite's `PRAGMA data_version`, which moves whenever another
/// connection (a command, the desktop app, the refresh scheduler) commits: a refresh, a
/// redefined provider (SEC-39), a disconnect, a `needs_reauth` all invalidate every entry. The
/// entries hold tokens: they are zeroized when dropped (the agent drops the cache when it
/// locks).
#[derive(Default)]
pub struct HandOutCache {
    entries: std::collections::HashMap<(String, Option<String>, Option<u64>), Cached>,
    /// The tools' resolutions (a host to a connection, `tools::resolve`), under the same rule:
    /// valid while `data_version` has not moved. Query -> (version, answer).
    resolutions: std::collections::HashMap<String, (i64, crate::tools::Resolution)>,
}

struct Cached {
    data_version: i64,
    fresh_until: i64,
    conn_id: String,
    field: Option<String>,
    token: SecretBytes,
    token_type: Option<String>,
    connection: crate::connections::ConnectionSummary,
}

impl std::fmt::Debug for HandOutCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandOutCache")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl HandOutCache {
    /// [`hand_out`], from memory when it can be. The caller records it
    /// ([`Unrecorded::record`]) once the reply is on its way.
    pub fn hand_out(
        &mut self,
        vault: &mut Vault,
        spec: &str,
        opts: TokenOptions,
    ) -> Result<(HandOut, Unrecorded)> {
        let key = (spec.to_string(), opts.field.clone(), opts.margin_secs);
        let version = data_version(vault)?;
        if let Some(hit) = self.entries.get(&key)
            && hit.data_version == version
            && now() < hit.fresh_until
        {
            let out = HandOut {
                token: SecretBytes::new(hit.token.expose_secret().to_vec()),
                token_type: hit.token_type.clone(),
                connection: hit.connection.clone(),
            };
            let unrecorded = Unrecorded {
                conn_id: hit.conn_id.clone(),
                field: hit.field.clone(),
            };
            return Ok((out, unrecorded));
        }
        self.entries.remove(&key);
        let (out, unrecorded, fresh_until) = hand_out_unrecorded(vault, spec, opts)?;
        // The version read before: a commit elsewhere meanwhile makes the next ask read again.
        self.entries.insert(
            key,
            Cached {
                data_version: version,
                fresh_until,
                conn_id: unrecorded.conn_id.clone(),
                field: unrecorded.field.clone(),
                token: SecretBytes::new(out.token.expose_secret().to_vec()),
                token_type: out.token_type.clone(),
                connection: out.connection.clone(),
            },
        );
        Ok((out, unrecorded))
    }

    /// Forgets every answer (zeroizing the tokens).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.resolutions.clear();
    }

    /// A tool query's resolution remembered while nothing in the vault changed.
    pub(crate) fn resolution(
        &mut self,
        vault: &Vault,
        key: &str,
        resolve: impl FnOnce() -> Result<crate::tools::Resolution>,
    ) -> Result<crate::tools::Resolution> {
        let version = data_version(vault)?;
        if let Some((v, r)) = self.resolutions.get(key)
            && *v == version
        {
            return Ok(r.clone());
        }
        let r = resolve()?;
        self.resolutions
            .insert(key.to_string(), (version, r.clone()));
        Ok(r)
    }
}

/// SQLite's count of other connections' commits (`PRAGMA data_version`), read at run time.
fn data_version(vault: &Vault) -> Result<i64> {
    Ok(vault
        .conn()
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// The secret an API-key connection hands out: the field asked for, else the one its provider's
/// tools authenticate with (the live check's token field, or its only required secret).
/// Recorded in the audit log like any hand-out, with the field's name.
fn static_secret(
    vault: &mut Vault,
    conn_id: &str,
    def: &ProviderDef,
    asked: Option<&str>,
) -> Result<(SecretBytes, String)> {
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
    Ok((value, name))
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
    let who = vault.hand_out_context().clone();
    crate::vault::db::keep_wal_on_close(vault.conn());
    set_synchronous(vault.conn(), "NORMAL")?;
    let outcome = (|| -> Result<()> {
        let tx = vault.conn_mut().transaction()?;
        rows::touch_last_used(&tx, conn_id, now())?;
        audit::record_hand_out_on(&tx, actor, conn_id, field, &who)?;
        Ok(tx.commit()?)
    })();
    set_synchronous(vault.conn(), "FULL")?;
    outcome
}

/// `PRAGMA synchronous = MODE`. Not a cached statement: SQLite applies this pragma when it
/// compiles it, so a cached copy would run without effect (it is recompiled each time anyway).
fn set_synchronous(conn: &rusqlite::Connection, mode: &str) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA synchronous = {mode}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand_outs(vault: &Vault) -> usize {
        vault
            .audit_events(None)
            .unwrap()
            .iter()
            .filter(|e| e.action == "token.handed_out")
            .count()
    }

    #[test]
    fn the_agent_answers_from_memory_until_another_connection_commits() {
        let (_tmp, mut vault) = crate::vault::test_vault();
        let id = crate::vault::test_github_connection(&mut vault, "octo", None, "first-token");
        let mut cache = HandOutCache::default();
        let ask = |cache: &mut HandOutCache, vault: &mut Vault| {
            let (out, unrecorded) = cache.hand_out(vault, "github", TokenOptions::default())?;
            unrecorded.record(vault)?;
            Ok::<_, Error>(out)
        };
        let a = ask(&mut cache, &mut vault).unwrap();
        assert_eq!(a.token.expose_secret(), b"first-token");
        assert_eq!(a.token_type.as_deref(), Some("bearer"));
        // From memory: the same answer, and still one audit row per hand-out.
        let b = ask(&mut cache, &mut vault).unwrap();
        assert_eq!(b.token.expose_secret(), b"first-token");
        assert_eq!(b.connection.id.as_str(), id);
        assert_eq!(hand_outs(&vault), 2);
        // Another connection (another process, the app) stores a new token: read again.
        let other = vault.reopen(crate::vault::Actor::Desktop).unwrap();
        rows::upsert_secret(
            other.conn(),
            &id,
            "access_token",
            &SecretBytes::from("second-token".to_string()),
            now(),
        )
        .unwrap();
        let c = ask(&mut cache, &mut vault).unwrap();
        assert_eq!(c.token.expose_secret(), b"second-token");
        assert_eq!(hand_outs(&vault), 3);
        // An error is not remembered, and clearing forgets everything.
        assert!(
            cache
                .hand_out(&mut vault, "nosuch", TokenOptions::default())
                .is_err()
        );
        cache.clear();
        assert!(cache.entries.is_empty());
    }
}

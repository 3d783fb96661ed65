//! Connections: one (provider, account) pair with its tokens or API-key fields.
//!
//! This module owns the rows; the flows (OAuth, API-key verification) produce a
//! [`NewConnection`] and hand it to [`Vault::save_connection`], which upserts by
//! (provider, instance, account), so connecting the same account again updates it in place. The
//! instance is the provider's template variables (a GitLab host, a Microsoft tenant, a check
//! URL): the same account name at two hosts is two connections, never one replacing the other
//! without revocation (SEC-45). Listing reads only non-secret columns: `list` never decrypts a
//! token into memory it does not need.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

pub(crate) mod rows;

use crate::audit::{self, format_time};
use crate::error::Result;
use crate::issued::IssuedWith;
use crate::secret::SecretBytes;
use crate::vault::Vault;

/// A field of a connection: a token or a credential field.
#[derive(Debug)]
pub enum FieldValue {
    /// Secret: stored encrypted with the vault, never listed, revealed only on request.
    Secret(SecretBytes),
    /// Not secret (e.g. a region or a project id).
    Plain(String),
}

/// What a flow produces, for [`Vault::save_connection`].
#[derive(Debug)]
pub struct NewConnection {
    /// Catalog provider id.
    pub provider_id: String,
    /// Account identity (login, email or subject).
    pub account: String,
    /// How it authenticates.
    pub auth_mode: crate::catalog::AuthMode,
    /// Scopes requested.
    pub scopes_requested: Vec<String>,
    /// Scopes granted.
    pub scopes_granted: Vec<String>,
    /// Token type (`Bearer`), if any.
    pub token_type: Option<String>,
    /// Expiry of the access token, Unix seconds.
    pub expires_at: Option<i64>,
    /// Non-secret extra fields of the token response (JSON object).
    pub extra: serde_json::Value,
    /// Named fields.
    pub fields: Vec<(String, FieldValue)>,
    /// The provider's template variables as used (given or defaulted): stored, and the
    /// connection's instance.
    pub vars: BTreeMap<String, String>,
    /// What the tokens were issued with (SEC-39).
    pub issued_with: IssuedWith,
    /// Which of `vars` took their default rather than a value the person gave: their values
    /// are never handed to tools as if chosen (`keyhaven exec`).
    pub defaulted: std::collections::BTreeSet<String>,
}

/// The instance of a connection: its template variables, `name=value` sorted by name, joined by
/// `,` ("" without variables). The same text the schema 3 migration computes in SQL.
pub fn instance_of(vars: &BTreeMap<String, String>) -> String {
    vars.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A connection's status. `Expiring` and `Expired` are derived at read time from the expiry
/// (never stored by a hand-out); `NeedsReauth` is stored when the person must act.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Usable.
    Connected,
    /// The access token expires within [`EXPIRING_SECS`].
    Expiring,
    /// The access token's expiry has passed (a renewable connection renews it at next use).
    Expired,
    /// The person must sign in again (or re-add credentials).
    NeedsReauth,
}

impl ConnectionStatus {
    /// As stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Expiring => "expiring",
            ConnectionStatus::Expired => "expired",
            ConnectionStatus::NeedsReauth => "needs_reauth",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<ConnectionStatus> {
        [
            ConnectionStatus::Connected,
            ConnectionStatus::Expiring,
            ConnectionStatus::Expired,
            ConnectionStatus::NeedsReauth,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection as listed: no secret in it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConnectionSummary {
    /// Connection id.
    pub id: crate::ids::ConnectionId,
    /// Provider id.
    pub provider: String,
    /// Account identity.
    pub account: String,
    /// The provider instance (`host=gitlab.example.com`), "" for providers without variables.
    pub instance: String,
    /// A name the person gave it (`keyhaven rename`), usable in place of the account.
    pub label: Option<String>,
    /// Whether it is its provider's default connection (`keyhaven default`).
    pub default: bool,
    /// connected | expiring | expired | needs_reauth.
    pub status: ConnectionStatus,
    /// Whether it renews its access token by itself (a refresh token, or a machine grant): an
    /// `expired` one that is renewable gets a new token at its next use.
    pub renewable: bool,
    /// RFC 3339 expiry, or null.
    pub expires_at: Option<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
}

impl Vault {
    /// Inserts or updates (same provider and account) a connection; returns its id.
    pub fn save_connection(&mut self, new: NewConnection) -> Result<String> {
        let now = crate::clock::now();
        let actor = self.actor();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let instance = instance_of(&new.vars);
        let existing: Option<String> = tx
            .query_row(
                "SELECT id FROM connections WHERE provider_id = ?1 AND instance = ?2 AND account = ?3",
                params![new.provider_id, instance, new.account],
                |r| r.get(0),
            )
            .optional()?;
        let scopes = serde_json::to_string(&new.scopes_granted).expect("strings serialize");
        let requested = serde_json::to_string(&new.scopes_requested).expect("strings serialize");
        let mut extra = new.extra.clone();
        if !new.vars.is_empty()
            && let serde_json::Value::Object(map) = &mut extra
        {
            map.insert(
                "keyhaven_vars".into(),
                serde_json::to_value(&new.vars).expect("strings serialize"),
            );
            if !new.defaulted.is_empty() {
                map.insert(
                    "keyhaven_defaulted".into(),
                    serde_json::to_value(&new.defaulted).expect("strings serialize"),
                );
            }
        }
        let extra = extra.to_string();
        let issued_with = serde_json::to_string(&new.issued_with).expect("strings serialize");
        let (id, action) = match existing {
            Some(id) => {
                tx.execute(
                    "UPDATE connections SET auth_mode = ?2, scopes_granted = ?3, expires_at = ?4,
                     status = 'connected', last_error = NULL, updated_at = ?5,
                     scopes_requested = ?6, token_type = ?7, extra = ?8, issued_with = ?9,
                     retry_after = NULL, failures = 0, moved_at = NULL WHERE id = ?1",
                    params![
                        id,
                        new.auth_mode,
                        scopes,
                        new.expires_at,
                        now,
                        requested,
                        new.token_type,
                        extra,
                        issued_with
                    ],
                )?;
                tx.execute(
                    "DELETE FROM connection_fields WHERE connection_id = ?1",
                    [&id],
                )?;
                (id, "connection.updated")
            }
            None => {
                let id = new_id()?;
                tx.execute(
                    "INSERT INTO connections (id, provider_id, account, auth_mode, scopes_granted,
                     expires_at, created_at, updated_at, scopes_requested, token_type, extra,
                     instance, issued_with)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        id,
                        new.provider_id,
                        new.account,
                        new.auth_mode,
                        scopes,
                        new.expires_at,
                        now,
                        requested,
                        new.token_type,
                        extra,
                        instance,
                        issued_with
                    ],
                )?;
                (id, "connection.created")
            }
        };
        for (name, value) in &new.fields {
            let (bytes, secret): (&[u8], bool) = match value {
                FieldValue::Secret(s) => (s.expose_secret(), true),
                FieldValue::Plain(p) => (p.as_bytes(), false),
            };
            tx.execute(
                "INSERT INTO connection_fields (connection_id, name, value, is_secret, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, name, bytes, secret, now],
            )?;
        }
        audit::record_on(&tx, actor, Some(&id), action, None)?;
        tx.commit()?;
        Ok(id)
    }

    /// Every connection, without secrets, ordered by provider then account.
    pub fn list_connections(&self) -> Result<Vec<ConnectionSummary>> {
        // Cached: `PROVIDER` and `PROVIDER:ACCOUNT` are resolved through this list on every
        // hand-out (the agent's hot path).
        let mut stmt = self.conn().prepare_cached(&format!(
            "{SUMMARY_SELECT} ORDER BY provider_id, account, instance"
        ))?;
        let rows = stmt
            .query_map([], summary_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.classify(e.into()))?;
        Ok(rows)
    }

    /// One connection by id.
    pub fn connection_summary(&self, id: &str) -> Result<Option<ConnectionSummary>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("{SUMMARY_SELECT} WHERE id = ?1"))?
            .query_row([id], summary_row)
            .optional()?)
    }

    /// Resolves `CONN` (docs/design.md, CLI contract): a connection id; `PROVIDER:NAME`, where
    /// NAME is the account or the label given with `keyhaven rename`; or `PROVIDER` alone, which
    /// names its only connection, or its default one (`keyhaven default`). Provider ids are
    /// matched in any case. When nothing matches, the message offers the closest name; when
    /// several do, it lists them as `provider:account`.
    pub fn find_connection(&self, spec: &str) -> Result<ConnectionSummary> {
        if let Some(c) = self.connection_summary(spec)? {
            return Ok(c);
        }
        let all = self.list_connections()?;
        let named = |c: &ConnectionSummary, name: &str| {
            c.account == name || c.label.as_deref() == Some(name)
        };
        let matches: Vec<&ConnectionSummary> = match spec.split_once(':') {
            Some((p, a)) => all
                .iter()
                .filter(|c| c.provider.eq_ignore_ascii_case(p) && named(c, a))
                .collect(),
            None => all
                .iter()
                .filter(|c| c.provider.eq_ignore_ascii_case(spec))
                .collect(),
        };
        let default: Vec<&&ConnectionSummary> = matches.iter().filter(|c| c.default).collect();
        match (matches.len(), default.as_slice()) {
            (1, _) => Ok(matches[0].clone()),
            (n, [only]) if n > 1 && !spec.contains(':') => Ok((**only).clone()),
            (0, _) => {
                let names: Vec<String> = all
                    .iter()
                    .flat_map(|c| {
                        let mut v = vec![c.provider.clone(), c.spec()];
                        if let Some(l) = &c.label {
                            v.push(format!("{}:{l}", c.provider));
                        }
                        v
                    })
                    .collect();
                Err(crate::error::Error::BadInput(format!(
                    "no connection {spec:?}{}; `keyhaven list` shows them",
                    crate::suggest::hint(spec, names.iter().map(String::as_str))
                )))
            }
            (n, _) => {
                let names: Vec<String> = matches
                    .iter()
                    .map(|c| {
                        if c.instance.is_empty() {
                            format!("{} ({})", c.spec(), c.id)
                        } else {
                            format!("{} at {} ({})", c.spec(), c.instance, c.id)
                        }
                    })
                    .collect();
                let how = if spec.contains(':') {
                    "name one by id".to_string()
                } else {
                    format!(
                        "name one as {spec}:ACCOUNT or by id, or choose one with `keyhaven \
                         default CONN`"
                    )
                };
                Err(crate::error::Error::BadInput(format!(
                    "{spec} has {n} connections: {}; {how}",
                    names.join(", ")
                )))
            }
        }
    }

    /// Makes `conn_id` its provider's default connection: what `PROVIDER` alone names once the
    /// provider has several (`exec --with hetzner` keeps working after a second account).
    pub fn set_default_connection(&mut self, conn_id: &str, on: bool) -> Result<()> {
        let actor = self.actor();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let provider: Option<String> = tx
            .query_row(
                "SELECT provider_id FROM connections WHERE id = ?1",
                [conn_id],
                |r| r.get(0),
            )
            .optional()?;
        let provider = provider.ok_or_else(|| crate::error::Error::NoSuchConnection {
            id: conn_id.to_string(),
        })?;
        if on {
            tx.execute(
                "UPDATE connections SET is_default = (id = ?1) WHERE provider_id = ?2",
                params![conn_id, provider],
            )?;
        } else {
            tx.execute(
                "UPDATE connections SET is_default = 0 WHERE id = ?1",
                [conn_id],
            )?;
        }
        let action = if on {
            "connection.default"
        } else {
            "connection.default_cleared"
        };
        audit::record_on(&tx, actor, Some(conn_id), action, None)?;
        tx.commit()?;
        Ok(())
    }

    /// Gives a connection a name of the person's choosing (`None`: removes it). Unique among its
    /// provider's accounts and labels, so `PROVIDER:NAME` stays unambiguous.
    pub fn rename_connection(&mut self, conn_id: &str, label: Option<&str>) -> Result<()> {
        let bad = |m: String| crate::error::Error::BadInput(m);
        if let Some(l) = label
            && (l.is_empty()
                || l.chars().count() > 64
                || l.contains(':')
                || l.chars().any(|c| c.is_control())
                || l.trim() != l)
        {
            return Err(bad(format!(
                "{l:?} is not a usable name: 1-64 characters, no ':', no control characters \
                 or surrounding spaces"
            )));
        }
        let me = self
            .connection_summary(conn_id)?
            .ok_or_else(|| bad(format!("no connection {conn_id}")))?;
        if let Some(l) = label
            && let Some(other) = self.list_connections()?.into_iter().find(|c| {
                c.id != me.id
                    && c.provider == me.provider
                    && (c.account == l || c.label.as_deref() == Some(l))
            })
        {
            return Err(bad(format!(
                "{}:{l} already names {} ({}); choose another name",
                me.provider, other.account, other.id
            )));
        }
        let actor = self.actor();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE connections SET label = ?2 WHERE id = ?1",
            params![conn_id, label],
        )?;
        audit::record_on(&tx, actor, Some(conn_id), "connection.renamed", label)?;
        tx.commit()?;
        Ok(())
    }

    /// The value of one field, for an explicit reveal or copy by the person (audited as
    /// `connection.revealed` or `connection.copied`, with the field name, never the value).
    pub fn reveal_field(&self, id: &str, name: &str, action: RevealAction) -> Result<SecretBytes> {
        let value: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT value FROM connection_fields WHERE connection_id = ?1 AND name = ?2",
                params![id, name],
                |r| r.get(0),
            )
            .optional()?;
        let value = value.ok_or_else(|| {
            crate::error::Error::BadInput(format!("connection {id} has no field {name}"))
        })?;
        audit::record(self, Some(id), action.audit_action(), Some(name))?;
        Ok(SecretBytes::new(value))
    }

    /// Everything stored about a connection, secrets masked unless `reveal` (which is audited).
    pub fn connection_details(&self, id: &str, reveal: bool) -> Result<ConnectionDetails> {
        let summary = self
            .connection_summary(id)?
            .ok_or_else(|| crate::error::Error::NoSuchConnection { id: id.to_string() })?;
        /// The columns `show` adds to the summary.
        struct Details {
            requested: String,
            token_type: Option<String>,
            extra: String,
            created: i64,
            updated: i64,
            last_error: Option<String>,
        }
        let Details {
            requested,
            token_type,
            extra,
            created,
            updated,
            last_error,
        } = self.conn().query_row(
            "SELECT scopes_requested, token_type, extra, created_at, updated_at, last_error
             FROM connections WHERE id = ?1",
            [id],
            |r| {
                Ok(Details {
                    requested: r.get("scopes_requested")?,
                    token_type: r.get("token_type")?,
                    extra: r.get("extra")?,
                    created: r.get("created_at")?,
                    updated: r.get("updated_at")?,
                    last_error: r.get("last_error")?,
                })
            },
        )?;
        let mut stmt = self.conn().prepare(
            "SELECT name, value, is_secret, updated_at FROM connection_fields WHERE connection_id = ?1 ORDER BY name",
        )?;
        let fields = stmt
            .query_map([id], |r| {
                let value: Vec<u8> = r.get(1)?;
                let secret: bool = r.get(2)?;
                let updated: i64 = r.get(3)?;
                let text = || String::from_utf8_lossy(&value).into_owned();
                let (shown, revealed) = match (secret, reveal) {
                    (false, _) => (Some(text()), None),
                    (true, true) => (None, Some(Revealed(zeroize::Zeroizing::new(text())))),
                    (true, false) => (None, None),
                };
                Ok(FieldInfo {
                    name: r.get(0)?,
                    secret,
                    length: value.len(),
                    value: shown,
                    revealed,
                    updated_at: format_time(updated),
                    age_secs: crate::clock::now() - updated,
                    jwt: crate::inspect::unverified_claims(&value),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if reveal {
            audit::record(self, Some(id), "connection.revealed", None)?;
        }
        Ok(ConnectionDetails {
            summary,
            scopes_requested: serde_json::from_str(&requested).unwrap_or_default(),
            token_type,
            extra: serde_json::from_str(&extra).unwrap_or(serde_json::Value::Null),
            created_at: format_time(created),
            updated_at: format_time(updated),
            has_refresh_token: fields.iter().any(|f| f.name == "refresh_token"),
            fields,
            last_error,
        })
    }
}

/// The last column says whether the connection can renew its access token by itself: a refresh
/// token, or a machine grant (client credentials, password) that simply runs again.
/// A connection moved to another vault (`vault export --move`) renews nothing here.
const SUMMARY_SELECT: &str = "SELECT id, provider_id, account, status, expires_at, scopes_granted,
    instance, label, is_default, moved_at IS NULL AND (auth_mode IN ('oauth2_client_credentials', 'oauth2_password')
    OR EXISTS (SELECT 1 FROM connection_fields f WHERE f.connection_id = connections.id
            AND f.name = 'refresh_token')) FROM connections";

/// A token expiring within this many seconds is listed as `expiring`.
pub const EXPIRING_SECS: i64 = 300;

/// The status shown: the stored one (`needs_reauth`, `expired`) or, for a connected one, derived
/// from the expiry at read time, offline: `expired` once the access token's expiry has passed
/// (whether or not the next hand-out can renew it), `expiring` within [`EXPIRING_SECS`] of it.
fn display_status(stored: ConnectionStatus, expires_at: Option<i64>) -> ConnectionStatus {
    if stored != ConnectionStatus::Connected {
        return stored;
    }
    let now = crate::clock::now();
    match expires_at {
        Some(e) if e <= now => ConnectionStatus::Expired,
        Some(e) if e <= now + EXPIRING_SECS => ConnectionStatus::Expiring,
        _ => stored,
    }
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConnectionSummary> {
    let expires: Option<i64> = r.get(4)?;
    let scopes: String = r.get(5)?;
    Ok(ConnectionSummary {
        id: r.get(0)?,
        provider: r.get(1)?,
        account: r.get(2)?,
        instance: r.get(6)?,
        label: r.get(7)?,
        default: r.get(8)?,
        status: display_status(r.get(3)?, expires),
        renewable: r.get(9)?,
        expires_at: expires.map(format_time),
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
    })
}

impl ConnectionSummary {
    /// `provider:label` when it has a label, else `provider:account`: how a person names it.
    pub fn spec(&self) -> String {
        format!(
            "{}:{}",
            self.provider,
            self.label.as_deref().unwrap_or(&self.account)
        )
    }
}

/// A stored field as shown by `show`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct FieldInfo {
    /// Field name.
    pub name: String,
    /// Whether it is secret.
    pub secret: bool,
    /// Length in bytes.
    pub length: usize,
    /// The value of a plain (non-secret) field. A secret's value is never here: see `revealed`.
    pub value: Option<String>,
    /// A secret's value, when the caller asked to reveal (audited). Its type cannot be
    /// serialized or debug-printed, so no front end can send it anywhere by accident (a Tauri
    /// command returning these details, a log line): writing it out takes an explicit
    /// [`Revealed::expose`].
    #[serde(skip)]
    pub revealed: Option<Revealed>,
    /// Last change.
    pub updated_at: String,
    /// Seconds since the last change (e.g. the refresh token's age).
    pub age_secs: i64,
    /// For a JWT: its header and claims, decoded for display and NOT verified.
    pub jwt: Option<crate::inspect::UnverifiedJwt>,
}

/// A secret value revealed on request. Not `Serialize`, not `Clone`, `Debug` redacted, zeroized
/// on drop.
pub struct Revealed(zeroize::Zeroizing<String>);

impl Revealed {
    /// The value, for the one output the person asked for (`keyhaven show --reveal`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revealed([redacted])")
    }
}

/// Which explicit action reveals one field (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealAction {
    /// Shown on screen (`connection.revealed`).
    Show,
    /// Copied to the clipboard (`connection.copied`).
    Copy,
}

impl RevealAction {
    fn audit_action(self) -> &'static str {
        match self {
            RevealAction::Show => "connection.revealed",
            RevealAction::Copy => "connection.copied",
        }
    }
}

/// What `show` prints.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct ConnectionDetails {
    /// The listed part.
    #[serde(flatten)]
    pub summary: ConnectionSummary,
    /// Scopes requested.
    pub scopes_requested: Vec<String>,
    /// Token type.
    pub token_type: Option<String>,
    /// Non-secret extra fields of the token response.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub extra: serde_json::Value,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Stored fields.
    pub fields: Vec<FieldInfo>,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// The last refresh or flow error, if any.
    pub last_error: Option<String>,
}

pub(crate) fn new_id() -> Result<String> {
    crate::ids::ConnectionId::generate().map(String::from)
}

//! Credentials where the tools look for them (docs/tools.md): the answers behind
//! `keyhaven git-credential`, `aws credential-process`, `kube credential`,
//! `docker-credential`, `terraform-credentials` and the cargo credential provider, and
//! `keyhaven setup TOOL`, which points a tool's own configuration at them.
//!
//! The protocols themselves (parsing a tool's request, printing its answer) live in the
//! `keyhaven-helpers` crate, which the thin front binary links too; this module is what needs
//! the vault:
//! - [`resolve`]: which connection answers a tool's query. A binding made by `setup` first
//!   (the `tool_bindings` table), then the catalog's `[tools]` data (github.com is the GitHub
//!   connection's), so a connection made once just works;
//! - [`answer`]: the hand-out itself, through the same path as `keyhaven token` (refresh exactly
//!   once across processes, SEC-39, audited with the tool's name);
//! - [`erase`]: git's "that token got a 401", which marks the token stale (never deletes it);
//! - [`setup`]: the tools' configuration files.

pub mod aws_server;
pub mod setup;

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use keyhaven_ipc::wire::{TokenReply, ToolQuery};

use crate::clock::now;
use crate::connections::{ConnectionSummary, rows};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::tokens::{HandOutCache, TokenOptions, Unrecorded};
use crate::vault::Vault;

/// The tools Keyhaven speaks to, by the name the audit log and `keyhaven setup` use.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// git's credential helper.
    Git,
    /// AWS `credential_process`.
    Aws,
    /// kubectl's exec credential plugin.
    Kubectl,
    /// docker / podman / skopeo credential helper.
    Docker,
    /// Terraform / OpenTofu credentials helper.
    Terraform,
    /// cargo's credential provider.
    Cargo,
    /// An MCP client, through `keyhaven mcp-proxy` (docs/mcp.md).
    Mcp,
}

impl Tool {
    /// Every tool the desktop's Tools section sets up, in its order (MCP clients have their
    /// own box: a client and a snippet, `mcp::McpClient`).
    pub const ALL: [Tool; 6] = [
        Tool::Git,
        Tool::Aws,
        Tool::Kubectl,
        Tool::Docker,
        Tool::Terraform,
        Tool::Cargo,
    ];

    /// The name in the audit log and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Git => "git",
            Tool::Aws => "aws",
            Tool::Kubectl => "kubectl",
            Tool::Docker => "docker",
            Tool::Terraform => "terraform",
            Tool::Cargo => "cargo",
            Tool::Mcp => "mcp",
        }
    }

    /// The tool named `s` (`kube` is accepted for kubectl, as in `keyhaven setup kube`).
    pub fn parse(s: &str) -> Result<Tool> {
        Ok(match s {
            "git" => Tool::Git,
            "aws" => Tool::Aws,
            "kubectl" | "kube" => Tool::Kubectl,
            "docker" => Tool::Docker,
            "terraform" => Tool::Terraform,
            "cargo" => Tool::Cargo,
            "mcp" => Tool::Mcp,
            other => {
                return Err(Error::BadInput(format!(
                    "unknown tool {other:?}: one of git, aws, kube, docker, terraform, cargo, mcp"
                )));
            }
        })
    }

    /// What a binding's target is for this tool, for messages.
    pub fn target_noun(self) -> &'static str {
        match self {
            Tool::Git | Tool::Terraform => "host",
            Tool::Aws => "profile",
            Tool::Kubectl => "context",
            Tool::Docker => "registry",
            Tool::Cargo => "registry",
            Tool::Mcp => "client/server name",
        }
    }
}

/// A tool set up to take its credentials from a connection (`keyhaven setup`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    /// The tool.
    pub tool: Tool,
    /// Host, profile, context or registry (see [`Tool::target_noun`]).
    pub target: String,
    /// The connection it takes credentials from.
    pub connection_id: String,
    /// The configuration file that was changed.
    pub config: Option<String>,
    /// When it was set up (RFC 3339).
    pub created_at: String,
    /// What `--remove` restores (internal: previous values, whether a section existed).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub undo: serde_json::Value,
}

/// Every binding, or a connection's.
pub fn bindings(vault: &Vault, connection_id: Option<&str>) -> Result<Vec<Binding>> {
    let mut stmt = vault.conn().prepare_cached(
        "SELECT tool, target, connection_id, config, undo, created_at FROM tool_bindings
         WHERE ?1 IS NULL OR connection_id = ?1 ORDER BY tool, target",
    )?;
    let rows = stmt.query_map([connection_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = vec![];
    for row in rows {
        let (tool, target, connection_id, config, undo, created_at) = row?;
        // A tool this build does not know (a newer Keyhaven wrote it): not ours to show.
        let Ok(tool) = Tool::parse(&tool) else {
            continue;
        };
        out.push(Binding {
            tool,
            target,
            connection_id,
            config,
            created_at: crate::audit::format_time(created_at),
            undo: serde_json::from_str(&undo).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok(out)
}

/// The binding of `tool` for `target`, if any.
pub fn binding(vault: &Vault, tool: Tool, target: &str) -> Result<Option<Binding>> {
    Ok(bindings(vault, None)?
        .into_iter()
        .find(|b| b.tool == tool && b.target == target))
}

fn bound_connection(vault: &Vault, tool: Tool, target: &str) -> Result<Option<String>> {
    Ok(vault
        .conn()
        .prepare_cached("SELECT connection_id FROM tool_bindings WHERE tool = ?1 AND target = ?2")?
        .query_row(params![tool.as_str(), target], |r| r.get(0))
        .optional()?)
}

/// Writes (or replaces) a binding, audited.
pub(crate) fn save_binding(vault: &mut Vault, b: &Binding) -> Result<()> {
    let actor = vault.actor();
    let tx = vault.conn_mut().transaction()?;
    tx.execute(
        "INSERT INTO tool_bindings (tool, target, connection_id, config, undo, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tool, target) DO UPDATE SET connection_id = excluded.connection_id,
             config = excluded.config, undo = excluded.undo",
        params![
            b.tool.as_str(),
            b.target,
            b.connection_id,
            b.config,
            b.undo.to_string(),
            now()
        ],
    )?;
    let detail = format!("{} {}", b.tool.as_str(), b.target);
    crate::audit::record_on(
        &tx,
        actor,
        Some(&b.connection_id),
        "tool.set_up",
        Some(&detail),
    )?;
    tx.commit()?;
    Ok(())
}

/// Deletes a binding, audited.
pub(crate) fn delete_binding(vault: &mut Vault, b: &Binding) -> Result<()> {
    let actor = vault.actor();
    let tx = vault.conn_mut().transaction()?;
    tx.execute(
        "DELETE FROM tool_bindings WHERE tool = ?1 AND target = ?2",
        params![b.tool.as_str(), b.target],
    )?;
    let detail = format!("{} {}", b.tool.as_str(), b.target);
    crate::audit::record_on(
        &tx,
        actor,
        Some(&b.connection_id),
        "tool.removed",
        Some(&detail),
    )?;
    tx.commit()?;
    Ok(())
}

/// Whether `s` is a host name or IPv4 address with an optional `:port` (what git sends as
/// `host`, what a registry is named by). No scheme, no path, no user.
pub fn is_host(s: &str) -> bool {
    let (name, port) = match s.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (s, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    port_ok && name_ok
}

/// A host as tools name it, checked and lowercased: `HOST[:PORT]`, or a URL
/// (`https://ghcr.io/v2/`, `https://index.docker.io/v1/`) whose host is taken.
pub fn normalize_host(raw: &str) -> Result<String> {
    let raw = raw.trim();
    let host = if raw.contains("://") {
        let url = url::Url::parse(raw)
            .map_err(|e| Error::BadInput(format!("{raw:?} is not a URL or host: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::BadInput(format!("{raw:?} names no host")))?;
        match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    } else {
        raw.trim_end_matches('/').to_string()
    };
    let host = host.to_ascii_lowercase();
    if !is_host(&host) {
        return Err(Error::BadInput(format!(
            "{raw:?} is not a host (HOST or HOST:PORT, e.g. github.com)"
        )));
    }
    Ok(host)
}

/// Whether a host is this machine (plain http is acceptable only there).
pub fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
    name == "localhost"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The connection a tool's query names, and the username to send beside its token.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The connection.
    pub connection: ConnectionSummary,
    /// The username the host expects (git, docker), from the catalog, else `oauth2`.
    pub username: String,
}

/// Which connection answers `q` (docs/tools.md, "Which connection"): `q.conn` for aws and
/// kubectl; for a host, the binding `keyhaven setup` made, else the connections whose
/// provider's `[tools]` lists the host (one, or the provider's default among several, or the
/// one whose account is the username git already has). [`Error::NotForTool`] when none does.
pub fn resolve(vault: &Vault, q: &ToolQuery) -> Result<Resolved> {
    let tool = Tool::parse(&q.tool)?;
    let not_found = |target: &str| Error::NotForTool {
        tool: tool.as_str().into(),
        target: target.into(),
    };
    if let Some(spec) = &q.conn {
        let connection = vault.find_connection(spec)?;
        let username = username_for(vault, tool, &connection)?;
        return Ok(Resolved {
            connection,
            username,
        });
    }
    let raw = q
        .host
        .as_deref()
        .ok_or_else(|| Error::BadInput(format!("{}: no host in the request", tool.as_str())))?;
    let host = match tool {
        // A cargo registry is named by its name in cargo's config, not a host.
        Tool::Cargo => raw.to_string(),
        _ => normalize_host(raw)?,
    };
    if tool == Tool::Git {
        match q.protocol.as_deref() {
            Some("https") | None => {}
            Some("http") if is_loopback(&host) => {}
            Some("http") => return Err(Error::InsecureTransport { host }),
            Some(_) => return Err(not_found(&host)),
        }
    }
    if let Some(id) = bound_connection(vault, tool, &host)? {
        let connection = vault.find_connection(&id)?;
        let username = username_for(vault, tool, &connection)?;
        return Ok(Resolved {
            connection,
            username,
        });
    }
    let mut candidates = vec![];
    if matches!(tool, Tool::Git | Tool::Docker) {
        for c in vault.list_connections()? {
            let Ok(def) = vault.provider_def(&c.provider) else {
                continue;
            };
            let section = if tool == Tool::Git {
                &def.tools.git
            } else {
                &def.tools.docker
            };
            if section.is_none() {
                continue;
            }
            let vars = connection_vars(vault, c.id.as_str())?;
            if def.tool_hosts(section, &vars).contains(&host) {
                let username = section
                    .as_ref()
                    .map(|s| s.username.clone())
                    .unwrap_or_default();
                candidates.push((c, username));
            }
        }
    }
    if let Some(user) = q.username.as_deref()
        && let Some(i) = candidates
            .iter()
            .position(|(c, _)| c.account == user || c.label.as_deref() == Some(user))
    {
        let (connection, username) = candidates.swap_remove(i);
        return Ok(Resolved {
            connection,
            username,
        });
    }
    match candidates.len() {
        0 => Err(not_found(&host)),
        1 => {
            let (connection, username) = candidates.pop().expect("one");
            Ok(Resolved {
                connection,
                username,
            })
        }
        _ => {
            if let Some(i) = candidates.iter().position(|(c, _)| c.default) {
                let (connection, username) = candidates.swap_remove(i);
                return Ok(Resolved {
                    connection,
                    username,
                });
            }
            let ids: Vec<&str> = candidates.iter().map(|(c, _)| c.id.as_str()).collect();
            Err(Error::BadInput(format!(
                "several connections serve {host} ({}): choose one with `keyhaven setup {} CONN \
                 --host {host}` or `keyhaven default CONN`",
                ids.join(", "),
                tool.as_str()
            )))
        }
    }
}

/// Every host (or registry, profile...) Keyhaven answers `tool` for, with the username it
/// sends: the bindings `setup` made, then the catalog's hosts of every connection (docker's
/// `list`, `keyhaven setup list`).
pub fn served_hosts(vault: &Vault, tool: Tool) -> Result<Vec<(String, String)>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for b in bindings(vault, None)?
        .into_iter()
        .filter(|b| b.tool == tool)
    {
        if let Ok(c) = vault.find_connection(&b.connection_id) {
            out.insert(b.target, username_for(vault, tool, &c)?);
        }
    }
    if matches!(tool, Tool::Git | Tool::Docker) {
        for c in vault.list_connections()? {
            let Ok(def) = vault.provider_def(&c.provider) else {
                continue;
            };
            let section = if tool == Tool::Git {
                &def.tools.git
            } else {
                &def.tools.docker
            };
            let Some(s) = section else { continue };
            let vars = connection_vars(vault, c.id.as_str())?;
            for h in def.tool_hosts(section, &vars) {
                out.entry(h).or_insert_with(|| s.username.clone());
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The username a tool sends with this connection's token: its provider's `[tools]` entry,
/// else `oauth2` (what OAuth-accepting git hosts and registries take).
fn username_for(vault: &Vault, tool: Tool, c: &ConnectionSummary) -> Result<String> {
    let def = vault.provider_def(&c.provider)?;
    let section = match tool {
        Tool::Docker => def.tools.docker.as_ref().or(def.tools.git.as_ref()),
        _ => def.tools.git.as_ref().or(def.tools.docker.as_ref()),
    };
    Ok(section.map_or_else(|| "oauth2".to_string(), |s| s.username.clone()))
}

fn connection_vars(vault: &Vault, id: &str) -> Result<BTreeMap<String, String>> {
    let extra: String = vault
        .conn()
        .prepare_cached("SELECT extra FROM connections WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(rows::vars_of(&extra))
}

/// The hand-out for a tool, not yet recorded: the agent replies first, then records
/// ([`Unrecorded::record`]). With a cache (the agent's), answered from memory when nothing
/// changed. The vault's hand-out context should name the tool.
pub fn answer(
    vault: &mut Vault,
    cache: &mut HandOutCache,
    q: &ToolQuery,
) -> Result<(TokenReply, Unrecorded)> {
    let tool = Tool::parse(&q.tool)?;
    // What a query resolves to changes only with the vault: remembered like the hand-out.
    let key = serde_json::to_string(&(&q.tool, &q.conn, &q.host, &q.protocol, &q.username))
        .expect("strings serialize");
    let Resolution {
        connection_id: id,
        username,
        aws,
    } = cache.resolution(vault, &key, || resolution(vault, tool, q))?;
    let mut opts = TokenOptions {
        margin_secs: q.margin,
        field: None,
    };
    let mut extra = vec![];
    if let Some(aws) = aws {
        opts.field = Some(aws.secret_access_key.clone());
        extra.push(("access_key_id", Some(aws.access_key_id)));
        extra.push(("session_token", aws.session_token));
    }
    let (out, unrecorded) = cache.hand_out(vault, &id, opts)?;
    let mut reply = out.into_reply();
    reply.username = Some(username);
    for (name, field) in extra {
        let Some(field) = field else { continue };
        if let Some(value) = rows::read_field(vault.conn(), &id, &field)? {
            reply.fields.insert(name.to_string(), text_of(&value));
        }
    }
    if tool == Tool::Mcp {
        // Where `keyhaven mcp-proxy` forwards: the server the token is for, and no other.
        let endpoint = crate::mcp::endpoint(vault, &id)?;
        reply
            .fields
            .insert("endpoint".into(), Zeroizing::new(endpoint.url.to_string()));
    }
    if tool == Tool::Aws && !reply.fields.contains_key("access_key_id") {
        return Err(Error::BadInput(format!(
            "{id} has no access key id stored: `keyhaven credentials add` it again"
        )));
    }
    Ok((reply, unrecorded))
}

/// What a tool query resolves to, as [`answer`] needs it (kept by the agent's cache).
#[derive(Debug, Clone)]
pub struct Resolution {
    connection_id: String,
    username: String,
    /// aws: the fields of the key pair.
    aws: Option<crate::catalog::AwsTool>,
}

fn resolution(vault: &Vault, tool: Tool, q: &ToolQuery) -> Result<Resolution> {
    let resolved = resolve(vault, q)?;
    let id = resolved.connection.id.as_str().to_string();
    // A token bound to one resource (RFC 8707, `keyhaven connect URL`) goes to no other host.
    if let Some(host) = q.host.as_deref().filter(|_| tool != Tool::Cargo)
        && let Some(resource) = vault
            .provider_def(&resolved.connection.provider)?
            .authorization_params
            .get("resource")
    {
        let bound = url::Url::parse(resource)
            .ok()
            .and_then(|u| normalize_host(&u.origin().ascii_serialization()).ok());
        if bound.as_deref() != normalize_host(host).ok().as_deref() {
            return Err(Error::BadInput(format!(
                "{id}'s tokens are for {resource} only: not handed out for {host}"
            )));
        }
    }
    let aws = if tool == Tool::Aws {
        let def = vault.provider_def(&resolved.connection.provider)?;
        Some(def.tools.aws.clone().ok_or_else(|| {
            Error::BadInput(format!(
                "{id} is a {} connection: it holds no AWS access key (connect `aws`, or an \
                 S3-compatible provider such as scaleway or exoscale)",
                def.name
            ))
        })?)
    } else {
        None
    };
    Ok(Resolution {
        connection_id: id,
        username: resolved.username,
        aws,
    })
}

/// [`answer`] on the direct path: one hand-out, recorded before it is returned.
pub fn answer_now(vault: &mut Vault, q: &ToolQuery) -> Result<TokenReply> {
    let mut cache = HandOutCache::default();
    let (reply, unrecorded) = answer(vault, &mut cache, q)?;
    unrecorded.record(vault)?;
    Ok(reply)
}

fn text_of(secret: &SecretBytes) -> Zeroizing<String> {
    Zeroizing::new(String::from_utf8_lossy(secret.expose_secret()).into_owned())
}

/// What [`erase`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    /// The refused token was the stored one: it is now stale, the next hand-out refreshes.
    MarkedStale,
    /// The refused token is not the stored one any more (already refreshed): nothing to do.
    AlreadyReplaced,
    /// The connection cannot renew its token (no refresh token): nothing Keyhaven can do; the
    /// token is kept (the person may reconnect).
    NotRenewable,
}

/// git's `erase`: the tool was refused with `presented`. When that is still the stored access
/// token of a renewable connection, its expiry moves to now, so every reader (other processes,
/// the agent) sees it expired and the next hand-out refreshes it, once, through the usual
/// single flight. Never deletes a token or the connection. A second erase with the same token
/// finds a new one stored and changes nothing: erases cannot cause a refresh storm.
pub fn erase(vault: &mut Vault, q: &ToolQuery, presented: &str) -> Result<Erased> {
    let resolved = resolve(vault, q)?;
    let c = &resolved.connection;
    if !c.renewable {
        return Ok(Erased::NotRenewable);
    }
    let id = c.id.as_str();
    let actor = vault.actor();
    let who = vault.hand_out_context().clone();
    let tx = vault
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let stored = rows::read_field(&tx, id, "access_token")?;
    // Compared by digest: no early exit on the first differing byte of the secret.
    let same = stored
        .is_some_and(|s| Sha256::digest(s.expose_secret()) == Sha256::digest(presented.as_bytes()));
    if !same {
        return Ok(Erased::AlreadyReplaced);
    }
    let t = now();
    tx.execute(
        "UPDATE connections SET expires_at = MIN(COALESCE(expires_at, ?2), ?2) WHERE id = ?1",
        params![id, t],
    )?;
    let detail = who.tool.as_deref().unwrap_or("tool").to_string();
    crate::audit::record_on(
        &tx,
        actor,
        Some(id),
        "token.marked_stale",
        Some(&format!("{detail} was refused with it")),
    )?;
    tx.commit()?;
    Ok(Erased::MarkedStale)
}

/// One hand-out of a connection's credential to a tool, as the audit log has it (no secret).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandOut {
    /// When (RFC 3339).
    pub at: String,
    /// The asking process's pid.
    pub pid: Option<i64>,
    /// Its executable.
    pub program: Option<String>,
    /// Its parent's executable (the tool behind a helper).
    pub parent_program: Option<String>,
}

/// The last `limit` hand-outs of `connection_id`'s credentials to `tool`, newest first (the
/// desktop's Tools section): the audit log's `token.handed_out` rows recorded with the tool.
pub fn last_hand_outs(
    vault: &Vault,
    connection_id: &str,
    tool: Tool,
    limit: usize,
) -> Result<Vec<HandOut>> {
    let mut stmt = vault.conn().prepare_cached(
        "SELECT at, pid, program, parent_program FROM audit_events
         WHERE connection_id = ?1 AND action = 'token.handed_out' AND tool = ?2
         ORDER BY id DESC LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![connection_id, tool.as_str(), limit], |r| {
        Ok(HandOut {
            at: crate::audit::format_time(r.get(0)?),
            pid: r.get(1)?,
            program: r.get(2)?,
            parent_program: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests;

//! `keyhaven audit [--json] [--connection CONN] [--limit N] [--since WHEN] [--tool TOOL]`: who did what, when;
//! never a secret. Newest first, like `git log`: the question is usually "what just happened".

use keyhaven_core::Error;
use keyhaven_core::audit::AuditQuery;

use super::{Ctx, print_json};
use crate::error::CliResult;

/// Arguments of `keyhaven audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events of this connection (id, PROVIDER or PROVIDER:ACCOUNT; ids of deleted
    /// connections work too).
    #[arg(long)]
    connection: Option<String>,
    /// Show at most N events (the newest).
    #[arg(long, short = 'n', value_name = "N")]
    limit: Option<usize>,
    /// Only events since WHEN: a time (2026-12-01T10:00:00Z, 2026-12-01) or an age (30m, 2h, 7d).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only hand-outs to this tool: git, aws, kubectl, docker, terraform, cargo, token, env...
    #[arg(long, value_name = "TOOL")]
    tool: Option<String>,
    /// Print JSON (newest first, like the text).
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven audit`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let vault = ctx.open_vault()?;
    // A deleted connection's id is still a valid filter: audit rows outlive connections.
    let id = args
        .connection
        .as_ref()
        .map(|spec| match vault.find_connection(spec) {
            Ok(c) => c.id.to_string(),
            Err(_) => spec.clone(),
        });
    let events = vault.audit_query(&AuditQuery {
        connection_id: id.as_deref(),
        since,
        limit: args.limit,
        tool: args.tool.as_deref(),
    })?;
    if args.json {
        return print_json(&events);
    }
    if events.is_empty() {
        outln!("No audit events.")?;
        return Ok(());
    }
    let who = |e: &keyhaven_core::audit::AuditEvent| {
        e.subject
            .clone()
            .or_else(|| e.connection_id.clone())
            .unwrap_or_else(|| "-".into())
    };
    let w_action = events
        .iter()
        .map(|e| e.action.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let w_who = events
        .iter()
        .map(|e| who(e).len())
        .max()
        .unwrap_or(4)
        .max(4);
    outln!(
        "{:20}  {:7}  {:w_action$}  {:w_who$}  DETAIL",
        "TIME",
        "ACTOR",
        "ACTION",
        "WHO"
    )?;
    for e in &events {
        outln!(
            "{:20}  {:7}  {:w_action$}  {:w_who$}  {}",
            e.at,
            e.actor,
            e.action,
            who(e),
            e.detail.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// `--since`: an RFC 3339 time, a date (midnight UTC), or an age such as `90s`, `30m`, `2h`, `7d`.
fn parse_since(text: &str) -> Result<i64, Error> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let bad = || {
        Error::BadInput(format!(
            "--since {text:?}: give a time (2026-12-01T10:00:00Z), a date (2026-12-01) or an age \
             (30m, 2h, 7d)"
        ))
    };
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    if let Ok(t) = OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        "w" => n * 7 * 86_400,
        _ => return Err(bad()),
    };
    Ok(OffsetDateTime::now_utc().unix_timestamp() - secs)
}

//! `keyhaven token CONN`, `keyhaven refresh CONN`, `keyhaven disconnect CONN`: the token
//! lifecycle over keyhaven-core's `tokens` (refresh exactly once across processes, revocation).

use keyhaven_core::tokens::{self, TokenOptions};
use keyhaven_core::vault::HandOutContext;

use super::{Ctx, print_json};
use crate::error::{CliError, CliResult};

/// Arguments of `keyhaven token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// Connection: its id, PROVIDER (when it has one connection) or PROVIDER:ACCOUNT.
    conn: String,
    /// Refresh first when the token expires within SECS, exactly (a margin longer than the
    /// token lives refreshes on every call). Default: the provider's margin, usually 60 s, at
    /// most half the token's lifetime.
    #[arg(long, value_name = "SECS")]
    margin: Option<u64>,
    /// For an API-key connection with several secret fields: which one to print.
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    /// Print {token, token_type, expires_at, scopes, id, provider, account} as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `keyhaven refresh`.
#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
    #[arg(required_unless_present = "due", conflicts_with = "due")]
    conn: Option<String>,
    /// Refresh every connection that is due: expiring, or idle long enough that its provider
    /// would let the refresh token die (keep-alive). For a timer (cron, systemd) when the desktop
    /// app is not running.
    #[arg(long)]
    due: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `keyhaven disconnect`.
#[derive(Debug, clap::Args)]
pub struct DisconnectArgs {
    /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
    conn: String,
    /// Delete locally without revoking at the provider.
    #[arg(long)]
    keep_remote: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Prints a valid access token, alone, on stdout: from the agent when one serves this vault
/// (unless the front binary already asked it), else from the vault directly, after which an
/// agent is started for the next time (keychain vaults; docs/agent.md, "Who starts it").
pub fn token(ctx: &Ctx, args: TokenArgs) -> CliResult {
    if !super::agent_tried() {
        match keyhaven_ipc::handout::ask_token(
            &args.conn,
            args.margin,
            args.field.as_deref(),
            "token",
        ) {
            Ok(Ok(reply)) => return Ok(keyhaven_ipc::handout::print_token(&reply, args.json)?),
            Ok(Err(failure)) => return Err(CliError::Agent(failure)),
            Err(unusable) => tracing::debug!(%unusable, "direct path"),
        }
    }
    keyhaven_core::vault::set_process_lifetime(keyhaven_core::vault::ProcessLifetime::Short);
    let mut vault = ctx.open_vault()?;
    vault.set_hand_out_context(HandOutContext {
        requester: keyhaven_ipc::peer::Requester::this_process(),
        tool: Some("token".into()),
    });
    let out = tokens::hand_out(
        &mut vault,
        &args.conn,
        TokenOptions {
            margin_secs: args.margin,
            field: args.field,
        },
    )?;
    let keychain = !vault.uses_passphrase();
    drop(vault);
    keyhaven_ipc::handout::print_token(&out.into_reply(), args.json)?;
    if keychain && let Ok(exe) = std::env::current_exe() {
        let dir = keyhaven_core::DataDir::from_env()?;
        keyhaven_core::agent::start::on_demand(&exe, &keyhaven_ipc::paths::socket_path(), &dir);
    }
    Ok(())
}

/// Forces a refresh.
pub fn refresh(ctx: &Ctx, args: RefreshArgs) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let Some(spec) = args.conn else {
        return refresh_due(&mut vault, args.json);
    };
    let conn = vault.find_connection(&spec)?;
    tokens::refresh(&mut vault, &conn.id)?;
    let after = vault.find_connection(&conn.id)?;
    if args.json {
        return print_json(&after);
    }
    outln!(
        "Refreshed {} ({}:{}); expires {}.",
        after.id,
        after.provider,
        after.account,
        after.expires_at.as_deref().unwrap_or("never")
    )?;
    Ok(())
}

/// `refresh --due`: every due connection; exit 1 when any failed (each failure on stderr).
fn refresh_due(vault: &mut keyhaven_core::Vault, json: bool) -> CliResult {
    #[derive(serde::Serialize)]
    struct Row {
        #[serde(flatten)]
        due: tokens::Due,
        ok: bool,
        error: Option<String>,
    }
    let results = tokens::refresh_due(vault)?;
    let mut failed = 0;
    let rows: Vec<Row> = results
        .into_iter()
        .map(|(due, r)| {
            if r.is_err() {
                failed += 1;
            }
            Row {
                due,
                ok: r.is_ok(),
                error: r.err().map(|e| e.to_string()),
            }
        })
        .collect();
    if json {
        print_json(&rows)?;
    } else {
        for r in &rows {
            match &r.error {
                None => outln!("refreshed {} ({})", r.due.id, r.due.reason.as_str())?,
                Some(e) => eprintln!("keyhaven: {} not refreshed: {e}", r.due.id),
            }
        }
        if rows.is_empty() {
            outln!("Nothing is due.")?;
        }
    }
    if failed > 0 {
        return Err(keyhaven_core::Error::Http {
            what: "refresh --due".into(),
            kind: keyhaven_core::HttpFailure::Local,
            reason: format!("{failed} of {} connections failed", rows.len()),
        }
        .into());
    }
    Ok(())
}

/// Revokes and deletes a connection.
pub fn disconnect(ctx: &Ctx, args: DisconnectArgs) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let conn = vault.find_connection(&args.conn)?;
    let report = tokens::disconnect(&mut vault, &conn.id, args.keep_remote)?;
    if args.json {
        return print_json(&report);
    }
    if report.key_stays_valid {
        eprintln!(
            "The credentials themselves stay valid at {}: deleting them here does not revoke \
             them. Revoke them at {}.",
            conn.provider,
            report
                .manual_revocation_url
                .as_deref()
                .unwrap_or("the provider's console")
        );
    }
    if report.kept_remote {
        eprintln!("Not revoked at {} (--keep-remote).", conn.provider);
    }
    if !report.revoked.is_empty() {
        eprintln!(
            "Revoked at {}: {}.",
            conn.provider,
            report.revoked.join(", ")
        );
    }
    for (kind, reason) in &report.not_revoked {
        eprintln!("NOT revoked at {}: {kind} ({reason}).", conn.provider);
    }
    if !report.retry_pending.is_empty() {
        eprintln!(
            "Keyhaven keeps retrying the revocation of {} (`keyhaven revocations` shows it).",
            report.retry_pending.join(", ")
        );
    }
    if !report.not_revoked.is_empty() && !report.key_stays_valid {
        match &report.manual_revocation_url {
            Some(url) => eprintln!("Revoke Keyhaven's access by hand at {url}"),
            None => eprintln!(
                "Revoke Keyhaven's access by hand in your {} account settings.",
                conn.provider
            ),
        }
    }
    for t in &report.tools_removed {
        eprintln!("Took out the setup of {t} (its config is as it was before).");
    }
    for (t, why) in &report.tools_left {
        eprintln!("Could not take out the setup of {t}: {why}.");
    }
    outln!(
        "Deleted {} ({}:{}) from this vault.",
        conn.id,
        conn.provider,
        conn.account
    )?;
    Ok(())
}

/// Arguments of `keyhaven revocations`.
#[derive(Debug, clap::Args)]
pub struct RevocationsArgs {
    /// Retry every pending revocation now.
    #[arg(long)]
    retry: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Lists, or retries, revocations that did not get a definite answer at disconnect.
pub fn revocations(ctx: &Ctx, args: RevocationsArgs) -> CliResult {
    let mut vault = ctx.open_vault()?;
    if args.retry {
        let report = tokens::retry_revocations(&mut vault, true)?;
        if args.json {
            return print_json(&report);
        }
        for r in &report.revoked {
            outln!("revoked    {r}")?;
        }
        for p in &report.pending {
            outln!("pending    {p}")?;
        }
        for (a, why) in &report.abandoned {
            outln!("abandoned  {a} ({why})")?;
        }
        return Ok(());
    }
    let pending = tokens::pending_revocations(&vault)?;
    if args.json {
        return print_json(&pending);
    }
    if pending.is_empty() {
        outln!("No revocation pending.")?;
    }
    for p in &pending {
        outln!(
            "{} {} {} attempts={} next={}{}",
            p.connection_id,
            p.provider,
            p.token_kind,
            p.attempts,
            p.next_attempt_at,
            p.last_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

//! `keyhaven audit [--json] [--connection CONN]`: who did what, when; never a secret.

use super::{Ctx, print_json};
use crate::error::CliResult;

/// Arguments of `keyhaven audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events of this connection (id, PROVIDER or PROVIDER:ACCOUNT; ids of deleted
    /// connections work too).
    #[arg(long)]
    connection: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven audit`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let vault = ctx.open_vault()?;
    // A deleted connection's id is still a valid filter: audit rows outlive connections.
    let id = args
        .connection
        .as_ref()
        .map(|spec| match vault.find_connection(spec) {
            Ok(c) => c.id,
            Err(_) => spec.clone(),
        });
    let events = vault.audit_events(id.as_deref())?;
    if args.json {
        return print_json(&events);
    }
    for e in &events {
        println!(
            "{}  {:8} {:24} {:20} {}",
            e.at,
            e.actor,
            e.action,
            e.connection_id.as_deref().unwrap_or("-"),
            e.detail.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

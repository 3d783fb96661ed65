//! `keyhaven list [--json]`: every connection with its status and expiry, read from the vault
//! alone (no network, no secret decrypted).

use super::{Ctx, print_json};
use crate::error::CliResult;

/// Arguments of `keyhaven list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON array of {id, provider, account, instance, status, expires_at, scopes}.
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven list`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let vault = ctx.open_vault()?;
    let connections = vault.list_connections()?;
    if args.json {
        return print_json(&connections);
    }
    if connections.is_empty() {
        println!("No connections yet.");
        return Ok(());
    }
    let width = connections.iter().map(|c| c.id.len()).max().unwrap_or(2);
    for c in &connections {
        let expiry = c.expires_at.as_deref().unwrap_or("no expiry");
        let at = if c.instance.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.instance)
        };
        println!(
            "{:width$}  {}:{}{at}  {}  {}",
            c.id, c.provider, c.account, c.status, expiry
        );
    }
    Ok(())
}

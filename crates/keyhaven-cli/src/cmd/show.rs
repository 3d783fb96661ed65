//! `keyhaven show CONN [--reveal] [--json]`: everything stored about one connection, read from
//! the vault alone (works offline). Secrets are masked unless --reveal, which is audit-logged.

use super::{Ctx, print_json};
use crate::error::CliResult;

/// Arguments of `keyhaven show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connection: its id, PROVIDER (when it has one connection) or PROVIDER:ACCOUNT.
    conn: String,
    /// Print secret values too (recorded in the audit log).
    #[arg(long)]
    reveal: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven show`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let vault = ctx.open_vault()?;
    let conn = vault.find_connection(&args.conn)?;
    let d = vault.connection_details(&conn.id, args.reveal)?;
    if args.json {
        return print_json(&d);
    }
    let s = &d.summary;
    outln!("Connection  {}", s.id)?;
    outln!("Provider    {}", s.provider)?;
    outln!("Account     {}", s.account)?;
    if !s.instance.is_empty() {
        outln!("Instance    {}", s.instance)?;
    }
    outln!("Status      {}", s.status)?;
    outln!(
        "Expires     {}",
        s.expires_at.as_deref().unwrap_or("never / unknown")
    )?;
    outln!(
        "Scopes      {} (requested: {})",
        s.scopes.join(" "),
        d.scopes_requested.join(" ")
    )?;
    outln!("Created     {}   updated {}", d.created_at, d.updated_at)?;
    if let Some(e) = &d.last_error {
        outln!("Last error  {e}")?;
    }
    for f in &d.fields {
        let value = match &f.value {
            Some(v) => v.clone(),
            None => format!("•••••••• ({} bytes, --reveal to show)", f.length),
        };
        outln!(
            "  {:14} {}  (updated {}, {} s ago)",
            f.name,
            value,
            f.updated_at,
            f.age_secs
        )?;
        if let Some(jwt) = &f.jwt {
            outln!("  {:14} JWT, decoded for display, NOT verified:", "")?;
            outln!("  {:14}   header {}", "", jwt.header)?;
            outln!("  {:14}   claims {}", "", jwt.claims)?;
            for (k, v) in &jwt.times {
                outln!("  {:14}   {k} = {}", "", v.as_str().unwrap_or_default())?;
            }
        }
    }
    Ok(())
}

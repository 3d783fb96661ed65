//! `keyhaven default CONN [--clear]`: choose which connection `PROVIDER` alone names once a
//! provider has several (`keyhaven exec --with hetzner` keeps working after a second Hetzner
//! project is added), as `gh auth switch` does for accounts.

use super::Ctx;
use crate::error::CliResult;

/// Arguments of `keyhaven default`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connection: its id or PROVIDER:ACCOUNT.
    conn: String,
    /// Stop it being the default (PROVIDER alone is then ambiguous again).
    #[arg(long)]
    clear: bool,
}

/// Runs `keyhaven default`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let conn = vault.find_connection(&args.conn)?;
    vault.set_default_connection(&conn.id, !args.clear)?;
    if args.clear {
        outln!(
            "{} is no longer the default {} connection.",
            conn.spec(),
            conn.provider
        )?;
    } else {
        outln!(
            "{} is now the default {} connection: `{}` names it.",
            conn.spec(),
            conn.provider,
            conn.provider
        )?;
    }
    Ok(())
}

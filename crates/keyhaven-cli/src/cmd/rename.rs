//! `keyhaven rename CONN NAME`: give a connection a name of your own (`hetzner:staging` instead
//! of `hetzner:key sha256:da631f2c`), usable wherever CONN is asked for. The account the
//! provider reported stays as it is; `--clear` removes the name.

use super::Ctx;
use crate::error::CliResult;

/// Arguments of `keyhaven rename`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
    conn: String,
    /// The new name (1-64 characters, no ':').
    #[arg(required_unless_present = "clear")]
    name: Option<String>,
    /// Remove the name given earlier.
    #[arg(long, conflicts_with = "name")]
    clear: bool,
}

/// Runs `keyhaven rename`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let conn = vault.find_connection(&args.conn)?;
    vault.rename_connection(&conn.id, args.name.as_deref())?;
    let after = vault.find_connection(&conn.id)?;
    outln!("{} is now {} ({}).", conn.spec(), after.spec(), after.id)?;
    Ok(())
}

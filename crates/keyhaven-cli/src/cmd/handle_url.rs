//! `keyhaven handle-url URL`: finish a pending sign-in from its redirect URL. This is what the
//! operating system runs for a `dev.keyhaven:` link, and what a person runs with the address
//! their browser ended on when the redirect could not reach Keyhaven by itself.

use keyhaven_core::flows;

use super::Ctx;
use crate::error::CliResult;

/// Arguments of `keyhaven handle-url`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The redirect URL (dev.keyhaven:/oauth/callback?... or http://127.0.0.1:PORT/callback?...).
    url: String,
}

/// Runs `keyhaven handle-url`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    // Validate the URL before touching the vault: hostile links are rejected cheaply.
    flows::callback::parse(&args.url)?;
    let mut vault = ctx.open_vault()?;
    let conn = flows::complete(&mut vault, &args.url)?;
    println!(
        "Connected {} as {} ({}).",
        conn.provider, conn.account, conn.id
    );
    Ok(())
}

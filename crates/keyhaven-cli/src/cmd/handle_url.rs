//! `keyhaven handle-url URL`: finish a pending sign-in from its redirect URL. This is what the
//! operating system runs for a `dev.keyhaven:` link, and what a person runs with the address
//! their browser ended on when the redirect could not reach Keyhaven by itself.
//!
//! A URL on the command line is readable by every local user (through /proc) while the command
//! runs: the code in it is useless without the flow's PKCE verifier, which never leaves the
//! vault, but `keyhaven handle-url -` reads the URL from standard input instead (SEC-49).

use std::io::Read;

use keyhaven_core::{Error, flows};

use super::Ctx;
use crate::error::CliResult;

/// Arguments of `keyhaven handle-url`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The redirect URL (dev.keyhaven:/oauth/callback/PROVIDER?... or
    /// http://127.0.0.1:PORT/callback?...), or `-` to read it from standard input (then it is
    /// not visible in the process list).
    url: String,
    /// Print the connection as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven handle-url`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let url = if args.url == "-" {
        read_url_from_stdin()?
    } else {
        args.url
    };
    // Validate the URL before touching the vault: hostile links are rejected cheaply.
    flows::callback::parse(&url)?;
    let mut vault = ctx.open_vault()?;
    let conn = flows::complete(&mut vault, &url)?;
    if args.json {
        return super::print_json(&conn);
    }
    outln!(
        "Connected {} as {} ({}).",
        conn.provider,
        conn.account,
        conn.id
    )?;
    Ok(())
}

/// One line from standard input, at most a little over the longest URL accepted.
fn read_url_from_stdin() -> CliResult<String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(flows::callback::MAX_URL_LEN as u64 + 2)
        .read_to_end(&mut buf)?;
    let text = String::from_utf8(buf)
        .map_err(|_| Error::BadInput("the URL on standard input is not UTF-8".into()))?;
    let url = text.trim_end_matches(['\n', '\r']);
    if url.is_empty() {
        return Err(Error::BadInput("no URL on standard input".into()).into());
    }
    Ok(url.to_string())
}

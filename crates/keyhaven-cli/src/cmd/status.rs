//! `keyhaven status [--json]`: the vault and every connection's health at a glance, like
//! `gh auth status`; exits 1 when something needs you (a sign-in to redo, credentials to re-add,
//! a revocation not yet confirmed), so a script or a login hook can ask "is everything fine?".

use super::{Ctx, print_json};
use crate::error::{CliError, CliResult};

/// Arguments of `keyhaven status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON: {vault, connections: [{..., health, note, remedy}], pending_revocations,
    /// attention}.
    #[arg(long)]
    json: bool,
}

/// Runs `keyhaven status`.
pub fn run(ctx: &Ctx, args: Args) -> CliResult {
    let vault = ctx.open_vault()?;
    let o = vault.overview()?;
    if args.json {
        print_json(&o)?;
    } else {
        outln!(
            "Vault: {} ({}; integrity {})",
            o.vault.path.display(),
            super::vault::describe_key(&o.vault.key_source),
            o.vault.integrity
        )?;
        if o.connections.is_empty() {
            outln!(
                "No connections yet: `keyhaven connect PROVIDER` or `keyhaven credentials add PROVIDER`."
            )?;
        }
        let width = o
            .connections
            .iter()
            .map(|h| h.connection.spec().len())
            .max()
            .unwrap_or(0);
        for h in &o.connections {
            let c = &h.connection;
            let mark = if h.health == "attention" { "!" } else { " " };
            let mut line = format!("{mark} {:width$}  {}", c.spec(), c.status);
            if let Some(e) = &c.expires_at {
                line.push_str(&format!(", expires {e}"));
            }
            if let Some(note) = &h.note {
                line.push_str(&format!(" ({note})"));
            }
            if let Some(fix) = &h.remedy {
                line.push_str(&format!(": run `{fix}`"));
            }
            outln!("{line}")?;
        }
        if o.pending_revocations > 0 {
            outln!(
                "! {} revocation(s) not yet confirmed by the provider: `keyhaven revocations --retry`",
                o.pending_revocations
            )?;
        }
        if o.attention == 0 {
            outln!("Everything is in order.")?;
        }
    }
    if o.attention > 0 {
        return Err(CliError::Declined(format!(
            "{} thing(s) need your attention",
            o.attention
        )));
    }
    Ok(())
}

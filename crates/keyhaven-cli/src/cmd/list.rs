//! `keyhaven list [--json]`: every connection with its status, expiry and scopes, read from the
//! vault alone (no network, no secret decrypted). Aligned columns under a header, as `gh` and
//! `kubectl get` print them; `*` marks a provider's default connection.

use keyhaven_core::connections::ConnectionSummary;

use super::{Ctx, print_json};
use crate::error::CliResult;

/// Arguments of `keyhaven list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON array of {id, provider, account, instance, label, default, status,
    /// renewable, expires_at, scopes}.
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
        outln!(
            "No connections yet: `keyhaven connect PROVIDER` (browser sign-in) or `keyhaven \
             credentials add PROVIDER` (API keys)."
        )?;
        return Ok(());
    }
    let rows: Vec<[String; 6]> = connections.iter().map(row).collect();
    print_table(
        &[
            "ID",
            "CONNECTION",
            "STATUS",
            "EXPIRES",
            "SCOPES",
            "INSTANCE",
        ],
        &rows,
    )
}

fn row(c: &ConnectionSummary) -> [String; 6] {
    let status = if c.status == "expired" && c.renewable {
        "expired (renews on use)".to_string()
    } else {
        c.status.clone()
    };
    [
        format!("{}{}", c.id, if c.default { " *" } else { "" }),
        c.spec(),
        status,
        c.expires_at.clone().unwrap_or_else(|| "-".into()),
        if c.scopes.is_empty() {
            "-".into()
        } else {
            c.scopes.join(" ")
        },
        if c.instance.is_empty() {
            String::new()
        } else {
            c.instance.clone()
        },
    ]
}

/// Prints rows under a header in columns as wide as their widest cell; trailing empty columns
/// are left out.
pub(super) fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> CliResult {
    let used: Vec<bool> = (0..N)
        .map(|i| i == 0 || rows.iter().any(|r| !r[i].is_empty()))
        .collect();
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let last = (0..N).rev().find(|i| used[*i]).unwrap_or(0);
        let mut out = String::new();
        for i in (0..N).filter(|i| used[*i]) {
            if i == last {
                out.push_str(cells[i]);
            } else {
                out.push_str(&format!("{:w$}  ", cells[i], w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    outln!("{}", line(header.to_vec()))?;
    for r in rows {
        outln!("{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

//! `keyhaven man`: the keyhaven(1) manual page, as roff, on stdout.
//!
//! Generated from the same clap definitions that parse the command line (clap_mangen), so the
//! page lists exactly the commands and options the binary has. The .deb and `make install` ship
//! it gzipped as man1/keyhaven.1.gz (scripts/stage-cli.sh); `keyhaven man | man -l -` reads it
//! without installing. One page for the whole tree: its COMMANDS section lists every command
//! with its usage line (clap_mangen's own section would point at a keyhaven-COMMAND(1) page per
//! command, which is not shipped; `keyhaven COMMAND --help` has the details). Exit status,
//! environment and files are the CLI contract in docs/design.md. Opens no vault.

use std::io::Write;

use clap::CommandFactory;
use clap_mangen::Man;
use roff::{Roff, bold, roman};

use super::Cli;
use crate::error::CliResult;

/// Arguments of `keyhaven man` (none).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `keyhaven man`.
pub fn run(_args: Args) -> CliResult {
    let mut out = std::io::stdout().lock();
    render(&mut out)?;
    out.flush()?;
    Ok(())
}

/// Writes the page: clap_mangen's title, name, synopsis, description and options, then our own
/// commands, exit status, environment and files, and clap_mangen's version.
fn render(w: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    cmd.set_bin_name("keyhaven");
    cmd.build();
    let man = Man::new(cmd.clone()).manual("Keyhaven Manual");
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    let mut page = Roff::new();
    page.control("SH", ["COMMANDS"]);
    commands(&mut page, &mut cmd);
    page.control("PP", []).text([
        roman("Each command's options: "),
        bold("keyhaven COMMAND --help"),
        roman("."),
    ]);
    page.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        ("0", "Success."),
        (
            "1",
            "A failure other than bad input: the keychain unavailable or locked, a damaged vault, the provider unreachable.",
        ),
        (
            "2",
            "Bad input or usage: an unknown command or option, a malformed value, a wrong passphrase.",
        ),
    ] {
        page.control("TP", [])
            .text([bold(code)])
            .text([roman(meaning)]);
    }
    page.control("PP", []).text([roman(
        "Errors are one line on standard error, starting with \"keyhaven: error:\".",
    )]);
    page.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in [
        (
            "KEYHAVEN_HOME",
            "The data directory holding the vault (default: the platform data directory dev.keyhaven, shared with the desktop app).",
        ),
        (
            "KEYHAVEN_PASSPHRASE_FILE",
            "Same as --passphrase-file (passphrase vaults only).",
        ),
        (
            "KEYHAVEN_BACKUP_PASSPHRASE_FILE",
            "Same as --backup-passphrase-file (vault export and import).",
        ),
        ("BROWSER", "The command that opens sign-in pages."),
        (
            "KEYHAVEN_LOG",
            "A log filter for diagnostics on standard error (default: warn).",
        ),
    ] {
        page.control("TP", [])
            .text([bold(name)])
            .text([roman(meaning)]);
    }
    page.control("SH", ["FILES"]);
    page.control("TP", [])
        .text([bold("~/.local/share/dev.keyhaven/vault.db")])
        .text([roman(
            "The encrypted vault (SQLCipher), or vault.db in $KEYHAVEN_HOME; vault.meta.json beside it says how to get its key and holds no secret.",
        )]);
    page.to_writer(w)?;
    man.render_version_section(w)
}

/// One entry per command that runs something (groups such as `vault` are walked into): its
/// usage line in bold, then what it does.
fn commands(page: &mut Roff, cmd: &mut clap::Command) {
    for sub in cmd.get_subcommands_mut() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        if sub.has_subcommands() {
            commands(page, sub);
            continue;
        }
        let usage = sub.render_usage().to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim().to_string();
        page.control("TP", []).text([bold(usage)]);
        if let Some(about) = sub.get_about() {
            page.text([roman(about.to_string())]);
        }
    }
}

//! `keyhaven completions bash|zsh|fish`: the shell's completion script for `keyhaven`, on stdout.
//!
//! Generated from the same clap definitions that parse the command line (clap_complete), so a new
//! command or option is completed as soon as it exists and the script can never disagree with
//! the binary. The .deb and `make install` install its output where each shell looks for it
//! (scripts/stage-cli.sh); a person without them can do the same by hand, e.g.
//! `keyhaven completions bash > ~/.local/share/bash-completion/completions/keyhaven`.
//! Opens no vault: it needs nothing but the command tree.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::{Generator, Shell};

use super::Cli;
use crate::error::CliResult;

/// Arguments of `keyhaven completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    shell: ShellArg,
}

/// The shells Keyhaven ships completions for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShellArg {
    /// Bash (bash-completion): /usr/share/bash-completion/completions/keyhaven.
    Bash,
    /// Zsh: a `_keyhaven` file in a directory of $fpath.
    Zsh,
    /// Fish: ~/.config/fish/completions/keyhaven.fish.
    Fish,
}

impl From<ShellArg> for Shell {
    fn from(s: ShellArg) -> Self {
        match s {
            ShellArg::Bash => Shell::Bash,
            ShellArg::Zsh => Shell::Zsh,
            ShellArg::Fish => Shell::Fish,
        }
    }
}

/// Runs `keyhaven completions SHELL`. `try_generate`, not `generate`: the latter panics when
/// its writer fails (a closed pipe); this way that is the usual one-line output error.
pub fn run(args: Args) -> CliResult {
    let mut cmd = Cli::command();
    cmd.set_bin_name("keyhaven");
    cmd.build();
    let mut out = std::io::stdout().lock();
    Shell::from(args.shell).try_generate(&cmd, &mut out)?;
    out.flush()?;
    Ok(())
}

//! The `keyhaven` binary: parse arguments, run the command, map the outcome to an exit code.
//!
//! Exit codes (docs/design.md, CLI contract): 0 success; 2 bad input or usage; 1 any other failure.
//! Errors are printed as one line, `keyhaven: error: ...`, on stderr. Everything else lives in
//! `cmd/` (one file per subcommand) over keyhaven-core.

mod cmd;
mod error;
mod passphrase;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    keyhaven_core::harden_process();
    let cli = cmd::Cli::parse();
    init_tracing();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keyhaven: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Diagnostics go to stderr, filtered by `KEYHAVEN_LOG` (e.g. `debug`); warnings only by default.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYHAVEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

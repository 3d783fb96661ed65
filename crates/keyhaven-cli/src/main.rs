//! `keyhaven-main`, the whole CLI (the `keyhaven` front binary, src/front.rs, hands it every
//! command line it does not answer from the agent): parse arguments, run the command, map the
//! outcome to an exit code.
//!
//! Exit codes (docs/design.md, CLI contract): 0 success; 2 bad input or usage; 1 any other failure.
//! Errors are printed as one line, `keyhaven: error: ...`, on stderr. Everything else lives in
//! `cmd/` (one file per subcommand) over keyhaven-core.

/// `println!` that returns the write error instead of panicking: a reader that goes away
/// (`keyhaven list | head -1`) ends the command quietly ([`error::CliError::is_broken_pipe`]).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod cmd;
mod error;
mod passphrase;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    keyhaven_core::harden_process();
    // The front binary (`keyhaven`, src/front.rs) says it already asked the agent. Taken out
    // of the environment before anything runs, so no child (`exec`, an agent) inherits it.
    if std::env::var_os("KEYHAVEN_AGENT_TRIED").is_some() {
        cmd::set_agent_tried(true);
        // SAFETY: the first thing main does, before any thread exists.
        unsafe { std::env::remove_var("KEYHAVEN_AGENT_TRIED") };
    }
    let cli = match cmd::Cli::try_parse_from(helper_alias(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    init_tracing();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing left to say to anyone.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error::CliError::Spoken(code)) => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keyhaven: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The command line under its helper names: run as `docker-credential-keyhaven VERB` (the link
/// `keyhaven setup docker` makes) or `terraform-credentials-keyhaven VERB HOST`, this program is
/// `keyhaven docker-credential VERB` / `keyhaven terraform-credentials VERB HOST`.
fn helper_alias(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let name = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let verb = match name {
        "docker-credential-keyhaven" => "docker-credential",
        "terraform-credentials-keyhaven" => "terraform-credentials",
        _ => return args,
    };
    args[0] = "keyhaven".into();
    args.insert(1, verb.into());
    args
}

/// Help and version on stdout (exit 0); a usage error in the same one-line style as every other
/// error, `keyhaven: error: ...`, followed by clap's usage hint (exit 2).
fn usage(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(std::io::stdout(), "{}", e.render());
            ExitCode::SUCCESS
        }
        _ => {
            // One line, like every other error: clap's message, its tip, and the usage line.
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("invalid usage");
            let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
            let mut extra = vec![];
            for l in lines {
                if let Some(tip) = l.strip_prefix("tip: ") {
                    extra.push(tip.to_string());
                } else if let Some(usage) = l.strip_prefix("Usage: ") {
                    extra.push(format!("usage: {usage}"));
                } else if !l.starts_with("For more information") {
                    // The continuation of the message (the missing arguments, say).
                    message.push(' ');
                    message.push_str(l);
                }
            }
            extra.push("try --help".into());
            let _ = writeln!(
                std::io::stderr(),
                "keyhaven: error: {message} ({})",
                extra.join("; ")
            );
            ExitCode::from(2)
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

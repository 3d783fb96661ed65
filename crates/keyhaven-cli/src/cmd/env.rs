//! `keyhaven env CONN` and `keyhaven exec --with CONN -- COMMAND`: hand a connection's credentials
//! to the tools that deploy, under the variable names those tools read (catalog `env`).
//!
//! `exec` replaces this process with the command (Unix `execvp`), so the command gets the
//! terminal, stdin/stdout/stderr, every signal and its own exit status exactly as if started
//! directly; nothing of Keyhaven stays in memory. A command that cannot be found exits 127, one
//! that cannot be run 126, as `env` and shells do.
//!
//! The command's environment is the caller's, minus every identity variable of the connections'
//! providers that the connections do not set themselves (`credentials::family`: a stale
//! `AWS_SESSION_TOKEN` or `AWS_PROFILE` must not mix with new keys, as aws-vault clears them),
//! plus the connections' variables, plus `KEYHAVEN_EXEC` naming the connections, so a tool (or a
//! nested `keyhaven exec`) can tell it runs inside one.
//!
//! With `--aws-server` the AWS key is not put in the environment: this process stays, serves it
//! through the SDKs' container-credentials endpoint (keyhaven-core `tools::aws_server`) and exits
//! with the command's status when the command exits.

use std::ffi::OsString;
use std::io::Write;

use keyhaven_core::Error;
use keyhaven_core::credentials::{self, dotenv_line, sh_line};

use super::Ctx;
use crate::error::CliResult;

/// `--format` of `keyhaven env`.
#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum Format {
    /// `export NAME='value'` lines for `eval` in a POSIX shell.
    #[default]
    Sh,
    /// `NAME='value'` lines for a .env file.
    Dotenv,
    /// One JSON object.
    Json,
}

/// Arguments of `keyhaven env`.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
    conn: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Sh)]
    format: Format,
}

/// Arguments of `keyhaven exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// A connection whose variables the command gets (repeat for several).
    #[arg(long = "with", value_name = "CONN", required = true)]
    with: Vec<String>,
    /// Serve the AWS key of the `--with` connection that holds one through the SDKs'
    /// container-credentials endpoint on 127.0.0.1 (AWS_CONTAINER_CREDENTIALS_FULL_URI and a
    /// random AWS_CONTAINER_AUTHORIZATION_TOKEN) for as long as the command runs, instead of
    /// putting the key in its environment.
    #[arg(long)]
    aws_server: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Prints a connection's variables.
pub fn env(ctx: &Ctx, args: EnvArgs) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let conn = vault.find_connection(&args.conn)?;
    let vars = credentials::environment(&mut vault, &conn.id, "env")?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Sh => {
            for v in &vars {
                writeln!(out, "{}", sh_line(v)?.as_str())?;
            }
        }
        Format::Dotenv => {
            for v in &vars {
                writeln!(out, "{}", dotenv_line(v)?.as_str())?;
            }
        }
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|v| {
                    (
                        v.name().to_string(),
                        serde_json::Value::String(v.value().to_string()),
                    )
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &map).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Set in the command's environment to the connections it runs with (`provider:account`,
/// comma-separated), like aws-vault's `AWS_VAULT`.
const EXEC_MARK: &str = "KEYHAVEN_EXEC";

/// Runs a command with the connections' variables added to its environment.
pub fn exec(ctx: &Ctx, args: ExecArgs) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let program = args.command[0].clone();
    let purpose = format!("exec {}", program.to_string_lossy());
    let mut env: Vec<(String, zeroize::Zeroizing<String>, String)> = Vec::new();
    let mut family: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut served: Option<String> = None;
    for spec in &args.with {
        let conn = vault.find_connection(spec)?;
        let def = vault.provider_def(&conn.provider)?;
        family.extend(credentials::family(&def));
        names.push(format!("{}:{}", conn.provider, conn.account));
        if args.aws_server && def.tools.aws.is_some() {
            // Its key is served, not exported: the AWS variables stay out of the environment.
            if let Some(other) = &served {
                return Err(Error::BadInput(format!(
                    "--aws-server serves one AWS key; {other} and {} both hold one",
                    conn.id
                ))
                .into());
            }
            served = Some(conn.id.to_string());
        }
        let serving = served.as_deref() == Some(conn.id.as_str());
        for v in credentials::environment(&mut vault, &conn.id, &purpose)? {
            // A served key's connection still gives its configuration (AWS_REGION), never a
            // credential field.
            if serving
                && !def
                    .env
                    .get(v.name())
                    .is_some_and(|source| def.variables.contains_key(source))
            {
                continue;
            }
            let (name, value) = v.into_parts();
            if let Some((_, _, other)) = env.iter().find(|(n, _, _)| *n == name) {
                return Err(Error::BadInput(format!(
                    "{other} and {} both set {name}; pass one of them",
                    conn.id
                ))
                .into());
            }
            env.push((name, value, conn.id.to_string()));
        }
    }
    if args.aws_server && served.is_none() {
        return Err(Error::BadInput(
            "--aws-server: none of the --with connections holds an AWS key (aws, scaleway, \
             exoscale)"
                .into(),
        )
        .into());
    }
    let server = match &served {
        Some(id) => Some(keyhaven_core::tools::aws_server::AwsServer::start(
            vault, id,
        )?),
        None => {
            drop(vault);
            None
        }
    };
    if let Ok(outer) = std::env::var(EXEC_MARK) {
        eprintln!(
            "keyhaven: note: running inside another `keyhaven exec` ({outer}); the variables of \
             {} replace those of the same tools",
            names.join(", ")
        );
    }
    let mut cmd = std::process::Command::new(&program);
    cmd.args(&args.command[1..]);
    for name in &family {
        if !env.iter().any(|(n, _, _)| n == name) {
            cmd.env_remove(name);
        }
    }
    for (name, value, _) in &env {
        cmd.env(name, value.as_str());
    }
    cmd.env(EXEC_MARK, names.join(","));
    match server {
        None => run(cmd, &program),
        Some(server) => {
            for name in [
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            ] {
                cmd.env_remove(name);
            }
            cmd.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url())
                .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", server.token());
            run_serving(cmd, &program, server)
        }
    }
}

/// `--aws-server`: the command runs as a child (this process stays to serve it), its exit
/// status becomes ours, and the server stops the moment it exits. SIGINT and SIGQUIT from the
/// terminal reach the child (same process group) and are ignored here; SIGTERM and SIGHUP sent
/// to Keyhaven are passed on to it.
fn run_serving(
    mut cmd: std::process::Command,
    program: &std::ffi::OsStr,
    server: keyhaven_core::tools::aws_server::AwsServer,
) -> CliResult {
    use std::os::unix::process::ExitStatusExt;
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            drop(server);
            eprintln!(
                "keyhaven: error: cannot run {}: {e}",
                program.to_string_lossy()
            );
            std::process::exit(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    };
    forward_signals(child.id());
    let status = child.wait();
    server.stop();
    let code = match status {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(1)),
        Err(_) => 1,
    };
    std::process::exit(code);
}

static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn pass_on(sig: libc::c_int) {
    let pid = CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

fn forward_signals(pid: u32) {
    CHILD.store(pid as i32, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: installing handlers that only call kill(2); SIG_IGN for the terminal's signals,
    // which the child receives itself.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, pass_on as *const () as libc::sighandler_t);
        libc::signal(libc::SIGHUP, pass_on as *const () as libc::sighandler_t);
    }
}

#[cfg(unix)]
fn run(mut cmd: std::process::Command, program: &std::ffi::OsStr) -> CliResult {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec(); // only returns on failure
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    eprintln!(
        "keyhaven: error: cannot run {}: {e}",
        program.to_string_lossy()
    );
    std::process::exit(code);
}

#[cfg(not(unix))]
fn run(mut cmd: std::process::Command, program: &std::ffi::OsStr) -> CliResult {
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => {
            eprintln!(
                "keyhaven: error: cannot run {}: {e}",
                program.to_string_lossy()
            );
            std::process::exit(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    }
}

//! `keyhaven agent [status]`, `keyhaven unlock`, `keyhaven lock`: the session agent over
//! keyhaven-core's `agent` (docs/agent.md).

use std::path::PathBuf;

use keyhaven_core::agent::start::{self, Found};
use keyhaven_core::agent::{Agent, Host, Settings};
use keyhaven_core::{DataDir, Error, PassphrasePurpose, PassphraseSource, Vault};
use keyhaven_ipc::client::CONTROL_TIMEOUT;
use keyhaven_ipc::wire::{DoneReply, Request, Status};

use super::{Ctx, print_json};
use crate::error::{CliError, CliResult};

/// Arguments of `keyhaven agent`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentArgs {
    #[command(subcommand)]
    command: Option<AgentCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum AgentCommand {
    /// Whether an agent runs, for which vault, locked or not, since when, its pid.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options of the agent itself.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Lock after SECS without a hand-out (default 900, or `idle_lock_secs` in config.toml).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    idle_lock: Option<u64>,
    /// Lock SECS after an unlock however busy (default 43200, or `hard_cap_secs`).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    hard_cap: Option<u64>,
    /// Start locked: do not take the key from the keychain (`keyhaven unlock` starts it so).
    #[arg(long)]
    locked: bool,
}

/// Arguments of `keyhaven unlock`.
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// Lock again after SECS without a hand-out (the agent's idle lock; default 900).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
}

/// Arguments of `keyhaven lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {}

/// `keyhaven agent [status]`.
pub fn run(ctx: &Ctx, args: AgentArgs) -> CliResult {
    match args.command {
        Some(AgentCommand::Status { json }) => status(json),
        None => serve(ctx, args.run),
    }
}

/// Runs the agent in the foreground until it locks and exits, or is stopped.
fn serve(ctx: &Ctx, args: RunArgs) -> CliResult {
    let dir = DataDir::from_env()?;
    let settings = Settings::load()?;
    let mut config = settings.config();
    if let Some(s) = args.idle_lock {
        config.idle_lock_secs = s;
    }
    if let Some(s) = args.hard_cap {
        config.hard_cap_secs = s;
    }
    let socket = keyhaven_ipc::paths::socket_path();
    // Parsed once now, so no hand-out pays for it.
    let _ = keyhaven_core::catalog::Catalog::builtin();
    let Some(agent) = Agent::start(&dir, &socket, config, Host::Cli)? else {
        return match start::probe(&socket, &dir) {
            Found::OtherVault(path) => Err(start::other_vault(&socket, &path).into()),
            _ => {
                eprintln!("keyhaven: an agent already runs on {}", socket.display());
                Ok(())
            }
        };
    };
    if !args.locked {
        // A keychain vault's key needs no one; a passphrase vault's comes from
        // --passphrase-file, or later from `keyhaven unlock`.
        let passphrase_vault = keyhaven_core::vault::uses_passphrase(&dir)?;
        let passphrase = match (passphrase_vault, &ctx.passphrase_file) {
            (true, Some(_)) => ctx
                .passphrases(None)
                .passphrase(PassphrasePurpose::Unlock)?,
            _ => None,
        };
        if (!passphrase_vault || passphrase.is_some())
            && let Err(e) = agent.unlock(passphrase)
        {
            agent.stop();
            return Err(e.into());
        }
    }
    agent.wait();
    Ok(())
}

/// `keyhaven agent status [--json]`.
fn status(json: bool) -> CliResult {
    let socket = keyhaven_ipc::paths::socket_path();
    let dir = DataDir::from_env()?;
    let mut status = match keyhaven_ipc::client::connect(&socket) {
        Ok(agent) => {
            let this_vault = agent.serves(dir.path());
            match agent.ask::<Status>(&Request::Status, CONTROL_TIMEOUT) {
                Ok(Ok(mut s)) => {
                    s.this_vault = this_vault;
                    s
                }
                Ok(Err(f)) => return Err(CliError::Agent(f)),
                Err(e) => {
                    return Err(Error::Agent {
                        reason: e.to_string(),
                    }
                    .into());
                }
            }
        }
        Err(keyhaven_ipc::client::Unusable::NoAgent) => not_running(&socket),
        Err(e) => {
            return Err(Error::Agent {
                reason: e.to_string(),
            }
            .into());
        }
    };
    status.socket = socket.display().to_string();
    if json {
        return print_json(&status);
    }
    if !status.running {
        outln!("No agent is running (socket {}).", status.socket)?;
        return Ok(());
    }
    outln!(
        "Agent pid {} ({}), {}; serving {}{}.",
        status.pid.unwrap_or(0),
        status.host.as_deref().unwrap_or("cli"),
        if status.locked {
            format!(
                "locked ({})",
                status.lock_reason.as_deref().unwrap_or("locked")
            )
        } else {
            format!(
                "unlocked since {}, locks at {}",
                status.unlocked_at.as_deref().unwrap_or("?"),
                status.locks_at.as_deref().unwrap_or("?")
            )
        },
        status.vault_path.as_deref().unwrap_or("?"),
        if status.this_vault {
            ""
        } else {
            " (not this vault)"
        }
    )?;
    outln!(
        "Running since {}; socket {}; {} hand-out(s) served.",
        status.since.as_deref().unwrap_or("?"),
        status.socket,
        status.served.unwrap_or(0)
    )?;
    Ok(())
}

fn not_running(socket: &std::path::Path) -> Status {
    Status {
        running: false,
        pid: None,
        socket: socket.display().to_string(),
        vault_id: None,
        vault_path: None,
        this_vault: false,
        locked: true,
        lock_reason: None,
        since: None,
        unlocked_at: None,
        locks_at: None,
        idle_lock_secs: None,
        hard_cap_secs: None,
        host: None,
        protocol: None,
        served: None,
    }
}

/// `keyhaven unlock`: starts the agent if none runs, and gives it the key.
pub fn unlock(ctx: &Ctx, args: UnlockArgs) -> CliResult {
    let dir = DataDir::from_env()?;
    if !Vault::exists(&dir) {
        return Err(Error::NotInitialized {
            path: dir.vault_file(),
        }
        .into());
    }
    let passphrase = if keyhaven_core::vault::uses_passphrase(&dir)? {
        Some(
            ctx.passphrases(None)
                .passphrase(PassphrasePurpose::Unlock)?
                .ok_or(Error::PassphraseRequired {
                    path: dir.vault_file(),
                })?,
        )
    } else {
        None
    };
    let socket = keyhaven_ipc::paths::socket_path();
    let agent = match start::probe(&socket, &dir) {
        Found::Ours(agent) => agent,
        Found::Nothing => {
            let idle = args.timeout.map(|t| t.to_string());
            let mut extra = vec!["--locked"];
            if let Some(idle) = idle.as_deref() {
                extra.extend(["--idle-lock", idle]);
            }
            start::spawn(&current_exe()?, &extra)?;
            start::wait_for(&socket, &dir)?
        }
        Found::OtherVault(path) => return Err(start::other_vault(&socket, &path).into()),
        Found::Unusable(why) => {
            return Err(Error::Agent {
                reason: format!("{why} ({})", socket.display()),
            }
            .into());
        }
    };
    let pid = agent.hello.pid;
    let request = Request::Unlock {
        passphrase: passphrase.map(|p| zeroize::Zeroizing::new(p.expose_secret().to_string())),
        idle_secs: args.timeout,
    };
    match agent.ask::<DoneReply>(&request, CONTROL_TIMEOUT) {
        Ok(Ok(_)) => {}
        Ok(Err(f)) => return Err(CliError::Agent(f)),
        Err(e) => {
            return Err(Error::Agent {
                reason: e.to_string(),
            }
            .into());
        }
    }
    let status = keyhaven_ipc::client::connect(&socket)
        .ok()
        .and_then(|a| a.ask::<Status>(&Request::Status, CONTROL_TIMEOUT).ok())
        .and_then(Result::ok);
    eprintln!(
        "Unlocked: the agent (pid {pid}) hands out credentials without asking until it locks{}.",
        status
            .and_then(|s| s.locks_at)
            .map(|at| format!(" ({at} if idle; `keyhaven lock` locks it now)"))
            .unwrap_or_default()
    );
    Ok(())
}

/// `keyhaven lock`: the agent forgets the key now.
pub fn lock(_ctx: &Ctx, _args: LockArgs) -> CliResult {
    let dir = DataDir::from_env()?;
    let socket = keyhaven_ipc::paths::socket_path();
    match start::probe(&socket, &dir) {
        Found::Ours(agent) => {
            let pid = agent.hello.pid;
            match agent.ask::<DoneReply>(&Request::Lock, CONTROL_TIMEOUT) {
                Ok(Ok(_)) => {
                    eprintln!("Locked: the agent (pid {pid}) holds no key.");
                    Ok(())
                }
                Ok(Err(f)) => Err(CliError::Agent(f)),
                Err(e) => Err(Error::Agent {
                    reason: e.to_string(),
                }
                .into()),
            }
        }
        Found::Nothing => {
            eprintln!("No agent is running; nothing to lock.");
            Ok(())
        }
        Found::OtherVault(path) => Err(start::other_vault(&socket, &path).into()),
        Found::Unusable(why) => Err(Error::Agent {
            reason: format!("{why} ({})", socket.display()),
        }
        .into()),
    }
}

/// This program (`keyhaven-main`), which the agent is started as.
fn current_exe() -> CliResult<PathBuf> {
    std::env::current_exe().map_err(|e| {
        Error::Agent {
            reason: format!("cannot locate this program to start the agent: {e}"),
        }
        .into()
    })
}

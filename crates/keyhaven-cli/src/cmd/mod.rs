//! The command tree. One file per subcommand, each a clap `Args` struct with a `run` function;
//! this file only declares the tree, the global options, and dispatches.

mod agent;
mod audit;
mod completions;
mod connect;
mod credentials;
mod default;
mod env;
mod handle_url;
mod helpers;
mod init;
mod list;
mod man;
mod mcp;
mod providers;
mod rename;
mod setup;
mod show;
mod status;
mod tokens;
mod vault;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use keyhaven_core::{Actor, DataDir, Vault};

use crate::error::CliResult;
use crate::passphrase::CliPassphrases;

/// Keyhaven: your accounts' credentials, encrypted on your own machine.
///
/// The vault lives in $KEYHAVEN_HOME, or the platform data directory shared with the desktop
/// app. Its key is kept in the OS keychain, or derived from a passphrase
/// (`keyhaven init --passphrase`).
#[derive(Debug, Parser)]
#[command(
    name = "keyhaven",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Read the vault passphrase from FILE (passphrase vaults only; a trailing newline is
    /// ignored). Without it, the passphrase is asked on the terminal.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "KEYHAVEN_PASSPHRASE_FILE"
    )]
    passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the vault (key in the OS keychain, or --passphrase).
    Init(init::Args),
    /// The vault and every connection's health; exits 1 when something needs you.
    Status(status::Args),
    /// Inspect and maintain the vault.
    #[command(subcommand)]
    Vault(vault::VaultCommand),
    /// List connections (no secrets, no network).
    List(list::Args),
    /// Show one connection: status, expiry, scopes, stored fields (masked unless --reveal).
    Show(show::Args),
    /// Connect an account: sign in through your browser (Authorization Code + PKCE).
    Connect(connect::Args),
    /// Finish a sign-in from the redirect URL the browser landed on (what the OS runs for
    /// dev.keyhaven: links).
    HandleUrl(handle_url::Args),
    /// Print a valid access token alone on stdout, refreshing it first when needed.
    Token(tokens::TokenArgs),
    /// Refresh a connection's tokens now.
    Refresh(tokens::RefreshArgs),
    /// Revoke a connection at the provider and delete it from the vault.
    Disconnect(tokens::DisconnectArgs),
    /// Make a connection its provider's default: what PROVIDER alone names.
    Default(default::Args),
    /// Give a connection a name of your own, usable as PROVIDER:NAME.
    Rename(rename::Args),
    /// Revocations still to be confirmed by the provider (503 or timeout at disconnect).
    Revocations(tokens::RevocationsArgs),
    /// The audit log: creations, reveals, token hand-outs, refreshes, revocations, deletions.
    Audit(audit::Args),
    /// The provider catalog, custom providers, and your own OAuth apps.
    #[command(subcommand)]
    Providers(providers::ProvidersCommand),
    /// API keys and machine credentials (client credentials, password grant), verified live.
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// Print a connection's credentials as the environment variables its tools read.
    Env(env::EnvArgs),
    /// Run a command with connections' credentials in its environment
    /// (`keyhaven exec --with hetzner -- terraform apply`).
    Exec(env::ExecArgs),
    /// Unlock once: start the agent (or give it the key) so hand-outs need no keychain call and
    /// no passphrase until it locks.
    Unlock(agent::UnlockArgs),
    /// Lock the agent now: it forgets the key.
    Lock(agent::LockArgs),
    /// Run the session agent (one per user and vault), or `agent status`.
    Agent(agent::AgentArgs),
    /// Point a tool at Keyhaven: git, aws, kube, docker, terraform, cargo (or `setup list`).
    #[command(subcommand)]
    Setup(setup::SetupCommand),
    /// git's credential helper (`credential.helper = keyhaven git-credential`; see setup git).
    GitCredential(helpers::GitArgs),
    /// AWS: `credential_process` for a profile (see setup aws).
    #[command(subcommand)]
    Aws(helpers::AwsCommand),
    /// kubectl: the exec credential plugin (see setup kube).
    #[command(subcommand)]
    Kube(helpers::KubeCommand),
    /// The docker / podman / skopeo credential helper (docker-credential-keyhaven).
    DockerCredential(helpers::DockerArgs),
    /// The Terraform / OpenTofu credentials helper (terraform-credentials-keyhaven).
    TerraformCredentials(helpers::TerraformArgs),
    /// cargo's credential provider (credential-provider = ["keyhaven", "cargo-credential"]).
    CargoCredential(helpers::CargoArgs),
    /// A stdio MCP server for an MCP client, forwarding to the connection's remote MCP server
    /// with a fresh token (`command: keyhaven, args: [mcp-proxy, CONN]`; see setup mcp).
    McpProxy(mcp::ProxyArgs),
    /// Print the shell completion script for bash, zsh or fish.
    Completions(completions::Args),
    /// Print the keyhaven(1) manual page (roff).
    Man(man::Args),
}

/// `--redirect deep-link|loopback`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RedirectArg {
    /// dev.keyhaven:/oauth/callback, delivered by the OS.
    DeepLink,
    /// http://127.0.0.1:PORT/callback, served by `keyhaven connect` while it waits.
    Loopback,
}

impl From<RedirectArg> for keyhaven_core::catalog::RedirectKind {
    fn from(r: RedirectArg) -> Self {
        match r {
            RedirectArg::DeepLink => Self::DeepLink,
            RedirectArg::Loopback => Self::Loopback,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ctx = Ctx {
        passphrase_file: cli.global.passphrase_file,
    };
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Default(args) => default::run(&ctx, args),
        Command::Rename(args) => rename::run(&ctx, args),
        Command::Vault(cmd) => vault::run(&ctx, cmd),
        Command::List(args) => list::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Connect(args) => connect::run(&ctx, args),
        Command::HandleUrl(args) => handle_url::run(&ctx, args),
        Command::Providers(cmd) => providers::run(&ctx, cmd),
        Command::Token(args) => tokens::token(&ctx, args),
        Command::Refresh(args) => tokens::refresh(&ctx, args),
        Command::Disconnect(args) => tokens::disconnect(&ctx, args),
        Command::Revocations(args) => tokens::revocations(&ctx, args),
        Command::Audit(args) => audit::run(&ctx, args),
        Command::Credentials(cmd) => credentials::run(&ctx, cmd),
        Command::Env(args) => env::env(&ctx, args),
        Command::Exec(args) => env::exec(&ctx, args),
        Command::Unlock(args) => agent::unlock(&ctx, args),
        Command::Lock(args) => agent::lock(&ctx, args),
        Command::Agent(args) => agent::run(&ctx, args),
        Command::Setup(cmd) => setup::run(&ctx, cmd),
        Command::GitCredential(args) => helpers::git(&ctx, args),
        Command::Aws(cmd) => helpers::aws(&ctx, cmd),
        Command::Kube(cmd) => helpers::kube(&ctx, cmd),
        Command::DockerCredential(args) => helpers::docker(&ctx, args),
        Command::TerraformCredentials(args) => helpers::terraform(&ctx, args),
        Command::CargoCredential(args) => helpers::cargo(&ctx, args),
        Command::McpProxy(args) => mcp::proxy(&ctx, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

/// Set by `main` when the front binary already asked the agent for this hand-out
/// (`KEYHAVEN_AGENT_TRIED`): go straight to the direct path.
static AGENT_TRIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records what the front binary said (see [`AGENT_TRIED`]).
pub fn set_agent_tried(tried: bool) {
    AGENT_TRIED.store(tried, std::sync::atomic::Ordering::Relaxed);
}

fn agent_tried() -> bool {
    AGENT_TRIED.load(std::sync::atomic::Ordering::Relaxed)
}

/// What every command needs from the global options.
pub struct Ctx {
    passphrase_file: Option<PathBuf>,
}

impl Ctx {
    /// The passphrase source for this invocation.
    fn passphrases(&self, new_file: Option<PathBuf>) -> CliPassphrases {
        CliPassphrases {
            file: self.passphrase_file.clone(),
            new_file,
            never_prompt: false,
        }
    }

    /// The vault when one exists, else `None` (for what works before `keyhaven init`: the
    /// catalog, `providers list`, `credentials fields`).
    fn open_vault_if_any(&self) -> CliResult<Option<Vault>> {
        let dir = DataDir::from_env()?;
        if !Vault::exists(&dir) {
            return Ok(None);
        }
        self.open_vault().map(Some)
    }

    /// Opens the vault in the configured data directory.
    fn open_vault(&self) -> CliResult<Vault> {
        self.open_vault_with(self.passphrases(None))
    }

    /// Opens the vault without ever asking on the terminal (the tools' helpers): a passphrase
    /// vault without `--passphrase-file` fails at once with "run `keyhaven unlock`".
    fn open_vault_no_prompt(&self) -> CliResult<Vault> {
        let mut p = self.passphrases(None);
        p.never_prompt = true;
        self.open_vault_with(p)
    }

    fn open_vault_with(&self, mut passphrases: CliPassphrases) -> CliResult<Vault> {
        let dir = DataDir::from_env()?;
        let vault = Vault::open(&dir, &mut passphrases, Actor::Cli)?;
        // Said, not silently ignored: a passphrase file named on the command line for a vault
        // that has none. (Set in the environment it may well be meant for another vault.)
        if let Some(f) = &self.passphrase_file
            && !vault.uses_passphrase()
            && std::env::var_os("KEYHAVEN_PASSPHRASE_FILE").is_none_or(|v| v != f.as_os_str())
        {
            eprintln!(
                "keyhaven: note: --passphrase-file is ignored: this vault's key is in the OS \
                 keychain"
            );
        }
        Ok(vault)
    }
}

/// Parses `--var NAME=VALUE` options.
fn parse_vars(raw: &[String]) -> CliResult<std::collections::BTreeMap<String, String>> {
    let mut vars = std::collections::BTreeMap::new();
    for v in raw {
        let (k, val) = v.split_once('=').ok_or_else(|| {
            keyhaven_core::Error::BadInput(format!("--var {v:?}: expected NAME=VALUE"))
        })?;
        vars.insert(k.to_string(), val.to_string());
    }
    Ok(vars)
}

/// Prints a value as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> CliResult {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

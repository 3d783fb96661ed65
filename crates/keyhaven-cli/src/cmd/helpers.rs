//! The tools' credential helpers (docs/tools.md): `keyhaven git-credential`, `aws
//! credential-process`, `kube credential`, `docker-credential` (also as
//! `docker-credential-keyhaven`), `terraform-credentials` (also as
//! `terraform-credentials-keyhaven`) and `cargo-credential --cargo-plugin`.
//!
//! The protocols are keyhaven-helpers' ([`Helper`]); the answers are keyhaven-core's
//! (`tools::answer`). This file is the flow between them: the agent first (unless the front
//! binary already asked it), else the vault directly, opened without ever prompting. Errors are
//! said in each protocol's own form, never as the CLI's usual `keyhaven: error:` line on
//! stdout, and the exit code is the protocol's ([`CliError::Spoken`]).

use std::io::{BufRead, Write};

use keyhaven_core::tools;
use keyhaven_core::vault::HandOutContext;
use keyhaven_helpers::{Helper, Need, TokenReply, ToolQuery, cargo, docker, git, terraform};
use keyhaven_ipc::handout;

use super::Ctx;
use crate::error::{CliError, CliResult};

/// `keyhaven git-credential VERB`.
#[derive(Debug, clap::Args)]
pub struct GitArgs {
    /// get, store or erase (what git appends; other verbs are ignored, as git asks).
    verb: String,
}

/// `keyhaven aws ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AwsCommand {
    /// Print the connection's AWS key pair as `credential_process` JSON (an AWS profile's
    /// `credential_process = keyhaven aws credential-process CONN`).
    CredentialProcess {
        /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
        conn: String,
    },
}

/// `keyhaven kube ...`.
#[derive(Debug, clap::Subcommand)]
pub enum KubeCommand {
    /// Print an ExecCredential with the connection's token (a kubeconfig user's exec plugin).
    Credential {
        /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
        conn: String,
    },
}

/// `keyhaven docker-credential VERB`.
#[derive(Debug, clap::Args)]
pub struct DockerArgs {
    /// get, store, erase, list or version (docker-credential-helpers' verbs).
    verb: String,
}

/// `keyhaven terraform-credentials VERB HOST`.
#[derive(Debug, clap::Args)]
pub struct TerraformArgs {
    /// get, store or forget.
    verb: String,
    /// The host Terraform names (app.terraform.io, a private registry).
    host: String,
}

/// `keyhaven cargo-credential --cargo-plugin`.
#[derive(Debug, clap::Args)]
pub struct CargoArgs {
    /// Speak cargo's credential-provider protocol on stdin/stdout (cargo passes it).
    #[arg(long)]
    cargo_plugin: bool,
    /// Arguments cargo passes through from the provider's configuration (unused).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn git(ctx: &Ctx, args: GitArgs) -> CliResult {
    match git::Verb::parse(&args.verb) {
        Some(verb) => run(ctx, Helper::Git(verb)),
        None => Err(usage(&format!(
            "git-credential: unknown verb {:?} (get, store or erase)",
            args.verb
        ))),
    }
}

pub fn aws(ctx: &Ctx, cmd: AwsCommand) -> CliResult {
    let AwsCommand::CredentialProcess { conn } = cmd;
    run(ctx, Helper::Aws { conn })
}

pub fn kube(ctx: &Ctx, cmd: KubeCommand) -> CliResult {
    let KubeCommand::Credential { conn } = cmd;
    run(ctx, Helper::Kube { conn })
}

pub fn docker(ctx: &Ctx, args: DockerArgs) -> CliResult {
    match docker::Verb::parse(&args.verb) {
        Some(verb) => run(ctx, Helper::Docker(verb)),
        None => {
            // The protocol's form: the message on stdout, exit 1.
            let h = Helper::Docker(docker::Verb::Version);
            let code = h.fail(
                &format!(
                    "unknown verb {:?}: get, store, erase, list or version",
                    args.verb
                ),
                1,
            );
            Err(CliError::Spoken(code))
        }
    }
}

pub fn terraform(ctx: &Ctx, args: TerraformArgs) -> CliResult {
    match terraform::Verb::parse(&args.verb) {
        Some(verb) => run(
            ctx,
            Helper::Terraform {
                verb,
                host: args.host,
            },
        ),
        None => Err(usage(&format!(
            "terraform-credentials: unknown verb {:?} (get, store or forget)",
            args.verb
        ))),
    }
}

fn usage(message: &str) -> CliError {
    keyhaven_core::Error::BadInput(message.to_string()).into()
}

/// One helper invocation, start to end.
fn run(ctx: &Ctx, helper: Helper) -> CliResult {
    let input = if helper.reads_stdin() {
        keyhaven_helpers::read_input()?
    } else {
        Default::default()
    };
    let need = match helper.query(&input) {
        Ok(n) => n,
        Err(e) => return Err(CliError::Spoken(helper.fail(&e.message, e.exit))),
    };
    drop(input);
    match need {
        Need::Done => Ok(()),
        Need::HandOut(q) => hand_out(ctx, &helper, q),
        Need::Erase(q, token) => erase(ctx, &helper, q, token),
        Need::List => list(ctx, &helper),
    }
}

/// The answer to a hand-out: from the agent, else from the vault.
fn hand_out(ctx: &Ctx, helper: &Helper, q: ToolQuery) -> CliResult {
    if !super::agent_tried() {
        match handout::ask_credential(q.clone()) {
            Ok(Ok(reply)) => return print(helper, &reply, &q),
            Ok(Err(f)) if f.code == keyhaven_ipc::wire::codes::NOT_FOUND => {
                return Err(CliError::Spoken(helper.not_found(&f.message)));
            }
            Ok(Err(f)) => return Err(CliError::Spoken(helper.fail(&f.message, f.exit))),
            Err(unusable) => tracing::debug!(%unusable, "direct path"),
        }
    }
    let result = (|| -> CliResult<(TokenReply, bool)> {
        keyhaven_core::vault::set_process_lifetime(keyhaven_core::vault::ProcessLifetime::Short);
        let mut vault = ctx.open_vault_no_prompt()?;
        vault.set_hand_out_context(HandOutContext {
            requester: keyhaven_ipc::peer::Requester::this_process(),
            tool: Some(helper.tool().into()),
        });
        let reply = tools::answer_now(&mut vault, &q)?;
        Ok((reply, !vault.uses_passphrase()))
    })();
    match result {
        Ok((reply, keychain)) => {
            print(helper, &reply, &q)?;
            drop(reply);
            if keychain && let Ok(exe) = std::env::current_exe() {
                let dir = keyhaven_core::DataDir::from_env()?;
                keyhaven_core::agent::start::on_demand(
                    &exe,
                    &keyhaven_ipc::paths::socket_path(),
                    &dir,
                );
            }
            Ok(())
        }
        Err(CliError::Core(e @ keyhaven_core::Error::NotForTool { .. })) => {
            Err(CliError::Spoken(helper.not_found(&e.to_string())))
        }
        Err(e) => Err(CliError::Spoken(helper.fail(&e.to_string(), e.exit_code()))),
    }
}

fn print(helper: &Helper, reply: &TokenReply, q: &ToolQuery) -> CliResult {
    helper
        .answer(reply, q)
        .map_err(|e| CliError::Spoken(helper.fail(&e.message, e.exit)))
}

/// git's `erase`: the token was refused; the stored one is marked stale if it is that one.
/// Whatever happens, git is told nothing (it ignores erase's output); problems go to stderr.
fn erase(ctx: &Ctx, helper: &Helper, q: ToolQuery, token: zeroize::Zeroizing<String>) -> CliResult {
    if !super::agent_tried() {
        match handout::ask_erase(q.clone(), token.clone()) {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(f)) if f.code == keyhaven_ipc::wire::codes::NOT_FOUND => return Ok(()),
            Ok(Err(f)) => return Err(CliError::Spoken(helper.fail(&f.message, f.exit))),
            Err(unusable) => tracing::debug!(%unusable, "direct path"),
        }
    }
    let result = (|| -> CliResult<()> {
        let mut vault = ctx.open_vault_no_prompt()?;
        vault.set_hand_out_context(HandOutContext {
            requester: keyhaven_ipc::peer::Requester::this_process(),
            tool: Some(helper.tool().into()),
        });
        tools::erase(&mut vault, &q, &token)?;
        Ok(())
    })();
    match result {
        Ok(()) | Err(CliError::Core(keyhaven_core::Error::NotForTool { .. })) => Ok(()),
        Err(e) => Err(CliError::Spoken(helper.fail(&e.to_string(), e.exit_code()))),
    }
}

/// docker's `list`: every registry Keyhaven answers for, with its username.
fn list(ctx: &Ctx, helper: &Helper) -> CliResult {
    let result = (|| -> CliResult<Vec<(String, String)>> {
        let vault = ctx.open_vault_no_prompt()?;
        Ok(tools::served_hosts(&vault, tools::Tool::Docker)?)
    })();
    match result {
        Ok(entries) => helper
            .list(&entries)
            .map_err(|e| CliError::Spoken(helper.fail(&e.message, e.exit))),
        Err(e) => Err(CliError::Spoken(helper.fail(&e.to_string(), e.exit_code()))),
    }
}

/// `keyhaven cargo-credential --cargo-plugin`: cargo's provider protocol, one request per line
/// until cargo closes stdin.
pub fn cargo(ctx: &Ctx, args: CargoArgs) -> CliResult {
    let _ = args.rest;
    if !args.cargo_plugin {
        return Err(usage(
            "cargo-credential is run by cargo (credential-provider = [\"keyhaven\", \
             \"cargo-credential\"]), which passes --cargo-plugin",
        ));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(cargo::HELLO.as_bytes())?;
    out.flush()?;
    let stdin = std::io::stdin();
    let mut reader = stdin.lock();
    let mut vault = None;
    loop {
        let mut line = zeroize::Zeroizing::new(Vec::new());
        let n = std::io::Read::take(&mut reader, keyhaven_helpers::MAX_INPUT as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if n > keyhaven_helpers::MAX_INPUT {
            out.write_all(cargo::error("other", "the request is too long").as_bytes())?;
            out.flush()?;
            return Err(CliError::Spoken(2));
        }
        let answer = match cargo::parse(&line) {
            Err(e) => {
                out.write_all(cargo::error("other", &e.message).as_bytes())?;
                out.flush()?;
                return Err(CliError::Spoken(e.exit));
            }
            Ok(cargo::Action::Refuse(line)) => zeroize::Zeroizing::new(line),
            Ok(cargo::Action::Get(q)) => cargo_get(ctx, &mut vault, &q),
        };
        out.write_all(answer.as_bytes())?;
        out.flush()?;
    }
}

fn cargo_get(
    ctx: &Ctx,
    vault: &mut Option<keyhaven_core::Vault>,
    q: &ToolQuery,
) -> zeroize::Zeroizing<String> {
    let reply = match handout::ask_credential(q.clone()) {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(f)) if f.code == keyhaven_ipc::wire::codes::NOT_FOUND => {
            return cargo::error("url-not-supported", "").into();
        }
        Ok(Err(f)) => Err(f.message),
        Err(_) => (|| -> CliResult<TokenReply> {
            if vault.is_none() {
                let mut v = ctx.open_vault_no_prompt()?;
                v.set_hand_out_context(HandOutContext {
                    requester: keyhaven_ipc::peer::Requester::this_process(),
                    tool: Some("cargo".into()),
                });
                *vault = Some(v);
            }
            let v = vault.as_mut().expect("opened above");
            Ok(tools::answer_now(v, q)?)
        })()
        .map_err(|e| match e {
            CliError::Core(keyhaven_core::Error::NotForTool { .. }) => String::new(),
            e => e.to_string(),
        }),
    };
    match reply {
        Ok(reply) => {
            cargo::answer(&reply).unwrap_or_else(|e| cargo::error("other", &e.message).into())
        }
        Err(m) if m.is_empty() => cargo::error("url-not-supported", "").into(),
        Err(m) => cargo::error("other", &m).into(),
    }
}

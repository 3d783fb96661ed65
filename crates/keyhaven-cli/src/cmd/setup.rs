//! `keyhaven setup git|aws|kube|docker|terraform|cargo|mcp` and `keyhaven setup list`: point a
//! tool's own configuration at Keyhaven's helper, or take that out again (`--remove`). The
//! work is keyhaven-core's `tools::setup` (the desktop's Tools buttons call the same code).

use std::path::PathBuf;

use keyhaven_core::tools::{self, Tool, setup};

use super::{Ctx, print_json};
use crate::error::CliResult;

/// `keyhaven setup ...`.
#[derive(Debug, clap::Subcommand)]
pub enum SetupCommand {
    /// git: answer `git push`/`fetch` over HTTPS for the connection's hosts
    /// (`credential.https://HOST.helper` in your global git config).
    Git {
        /// Connection (default: every connection whose provider git can use: GitHub, GitLab,
        /// Bitbucket, Gitea, Forgejo).
        conn: Option<String>,
        /// A host to set up (repeatable; default: the hosts the catalog names for the
        /// provider). Needed for self-hosted and custom providers.
        #[arg(long, value_name = "HOST")]
        host: Vec<String>,
        /// Take out what `setup git` wrote, restoring what was there before.
        #[arg(long)]
        remove: bool,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
    },
    /// AWS: a profile whose `credential_process` is `keyhaven aws credential-process CONN`
    /// (in $AWS_CONFIG_FILE or ~/.aws/config).
    Aws {
        /// Connection holding the AWS key (aws, or an S3-compatible provider's).
        #[arg(required_unless_present = "remove")]
        conn: Option<String>,
        /// The profile to write (`aws --profile NAME`).
        #[arg(long, value_name = "NAME")]
        profile: String,
        /// The profile's region.
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// Take out the profile `setup aws` wrote, restoring what was there before.
        #[arg(long)]
        remove: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// kubectl: a kubeconfig user whose exec plugin is `keyhaven kube credential CONN`, and
    /// the context pointed at it (the first file of $KUBECONFIG, or ~/.kube/config).
    Kube {
        /// Connection whose token the cluster accepts.
        #[arg(required_unless_present = "remove")]
        conn: Option<String>,
        /// The context to point at the user.
        #[arg(long, value_name = "CTX")]
        context: String,
        /// The exec plugin's apiVersion (client.authentication.k8s.io/v1; v1beta1 for kubectl
        /// older than 1.22).
        #[arg(long, value_name = "VERSION")]
        api_version: Option<String>,
        /// Point the context back at its previous user and delete Keyhaven's.
        #[arg(long)]
        remove: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// docker, podman, skopeo: `credHelpers` for the registry in the docker config
    /// ($DOCKER_CONFIG or ~/.docker), and the docker-credential-keyhaven link.
    Docker {
        /// Connection whose token the registry accepts.
        #[arg(required_unless_present = "remove")]
        conn: Option<String>,
        /// The registry host (ghcr.io, registry.gitlab.com, HOST:PORT).
        #[arg(long, value_name = "HOST")]
        registry: String,
        /// Where to put docker-credential-keyhaven (default ~/.local/bin; it must be on PATH).
        #[arg(long, value_name = "DIR")]
        link_dir: Option<PathBuf>,
        /// Take out the registry's entry (and the link with the last one).
        #[arg(long)]
        remove: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Terraform / OpenTofu: the credentials_helper block in ~/.terraformrc (or
    /// $TF_CLI_CONFIG_FILE) and the plugin link, answering for HOST.
    Terraform {
        /// Connection whose token HOST accepts.
        #[arg(required_unless_present = "remove")]
        conn: Option<String>,
        /// The Terraform host (app.terraform.io, your Terraform Enterprise, a registry).
        #[arg(long, value_name = "HOST")]
        host: String,
        /// Stop answering for HOST (and take the block out with the last host).
        #[arg(long)]
        remove: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// cargo: the registry's credential-provider in $CARGO_HOME/config.toml.
    Cargo {
        /// Connection whose token the registry accepts.
        #[arg(required_unless_present = "remove")]
        conn: Option<String>,
        /// The registry's name in cargo's config (crates-io for crates.io).
        #[arg(long, value_name = "NAME")]
        registry: String,
        /// Take out the credential-provider, restoring the previous one.
        #[arg(long)]
        remove: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// An MCP client (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Gemini CLI, Zed,
    /// Codex): print the server entry that runs `keyhaven mcp-proxy CONN`, or write it into
    /// the client's own configuration file with --write.
    Mcp {
        /// The MCP server's connection.
        #[arg(required_unless_present = "remove")]
        conn: Option<String>,
        /// The client: claude-desktop, claude-code, cursor, vscode, windsurf, gemini, zed,
        /// codex.
        #[arg(long, value_name = "NAME")]
        client: String,
        /// The server's name in the client's configuration (default: the connection's id).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Write the entry into the client's configuration file (recorded, so --remove puts
        /// the file back), instead of printing it.
        #[arg(long)]
        write: bool,
        /// Take out the entry --write wrote, restoring what was there under that name.
        #[arg(long, conflicts_with = "write")]
        remove: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What is set up, per tool: target, connection, file.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Ctx, cmd: SetupCommand) -> CliResult {
    let removing = matches!(
        cmd,
        SetupCommand::Git { remove: true, .. }
            | SetupCommand::Aws { remove: true, .. }
            | SetupCommand::Kube { remove: true, .. }
            | SetupCommand::Docker { remove: true, .. }
            | SetupCommand::Terraform { remove: true, .. }
            | SetupCommand::Cargo { remove: true, .. }
            | SetupCommand::Mcp { remove: true, .. }
    );
    let mut vault = ctx.open_vault()?;
    let program = || -> CliResult<PathBuf> {
        let exe = std::env::current_exe()?;
        Ok(setup::locate_program(&exe)?)
    };
    let opts = |region: Option<String>, api_version: Option<String>, link_dir| {
        Ok::<_, crate::error::CliError>(setup::SetupOptions {
            program: program()?,
            region,
            api_version,
            link_dir,
        })
    };
    let (reports, json) = match cmd {
        SetupCommand::List { json } => return list(&vault, json),
        SetupCommand::Mcp {
            conn,
            client,
            name,
            write,
            remove,
            json,
        } => {
            let client = keyhaven_core::mcp::McpClient::parse(&client)?;
            let conn_id = conn
                .as_deref()
                .map(|c| vault.find_connection(c).map(|c| c.id.as_str().to_string()))
                .transpose()?;
            if remove {
                let targets: Vec<String> = match name.as_ref().or(conn_id.as_ref()) {
                    Some(n) => vec![format!("{}/{n}", client.as_str())],
                    None => tools::bindings(&vault, None)?
                        .into_iter()
                        .filter(|b| {
                            b.tool == Tool::Mcp
                                && b.target.starts_with(&format!("{}/", client.as_str()))
                        })
                        .map(|b| b.target)
                        .collect(),
                };
                let mut reports = vec![];
                for t in targets {
                    reports.push(setup::remove(&mut vault, Tool::Mcp, &t)?);
                }
                if reports.is_empty() {
                    return Err(keyhaven_core::Error::BadInput(format!(
                        "no MCP server is set up in {} by Keyhaven",
                        client.as_str()
                    ))
                    .into());
                }
                (reports, json)
            } else {
                let id = conn_id.expect("clap requires CONN without --remove");
                keyhaven_core::mcp::endpoint(&vault, &id)?;
                let name = name.unwrap_or_else(|| id.clone());
                if !write {
                    return print_snippet(client, &program()?, &name, &id, json);
                }
                let target = format!("{}/{name}", client.as_str());
                (
                    vec![setup::set_up(
                        &mut vault,
                        Tool::Mcp,
                        &id,
                        &target,
                        &opts(None, None, None)?,
                    )?],
                    json,
                )
            }
        }
        SetupCommand::Git {
            conn,
            host,
            remove,
            json,
        } => {
            let mut reports = vec![];
            if remove {
                let targets: Vec<String> = if !host.is_empty() {
                    host
                } else {
                    let id = conn
                        .as_deref()
                        .map(|c| vault.find_connection(c).map(|c| c.id.as_str().to_string()))
                        .transpose()?;
                    tools::bindings(&vault, id.as_deref())?
                        .into_iter()
                        .filter(|b| b.tool == Tool::Git)
                        .map(|b| b.target)
                        .collect()
                };
                if targets.is_empty() {
                    return Err(keyhaven_core::Error::BadInput(
                        "git is not set up by Keyhaven for any host".into(),
                    )
                    .into());
                }
                for t in targets {
                    reports.push(setup::remove(&mut vault, Tool::Git, &t)?);
                }
            } else {
                let o = opts(None, None, None)?;
                let conns: Vec<String> = match conn {
                    Some(c) => vec![vault.find_connection(&c)?.id.as_str().to_string()],
                    None => {
                        let mut all = vec![];
                        for c in vault.list_connections()? {
                            if !setup::default_targets(&vault, Tool::Git, c.id.as_str())?.is_empty()
                            {
                                all.push(c.id.as_str().to_string());
                            }
                        }
                        if all.is_empty() {
                            return Err(keyhaven_core::Error::BadInput(
                                "no connection git can use (connect github, gitlab, bitbucket, \
                                 gitea or forgejo; or name one with --host)"
                                    .into(),
                            )
                            .into());
                        }
                        all
                    }
                };
                for id in conns {
                    let targets = if host.is_empty() {
                        setup::default_targets(&vault, Tool::Git, &id)?
                    } else {
                        host.clone()
                    };
                    if targets.is_empty() {
                        return Err(keyhaven_core::Error::BadInput(format!(
                            "the catalog names no git host for {id}: give one with --host HOST"
                        ))
                        .into());
                    }
                    for t in targets {
                        reports.push(setup::set_up(&mut vault, Tool::Git, &id, &t, &o)?);
                    }
                }
            }
            (reports, json)
        }
        SetupCommand::Aws {
            conn,
            profile,
            region,
            remove,
            json,
        } => (
            vec![one(&mut vault, Tool::Aws, conn, &profile, remove, || {
                opts(region, None, None)
            })?],
            json,
        ),
        SetupCommand::Kube {
            conn,
            context,
            api_version,
            remove,
            json,
        } => (
            vec![one(
                &mut vault,
                Tool::Kubectl,
                conn,
                &context,
                remove,
                || opts(None, api_version, None),
            )?],
            json,
        ),
        SetupCommand::Docker {
            conn,
            registry,
            link_dir,
            remove,
            json,
        } => (
            vec![one(
                &mut vault,
                Tool::Docker,
                conn,
                &registry,
                remove,
                || opts(None, None, link_dir),
            )?],
            json,
        ),
        SetupCommand::Terraform {
            conn,
            host,
            remove,
            json,
        } => (
            vec![one(
                &mut vault,
                Tool::Terraform,
                conn,
                &host,
                remove,
                || opts(None, None, None),
            )?],
            json,
        ),
        SetupCommand::Cargo {
            conn,
            registry,
            remove,
            json,
        } => (
            vec![one(
                &mut vault,
                Tool::Cargo,
                conn,
                &registry,
                remove,
                || opts(None, None, None),
            )?],
            json,
        ),
    };
    if json {
        return print_json(&reports);
    }
    for r in &reports {
        let what = match (removing, r.changed) {
            (true, _) => "removed:",
            (false, false) => "already set up:",
            (false, true) => "set up:",
        };
        outln!(
            "{} {} {} {} -> {} ({})",
            what,
            r.tool.as_str(),
            r.tool.target_noun(),
            r.target,
            r.connection_id,
            r.config
        )?;
        for n in &r.notes {
            eprintln!("keyhaven: note: {n}");
        }
    }
    Ok(())
}

/// `setup mcp` without --write: the entry to paste, and where.
fn print_snippet(
    client: keyhaven_core::mcp::McpClient,
    program: &std::path::Path,
    name: &str,
    conn: &str,
    json: bool,
) -> CliResult {
    let snippet = client.snippet(program, name, conn);
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let config = client.config_path(&home);
    if json {
        return print_json(&serde_json::json!({
            "client": client.as_str(),
            "config": config.display().to_string(),
            "name": name,
            "connection_id": conn,
            "snippet": snippet,
        }));
    }
    outln!("{}", snippet.trim_end())?;
    eprintln!(
        "keyhaven: add this to {}{}",
        config.display(),
        if client.writable() {
            " (or run again with --write to have Keyhaven do it)".to_string()
        } else {
            String::new()
        }
    );
    Ok(())
}

/// One setup, or one removal.
fn one(
    vault: &mut keyhaven_core::Vault,
    tool: Tool,
    conn: Option<String>,
    target: &str,
    remove: bool,
    opts: impl FnOnce() -> CliResult<setup::SetupOptions>,
) -> CliResult<setup::SetupReport> {
    if remove {
        return Ok(setup::remove(vault, tool, target)?);
    }
    let conn = conn.expect("clap requires CONN without --remove");
    Ok(setup::set_up(vault, tool, &conn, target, &opts()?)?)
}

fn list(vault: &keyhaven_core::Vault, json: bool) -> CliResult {
    let bindings = tools::bindings(vault, None)?;
    if json {
        return print_json(&bindings);
    }
    if bindings.is_empty() {
        outln!("No tool is set up (keyhaven setup git|aws|kube|docker|terraform|cargo|mcp).")?;
    }
    for b in &bindings {
        outln!(
            "{:<10} {:<30} {} {}",
            b.tool.as_str(),
            b.target,
            b.connection_id,
            b.config.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

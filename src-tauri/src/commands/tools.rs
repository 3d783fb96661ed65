//! Tools: which tools (git, aws, kubectl, docker, terraform, cargo) take their credentials from
//! a connection, setting one up or taking it out again, and the last hand-outs to each. The work
//! is keyhaven-core's `tools::setup`, the code behind `keyhaven setup`, so the desktop and the
//! CLI write exactly the same configuration.
//!
//! Setting a tool up decides where a connection's credentials go (a host, a profile, a cluster
//! context): the person confirms it in a native dialog naming the tool, the targets and the
//! connection, which a script in the page cannot answer (SEC-43). Taking a setup out only stops
//! Keyhaven answering and restores what was there before, so it is not asked about.

use keyhaven_core::connections::ConnectionSummary;
use keyhaven_core::tools::setup::{self, SetupOptions, SetupReport};
use keyhaven_core::tools::{self, Binding, HandOut, Tool};
use keyhaven_core::{Error, Vault};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};

use crate::dialogs::{confirm, quoted};
use crate::error::CommandError;
use crate::state::AppState;

/// How many hand-outs per tool the connection's page shows.
pub const LAST_HAND_OUTS: usize = 5;

/// What setting a tool up asks for besides the connection.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupInput {
    /// What the target is called: `host`, `profile`, `context` or `registry`.
    pub target_noun: String,
    /// Whether a target must be given (git's defaults to the catalog's hosts, `suggested`).
    pub target_required: bool,
    /// aws: the profile's region may be given.
    pub region: bool,
    /// kubectl: the exec plugin's apiVersion may be given.
    pub api_version: bool,
}

/// One tool as a connection's page shows it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolView {
    /// The tool.
    pub tool: Tool,
    /// What is set up to take credentials from this connection (target, config file).
    pub bindings: Vec<Binding>,
    /// The targets the catalog names for this connection (git, docker): what to prefill.
    pub suggested: Vec<String>,
    /// The last hand-outs of this connection's credentials to the tool, newest first.
    pub last_hand_outs: Vec<HandOut>,
    /// What a setup asks for.
    pub input: SetupInput,
    /// Why the tool cannot use this connection, when it cannot (aws without an access key).
    pub unavailable: Option<String>,
}

/// The optional values of a setup (`keyhaven setup aws --region`, `setup kube --api-version`).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ToolOptions {
    /// aws: the profile's region.
    pub region: Option<String>,
    /// kubectl: the exec plugin's apiVersion.
    pub api_version: Option<String>,
}

/// Every tool, for the connection `id`: what is set up, what could be, the last hand-outs.
#[tauri::command(async)]
pub fn connection_tools(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<ToolView>, CommandError> {
    Ok(state.with_vault(|v| tool_views(v, &id))?)
}

/// The views behind [`connection_tools`].
pub fn tool_views(vault: &Vault, id: &str) -> keyhaven_core::Result<Vec<ToolView>> {
    let conn = vault.find_connection(id)?;
    let id = conn.id.as_str();
    let def = vault.provider_def(&conn.provider)?;
    let bindings = tools::bindings(vault, Some(id))?;
    Tool::ALL
        .into_iter()
        .map(|tool| {
            Ok(ToolView {
                tool,
                bindings: bindings
                    .iter()
                    .filter(|b| b.tool == tool)
                    .cloned()
                    .collect(),
                suggested: setup::default_targets(vault, tool, id)?,
                last_hand_outs: tools::last_hand_outs(vault, id, tool, LAST_HAND_OUTS)?,
                input: input(tool),
                unavailable: (tool == Tool::Aws && def.tools.aws.is_none()).then(|| {
                    format!(
                        "a {} connection holds no AWS access key; connect aws, or an \
                         S3-compatible provider such as Scaleway or Exoscale",
                        def.name
                    )
                }),
            })
        })
        .collect()
}

/// What `keyhaven setup TOOL` takes, as the form asks it.
fn input(tool: Tool) -> SetupInput {
    SetupInput {
        target_noun: tool.target_noun().to_string(),
        target_required: tool != Tool::Git,
        region: tool == Tool::Aws,
        api_version: tool == Tool::Kubectl,
    }
}

/// Sets `tool` up to take its credentials from the connection `id`, for `target` (git without
/// one: the hosts the catalog names for the connection), once the person confirmed it in a
/// native dialog. The tool's configuration points at the `keyhaven` program installed beside
/// this app (or on PATH).
#[tauri::command]
pub async fn setup_tool(
    app: AppHandle,
    id: String,
    tool: String,
    target: Option<String>,
    options: ToolOptions,
) -> Result<Vec<SetupReport>, CommandError> {
    super::blocking(&app, move |app, state| {
        let tool = Tool::parse(&tool)?;
        let program = || {
            let exe = std::env::current_exe().map_err(|e| Error::Io {
                context: "the running program".into(),
                source: e,
            })?;
            setup::locate_program(&exe)
        };
        set_up(
            state,
            &id,
            tool,
            target.as_deref(),
            &options,
            program,
            |q| confirm(app, q, "Set up", "nothing was set up"),
        )
    })
    .await
}

/// [`setup_tool`] without Tauri: the targets decided, the question asked through `ask`, then
/// core's setup for each target.
pub fn set_up(
    state: &AppState,
    id: &str,
    tool: Tool,
    target: Option<&str>,
    options: &ToolOptions,
    program: impl FnOnce() -> keyhaven_core::Result<std::path::PathBuf>,
    ask: impl FnOnce(&str) -> Result<(), CommandError>,
) -> Result<Vec<SetupReport>, CommandError> {
    let (conn, provider_name, targets) = state.with_vault(|v| {
        let conn = v.find_connection(id)?;
        let name = v
            .provider_info(&conn.provider)
            .map(|p| p.name)
            .unwrap_or_else(|_| conn.provider.clone());
        let targets = match target.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => vec![t.to_string()],
            None if tool == Tool::Git => {
                let hosts = setup::default_targets(v, tool, conn.id.as_str())?;
                if hosts.is_empty() {
                    return Err(Error::BadInput(format!(
                        "the catalog names no git host for {name}: give the host"
                    )));
                }
                hosts
            }
            None => {
                return Err(Error::BadInput(format!(
                    "{}: give the {}",
                    tool.as_str(),
                    tool.target_noun()
                )));
            }
        };
        Ok((conn, name, targets))
    })?;
    ask(&setup_question(tool, &targets, &conn, &provider_name))?;
    let opts = SetupOptions {
        program: program()?,
        region: options.region.clone().filter(|r| !r.trim().is_empty()),
        api_version: options.api_version.clone().filter(|a| !a.trim().is_empty()),
        link_dir: None,
    };
    let id = conn.id.as_str();
    let mut reports = vec![];
    for t in &targets {
        reports.push(state.with_vault(|v| setup::set_up(v, tool, id, t, &opts))?);
    }
    Ok(reports)
}

/// Takes out what a setup wrote for `tool` and `target`, restoring what was there before.
#[tauri::command]
pub async fn remove_tool(
    app: AppHandle,
    tool: String,
    target: String,
) -> Result<SetupReport, CommandError> {
    super::blocking(&app, move |_, state| remove(state, &tool, &target)).await
}

/// [`remove_tool`] without Tauri.
pub fn remove(state: &AppState, tool: &str, target: &str) -> Result<SetupReport, CommandError> {
    let tool = Tool::parse(tool)?;
    Ok(state.with_vault(|v| setup::remove(v, tool, target))?)
}

/// The setup confirmation: the tool, where its requests will get this connection's credentials,
/// and which connection.
pub fn setup_question(
    tool: Tool,
    targets: &[String],
    conn: &ConnectionSummary,
    provider_name: &str,
) -> String {
    let who = quoted(if conn.account.is_empty() {
        conn.id.as_str()
    } else {
        &conn.account
    });
    let noun = if targets.len() == 1 {
        tool.target_noun().to_string()
    } else {
        format!("{}s", tool.target_noun())
    };
    let shown: Vec<String> = targets.iter().map(|t| quoted(t)).collect();
    format!(
        "Set up {} to take its credentials from {provider_name} {who} for the {noun} {}?\n\n\
         Keyhaven writes its helper into {}'s configuration file. From then on, whenever {} \
         needs credentials for {}, it gets this connection's, and each hand-out is recorded in \
         the audit log. Remove takes it out again.",
        tool.as_str(),
        shown.join(", "),
        tool.as_str(),
        tool.as_str(),
        if targets.len() == 1 { "it" } else { "them" },
    )
}

#[cfg(test)]
mod tests;

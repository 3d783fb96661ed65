//! MCP: what an MCP client's configuration needs to reach a connection's MCP server through
//! `keyhaven mcp-proxy CONN`, for the "MCP" box of the connection's page. The snippets are
//! core's (`mcp::McpClient::snippet`, the text `keyhaven setup mcp` prints), so the desktop and
//! the CLI give the same configuration; the page only shows and copies them. Nothing is written
//! to a client's file from here, so nothing is asked.

use keyhaven_core::mcp::{self, McpClient};
use keyhaven_core::{Error, Vault};
use serde::Serialize;
use tauri::State;

use crate::error::CommandError;
use crate::state::AppState;

/// A connection's MCP server, and each client's configuration to reach it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpView {
    /// The server's endpoint, which the proxy forwards to (and its tokens are bound to).
    pub url: String,
    /// The `keyhaven` program the snippets run.
    pub program: String,
    /// One per client, in `McpClient::ALL`'s order.
    pub clients: Vec<McpClientSnippet>,
}

/// What to paste into one MCP client's configuration.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpClientSnippet {
    /// The client (`claude-desktop`, `cursor`, ...).
    pub client: McpClient,
    /// Its configuration file on this machine, when the home directory is known.
    pub config: Option<String>,
    /// The text to paste there.
    pub snippet: String,
}

/// The MCP box of the connection `id`: `null` when it is not an MCP server's connection.
#[tauri::command(async)]
pub fn connection_mcp(
    state: State<'_, AppState>,
    id: String,
) -> Result<Option<McpView>, CommandError> {
    let program = || {
        let exe = std::env::current_exe().map_err(|e| Error::Io {
            context: "the running program".into(),
            source: e,
        })?;
        keyhaven_core::tools::setup::locate_program(&exe)
    };
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(std::path::PathBuf::from);
    Ok(state.with_vault(|v| mcp_view(v, &id, program, home.as_deref()))?)
}

/// [`connection_mcp`] without Tauri: `program` is asked for only for an MCP connection.
pub fn mcp_view(
    vault: &Vault,
    id: &str,
    program: impl FnOnce() -> keyhaven_core::Result<std::path::PathBuf>,
    home: Option<&std::path::Path>,
) -> keyhaven_core::Result<Option<McpView>> {
    // An unknown connection is an error; a connection that is not an MCP server's has no box.
    let conn = vault.find_connection(id)?;
    let Ok(endpoint) = mcp::endpoint(vault, conn.id.as_str()) else {
        return Ok(None);
    };
    let program = program()?;
    // The server's name in the client's configuration: the connection's id.
    let name = endpoint.connection_id.as_str();
    Ok(Some(McpView {
        url: endpoint.url.to_string(),
        program: program.to_string_lossy().into_owned(),
        clients: McpClient::ALL
            .into_iter()
            .map(|client| McpClientSnippet {
                client,
                config: home.map(|h| client.config_path(h).to_string_lossy().into_owned()),
                snippet: client.snippet(&program, name, &endpoint.connection_id),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests;

//! Remote MCP servers (docs/mcp.md): which endpoint a connection's tokens are for, the stdio
//! proxy an MCP client runs (`keyhaven mcp-proxy CONN`, [`proxy`]), and the snippet each MCP
//! client's configuration needs to run it (`keyhaven setup mcp`, the desktop's "MCP" box).
//!
//! A connection is an MCP server's when its provider names one: a catalog `[mcp]` entry
//! (`notion-mcp`), or a provider made by `keyhaven connect URL`, whose resource (RFC 8707) is the
//! endpoint. The proxy forwards to that endpoint only: a token bound to a resource is never sent
//! anywhere else (SEC-55).

pub mod proxy;
mod sse;

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::vault::Vault;

/// The MCP server a connection's tokens are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The connection's id.
    pub connection_id: String,
    /// Its Streamable HTTP endpoint (also the resource its tokens are bound to).
    pub url: url::Url,
}

/// The MCP endpoint of the connection `spec` names: its provider's `[mcp]` url, else the
/// resource its tokens are bound to. Refused for a connection that is not an MCP server's.
pub fn endpoint(vault: &Vault, spec: &str) -> Result<Endpoint> {
    let c = vault.find_connection(spec)?;
    let def = vault.provider_def(&c.provider)?;
    let raw = def
        .mcp
        .as_ref()
        .map(|m| m.url.clone())
        .or_else(|| def.authorization_params.get("resource").cloned())
        .ok_or_else(|| {
            Error::BadInput(format!(
                "{} is a {} connection, not an MCP server's: connect the server with \
                 `keyhaven connect URL` (its https endpoint) or a catalog MCP entry",
                c.id.as_str(),
                def.name
            ))
        })?;
    Ok(Endpoint {
        connection_id: c.id.as_str().to_string(),
        url: crate::by_url::check_url(&raw)?,
    })
}

/// The MCP clients `keyhaven setup mcp --client NAME` knows the configuration of.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum McpClient {
    /// Claude Desktop: `claude_desktop_config.json`, `mcpServers`.
    ClaudeDesktop,
    /// Claude Code: `~/.claude.json`, `mcpServers` (user scope).
    ClaudeCode,
    /// Cursor: `~/.cursor/mcp.json`, `mcpServers`.
    Cursor,
    /// Windsurf: `~/.codeium/windsurf/mcp_config.json`, `mcpServers`.
    Windsurf,
    /// Visual Studio Code: the user profile's `mcp.json`, `servers` with `"type": "stdio"`.
    Vscode,
    /// Gemini CLI: `~/.gemini/settings.json`, `mcpServers`.
    Gemini,
    /// Zed: `settings.json`, `context_servers` (printed only: Zed's settings allow comments).
    Zed,
    /// OpenAI Codex CLI: `~/.codex/config.toml`, `[mcp_servers.NAME]`.
    Codex,
}

/// How a client's file holds its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// A JSON object under this key: `{KEY: {NAME: {command, args}}}`.
    Json(&'static str),
    /// TOML tables `[mcp_servers.NAME]` (Codex).
    Toml,
}

impl McpClient {
    /// Every client, in the order help and the desktop list them.
    pub const ALL: [McpClient; 8] = [
        McpClient::ClaudeDesktop,
        McpClient::ClaudeCode,
        McpClient::Cursor,
        McpClient::Vscode,
        McpClient::Windsurf,
        McpClient::Gemini,
        McpClient::Zed,
        McpClient::Codex,
    ];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            McpClient::ClaudeDesktop => "claude-desktop",
            McpClient::ClaudeCode => "claude-code",
            McpClient::Cursor => "cursor",
            McpClient::Windsurf => "windsurf",
            McpClient::Vscode => "vscode",
            McpClient::Gemini => "gemini",
            McpClient::Zed => "zed",
            McpClient::Codex => "codex",
        }
    }

    /// The client named `s`.
    pub fn parse(s: &str) -> Result<McpClient> {
        McpClient::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = McpClient::ALL.iter().map(|c| c.as_str()).collect();
                Error::BadInput(format!(
                    "unknown MCP client {s:?}: one of {}",
                    names.join(", ")
                ))
            })
    }

    /// How its configuration holds MCP servers.
    pub fn format(self) -> ConfigFormat {
        match self {
            McpClient::Vscode => ConfigFormat::Json("servers"),
            McpClient::Zed => ConfigFormat::Json("context_servers"),
            McpClient::Codex => ConfigFormat::Toml,
            _ => ConfigFormat::Json("mcpServers"),
        }
    }

    /// Whether `keyhaven setup mcp --write` may edit its file (Zed's settings are JSON with
    /// comments, which a rewrite would lose: printed only).
    pub fn writable(self) -> bool {
        self != McpClient::Zed
    }

    /// Its configuration file on this machine (Linux locations; `$XDG_CONFIG_HOME` honoured
    /// where the client does).
    pub fn config_path(self, home: &Path) -> std::path::PathBuf {
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        match self {
            McpClient::ClaudeDesktop => xdg.join("Claude/claude_desktop_config.json"),
            McpClient::ClaudeCode => home.join(".claude.json"),
            McpClient::Cursor => home.join(".cursor/mcp.json"),
            McpClient::Windsurf => home.join(".codeium/windsurf/mcp_config.json"),
            McpClient::Vscode => xdg.join("Code/User/mcp.json"),
            McpClient::Gemini => home.join(".gemini/settings.json"),
            McpClient::Zed => xdg.join("zed/settings.json"),
            McpClient::Codex => std::env::var_os("CODEX_HOME")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| home.join(".codex"))
                .join("config.toml"),
        }
    }

    /// The server entry itself (the value under its name), for JSON clients.
    pub fn entry(self, program: &Path, conn: &str) -> serde_json::Value {
        let program = program.to_string_lossy();
        let args = serde_json::json!(["mcp-proxy", conn]);
        match self {
            McpClient::Vscode => {
                serde_json::json!({"type": "stdio", "command": program, "args": args})
            }
            _ => serde_json::json!({"command": program, "args": args}),
        }
    }

    /// What to paste into the client's configuration to run `program mcp-proxy CONN` under
    /// the name `name`.
    pub fn snippet(self, program: &Path, name: &str, conn: &str) -> String {
        match self.format() {
            ConfigFormat::Json(key) => {
                let doc = serde_json::json!({ key: { name: self.entry(program, conn) } });
                serde_json::to_string_pretty(&doc).expect("JSON serializes")
            }
            ConfigFormat::Toml => {
                let mut t = toml_edit::Table::new();
                t["command"] = toml_edit::value(program.to_string_lossy().into_owned());
                let mut args = toml_edit::Array::new();
                args.push("mcp-proxy");
                args.push(conn);
                t["args"] = toml_edit::value(args);
                let mut servers = toml_edit::Table::new();
                servers.set_implicit(true);
                servers.insert(name, toml_edit::Item::Table(t));
                let mut doc = toml_edit::DocumentMut::new();
                doc.insert("mcp_servers", toml_edit::Item::Table(servers));
                doc.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_run_the_proxy_in_each_clients_shape() {
        let p = Path::new("/usr/bin/keyhaven");
        let s = McpClient::Cursor.snippet(p, "notion", "notion-mcp");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["mcpServers"]["notion"]["command"], "/usr/bin/keyhaven");
        assert_eq!(
            v["mcpServers"]["notion"]["args"],
            serde_json::json!(["mcp-proxy", "notion-mcp"])
        );
        let v: serde_json::Value =
            serde_json::from_str(&McpClient::Vscode.snippet(p, "n", "c")).unwrap();
        assert_eq!(v["servers"]["n"]["type"], "stdio");
        let t: toml_edit::DocumentMut = McpClient::Codex.snippet(p, "n", "c").parse().unwrap();
        assert_eq!(
            t["mcp_servers"]["n"]["command"].as_str(),
            Some("/usr/bin/keyhaven")
        );
        for c in McpClient::ALL {
            assert_eq!(McpClient::parse(c.as_str()).unwrap(), c);
        }
        assert!(McpClient::parse("emacs").is_err());
    }
}

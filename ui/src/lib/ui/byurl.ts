// Connect by URL and the MCP box, in words: what the preview says about registration, the
// command that brings a client id when the server cannot register Keyhaven, and each MCP
// client's name. The facts (who guards the URL, the snippets) come from the Rust side
// (`connect_url_preview`, `connection_mcp`), which also checks every URL.

import type { McpClient, Preview } from '../api/types';

/** Whether the sign-in can go ahead: a registration is kept, or Keyhaven can register itself. */
export const canConnect = (p: Preview): boolean => p.registered || p.can_register;

/** The preview's registration line. */
export function registrationLine(p: Preview): string {
  if (p.registered) return 'Reusing Keyhaven’s registration at this server.';
  if (p.can_register) return 'Keyhaven will register itself there (no client id needed).';
  return 'This server does not let Keyhaven register itself.';
}

/** A word for the shell: as it is when it needs no quoting, else in single quotes. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The way out when the server cannot register Keyhaven: bring a client id registered there. */
export function providersAddCommand(p: Preview): string {
  return `keyhaven providers add --id ${shellWord(p.provider_id)} --issuer ${shellWord(p.issuer)} --client-id CLIENT_ID`;
}

/** How people write each MCP client's name (core's `McpClient::ALL`, in its order). */
export const MCP_CLIENT_NAMES: Record<McpClient, string> = {
  'claude-desktop': 'Claude Desktop',
  'claude-code': 'Claude Code',
  cursor: 'Cursor',
  vscode: 'VS Code',
  windsurf: 'Windsurf',
  gemini: 'Gemini CLI',
  zed: 'Zed',
  codex: 'Codex CLI',
};

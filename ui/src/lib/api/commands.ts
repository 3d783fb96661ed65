// The one place the UI talks to the Rust side: every `invoke` is wrapped here in a typed
// function, so components never spell a command name or guess a result shape. Each Rust command
// of the same name lives in src-tauri/src/commands/<area>.rs (events_subscribe: events.rs).
//
// `call` is typed on the generated contract (./generated.ts, from src-tauri/src/commands/list.rs):
// a command that is renamed or removed in Rust, or whose arguments or result change, is a type
// error here, found by `npm run check` (svelte-check, which `make test` runs).
//
// Each wrapper resolves to an `Outcome` instead of throwing: a rejected `invoke` carries the
// command's `{code, message}` (src-tauri/src/error.rs), or a bare string when Tauri refused the
// call before it reached a command; both become a `CommandError`.

import { invoke } from '@tauri-apps/api/core';
import { ERROR_CODES, SHELL_ERROR_CODES, type CommandName, type Commands } from './generated';
import type {
  AddReport,
  AppInfo,
  AuditEvent,
  Category,
  CommandError,
  ConnectionDetails,
  ConnectionSummary,
  DisconnectReport,
  ErrorCode,
  ExportReport,
  FlowOutcome,
  ImportReport,
  McpView,
  Outcome,
  Preview,
  ProviderInfo,
  ProviderSummary,
  RedirectKind,
  SetupReport,
  StartedFlow,
  Tool,
  ToolOptions,
  ToolView,
  VaultView,
} from './types';

/** The arguments of command `C`: none for a command that takes none. */
type ArgsOf<C extends CommandName> = Commands[C]['args'] extends Record<string, never> ? [] : [Commands[C]['args']];

/** Invokes a command; a rejection becomes a typed `CommandError`. Shared by every wrapper. */
export async function call<C extends CommandName>(
  command: C,
  ...args: ArgsOf<C>
): Promise<Outcome<Commands[C]['result']>> {
  try {
    return { ok: true, value: await invoke<Commands[C]['result']>(command, args[0]) };
  } catch (raw) {
    return { ok: false, error: toCommandError(raw) };
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set([...ERROR_CODES, ...SHELL_ERROR_CODES]);

function toCommandError(raw: unknown): CommandError {
  if (typeof raw === 'object' && raw !== null && 'code' in raw && 'message' in raw) {
    const { code, message } = raw as { code: unknown; message: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      // An unknown code (a newer core) still shows its message; it just gets no special case.
      return { code: (KNOWN_CODES.has(code) ? code : 'ipc') as ErrorCode, message };
    }
  }
  return { code: 'ipc', message: typeof raw === 'string' ? raw : 'The app could not reach its vault service.' };
}

// --- the vault -------------------------------------------------------------------------------

/** The vault's state: missing, locked (passphrase vault) or open with its status. */
export const vaultStatus = (): Promise<Outcome<VaultView>> => call('vault_status');

/** Creates a new vault keyed from the OS keychain (first run). */
export const vaultInit = (): Promise<Outcome<VaultView>> => call('vault_init');

/** Unlocks a passphrase-protected vault. The passphrase is sent once and never comes back. */
export const vaultUnlock = (passphrase: string): Promise<Outcome<VaultView>> => call('vault_unlock', { passphrase });

// --- connections ---------------------------------------------------------------------------

/** Every connection, no secrets, no network. */
export const listConnections = (): Promise<Outcome<ConnectionSummary[]>> => call('connections_list');

/** One connection, offline: masked fields, decoded (unverified) JWTs, scopes, expiry. */
export const showConnection = (id: string): Promise<Outcome<ConnectionDetails>> =>
  call('connection_show', { id });

/** The plain value of one secret field. Audited (actor desktop); only on an explicit reveal. */
export const revealField = (id: string, field: string): Promise<Outcome<string>> =>
  call('connection_reveal', { id, field });

/** Copies one field to the clipboard (Rust side); cleared after 30 s if still there. Audited. */
export const copyField = (id: string, field: string): Promise<Outcome<null>> =>
  call('connection_copy', { id, field });

/** Refreshes now (single-flight with every other process). */
export const refreshConnection = (id: string): Promise<Outcome<ConnectionSummary>> =>
  call('connection_refresh', { id });

/** Revokes at the provider (unless keepRemote), then deletes locally. */
export const disconnectConnection = (id: string, keepRemote: boolean): Promise<Outcome<DisconnectReport>> =>
  call('connection_disconnect', { id, keepRemote });

/** The audit log, newest first; of one connection when `connection` is given. */
export const auditLog = (connection?: string): Promise<Outcome<AuditEvent[]>> =>
  call('audit_list', { connection: connection ?? null });

// --- tools (git, aws, kubectl, docker, terraform, cargo) ----------------------------------------

/** Every tool for one connection: what is set up, what the catalog suggests, the last hand-outs. */
export const connectionTools = (id: string): Promise<Outcome<ToolView[]>> => call('connection_tools', { id });

/**
 * Points a tool's configuration at this connection (the code behind `keyhaven setup`), after a
 * native confirmation. Without a target, git takes the hosts the catalog names.
 */
export const setupTool = (
  id: string,
  tool: Tool,
  target: string | null,
  options: ToolOptions,
): Promise<Outcome<SetupReport[]>> => call('setup_tool', { id, tool, target, options });

/** Takes out what a setup wrote for `tool` and `target`, restoring what was there before. */
export const removeTool = (tool: Tool, target: string): Promise<Outcome<SetupReport>> =>
  call('remove_tool', { tool, target });

// --- MCP ----------------------------------------------------------------------------------------

/**
 * The MCP box of a connection: its MCP server's endpoint and each MCP client's configuration
 * snippet running `keyhaven mcp-proxy`; `null` when the connection is not an MCP server's.
 */
export const connectionMcp = (id: string): Promise<Outcome<McpView | null>> => call('connection_mcp', { id });

// --- providers -----------------------------------------------------------------------------

export const listProviders = (): Promise<Outcome<ProviderSummary[]>> => call('providers_list');

/** The catalog's categories (core's CATEGORIES): the order of the catalog's groups, with labels. */
export const catalogCategories = (): Promise<Outcome<Category[]>> => call('catalog_categories');

export const providerInfo = (id: string): Promise<Outcome<ProviderInfo>> => call('provider_info', { id });

/** Stores your own OAuth app for a provider. The secret goes in once and never comes back. */
export const configureProvider = (
  id: string,
  clientId: string,
  clientSecret: string | null,
): Promise<Outcome<null>> => call('provider_configure', { id, clientId, clientSecret });

/** Adds a custom OAuth provider by discovery from its issuer URL. */
export const addCustomProvider = (
  id: string,
  issuer: string,
  clientId: string,
  clientSecret: string | null,
  scopes: string[],
): Promise<Outcome<ProviderSummary>> =>
  call('provider_add_custom', { id, issuer, clientId, clientSecret, scopes });

// --- connecting ----------------------------------------------------------------------------

/** Starts a browser sign-in and opens the system browser at the provider. */
export const connectStart = (
  provider: string,
  options: { redirect: RedirectKind | null; scopes: string[]; vars: Record<string, string> },
): Promise<Outcome<StartedFlow>> => call('connect_start', { provider, ...options });

/** Waits (up to a few seconds) for the flow to finish; call again while `pending`. */
export const connectWait = (flowId: string): Promise<Outcome<FlowOutcome>> => call('connect_wait', { flowId });

/** Opens the browser at the flow's authorization URL again. */
export const connectOpenAgain = (flowId: string): Promise<Outcome<null>> => call('connect_open_again', { flowId });

/** Abandons the flow (its state can no longer be used). */
export const connectCancel = (flowId: string): Promise<Outcome<null>> => call('connect_cancel', { flowId });

/** Finishes a sign-in from a redirect URL pasted by hand (when the browser could not hand it back). */
export const connectPaste = (url: string): Promise<Outcome<ConnectionSummary>> => call('connect_paste', { url });

/**
 * Connect by URL, step 1: which authorization server guards the URL and what it asks for.
 * Fetched over the network; nothing is stored.
 */
export const connectUrlPreview = (url: string): Promise<Outcome<Preview>> => call('connect_url_preview', { url });

/**
 * Connect by URL, step 2: after a native confirmation, Keyhaven registers itself at the server
 * when needed, defines the provider, and starts the browser sign-in (as connectStart does).
 * Empty `scopes`: what the resource asks for.
 */
export const connectUrl = (url: string, scopes: string[] = []): Promise<Outcome<StartedFlow>> =>
  call('connect_url', { url, scopes });

// --- credentials (cloud wizard) ------------------------------------------------------------

/** Adds API-key / machine credentials, checked live unless `verify` is false. */
export const addCredentials = (
  provider: string,
  values: Record<string, string>,
  options: { vars: Record<string, string>; account: string | null; verify: boolean },
): Promise<Outcome<AddReport>> => call('credentials_add', { provider, values, ...options });

// --- settings ------------------------------------------------------------------------------
// Privileged actions are confirmed by the person in native dialogs opened by the Rust side
// (SEC-43); declining resolves to the `cancelled` error, shown as a quiet notice.

/** Writes an encrypted backup to a file chosen in the system's save dialog (not by the page). */
export const exportBackup = (passphrase: string, moveOut: boolean): Promise<Outcome<ExportReport>> =>
  call('vault_export', { passphrase, moveOut });

/** Merges a backup chosen in the system's open dialog, after a native confirmation of what it changes. */
export const importBackup = (passphrase: string): Promise<Outcome<ImportReport>> => call('vault_import', { passphrase });

/** Forgets the open vault (a passphrase vault asks again; a keychain vault reopens on demand). */
export const lockVault = (): Promise<Outcome<null>> => call('vault_lock');

/**
 * Re-encrypts the vault: a passphrase vault needs its current passphrase and the new one; a
 * keychain vault gets a new random key after a native confirmation (both null).
 */
export const rekeyVault = (currentPassphrase: string | null, newPassphrase: string | null): Promise<Outcome<null>> =>
  call('vault_rekey', { currentPassphrase, newPassphrase });

// --- the app ---------------------------------------------------------------------------------

/** Facts about this installation: is the dev.keyhaven: link handler registered? */
export const appInfo = (): Promise<Outcome<AppInfo>> => call('app_info');

// --- links -----------------------------------------------------------------------------------

/**
 * Opens an https URL from the catalog (register_url, create_url, docs_url, a manual revocation
 * page) in the system browser. The webview never navigates away from the app.
 */
export const openUrl = (url: string): Promise<Outcome<null>> => call('open_url', { url });

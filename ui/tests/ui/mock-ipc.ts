// The UI tests' stand-in for the Rust side, bundled into one script (run.mjs) and injected with
// page.addInitScript before the app's own script runs: @tauri-apps/api/mocks' mockIPC answers
// every command from mock-data.ts and records each call in window.__mock.calls. The page's
// query string picks a scenario: ?vault=missing|locked, ?empty=1, ?key=keychain (a keychain
// vault), ?links=unregistered (the dev.keyhaven: handler is not registered). Connect by URL:
// https://mcp.HOST/... is guarded by https://auth.HOST, which registers Keyhaven;
// https://noreg.HOST/... by a server that cannot; the connection it makes is an MCP server's.
//
// Failures are thrown as {code, message}, exactly what a Rust command's CommandError becomes.
// `window.__mock.decline(cmd)` makes the next call of `cmd` answer `cancelled`, as when the
// person declines Rust's native dialog. The app's events go through the Channel the UI hands to
// `events_subscribe` (there is no Tauri event mock: the real window may not listen to events);
// `window.__mock.emit(event, payload)` sends one down it.

import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import type {
  AddReport,
  Binding,
  ConnectionDetails,
  ConnectionSummary,
  DisconnectReport,
  FlowOutcome,
  McpClient,
  McpView,
  Preview,
  ProviderSummary,
  SetupReport,
  StartedFlow,
  Tool,
  VaultStatus,
  VaultView,
} from '../../src/lib/api/types';
import type { CommandName } from '../../src/lib/api/generated';
import { auditEvents, CATEGORIES, CONFIG, connections, info, initialBindings, initiallyConfigured, iso, suggestedTargets, summaries, TOOLS, toolViews } from './mock-data';

type Args = Record<string, unknown>;
const params = new URLSearchParams(location.search);

const state = {
  vault: (params.get('vault') ?? 'open') as 'open' | 'missing' | 'locked',
  conns: params.get('empty') ? ([] as ConnectionDetails[]) : connections(),
  configured: initiallyConfigured(),
  custom: [] as ProviderSummary[],
  bindings: initialBindings() as Binding[],
  flows: new Map<string, StartedFlow>(),
  /** Providers made by connect_url, and their resource (an MCP server's endpoint). */
  byUrl: new Map<string, string>(),
  flowCount: 0,
  /** Set by a test: the next connect_wait answers this. */
  nextWait: null as FlowOutcome | null,
  calls: [] as { cmd: string; args: Args }[],
  /** Commands whose next call is declined in the "native dialog". */
  declined: new Set<string>(),
  /** The UI's event channel (events_subscribe) and the index of its next message. */
  channel: null as { id: number } | null,
  channelIndex: 0,
};

/** Sends one UiEvent down the UI's channel, as tauri::ipc::Channel::send does. */
function send(message: unknown): void {
  if (!state.channel) throw new Error('the UI never called events_subscribe');
  window.__TAURI_INTERNALS__.runCallback(state.channel.id, { message, index: state.channelIndex++ });
}

const fail = (code: string, message: string): never => {
  throw { code, message };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summary(c: ConnectionDetails): ConnectionSummary {
  return { id: c.id, provider: c.provider, account: c.account, status: c.status, expires_at: c.expires_at, scopes: c.scopes, instance: c.instance, label: c.label, default: c.default, renewable: c.renewable };
}

function find(id: unknown): ConnectionDetails {
  return state.conns.find((c) => c.id === id) ?? fail('bad_input', `no connection ${String(id)}`);
}

const status: VaultStatus = {
  path: '/home/alice/.local/share/keyhaven/vault.db',
  data_dir: '/home/alice/.local/share/keyhaven',
  vault_id: '8c1f6a3e-2b74-4d0a-9e5b-7f3c2d1a0b9e',
  created_at: iso(-86400 * 21),
  key_source:
    params.get('key') === 'keychain'
      ? { kind: 'keychain', service: 'dev.keyhaven', account: 'vault-8c1f6a3e' }
      : { kind: 'passphrase', kdf: 'argon2id', m_cost: 65536, t_cost: 3, p_cost: 1 },
  schema_version: 4,
  schema_latest: 4,
  size_bytes: 196608,
  integrity: 'ok',
  counts: { providers: 5, connections: 7, pending_flows: 0, audit_events: 11 },
};

function view(): VaultView {
  if (state.vault === 'missing') return { state: 'missing', data_dir: status.data_dir };
  if (state.vault === 'locked') return { state: 'locked_passphrase', path: status.path };
  return { state: 'open', status: { ...status, counts: { ...status.counts, connections: state.conns.length } } };
}

const FOUND: Record<string, Record<string, string>> = {
  hetzner: { servers: '3' },
  scaleway: { default_project: '4f1c9b7e-2a6d-4e3b-8c5f-0d9a7b6e5c4d', description: 'terraform laptop' },
  aws: { account_id: '123456789012', user_id: 'AIDAJQABLZS4A3QDU576Q' },
  ovhcloud: { email: 'alice@example.com', organisation: 'Example SAS', subsidiary: 'FR' },
};
const ACCOUNT: Record<string, string> = {
  hetzner: 'web-project',
  scaleway: 'SCWAB12CD34EF56GH78J',
  aws: 'arn:aws:iam::123456789012:user/deploy',
  ovhcloud: 'am12345-ovh',
};

function addCredentials(args: Args): AddReport {
  const provider = String(args.provider);
  const values = args.values as Record<string, string>;
  const vars = args.vars as Record<string, string>;
  if (args.verify) {
    const all = Object.values(values).join(' ');
    if (all.includes('00000000-0000-0000-0000-000000000000')) {
      fail('credentials_invalid', `${provider}: the secret key was rejected (HTTP 401): this key does not exist or was deleted`);
    }
    if (all.includes('forbidden')) fail('credentials_forbidden', `${provider}: the key is valid but lacks the permission IAMReadOnly (HTTP 403)`);
    if (vars.endpoint === 'ovh-ca') fail('credentials_wrong_region', 'ovhcloud: this application key belongs to ovh-eu, not ovh-ca');
    if (all.includes('skew')) fail('clock_skew', "ovhcloud: this computer's clock is 7 minutes behind the provider's");
    if (all.includes('offline')) fail('provider_unavailable', `${provider}: could not connect to the API (timed out after 15 s)`);
  }
  const account = (args.account as string | null) ?? ACCOUNT[provider] ?? `${provider}-key`;
  const c = connections()[0]!;
  const created: ConnectionDetails = {
    ...c,
    id: `c_${provider.slice(0, 2)}${state.conns.length + 10}`,
    provider,
    account,
    status: 'connected',
    expires_at: null,
    scopes: [],
    scopes_requested: [],
    has_refresh_token: false,
    fields: [],
    last_error: null,
  };
  state.conns.push(created);
  return { ...summary(created), verified: Boolean(args.verify), found: args.verify ? (FOUND[provider] ?? {}) : {} };
}

function disconnect(args: Args): DisconnectReport {
  const c = find(args.id);
  state.conns = state.conns.filter((x) => x.id !== c.id);
  if (args.keepRemote) return { id: c.id, revoked: [], not_revoked: [], retry_pending: [], manual_revocation_url: null, kept_remote: true, key_stays_valid: false, tools_removed: [], tools_left: [] };
  return {
    id: c.id,
    revoked: ['refresh_token'],
    not_revoked: [['access_token', 'Microsoft has no revocation endpoint for access tokens; it stays valid until it expires (45 min)']],
    retry_pending: ['id_token'],
    manual_revocation_url: 'https://myapplications.microsoft.com/',
    kept_remote: false,
    key_stays_valid: false,
    tools_removed: [],
    tools_left: [],
  };
}

function toolOf(raw: unknown): Tool {
  const t = String(raw) as Tool;
  return TOOLS.includes(t) ? t : fail('bad_input', `unknown tool "${String(raw)}": one of git, aws, kube, docker, terraform, cargo`);
}

/** core's check of a host (git, docker, terraform): HOST or HOST:PORT, lowercased. */
function checkTarget(tool: Tool, target: string): string {
  const t = target.trim();
  if (['git', 'docker', 'terraform'].includes(tool) && !/^[a-z0-9.-]+(:[0-9]{1,5})?$/i.test(t)) {
    fail('bad_input', `"${t}" is not a host (HOST or HOST:PORT, e.g. github.com)`);
  }
  return ['git', 'docker', 'terraform'].includes(tool) ? t.toLowerCase() : t;
}

function setupTool(args: Args): SetupReport[] {
  const c = find(args.id);
  const tool = toolOf(args.tool);
  const given = typeof args.target === 'string' && args.target.trim() !== '' ? [args.target] : [];
  const targets = given.length > 0 ? given : tool === 'git' ? suggestedTargets(c.provider, tool) : [];
  if (targets.length === 0) fail('bad_input', tool === 'git' ? `the catalog names no git host for ${c.provider}: give the host` : `${tool}: give the target`);
  return targets.map((raw) => {
    const target = checkTarget(tool, raw);
    const existing = state.bindings.find((b) => b.tool === tool && b.target === target);
    const changed = !existing || existing.connection_id !== c.id;
    state.bindings = state.bindings.filter((b) => b !== existing);
    state.bindings.push({ tool, target, connection_id: c.id, config: CONFIG[tool], created_at: existing?.created_at ?? new Date().toISOString() });
    const notes = tool === 'docker' ? ['/home/alice/.local/bin is not on PATH: add it, or docker cannot find docker-credential-keyhaven'] : [];
    return { tool, target, connection_id: c.id, config: CONFIG[tool], changed, notes };
  });
}

function removeTool(args: Args): SetupReport {
  const tool = toolOf(args.tool);
  const target = String(args.target);
  const b = state.bindings.find((x) => x.tool === tool && x.target === target);
  if (!b) fail('bad_input', `${tool} is not set up for ${target} by Keyhaven (\`keyhaven setup --list\` shows what is)`);
  state.bindings = state.bindings.filter((x) => x !== b);
  return { tool, target, connection_id: b!.connection_id, config: CONFIG[tool], changed: true, notes: [] };
}

function startFlow(provider: string): StartedFlow {
  const flow: StartedFlow = {
    flow_id: `flow-${++state.flowCount}`,
    authorization_url: `https://auth.example.com/authorize?client_id=abc&state=xyz&provider=${provider}`,
    redirect_uri: 'http://127.0.0.1:53682/callback',
    redirect_kind: 'loopback',
    provider,
    expires_at: iso(600),
  };
  state.flows.set(flow.flow_id, flow);
  return flow;
}

/** core's by_url::check_url, as far as the tests need it. */
function checkUrl(raw: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(raw.trim());
  } catch {
    fail('bad_input', `"${raw}" is not a URL: relative URL without a base`);
  }
  const u = url!;
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    fail('bad_input', `${raw.trim()}: only https URLs (or http on this machine) are used, not ${u.protocol.slice(0, -1)}`);
  }
  return u;
}

function byUrlPreview(raw: string): Preview {
  const u = checkUrl(raw);
  if (!/^(mcp|noreg)\./.test(u.hostname)) fail('http', `the resource ${u.href}: could not connect (timed out after 5 s)`);
  const providerId = `${u.host}${u.pathname}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return {
    resource: u.href,
    issuer: `https://auth.${u.hostname.replace(/^(mcp|noreg)\./, '')}`,
    scopes: ['notes:read', 'notes:write'],
    provider_id: providerId,
    registered: state.byUrl.has(providerId),
    can_register: u.hostname.startsWith('mcp.'),
  };
}

function connectUrl(args: Args): StartedFlow {
  const p = byUrlPreview(String(args.url));
  if (!p.registered && !p.can_register) {
    fail('bad_input', `${p.issuer} offers no dynamic client registration: register an app there and connect with \`keyhaven providers add --id ID --issuer ${p.issuer} --client-id CLIENT_ID\``);
  }
  state.byUrl.set(p.provider_id, p.resource);
  return startFlow(p.provider_id);
}

const MCP_CLIENTS: [McpClient, string, string][] = [
  ['claude-desktop', 'mcpServers', '/home/alice/.config/Claude/claude_desktop_config.json'],
  ['claude-code', 'mcpServers', '/home/alice/.claude.json'],
  ['cursor', 'mcpServers', '/home/alice/.cursor/mcp.json'],
  ['vscode', 'servers', '/home/alice/.config/Code/User/mcp.json'],
  ['windsurf', 'mcpServers', '/home/alice/.codeium/windsurf/mcp_config.json'],
  ['gemini', 'mcpServers', '/home/alice/.gemini/settings.json'],
  ['zed', 'context_servers', '/home/alice/.config/zed/settings.json'],
  ['codex', '', '/home/alice/.codex/config.toml'],
];

/** core's McpClient::snippet for each client, named after the connection. */
function mcpView(c: ConnectionDetails): McpView | null {
  const url = state.byUrl.get(c.provider);
  if (!url) return null;
  const program = '/usr/bin/keyhaven';
  const clients = MCP_CLIENTS.map(([client, key, config]) => {
    const entry = client === 'vscode' ? { type: 'stdio', command: program, args: ['mcp-proxy', c.id] } : { command: program, args: ['mcp-proxy', c.id] };
    const snippet = client === 'codex'
      ? `[mcp_servers.${c.id}]\ncommand = "${program}"\nargs = ["mcp-proxy", "${c.id}"]\n`
      : JSON.stringify({ [key]: { [c.id]: entry } }, null, 2);
    return { client, config, snippet };
  });
  return { url, program, clients };
}

// One per command of the generated contract, no more, no fewer (a type error otherwise).
const handlers: Record<CommandName, (args: Args) => unknown> = {
  vault_status: () => view(),
  vault_init: () => ((state.vault = 'open'), view()),
  vault_unlock: (a) => (a.passphrase === 'wrong' ? fail('wrong_passphrase', 'wrong passphrase for this vault') : ((state.vault = 'open'), view())),
  vault_lock: () => ((state.vault = 'locked'), null),
  vault_rekey: (a) =>
    a.currentPassphrase === 'wrong'
      ? fail('wrong_passphrase', 'wrong passphrase for this vault')
      : a.newPassphrase != null && String(a.newPassphrase).length < 8
        ? fail('bad_passphrase', 'a new passphrase needs at least 8 characters')
        : null,
  // The path is chosen in the (native) save dialog: the page sends none.
  vault_export: (a) => ({ path: '/home/alice/Documents/keyhaven-backup-2025-06-01.age', providers: 5, connections: state.conns.length, moved: a.moveOut ? state.conns.map((c) => c.id) : [] }),
  vault_import: (a) =>
    a.passphrase === 'wrong'
      ? fail('backup_wrong_passphrase', 'the backup passphrase is wrong')
      : {
          added: ['github:bob'],
          updated: ['microsoft:alice@contoso.com'],
          skipped: [['slack:acme-team', 'the copy here is newer']],
          refused: [['provider corp-sso', 'a provider with this id exists here with another issuer']],
        },
  app_info: () => ({ deep_link_registered: params.get('links') === 'unregistered' ? false : true }),
  events_subscribe: (a) => {
    state.channel = a.onEvent as { id: number };
    state.channelIndex = 0;
    return null;
  },
  connections_list: () => state.conns.map(summary),
  connection_show: (a) => find(a.id),
  // The id token stands for a reveal the person declined in Rust's native confirmation.
  connection_reveal: (a) => (find(a.id), a.field === 'id_token' && fail('cancelled', 'cancelled: nothing was shown or copied'), a.field === 'access_token' ? 'gho_16C7e42F292c6912E7710c838347Ae178B4a' : 'secret-value-of-' + String(a.field)),
  connection_copy: (a) => (find(a.id), null),
  connection_refresh: (a) => {
    const c = find(a.id);
    if (c.status === 'needs_reauth') fail('needs_reauth', `${c.provider} refused the refresh token; reconnect`);
    c.status = 'connected';
    c.expires_at = iso(3600);
    return summary(c);
  },
  connection_disconnect: disconnect,
  connection_tools: (a) => {
    const c = find(a.id);
    return toolViews(c.id, c.provider, state.bindings);
  },
  setup_tool: setupTool,
  remove_tool: removeTool,
  audit_list: (a) => auditEvents().filter((e) => a.connection == null || e.connection_id === a.connection),
  providers_list: () => summaries(state.configured, state.custom),
  catalog_categories: () => CATEGORIES,
  provider_info: (a) => info(String(a.id), state.configured) ?? fail('unknown_provider', `unknown provider ${String(a.id)}`),
  provider_configure: (a) => (state.configured.add(String(a.id)), null),
  provider_add_custom: (a) => {
    const p: ProviderSummary = { id: String(a.id), name: String(a.id), auth_mode: 'oauth2', custom: true, configured: true, redirects: ['loopback'], categories: ['identity'], aliases: [], icon: null, variables: [] };
    state.custom.push(p);
    return p;
  },
  connect_start: (a) => startFlow(String(a.provider)),
  connect_wait: async (a) => {
    await sleep(150);
    const next = state.nextWait;
    // Only the newest flow finishes: a cancelled flow's late poll stays pending, as in Rust.
    if (!next || a.flowId !== `flow-${state.flowCount}`) return { state: 'pending' };
    state.nextWait = null;
    state.flows.delete(String(a.flowId));
    // A connection made by URL is listed from now on (its page shows the MCP box).
    if (next.state === 'done' && state.byUrl.has(next.connection.provider) && !state.conns.some((c) => c.id === next.connection.id)) {
      state.conns.push({ ...connections()[1]!, ...next.connection, scopes_requested: next.connection.scopes, has_refresh_token: true, fields: [], last_error: null, extra: {} });
    }
    return next;
  },
  connect_open_again: () => null,
  connect_cancel: (a) => (state.flows.delete(String(a.flowId)), null),
  connect_paste: (a) => {
    const url = String(a.url);
    if (!url.includes('code=')) fail('bad_redirect', 'this address has no authorization code');
    return { id: 'c_pasted', provider: 'gitlab', account: 'amartin', status: 'connected', expires_at: iso(7200), scopes: ['read_user'], instance: '', label: null, default: false, renewable: true };
  },
  connect_url_preview: (a) => byUrlPreview(String(a.url)),
  connect_url: connectUrl,
  connection_mcp: (a) => mcpView(find(a.id)),
  credentials_add: addCredentials,
  open_url: () => null,
};

mockWindows('main');
mockIPC(
  async (cmd, args) => {
    const a = (args ?? {}) as Args;
    state.calls.push({ cmd, args: JSON.parse(JSON.stringify(a)) as Args });
    // The real window has no event permission (capabilities/main.json): neither has the mock.
    if (cmd.startsWith('plugin:event|')) fail('ipc', `${cmd} not allowed: the window has no event permission`);
    if (state.declined.delete(cmd)) fail('cancelled', 'cancelled: nothing was changed');
    const handler = (handlers as Partial<Record<string, (args: Args) => unknown>>)[cmd];
    if (!handler) fail('ipc', `the mock has no command ${cmd}`);
    return handler!(a);
  },
);

declare global {
  interface Window {
    __mock: {
      calls: typeof state.calls;
      finishFlow: (outcome: FlowOutcome) => void;
      emit: (event: string, payload?: unknown) => void;
      decline: (cmd: string) => void;
    };
    __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void };
  }
}

window.__mock = {
  calls: state.calls,
  finishFlow: (outcome) => (state.nextWait = outcome),
  emit: (event, payload) => send(payload === undefined ? { event } : { event, payload }),
  decline: (cmd) => void state.declined.add(cmd),
};

// GENERATED from the Rust types by src-tauri/src/contract.rs: do not edit by hand.
// Regenerate: KEYHAVEN_UPDATE_GENERATED=1 cargo test -p keyhaven-desktop --lib generated_ts (or: make generated)
// A test (`generated_ts_is_up_to_date`, part of `cargo test --workspace`) fails when this
// file differs from what Rust generates.

import type { Channel } from '@tauri-apps/api/core';

// --- the types that cross IPC ------------------------------------------------------------

/**
 * What [`add`] did.
 */
export type AddReport = { 
/**
 * Whether a live call confirmed the credentials.
 */
verified: boolean, 
/**
 * What the verification found (account, project, organisation, ARN ...), for display.
 */
found: { [key in string]: string }, 
/**
 * Connection id.
 */
id: ConnectionId, 
/**
 * Provider id.
 */
provider: string, 
/**
 * Account identity.
 */
account: string, 
/**
 * The provider instance (`host=gitlab.example.com`), "" for providers without variables.
 */
instance: string, 
/**
 * A name the person gave it (`keyhaven rename`), usable in place of the account.
 */
label: string | null, 
/**
 * Whether it is its provider's default connection (`keyhaven default`).
 */
default: boolean, 
/**
 * connected | expiring | expired | needs_reauth.
 */
status: ConnectionStatus, 
/**
 * Whether it renews its access token by itself (a refresh token, or a machine grant): an
 * `expired` one that is renewable gets a new token at its next use.
 */
renewable: boolean, 
/**
 * RFC 3339 expiry, or null.
 */
expires_at: string | null, 
/**
 * Scopes granted.
 */
scopes: Array<string>, };

/**
 * Facts about this installation the screens need.
 */
export type AppInfo = { 
/**
 * Whether `dev.keyhaven:` links open this app; `null` when the system cannot say.
 */
deep_link_registered: boolean | null, };

/**
 * One audit event.
 */
export type AuditEvent = { 
/**
 * Row id, increasing.
 */
id: number, 
/**
 * RFC 3339 time.
 */
at: string, 
/**
 * The connection concerned, if any.
 */
connection_id: string | null, 
/**
 * Who it is about, `provider:account` (kept after the connection is deleted).
 */
subject: string | null, 
/**
 * What happened, e.g. `vault.created`, `connection.created`.
 */
action: string, 
/**
 * `cli` or `desktop`.
 */
actor: string, 
/**
 * Non-secret detail (an error code, a field name).
 */
detail: string | null, 
/**
 * Hand-outs: the pid of the process that asked (the agent's peer, or the command itself
 * on the direct path).
 */
pid: number | null, 
/**
 * Hand-outs: that process's executable (`/proc/PID/exe`).
 */
program: string | null, 
/**
 * Hand-outs: its parent's executable (the tool behind a helper or a script).
 */
parent_program: string | null, 
/**
 * Hand-outs: the tool the credential was for (`token`, `env`, `git`...).
 */
tool: string | null, };

/**
 * How a provider authenticates.
 */
export type AuthMode = "oauth2" | "oauth2_client_credentials" | "oauth2_password" | "oauth2_jwt_bearer" | "oauth2_extension_grant" | "api_key" | "basic";

/**
 * A tool set up to take its credentials from a connection (`keyhaven setup`).
 */
export type Binding = { 
/**
 * The tool.
 */
tool: Tool, 
/**
 * Host, profile, context or registry (see [`Tool::target_noun`]).
 */
target: string, 
/**
 * The connection it takes credentials from.
 */
connection_id: string, 
/**
 * The configuration file that was changed.
 */
config: string | null, 
/**
 * When it was set up (RFC 3339).
 */
created_at: string, };

/**
 * A category: the id written in `categories = [...]` and its label.
 */
export type Category = { 
/**
 * Id, as in the files and on the command line.
 */
id: string, 
/**
 * What a person reads.
 */
label: string, };

/**
 * A command failure as the UI receives it.
 */
export type CommandError = { 
/**
 * Stable machine code, e.g. `keychain_unavailable` (see `keyhaven_core::Error::code`).
 */
code: CommandErrorCode, 
/**
 * One line for a person, free of secrets.
 */
message: string, };

/**
 * What `show` prints.
 */
export type ConnectionDetails = { 
/**
 * Scopes requested.
 */
scopes_requested: Array<string>, 
/**
 * Token type.
 */
token_type: string | null, 
/**
 * Non-secret extra fields of the token response.
 */
extra: Record<string, unknown>, 
/**
 * Created.
 */
created_at: string, 
/**
 * Updated.
 */
updated_at: string, 
/**
 * Stored fields.
 */
fields: Array<FieldInfo>, 
/**
 * Whether a refresh token is stored.
 */
has_refresh_token: boolean, 
/**
 * The last refresh or flow error, if any.
 */
last_error: string | null, 
/**
 * Connection id.
 */
id: ConnectionId, 
/**
 * Provider id.
 */
provider: string, 
/**
 * Account identity.
 */
account: string, 
/**
 * The provider instance (`host=gitlab.example.com`), "" for providers without variables.
 */
instance: string, 
/**
 * A name the person gave it (`keyhaven rename`), usable in place of the account.
 */
label: string | null, 
/**
 * Whether it is its provider's default connection (`keyhaven default`).
 */
default: boolean, 
/**
 * connected | expiring | expired | needs_reauth.
 */
status: ConnectionStatus, 
/**
 * Whether it renews its access token by itself (a refresh token, or a machine grant): an
 * `expired` one that is renewable gets a new token at its next use.
 */
renewable: boolean, 
/**
 * RFC 3339 expiry, or null.
 */
expires_at: string | null, 
/**
 * Scopes granted.
 */
scopes: Array<string>, };

/**
 * A connection's id.
 */
export type ConnectionId = string;

/**
 * A connection's status. `Expiring` and `Expired` are derived at read time from the expiry
 * (never stored by a hand-out); `NeedsReauth` is stored when the person must act.
 */
export type ConnectionStatus = "connected" | "expiring" | "expired" | "needs_reauth";

/**
 * A connection as listed: no secret in it.
 */
export type ConnectionSummary = { 
/**
 * Connection id.
 */
id: ConnectionId, 
/**
 * Provider id.
 */
provider: string, 
/**
 * Account identity.
 */
account: string, 
/**
 * The provider instance (`host=gitlab.example.com`), "" for providers without variables.
 */
instance: string, 
/**
 * A name the person gave it (`keyhaven rename`), usable in place of the account.
 */
label: string | null, 
/**
 * Whether it is its provider's default connection (`keyhaven default`).
 */
default: boolean, 
/**
 * connected | expiring | expired | needs_reauth.
 */
status: ConnectionStatus, 
/**
 * Whether it renews its access token by itself (a refresh token, or a machine grant): an
 * `expired` one that is renewable gets a new token at its next use.
 */
renewable: boolean, 
/**
 * RFC 3339 expiry, or null.
 */
expires_at: string | null, 
/**
 * Scopes granted.
 */
scopes: Array<string>, };

/**
 * A credential field of an API-key / Basic provider (cloud credentials).
 */
export type CredentialField = { 
/**
 * Field name (stable key).
 */
name: string, 
/**
 * Label shown to the person.
 */
label: string, 
/**
 * Help text.
 */
help: string, 
/**
 * Secret fields are stored encrypted, masked, never listed.
 */
secret: boolean, 
/**
 * Regular expression the value must match.
 */
pattern: string | null, 
/**
 * Optional field.
 */
optional: boolean, 
/**
 * Where the person creates this credential.
 */
create_url: string | null, 
/**
 * The permissions or scopes the credential needs for Keyhaven's check (and typical use).
 */
permissions: string | null, 
/**
 * The value is a JSON document (a key file): its line breaks, which JSON allows only
 * between tokens, are dropped, and a value that does not parse is refused.
 */
json?: boolean, };

/**
 * What `disconnect` did.
 */
export type DisconnectReport = { 
/**
 * Connection id.
 */
id: string, 
/**
 * Token kinds revoked at the provider (`refresh_token`, `access_token`).
 */
revoked: Array<string>, 
/**
 * Token kinds not revoked, with the reason.
 */
not_revoked: Array<[string, string]>, 
/**
 * Of those, the ones kept in a tombstone and retried later (the outcome was uncertain).
 */
retry_pending: Array<string>, 
/**
 * Where the person can revoke access by hand, when something was not revoked.
 */
manual_revocation_url: string | null, 
/**
 * Whether revocation was skipped on request (`--keep-remote`).
 */
kept_remote: boolean, 
/**
 * The credentials themselves (an API key, a machine client's secret) stay valid at the
 * provider: deleting them here does not revoke them. `manual_revocation_url` says where.
 */
key_stays_valid: boolean, 
/**
 * Tools that were set up to use the connection and are now put back as they were
 * (`keyhaven setup ... --remove`, docs/tools.md): `TOOL TARGET`.
 */
tools_removed: Array<string>, 
/**
 * Tools whose setup could not be taken out (`TOOL TARGET`, why): their config still names
 * Keyhaven's helper, which now answers "not found".
 */
tools_left: Array<[string, string]>, };

/**
 * What an export wrote.
 */
export type ExportReport = { 
/**
 * The file written.
 */
path: string, 
/**
 * Provider settings exported.
 */
providers: number, 
/**
 * Connections exported.
 */
connections: number, 
/**
 * Connections marked moved (with `--move`): their refresh tokens now belong to the file.
 */
moved: Array<string>, };

/**
 * A stored field as shown by `show`.
 */
export type FieldInfo = { 
/**
 * Field name.
 */
name: string, 
/**
 * Whether it is secret.
 */
secret: boolean, 
/**
 * Length in bytes.
 */
length: number, 
/**
 * The value of a plain (non-secret) field. A secret's value is never here: see `revealed`.
 */
value: string | null, 
/**
 * Last change.
 */
updated_at: string, 
/**
 * Seconds since the last change (e.g. the refresh token's age).
 */
age_secs: number, 
/**
 * For a JWT: its header and claims, decoded for display and NOT verified.
 */
jwt: UnverifiedJwt | null, };

/**
 * The outcome of a sign-in finished outside the page, and which flow it was.
 */
export type FlowFinished = { 
/**
 * The flow's id (its state's SHA-256), when the redirect could be read.
 */
flow_id: string | null, } & ({ "state": "pending" } | { "state": "done", 
/**
 * The connection.
 */
connection: ConnectionSummary, } | { "state": "failed", 
/**
 * Why, readably.
 */
message: string, });

/**
 * Where a flow is (`connect_wait`; also the `flow-finished` event's payload).
 */
export type FlowOutcome = { "state": "pending" } | { "state": "done", 
/**
 * The connection.
 */
connection: ConnectionSummary, } | { "state": "failed", 
/**
 * Why, readably.
 */
message: string, };

/**
 * One hand-out of a connection's credential to a tool, as the audit log has it (no secret).
 */
export type HandOut = { 
/**
 * When (RFC 3339).
 */
at: string, 
/**
 * The asking process's pid.
 */
pid: number | null, 
/**
 * Its executable.
 */
program: string | null, 
/**
 * Its parent's executable (the tool behind a helper).
 */
parent_program: string | null, };

/**
 * What an import did, per kind of row: ids (connections as `provider:account`).
 */
export type ImportReport = { 
/**
 * New here.
 */
added: Array<string>, 
/**
 * Present here, and newer in the backup: replaced.
 */
updated: Array<string>, 
/**
 * Present here and identical, or newer here: left alone (with the reason).
 */
skipped: Array<[string, string]>, 
/**
 * Not imported because the file's row is not acceptable (with the reason, SEC-40).
 */
refused: Array<[string, string]>, };

/**
 * Where the vault key comes from, for display.
 */
export type KeySourceInfo = { "kind": "keychain", 
/**
 * Keychain service.
 */
service: string, 
/**
 * Keychain account (item name).
 */
account: string, } | { "kind": "passphrase", 
/**
 * KDF name.
 */
kdf: string, 
/**
 * Memory cost in KiB.
 */
m_cost: number, 
/**
 * Passes.
 */
t_cost: number, 
/**
 * Lanes.
 */
p_cost: number, };

/**
 * The MCP clients `keyhaven setup mcp --client NAME` knows the configuration of.
 */
export type McpClient = "claude-desktop" | "claude-code" | "cursor" | "windsurf" | "vscode" | "gemini" | "zed" | "codex";

/**
 * What to paste into one MCP client's configuration.
 */
export type McpClientSnippet = { 
/**
 * The client (`claude-desktop`, `cursor`, ...).
 */
client: McpClient, 
/**
 * Its configuration file on this machine, when the home directory is known.
 */
config: string | null, 
/**
 * The text to paste there.
 */
snippet: string, };

/**
 * A connection's MCP server, and each client's configuration to reach it.
 */
export type McpView = { 
/**
 * The server's endpoint, which the proxy forwards to (and its tokens are bound to).
 */
url: string, 
/**
 * The `keyhaven` program the snippets run.
 */
program: string, 
/**
 * One per client, in `McpClient::ALL`'s order.
 */
clients: Array<McpClientSnippet>, };

/**
 * What connecting `target` would do, found out without storing anything: the desktop's
 * "Connect by URL" preview (which server guards it, what it asks for, whether Keyhaven can
 * register itself there).
 */
export type Preview = { 
/**
 * The resource its tokens would be for.
 */
resource: string, 
/**
 * The authorization server that guards it (its issuer, checked).
 */
issuer: string, 
/**
 * The scopes it asks for.
 */
scopes: Array<string>, 
/**
 * The provider id the connection would get.
 */
provider_id: string, 
/**
 * Keyhaven already holds a registration at that server.
 */
registered: boolean, 
/**
 * The server lets Keyhaven register itself (RFC 7591), so no client id is needed.
 */
can_register: boolean, };

/**
 * Everything a front end shows about one provider before connecting it (desktop add-connection
 * and cloud-wizard screens).
 */
export type ProviderInfo = { 
/**
 * Id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Auth mode.
 */
auth_mode: AuthMode, 
/**
 * A grant kept only because the provider offers nothing else.
 */
legacy: boolean, 
/**
 * Documentation.
 */
docs_url: string, 
/**
 * Where to register an OAuth app / create a key.
 */
register_url: string | null, 
/**
 * Categories.
 */
categories: Array<string>, 
/**
 * Other names it is found by.
 */
aliases: Array<string>, 
/**
 * Its brand icon's `simple-icons` slug, if the set has one.
 */
icon: string | null, 
/**
 * Default scopes.
 */
scopes: Array<string>, 
/**
 * Accepted redirect kinds, default first.
 */
redirects: Array<RedirectKind>, 
/**
 * Whether your app needs a client secret.
 */
client_secret_required: boolean, 
/**
 * Template variables, with their names.
 */
variables: Array<VariableInfo>, 
/**
 * Credential fields, in the order to ask them.
 */
fields: Array<CredentialField>, 
/**
 * Environment variable names its tools read.
 */
env: Array<string>, 
/**
 * Whether your OAuth app is stored.
 */
configured: boolean, 
/**
 * Its client id (not a secret), when stored.
 */
client_id: string | null, 
/**
 * Issuer, as configured (templates unfilled).
 */
issuer: string | null, 
/**
 * Authorization endpoint, as configured.
 */
authorization_url: string | null, 
/**
 * Token endpoint, as configured.
 */
token_url: string | null, 
/**
 * Revocation endpoint, as configured.
 */
revocation_url: string | null, 
/**
 * Redirect URI to register at the provider, per kind.
 */
redirect_uris: { [key in string]: string }, };

/**
 * A provider as listed.
 */
export type ProviderSummary = { 
/**
 * Id.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Auth mode.
 */
auth_mode: AuthMode, 
/**
 * Whether it is a custom provider.
 */
custom: boolean, 
/**
 * Whether an OAuth app (client id) is configured.
 */
configured: boolean, 
/**
 * Accepted redirect kinds, default first.
 */
redirects: Array<RedirectKind>, 
/**
 * Categories (`catalog::CATEGORIES`), the one it is listed under first.
 */
categories: Array<string>, 
/**
 * Other names it is found by (`twitter` for X).
 */
aliases: Array<string>, 
/**
 * Its brand icon's `simple-icons` slug, if the set has one.
 */
icon: string | null, 
/**
 * Template variables it needs.
 */
variables: Array<string>, };

/**
 * A redirect kind (RFC 8252 §7).
 */
export type RedirectKind = "deep-link" | "loopback";

/**
 * What setting a tool up asks for besides the connection.
 */
export type SetupInput = { 
/**
 * What the target is called: `host`, `profile`, `context` or `registry`.
 */
target_noun: string, 
/**
 * Whether a target must be given (git's defaults to the catalog's hosts, `suggested`).
 */
target_required: boolean, 
/**
 * aws: the profile's region may be given.
 */
region: boolean, 
/**
 * kubectl: the exec plugin's apiVersion may be given.
 */
api_version: boolean, };

/**
 * What one setup or removal did.
 */
export type SetupReport = { 
/**
 * The tool.
 */
tool: Tool, 
/**
 * Host, profile, context or registry.
 */
target: string, 
/**
 * The connection.
 */
connection_id: string, 
/**
 * The file changed (or that would have been).
 */
config: string, 
/**
 * Whether anything changed (false: it was already so).
 */
changed: boolean, 
/**
 * Things the person should know (a link directory not on PATH, say).
 */
notes: Array<string>, };

/**
 * A started browser sign-in, as the UI sees it (`connect_start`).
 */
export type StartedFlow = { 
/**
 * Opaque id of this flow (the SHA-256 of its state); what `connect_wait` and
 * `connect_cancel` take.
 */
flow_id: string, 
/**
 * What the browser was sent to; shown for "copy link" and "open again".
 */
authorization_url: string, 
/**
 * Where the provider sends the browser back.
 */
redirect_uri: string, 
/**
 * Which kind of redirect that is.
 */
redirect_kind: RedirectKind, 
/**
 * The provider's id.
 */
provider: string, 
/**
 * RFC 3339: the flow is void after this.
 */
expires_at: string, };

/**
 * The tools Keyhaven speaks to, by the name the audit log and `keyhaven setup` use.
 */
export type Tool = "git" | "aws" | "kubectl" | "docker" | "terraform" | "cargo" | "mcp";

/**
 * The optional values of a setup (`keyhaven setup aws --region`, `setup kube --api-version`).
 */
export type ToolOptions = { 
/**
 * aws: the profile's region.
 */
region: string | null, 
/**
 * kubectl: the exec plugin's apiVersion.
 */
api_version: string | null, };

/**
 * One tool as a connection's page shows it.
 */
export type ToolView = { 
/**
 * The tool.
 */
tool: Tool, 
/**
 * What is set up to take credentials from this connection (target, config file).
 */
bindings: Array<Binding>, 
/**
 * The targets the catalog names for this connection (git, docker): what to prefill.
 */
suggested: Array<string>, 
/**
 * The last hand-outs of this connection's credentials to the tool, newest first.
 */
last_hand_outs: Array<HandOut>, 
/**
 * What a setup asks for.
 */
input: SetupInput, 
/**
 * Why the tool cannot use this connection, when it cannot (aws without an access key).
 */
unavailable: string | null, };

/**
 * What the UI is told (its TypeScript type is generated: `contract.rs`).
 */
export type UiEvent = { "event": "connections-changed" } | { "event": "flow-finished", "payload": FlowFinished };

/**
 * A JWT decoded for display, without verification.
 */
export type UnverifiedJwt = { 
/**
 * Always true: a reminder in the JSON output.
 */
unverified: boolean, 
/**
 * The JOSE header.
 */
header: Record<string, unknown>, 
/**
 * The claims.
 */
claims: Record<string, unknown>, 
/**
 * `exp`, `iat`, `nbf` as RFC 3339 times, when present.
 */
times: Record<string, string>, };

/**
 * A template variable, with its name.
 */
export type VariableInfo = { 
/**
 * `${name}`.
 */
name: string, 
/**
 * Label.
 */
label: string, 
/**
 * Help.
 */
help: string, 
/**
 * Anchored pattern.
 */
pattern: string, 
/**
 * Default.
 */
default: string | null, 
/**
 * Example.
 */
example: string, };

/**
 * Row counts per table, for `vault status`.
 */
export type VaultCounts = { 
/**
 * Provider settings (own OAuth apps, custom providers).
 */
providers: number, 
/**
 * Connections.
 */
connections: number, 
/**
 * Authorization flows waiting for their redirect.
 */
pending_flows: number, 
/**
 * Audit events.
 */
audit_events: number, };

/**
 * What `vault status` reports.
 */
export type VaultStatus = { 
/**
 * The database file.
 */
path: string, 
/**
 * The data directory.
 */
data_dir: string, 
/**
 * The vault's random id.
 */
vault_id: string, 
/**
 * RFC 3339 creation time.
 */
created_at: string, 
/**
 * Where the key comes from.
 */
key_source: KeySourceInfo, 
/**
 * Schema version in the file.
 */
schema_version: number, 
/**
 * Newest schema version this build knows.
 */
schema_latest: number, 
/**
 * Size of the database file in bytes.
 */
size_bytes: number, 
/**
 * Result of SQLCipher's page authentication over the whole file.
 */
integrity: string, 
/**
 * Row counts.
 */
counts: VaultCounts, };

/**
 * What the UI shows: the vault's state as seen from the desktop app.
 */
export type VaultView = { "state": "missing", 
/**
 * Where `vault_init` will create the vault.
 */
data_dir: string, } | { "state": "locked_passphrase", 
/**
 * The vault file.
 */
path: string, } | { "state": "open", 
/**
 * Path, key source, schema, counts and integrity, from core.
 */
status: VaultStatus, };

// --- error codes ---------------------------------------------------------------------------

/** Every code `keyhaven_core::Error::code()` can produce (from `Error::all_codes()`). */
export const ERROR_CODES = [
  'keychain_unavailable',
  'keychain_locked',
  'keychain_error',
  'key_missing',
  'wrong_key',
  'wrong_passphrase',
  'passphrase_required',
  'bad_passphrase',
  'not_a_vault',
  'vault_corrupt',
  'schema_too_new',
  'data_dir_not_writable',
  'no_data_dir',
  'already_initialized',
  'not_initialized',
  'vault_locked',
  'agent_unavailable',
  'bad_metadata',
  'io',
  'database',
  'rekey_failed',
  'random',
  'catalog',
  'unknown_provider',
  'no_such_connection',
  'bad_variable',
  'not_configured',
  'bad_input',
  'bad_redirect',
  'unknown_state',
  'flow_expired',
  'authorization_denied',
  'issuer_mismatch',
  'id_token_invalid',
  'token_endpoint_error',
  'http',
  'browser',
  'flow_timeout',
  'device_timeout',
  'flow_failed',
  'needs_reauth',
  'expired',
  'moved',
  'backing_off',
  'backup_wrong_passphrase',
  'backup_damaged',
  'provider_exists',
  'provider_changed',
  'no_credential_for_tool',
  'insecure_transport',
  'credentials_invalid',
  'credentials_forbidden',
  'credentials_wrong_region',
  'clock_skew',
  'provider_unavailable',
] as const;

/** Codes the desktop shell itself produces (`CommandError::SHELL_CODES`, src-tauri/src/error.rs). */
export const SHELL_ERROR_CODES = [
  'cancelled',
  'clipboard',
  'ipc',
] as const;

/** Every code a command's `CommandError` can carry. */
export type CommandErrorCode = (typeof ERROR_CODES)[number] | (typeof SHELL_ERROR_CODES)[number];

// --- commands ------------------------------------------------------------------------------

/** Every command (src-tauri/src/commands/list.rs): the arguments the UI sends, what it resolves to. */
export type Commands = {
  vault_status: { args: Record<string, never>; result: VaultView };
  vault_init: { args: Record<string, never>; result: VaultView };
  vault_unlock: { args: { passphrase: string }; result: VaultView };
  app_info: { args: Record<string, never>; result: AppInfo };
  events_subscribe: { args: { onEvent: Channel<UiEvent> }; result: null };
  connections_list: { args: Record<string, never>; result: Array<ConnectionSummary> };
  connection_show: { args: { id: string }; result: ConnectionDetails };
  connection_reveal: { args: { id: string; field: string }; result: string };
  connection_copy: { args: { id: string; field: string }; result: null };
  connection_refresh: { args: { id: string }; result: ConnectionSummary };
  connection_disconnect: { args: { id: string; keepRemote: boolean }; result: DisconnectReport };
  audit_list: { args: { connection: string | null }; result: Array<AuditEvent> };
  connection_tools: { args: { id: string }; result: Array<ToolView> };
  setup_tool: { args: { id: string; tool: string; target: string | null; options: ToolOptions }; result: Array<SetupReport> };
  remove_tool: { args: { tool: string; target: string }; result: SetupReport };
  connection_mcp: { args: { id: string }; result: McpView | null };
  providers_list: { args: Record<string, never>; result: Array<ProviderSummary> };
  catalog_categories: { args: Record<string, never>; result: Array<Category> };
  provider_info: { args: { id: string }; result: ProviderInfo };
  provider_configure: { args: { id: string; clientId: string; clientSecret: string | null }; result: null };
  provider_add_custom: { args: { id: string; issuer: string; clientId: string; clientSecret: string | null; scopes: Array<string> }; result: ProviderSummary };
  open_url: { args: { url: string }; result: null };
  connect_start: { args: { provider: string; redirect: string | null; scopes: Array<string>; vars: { [key in string]: string } }; result: StartedFlow };
  connect_wait: { args: { flowId: string }; result: FlowOutcome };
  connect_open_again: { args: { flowId: string }; result: null };
  connect_cancel: { args: { flowId: string }; result: null };
  connect_paste: { args: { url: string }; result: ConnectionSummary };
  connect_url_preview: { args: { url: string }; result: Preview };
  connect_url: { args: { url: string; scopes: Array<string> }; result: StartedFlow };
  credentials_add: { args: { provider: string; values: { [key in string]: string }; vars: { [key in string]: string }; account: string | null; verify: boolean }; result: AddReport };
  vault_export: { args: { passphrase: string; moveOut: boolean }; result: ExportReport };
  vault_import: { args: { passphrase: string }; result: ImportReport };
  vault_lock: { args: Record<string, never>; result: null };
  vault_rekey: { args: { currentPassphrase: string | null; newPassphrase: string | null }; result: null };
};

/** A command's name. */
export type CommandName = keyof Commands;

/** Every command's name, in the order of the list. */
export const COMMAND_NAMES = [
  'vault_status',
  'vault_init',
  'vault_unlock',
  'app_info',
  'events_subscribe',
  'connections_list',
  'connection_show',
  'connection_reveal',
  'connection_copy',
  'connection_refresh',
  'connection_disconnect',
  'audit_list',
  'connection_tools',
  'setup_tool',
  'remove_tool',
  'connection_mcp',
  'providers_list',
  'catalog_categories',
  'provider_info',
  'provider_configure',
  'provider_add_custom',
  'open_url',
  'connect_start',
  'connect_wait',
  'connect_open_again',
  'connect_cancel',
  'connect_paste',
  'connect_url_preview',
  'connect_url',
  'credentials_add',
  'vault_export',
  'vault_import',
  'vault_lock',
  'vault_rekey',
] as const satisfies readonly CommandName[];

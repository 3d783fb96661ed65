// The IPC contract of the desktop app, beyond the vault screen (src/lib/vault/types.ts): what
// each command (src-tauri/src/commands/*.rs) returns, in the shapes serde produces from
// keyhaven-core's types. Keep in step with the Rust side; command names are in ./commands.ts.
//
// Secrets never appear in these types except where the person asked for one: `revealField`
// returns a string, and values typed into forms go *in* (credentials, client secret, passphrase).

/** connected | expiring | expired | needs_reauth (derived at read time, offline). */
export type ConnectionStatus = 'connected' | 'expiring' | 'expired' | 'needs_reauth';

/** keyhaven_core::connections::ConnectionSummary */
export interface ConnectionSummary {
  id: string;
  provider: string;
  account: string;
  status: ConnectionStatus;
  /** RFC 3339, or null when the token does not expire. */
  expires_at: string | null;
  scopes: string[];
  /** Which instance of a templated provider ("host=gitlab.example.com"); "" for most. */
  instance: string;
  /** A name the person gave it (`keyhaven rename`), or null. */
  label: string | null;
  /** Whether it is its provider's default connection (`keyhaven default`). */
  default: boolean;
  /** Whether it renews its access token by itself (a refresh token, or a machine grant). */
  renewable: boolean;
}

/** keyhaven_core::tokens::inspect::UnverifiedJwt: decoded for display, NOT verified. */
export interface UnverifiedJwt {
  unverified: true;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** exp/iat/nbf/auth_time as RFC 3339 strings. */
  times: Record<string, string>;
}

/** keyhaven_core::connections::FieldInfo */
export interface FieldInfo {
  name: string;
  secret: boolean;
  length: number;
  /** Plain fields always; secret fields: null (use revealField). */
  value: string | null;
  updated_at: string;
  age_secs: number;
  jwt: UnverifiedJwt | null;
}

/** keyhaven_core::connections::ConnectionDetails (the summary's fields are flattened in). */
export interface ConnectionDetails extends ConnectionSummary {
  scopes_requested: string[];
  token_type: string | null;
  extra: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  fields: FieldInfo[];
  has_refresh_token: boolean;
  last_error: string | null;
}

/** keyhaven_core::audit::AuditEvent */
export interface AuditEvent {
  id: number;
  at: string;
  connection_id: string | null;
  action: string;
  actor: 'cli' | 'desktop';
  detail: string | null;
}

/** keyhaven_core::tokens::DisconnectReport */
export interface DisconnectReport {
  id: string;
  revoked: string[];
  /** [token kind, reason] */
  not_revoked: [string, string][];
  retry_pending: string[];
  manual_revocation_url: string | null;
  kept_remote: boolean;
}

export type AuthMode = 'oauth2' | 'oauth2_client_credentials' | 'oauth2_password' | 'api_key' | 'basic';
export type RedirectKind = 'deep-link' | 'loopback';

/** keyhaven_core::providers::ProviderSummary */
export interface ProviderSummary {
  id: string;
  name: string;
  auth_mode: AuthMode;
  custom: boolean;
  /** An OAuth app (client id) is stored for it. */
  configured: boolean;
  redirects: RedirectKind[];
  categories: string[];
  variables: string[];
}

/** keyhaven_core::catalog::CredentialField */
export interface CredentialField {
  name: string;
  label: string;
  help: string;
  secret: boolean;
  pattern: string | null;
  optional: boolean;
  create_url: string | null;
  permissions: string | null;
}

/** keyhaven_core::catalog::Variable, with its name. */
export interface VariableInfo {
  name: string;
  label: string;
  help: string;
  pattern: string;
  default: string | null;
  example: string;
}

/** What the add-connection and cloud-wizard screens need about one provider (`provider_info`). */
export interface ProviderInfo {
  id: string;
  name: string;
  auth_mode: AuthMode;
  legacy: boolean;
  docs_url: string;
  register_url: string | null;
  categories: string[];
  /** Default scopes. */
  scopes: string[];
  redirects: RedirectKind[];
  client_secret_required: boolean;
  variables: VariableInfo[];
  /** Credential fields (api_key / basic / machine grants), in the order to ask them. */
  fields: CredentialField[];
  /** Environment variable names its tools read. */
  env: string[];
  configured: boolean;
  /** The redirect URIs to register at the provider, per kind. */
  redirect_uris: Partial<Record<RedirectKind, string>>;
}

/** A started browser sign-in (`connect_start`). */
export interface StartedFlow {
  /** Opaque id of this flow (the SHA-256 of its state); pass to connect_wait / connect_cancel. */
  flow_id: string;
  /** What the browser was sent to; shown for "copy link" and "open again". */
  authorization_url: string;
  redirect_uri: string;
  redirect_kind: RedirectKind;
  provider: string;
  /** RFC 3339: the flow is void after this. */
  expires_at: string;
}

/** `connect_wait`: resolves when the flow finished (here, or in another process). */
export type FlowOutcome =
  | { state: 'pending' }
  | { state: 'done'; connection: ConnectionSummary }
  | { state: 'failed'; message: string };

/** keyhaven_core::credentials::AddReport (the connection's fields are flattened in). */
export interface AddReport extends ConnectionSummary {
  verified: boolean;
  /** What the live check found: account, organisation, project, ARN ... */
  found: Record<string, string>;
}

/** keyhaven_core::vault::backup::ExportReport */
export interface ExportReport {
  path: string;
  providers: number;
  connections: number;
  moved: string[];
}

/** keyhaven_core::vault::backup::ImportReport */
export interface ImportReport {
  added: string[];
  updated: string[];
  /** [what, why] */
  skipped: [string, string][];
  /** Rows not imported: [what, why]. */
  refused: [string, string][];
}

/** `app_info` (src-tauri/src/commands/vault.rs): facts about this installation. */
export interface AppInfo {
  /** Whether dev.keyhaven: links open this app; null when the system cannot say. */
  deep_link_registered: boolean | null;
}

/**
 * What the Rust side tells the UI through its events channel (src-tauri/src/events.rs, serde
 * tag `event`, content `payload`). No secrets, no URL: a flow is named by its id.
 */
export type UiEvent =
  | { event: 'connections-changed' }
  | { event: 'flow-finished'; payload: FlowOutcome & { flow_id?: string | null } };

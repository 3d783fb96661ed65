// Types of what the vault commands return.
//
// These mirror Rust types by hand; change both sides together:
// - `VaultView`      <- `VaultView` in src-tauri/src/state.rs (serde tag `state`)
// - `VaultStatus`, `KeySourceInfo`, `VaultCounts` <- crates/keyhaven-core/src/vault/mod.rs
// - `CommandError`   <- `CommandError` in src-tauri/src/error.rs (`{code, message}`)
// - `ERROR_CODES`    <- `keyhaven_core::Error::code()` in crates/keyhaven-core/src/error.rs;
//   a Rust test (src-tauri/src/error.rs) fails if core has a code missing here.
// Paths are serialized by serde as strings; counts are i64 but stay far below 2^53.

/** Where the vault key comes from. */
export type KeySourceInfo =
  | { kind: 'keychain'; service: string; account: string }
  | { kind: 'passphrase'; kdf: string; m_cost: number; t_cost: number; p_cost: number };

/** Row counts per table. */
export interface VaultCounts {
  providers: number;
  connections: number;
  pending_flows: number;
  audit_events: number;
}

/** What `keyhaven vault status` reports, as the desktop app receives it. */
export interface VaultStatus {
  path: string;
  data_dir: string;
  vault_id: string;
  /** RFC 3339. */
  created_at: string;
  key_source: KeySourceInfo;
  schema_version: number;
  schema_latest: number;
  size_bytes: number;
  /** "ok" when SQLCipher authenticated every page. */
  integrity: string;
  counts: VaultCounts;
}

/** The vault as the desktop app sees it: the one screen renders exactly this. */
export type VaultView =
  | { state: 'missing'; data_dir: string }
  | { state: 'locked_passphrase'; path: string }
  | { state: 'open'; status: VaultStatus };

/** Every code `keyhaven_core::Error::code()` can produce. */
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
  'flow_failed',
  'flow_timeout',
  'needs_reauth',
  'expired',
  'moved',
  'backing_off',
  'backup_wrong_passphrase',
  'backup_damaged',
  'provider_exists',
  'provider_changed',
  'device_timeout',
  'credentials_invalid',
  'credentials_forbidden',
  'credentials_wrong_region',
  'clock_skew',
  'provider_unavailable',
] as const;

/**
 * A code from core, or `ipc` when the call never reached a command (refused by the capability,
 * app shutting down): the UI builds that one itself in commands.ts.
 */
/** Codes the desktop shell itself produces (src-tauri), not core. */
export const SHELL_ERROR_CODES = ['cancelled', 'clipboard'] as const;

/**
 * Besides those: `ipc` (see above) and `screen`, a screen's code chunk that failed to load
 * (components/AppShell loads screens lazily).
 */
export type ErrorCode = (typeof ERROR_CODES)[number] | (typeof SHELL_ERROR_CODES)[number] | 'ipc' | 'screen';

/** A failed command: a stable code to branch on and a one-line message to show. */
export interface CommandError {
  code: ErrorCode;
  message: string;
}

/** What every wrapped command resolves to: no exceptions to forget to catch. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: CommandError };

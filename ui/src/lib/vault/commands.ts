// The one place the UI talks to the Rust side: every `invoke` is wrapped here in a typed
// function, so components never spell a command name or guess a result shape.
//
// Each wrapper resolves to an `Outcome` instead of throwing: a rejected `invoke` carries the
// command's `{code, message}` (src-tauri/src/error.rs), or a bare string when Tauri refused the
// call before it reached a command; both become a `CommandError`.

import { invoke } from '@tauri-apps/api/core';
import { ERROR_CODES, SHELL_ERROR_CODES, type CommandError, type ErrorCode, type Outcome, type VaultView } from './types';

/** The vault's state: missing, locked (passphrase vault) or open with its status. */
export function vaultStatus(): Promise<Outcome<VaultView>> {
  return call<VaultView>('vault_status');
}

/** Creates a new vault keyed from the OS keychain (first run). */
export function vaultInit(): Promise<Outcome<VaultView>> {
  return call<VaultView>('vault_init');
}

/** Unlocks a passphrase-protected vault. The passphrase is sent once and never comes back. */
export function vaultUnlock(passphrase: string): Promise<Outcome<VaultView>> {
  return call<VaultView>('vault_unlock', { passphrase });
}

/** Invokes a command; a rejection becomes a typed `CommandError`. Shared by every wrapper. */
export async function call<T>(command: string, args?: Record<string, unknown>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await invoke<T>(command, args) };
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

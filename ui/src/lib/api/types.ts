// The IPC types, for components to import from one place. Every type that crosses IPC (what
// each command takes and returns, the events, the `{code, message}` error and its codes) is
// generated from the Rust types into ./generated.ts (src-tauri/src/contract.rs; do not edit it:
// `make generated` rewrites it, and `cargo test` fails while it is stale). Only what the UI adds
// on top lives here.
//
// Secrets never appear in these types except where the person asked for one: `revealField`
// returns a string, and values typed into forms go *in* (credentials, client secret, passphrase).

import type { CommandError as RustCommandError, CommandErrorCode } from './generated';

export type * from './generated';

/**
 * A command's code (./generated.ts), `ipc` also when the call never reached a command (refused
 * by the capability, app shutting down: commands.ts builds that one), or `screen`: a screen's
 * code chunk that failed to load (components/LazyScreen loads screens lazily).
 */
export type ErrorCode = CommandErrorCode | 'screen';

/** A failed call as the UI handles it: a stable code to branch on and a one-line message. */
export interface CommandError extends Omit<RustCommandError, 'code'> {
  code: ErrorCode;
}

/** What every wrapped command resolves to: no exceptions to forget to catch. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: CommandError };

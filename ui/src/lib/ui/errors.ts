// Every error text of the UI, in one file: a card's heading (`errorTitle`), the hints that go
// under an error's message (`errorHint`), and how a message reads (`asSentence`). The message
// (from Rust) says what happened, the hint what to try. The code picks the title and the hint
// and is never shown as the explanation itself.

import type { ErrorCode } from '../api/types';

export interface ErrorHint {
  title: string;
  hint: string;
}

const HINTS: Partial<Record<ErrorCode, ErrorHint>> = {
  screen: {
    title: 'This screen could not be loaded',
    hint: 'A file of the app is missing or damaged. Restart Keyhaven; if it happens again, reinstall it.',
  },
  credentials_invalid: {
    title: 'The provider rejected these credentials',
    hint: 'Check that you copied the whole key (no missing characters) and that it has not been deleted or expired at the provider.',
  },
  credentials_forbidden: {
    title: 'The key works but lacks a permission',
    hint: 'Give the key the permission shown next to the field ("Needs"), or create a new key with it, then verify again.',
  },
  credentials_wrong_region: {
    title: 'These credentials belong to another region or endpoint',
    hint: 'Pick the region or endpoint where the key was created, then verify again.',
  },
  clock_skew: {
    title: "This computer's clock is off",
    hint: 'The provider refuses signatures made at the wrong time. Turn on automatic date and time in your system settings, then verify again.',
  },
  provider_unavailable: {
    title: 'The provider could not be reached',
    hint: 'Check your network connection or the provider’s status page and try again, or save without checking now and verify later.',
  },
  bad_input: {
    title: 'Some values are not accepted',
    hint: 'Correct the value named in the message and try again.',
  },
  bad_variable: {
    title: 'A setting is not valid',
    hint: 'Check the format shown under the field.',
  },
  not_configured: {
    title: 'No OAuth app is set up for this provider',
    hint: 'Enter your OAuth app’s client id first.',
  },
  flow_expired: {
    title: 'The sign-in took too long',
    hint: 'Start it again; each sign-in link is valid for a few minutes.',
  },
  authorization_denied: {
    title: 'Access was denied in the browser',
    hint: 'Start again and approve the request at the provider.',
  },
  unknown_state: {
    title: 'This address does not belong to a sign-in in progress',
    hint: 'Paste the full address of the latest sign-in, or start a new one.',
  },
  bad_redirect: {
    title: 'That is not the address Keyhaven expects',
    hint: 'Paste the full address from the browser’s address bar after approving, including everything after “?”.',
  },
  token_endpoint_error: {
    title: 'The provider refused to issue tokens',
    hint: 'Check the OAuth app’s client id, secret and redirect URI at the provider.',
  },
  http: {
    title: 'A network request failed',
    hint: 'Check your connection and try again.',
  },
  needs_reauth: {
    title: 'This connection needs you to sign in again',
    hint: 'Use Reconnect to sign in again.',
  },
  backing_off: {
    title: 'Waiting before trying again',
    hint: 'The provider failed recently; Keyhaven waits a little before retrying.',
  },
  backup_wrong_passphrase: {
    title: 'Wrong backup passphrase',
    hint: 'Use the passphrase chosen when the backup was exported.',
  },
  backup_damaged: {
    title: 'The backup file is damaged',
    hint: 'Try another copy of the backup.',
  },
  provider_changed: {
    title: "This connection's provider was redefined",
    hint: 'It was made with another server or app, so Keyhaven sends it nowhere else. Connect it again to use the new definition.',
  },
  provider_exists: {
    title: 'A provider with this id exists',
    hint: 'Choose another id, or confirm replacing it (its connections must then be connected again).',
  },
  vault_locked: {
    title: 'The vault is locked',
    hint: 'Unlock it with its passphrase, then try again.',
  },
  no_such_connection: {
    title: 'This connection is gone',
    hint: 'It was disconnected, perhaps from the command line. The list shows what is there now.',
  },
  browser: {
    title: 'The browser could not be opened',
    hint: 'Copy the sign-in address and open it in your browser yourself.',
  },
  wrong_passphrase: {
    title: 'Wrong passphrase',
    hint: 'Check the passphrase and try again.',
  },
};

/** A title and a hint for a code; a generic one for codes without their own. */
export function errorHint(code: ErrorCode): ErrorHint {
  return HINTS[code] ?? { title: 'That did not work', hint: '' };
}

/** The codes a live credential check classifies its failures into. */
export const VERIFY_FAILURES: readonly ErrorCode[] = [
  'credentials_invalid',
  'credentials_forbidden',
  'credentials_wrong_region',
  'clock_skew',
  'provider_unavailable',
];

/** A short heading for an error card; the message underneath says the rest. */
export function errorTitle(code: ErrorCode): string {
  switch (code) {
    case 'keychain_unavailable':
      return 'No system keychain available';
    case 'keychain_locked':
      return 'The system keychain is locked';
    case 'keychain_error':
      return 'The system keychain failed';
    case 'key_missing':
      return 'The vault key is missing';
    case 'wrong_key':
      return 'The vault key does not match';
    case 'wrong_passphrase':
      return 'Wrong passphrase';
    case 'vault_corrupt':
      return 'The vault is damaged';
    case 'not_a_vault':
      return 'This is not a Keyhaven vault';
    case 'schema_too_new':
      return 'This vault needs a newer Keyhaven';
    case 'data_dir_not_writable':
    case 'no_data_dir':
      return 'Keyhaven cannot use its data folder';
    case 'ipc':
      return 'Something went wrong inside Keyhaven';
    default:
      return 'The vault could not be opened';
  }
}

/**
 * Core's messages are CLI-style lines ("wrong passphrase for ..."); in a card they read better
 * as a sentence: capital first letter, final full stop.
 */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

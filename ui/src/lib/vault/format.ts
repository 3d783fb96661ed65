// Turning vault facts into words and numbers a person reads at a glance. Pure functions, so the
// components stay declarative.

import type { ErrorCode, KeySourceInfo } from './types';

/** "48 KB", "1.2 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** A creation time in the person's locale, or the raw text if it does not parse. */
export function formatDate(rfc3339: string): string {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The key source as a title and a detail line. */
export function describeKeySource(source: KeySourceInfo): { title: string; detail: string } {
  switch (source.kind) {
    case 'keychain':
      return { title: 'System keychain', detail: `${source.service} · ${source.account}` };
    case 'passphrase':
      return {
        title: 'Passphrase',
        detail: `${kdfName(source.kdf)} · ${formatBytes(source.m_cost * 1024)} memory · ${source.t_cost} passes`,
      };
  }
}

function kdfName(kdf: string): string {
  return kdf === 'argon2id' ? 'Argon2id' : kdf;
}

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

// Turning vault facts into words and numbers a person reads at a glance. Pure functions, so the
// components stay declarative. (Error text: ./errors.ts.)

import type { KeySourceInfo } from '../api/types';

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

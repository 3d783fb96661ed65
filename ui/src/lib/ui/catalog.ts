// The provider catalog as the screens slice it: search, OAuth vs credentials, cloud ones for
// the wizard, and a plain description of each auth mode.

import type { AuthMode, ProviderSummary } from '../api/types';

/** Modes whose credentials are typed in (the cloud wizard), not signed in through a browser. */
export const CREDENTIAL_MODES: readonly AuthMode[] = [
  'api_key',
  'basic',
  'oauth2_client_credentials',
  'oauth2_password',
];

export function isCredentialMode(mode: AuthMode): boolean {
  return CREDENTIAL_MODES.includes(mode);
}

/** Providers the cloud wizard offers first: typed-in credentials of category `cloud`. */
export function isCloudProvider(p: Pick<ProviderSummary, 'auth_mode' | 'categories'>): boolean {
  return isCredentialMode(p.auth_mode) && p.categories.includes('cloud');
}

export function authModeLabel(mode: AuthMode): string {
  switch (mode) {
    case 'oauth2':
      return 'Browser sign-in (OAuth)';
    case 'api_key':
      return 'API key';
    case 'basic':
      return 'User name and password';
    case 'oauth2_client_credentials':
      return 'Service account (client credentials)';
    case 'oauth2_password':
      return 'API user and password (legacy grant)';
  }
}

export function categoryLabel(category: string): string {
  return category
    .split('-')
    .map((w) => (w === 'dns' ? 'DNS' : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(' ');
}

/**
 * Providers matching every word of the query in their name, id or categories (case and accent
 * insensitive), best first: a name or id starting with the query comes before other matches.
 */
export function filterProviders<T extends Pick<ProviderSummary, 'id' | 'name' | 'categories'>>(
  list: readonly T[],
  query: string,
): T[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  const sorted = [...list].sort((a, b) => a.name.localeCompare(b.name));
  if (words.length === 0) return sorted;
  const scored = sorted
    .map((p) => {
      const name = fold(p.name);
      const id = fold(p.id);
      const haystack = [name, id, ...p.categories.map((c) => fold(`${c} ${categoryLabel(c)}`))].join(' ');
      if (!words.every((w) => haystack.includes(w))) return null;
      const first = words[0] ?? '';
      const score = name.startsWith(first) || id.startsWith(first) ? 0 : 1;
      return { p, score };
    })
    .filter((x): x is { p: T; score: number } => x !== null);
  return scored.sort((a, b) => a.score - b.score).map((x) => x.p);
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** The distinct categories of a list, sorted. */
export function categoriesOf(list: readonly Pick<ProviderSummary, 'categories'>[]): string[] {
  return [...new Set(list.flatMap((p) => p.categories))].sort();
}

// The provider catalog as the screens slice it: groups by primary category (core's
// CATEGORIES order), search over name, id, aliases and categories, OAuth vs credentials, cloud
// ones for the wizard, and a plain description of each auth mode.

import type { AuthMode, ProviderSummary } from '../api/types';

/** Modes whose credentials are typed in (the cloud wizard), not signed in through a browser. */
export const CREDENTIAL_MODES: readonly AuthMode[] = [
  'api_key',
  'basic',
  'oauth2_client_credentials',
  'oauth2_password',
  'oauth2_jwt_bearer',
  'oauth2_extension_grant',
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
    case 'oauth2_jwt_bearer':
      return 'Service-account key (JWT bearer grant)';
    case 'oauth2_extension_grant':
      return 'API key exchanged for tokens';
  }
}

/** A category's label: core's (`catalog::CATEGORIES`, via `labels`) when known, else its id in words. */
export function categoryLabel(category: string, labels?: ReadonlyMap<string, string>): string {
  const known = labels?.get(category);
  if (known) return known;
  return category
    .split('-')
    .map((w) => (w === 'dns' ? 'DNS' : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(' ');
}

/** What the search reads of an entry (aliases are optional so custom entries need none). */
type Searchable = Pick<ProviderSummary, 'id' | 'name' | 'categories'> & { aliases?: readonly string[] };

/** One entry prepared for searching: folded texts computed once per catalog, not per keystroke. */
interface Indexed<T> {
  p: T;
  name: string;
  /** The name's words, for "starts a word" matches ("cloud" in "Hetzner Cloud"). */
  nameWords: string[];
  id: string;
  aliases: string[];
  categories: string;
  order: number;
}

/** A catalog ready to search: build it once per list (`indexProviders`), search it per keystroke. */
export interface ProviderIndex<T> {
  readonly entries: readonly Indexed<T>[];
  /** Every entry, by name. */
  readonly byName: readonly T[];
}

/** Sorts once by name and folds every searchable text once. */
export function indexProviders<T extends Searchable>(list: readonly T[], labels?: ReadonlyMap<string, string>): ProviderIndex<T> {
  const byName = [...list].sort((a, b) => a.name.localeCompare(b.name));
  const entries = byName.map((p, order) => {
    const name = fold(p.name);
    return {
      p,
      name,
      nameWords: name.split(/[^a-z0-9]+/).filter(Boolean),
      id: fold(p.id),
      aliases: (p.aliases ?? []).map(fold),
      categories: p.categories.map((c) => fold(`${c} ${categoryLabel(c, labels)}`)).join(' '),
      order,
    };
  });
  return { entries, byName };
}

/**
 * How well one folded word matches an entry, lower is better, null for no match: the exact
 * name, id or alias; a prefix of one of them; a word of the name starting with it; anywhere in
 * the name, id or an alias; in a category.
 */
function wordScore(e: Indexed<unknown>, w: string): number | null {
  if (e.name === w || e.id === w || e.aliases.includes(w)) return 0;
  if (e.name.startsWith(w) || e.id.startsWith(w) || e.aliases.some((a) => a.startsWith(w))) return 1;
  if (e.nameWords.some((n) => n.startsWith(w))) return 2;
  if (e.name.includes(w) || e.id.includes(w) || e.aliases.some((a) => a.includes(w))) return 3;
  if (e.categories.includes(w)) return 4;
  return null;
}

/**
 * The entries matching every word of the query in their name, id, aliases or categories (case
 * and accent insensitive), best first (see `wordScore`; ties by name); all of them by name for
 * an empty query. Only the matches are sorted.
 */
export function searchProviders<T>(index: ProviderIndex<T>, query: string): T[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...index.byName];
  const hits: { e: Indexed<T>; score: number }[] = [];
  for (const e of index.entries) {
    let score = 0;
    for (const w of words) {
      const s = wordScore(e, w);
      if (s === null) {
        score = -1;
        break;
      }
      score += s;
    }
    if (score >= 0) hits.push({ e, score });
  }
  return hits.sort((a, b) => a.score - b.score || a.e.order - b.e.order).map((h) => h.e.p);
}

/** `searchProviders` on a list indexed for this one call (tests, small lists). */
export function filterProviders<T extends Searchable>(list: readonly T[], query: string): T[] {
  return searchProviders(indexProviders(list), query);
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** The distinct categories of a list, sorted. */
export function categoriesOf(list: readonly Pick<ProviderSummary, 'categories'>[]): string[] {
  return [...new Set(list.flatMap((p) => p.categories))].sort();
}

/** A category as the catalog shows it: core's `Category` (id and label). */
export interface CategoryDef {
  id: string;
  label: string;
}

/** One group of the catalog: a category and its entries, by name. */
export interface CatalogGroup<T> {
  id: string;
  label: string;
  items: T[];
}

/**
 * The entries in groups by their first category (their primary one), groups in `categories`'
 * order (core's CATEGORIES); entries whose first category is not listed (or who have none) come
 * last, under "Other". With `only`, one group: that category's entries (by any of their
 * categories). Empty groups are left out. `list` is expected by name (`ProviderIndex.byName`).
 */
export function groupProviders<T extends Pick<ProviderSummary, 'categories'>>(
  list: readonly T[],
  categories: readonly CategoryDef[],
  only = '',
): CatalogGroup<T>[] {
  if (only) {
    const def = categories.find((c) => c.id === only);
    const items = list.filter((p) => p.categories.includes(only));
    return items.length ? [{ id: only, label: def?.label ?? categoryLabel(only), items }] : [];
  }
  const groups = new Map<string, CatalogGroup<T>>(categories.map((c) => [c.id, { id: c.id, label: c.label, items: [] }]));
  const other: CatalogGroup<T> = { id: 'other', label: 'Other', items: [] };
  for (const p of list) (groups.get(p.categories[0] ?? '') ?? other).items.push(p);
  return [...groups.values(), other].filter((g) => g.items.length > 0);
}

/** The categories that have entries, in `categories`' order (then unknown ones, sorted): the filter's options. */
export function usedCategories(
  list: readonly Pick<ProviderSummary, 'categories'>[],
  categories: readonly CategoryDef[],
): CategoryDef[] {
  const used = new Set(list.flatMap((p) => p.categories));
  const known = categories.filter((c) => used.has(c.id));
  const unknown = [...used].filter((c) => !categories.some((k) => k.id === c)).sort();
  return [...known, ...unknown.map((id) => ({ id, label: categoryLabel(id) }))];
}

// Unit tests of src/lib/ui/catalog.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import type { AuthMode } from '../../src/lib/api/types';
import {
  authModeLabel,
  categoriesOf,
  categoryLabel,
  filterProviders,
  groupProviders,
  indexProviders,
  isCloudProvider,
  isCredentialMode,
  searchProviders,
  usedCategories,
} from '../../src/lib/ui/catalog';
import { CATEGORIES } from '../ui/mock-data';
// Core's list, as written in Rust (Vite's ?raw import: the file's text).
import categoriesRs from '../../../crates/keyhaven-core/src/catalog/categories.rs?raw';

const p = (id: string, name: string, categories: string[], auth_mode: AuthMode = 'oauth2', aliases: string[] = []) => ({
  id,
  name,
  categories,
  auth_mode,
  aliases,
});
const LIST = [
  p('github', 'GitHub', ['dev-tools', 'source-control']),
  p('gitlab', 'GitLab', ['dev-tools', 'source-control']),
  p('hetzner', 'Hetzner Cloud', ['cloud'], 'api_key'),
  p('contabo', 'Contabo', ['cloud'], 'oauth2_password'),
  p('microsoft', 'Microsoft (Entra ID)', ['productivity', 'identity', 'cloud']),
  p('ovhcloud-oauth2', 'OVHcloud (service account)', ['cloud'], 'oauth2_client_credentials'),
  p('api-key', 'Generic API key (bearer)', ['generic'], 'api_key'),
  p('zoho', 'Zöho', ['crm']),
];
const ids = (list: { id: string }[]) => list.map((x) => x.id);

describe('filterProviders', () => {
  it('returns everything sorted by name for an empty query', () => {
    expect(ids(filterProviders(LIST, '  '))).toEqual(['contabo', 'api-key', 'github', 'gitlab', 'hetzner', 'microsoft', 'ovhcloud-oauth2', 'zoho']);
  });
  it('matches name, id and category, every word', () => {
    expect(ids(filterProviders(LIST, 'hetz'))).toEqual(['hetzner']);
    expect(ids(filterProviders(LIST, 'oauth2'))).toEqual(['ovhcloud-oauth2']);
    expect(ids(filterProviders(LIST, 'source control'))).toEqual(['github', 'gitlab']);
    expect(ids(filterProviders(LIST, 'cloud identity'))).toEqual(['microsoft']);
    expect(filterProviders(LIST, 'nothing')).toEqual([]);
  });
  it('puts name or id prefixes first, ignores case and accents', () => {
    // A word of the name, then inside an id, then the category only (by name within each).
    expect(ids(filterProviders(LIST, 'CLOUD'))).toEqual(['hetzner', 'ovhcloud-oauth2', 'contabo', 'microsoft']);
    const withCloudflare = [...LIST, p('cloudflare', 'Cloudflare', ['cloud', 'dns'], 'api_key')];
    expect(ids(filterProviders(withCloudflare, 'cloud'))[0]).toBe('cloudflare');
    expect(ids(filterProviders(LIST, 'ovh'))).toEqual(['ovhcloud-oauth2']);
    expect(ids(filterProviders(LIST, 'zoho'))).toEqual(['zoho']);
  });
});

const CATALOG = [
  p('x', 'X (Twitter)', ['social'], 'oauth2', ['twitter']),
  p('microsoft', 'Microsoft (Entra ID)', ['productivity', 'identity', 'cloud'], 'oauth2', ['entra', 'onedrive', 'outlook']),
  p('onelogin', 'OneLogin', ['identity']),
  p('odd', 'Odd one', ['not-a-category']),
  ...LIST,
].filter((x, i, all) => all.findIndex((y) => y.id === x.id) === i);

describe('searchProviders', () => {
  const index = indexProviders(CATALOG);
  it('finds entries by alias, the exact alias first', () => {
    expect(ids(searchProviders(index, 'twitter'))).toEqual(['x']);
    expect(ids(searchProviders(index, 'onedrive'))).toEqual(['microsoft']);
    expect(ids(searchProviders(index, 'Entra'))).toEqual(['microsoft']);
    // "one": an alias prefix (onedrive) and a name prefix (OneLogin) rank alike, by name; a
    // later word of a name ("Odd one") after them.
    expect(ids(searchProviders(index, 'one'))).toEqual(['microsoft', 'onelogin', 'odd']);
  });
  it('ranks exact before prefix before word before substring before category', () => {
    const list = [p('gitea', 'Gitea', ['source-control']), p('git', 'Git', ['dev-tools']), p('legit', 'Legit', ['dev-tools']), p('my', 'My Gitter', ['communication']), p('sc', 'Plain', ['source-control'])];
    expect(ids(searchProviders(indexProviders(list), 'git'))).toEqual(['git', 'gitea', 'my', 'legit']);
    expect(ids(searchProviders(indexProviders(list), 'source'))).toEqual(['gitea', 'sc']);
  });
  it('returns all by name for an empty query, and the index is reused', () => {
    expect(searchProviders(index, '')).toHaveLength(CATALOG.length);
    expect(searchProviders(index, '').map((x) => x.name)).toEqual([...CATALOG].map((x) => x.name).sort((a, b) => a.localeCompare(b)));
  });
});

describe('groupProviders', () => {
  const byName = indexProviders(CATALOG).byName;
  it('groups by first category in the categories order, unknown ones last', () => {
    const groups = groupProviders(byName, CATEGORIES);
    expect(groups.map((g) => g.id)).toEqual(['dev-tools', 'cloud', 'identity', 'productivity', 'social', 'crm', 'generic', 'other']);
    expect(groups.find((g) => g.id === 'cloud')?.label).toBe('Cloud');
    expect(ids(groups.find((g) => g.id === 'cloud')!.items)).toEqual(['contabo', 'hetzner', 'ovhcloud-oauth2']);
    expect(ids(groups.at(-1)!.items)).toEqual(['odd']);
    expect(groups.reduce((n, g) => n + g.items.length, 0)).toBe(CATALOG.length);
  });
  it('with a category filter, one group of every entry in it', () => {
    const groups = groupProviders(byName, CATEGORIES, 'cloud');
    expect(groups).toHaveLength(1);
    expect(ids(groups[0]!.items)).toEqual(['contabo', 'hetzner', 'microsoft', 'ovhcloud-oauth2']);
    expect(groupProviders(byName, CATEGORIES, 'fitness')).toEqual([]);
  });
  it('offers the categories in use, in order, with labels', () => {
    const used = usedCategories(CATALOG, CATEGORIES);
    expect(used.slice(0, 3).map((c) => c.id)).toEqual(['dev-tools', 'source-control', 'cloud']);
    expect(used.find((c) => c.id === 'source-control')?.label).toBe('Source control');
    expect(used.at(-1)).toEqual({ id: 'not-a-category', label: 'Not A Category' });
  });
  it("the tests' categories are core's", () => {
    const core = [...categoriesRs.matchAll(/c\("([^"]+)", "([^"]+)"\)/g)].map((m) => ({ id: m[1], label: m[2] }));
    expect(core.length).toBeGreaterThan(10);
    expect(CATEGORIES).toEqual(core);
  });
});

describe('modes and categories', () => {
  it('separates typed-in credentials from browser sign-in', () => {
    expect(LIST.filter((x) => isCredentialMode(x.auth_mode)).map((x) => x.id)).toEqual(['hetzner', 'contabo', 'ovhcloud-oauth2', 'api-key']);
  });
  it('offers cloud credential providers to the wizard, not OAuth cloud ones', () => {
    expect(LIST.filter(isCloudProvider).map((x) => x.id)).toEqual(['hetzner', 'contabo', 'ovhcloud-oauth2']);
  });
  it('names modes and categories in words', () => {
    expect(authModeLabel('oauth2_password')).toMatch(/legacy/);
    expect(categoryLabel('source-control')).toBe('Source Control');
    expect(categoryLabel('dns')).toBe('DNS');
    expect(categoryLabel('dns', new Map([['dns', 'DNS and domains']]))).toBe('DNS and domains');
    expect(categoriesOf(LIST)).toContain('generic');
  });
});

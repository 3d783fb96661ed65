// Unit tests of src/lib/ui/catalog.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import type { AuthMode } from '../../src/lib/api/types';
import { authModeLabel, categoriesOf, categoryLabel, filterProviders, isCloudProvider, isCredentialMode } from '../../src/lib/ui/catalog';

const p = (id: string, name: string, categories: string[], auth_mode: AuthMode = 'oauth2') => ({ id, name, categories, auth_mode });
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
    expect(ids(filterProviders(LIST, 'CLOUD'))).toEqual(['contabo', 'hetzner', 'microsoft', 'ovhcloud-oauth2']);
    const withCloudflare = [...LIST, p('cloudflare', 'Cloudflare', ['cloud', 'dns'], 'api_key')];
    expect(ids(filterProviders(withCloudflare, 'cloud'))[0]).toBe('cloudflare');
    expect(ids(filterProviders(LIST, 'ovh'))).toEqual(['ovhcloud-oauth2']);
    expect(ids(filterProviders(LIST, 'zoho'))).toEqual(['zoho']);
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
    expect(categoriesOf(LIST)).toContain('generic');
  });
});

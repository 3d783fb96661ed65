// Unit tests of src/lib/ui/inspect.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import type { FieldInfo, UnverifiedJwt } from '../../src/lib/api/types';
import { claimRows, claimText, compareScopes, fieldLabel, issuedAt, jwtTimes, masked, timeline } from '../../src/lib/ui/inspect';

const NOW = Date.parse('2025-03-12T12:00:00Z');
const jwt: UnverifiedJwt = {
  unverified: true,
  header: { typ: 'JWT', alg: 'RS256' },
  claims: { sub: 'alice', exp: 1741784400, iat: 1741780800, roles: ['admin', 'dev'], email_verified: true },
  times: { exp: '2025-03-12T13:00:00Z', iat: '2025-03-12T11:00:00Z' },
};

describe('JWT display', () => {
  it('lists times as local times with relative hints, in reading order', () => {
    const rows = jwtTimes(jwt, NOW);
    expect(rows.map((r) => r.claim)).toEqual(['iat', 'exp']);
    expect(rows[0]).toMatchObject({ label: 'Issued at', relative: '1 h ago' });
    expect(rows[1]).toMatchObject({ label: 'Expires at', relative: 'in 1 h' });
    expect(rows[1]!.local).toMatch(/2025/);
  });
  it('shows claims sorted, times left out, values as text', () => {
    expect(claimRows(jwt.claims, true)).toEqual([
      ['email_verified', 'true'],
      ['roles', '["admin","dev"]'],
      ['sub', 'alice'],
    ]);
    expect(claimRows(jwt.header)).toEqual([
      ['alg', 'RS256'],
      ['typ', 'JWT'],
    ]);
    expect(claimText(null)).toBe('null');
    expect(claimText(42)).toBe('42');
  });
});

describe('compareScopes', () => {
  it('marks granted, missing and extra scopes', () => {
    expect(compareScopes(['openid', 'email', 'repo'], ['openid', 'email', 'mail.read'])).toEqual([
      { scope: 'openid', state: 'granted' },
      { scope: 'email', state: 'granted' },
      { scope: 'mail.read', state: 'missing' },
      { scope: 'repo', state: 'extra' },
    ]);
    expect(compareScopes([], [])).toEqual([]);
  });
});

describe('timeline', () => {
  it('places now between issued and expires', () => {
    const line = timeline('2025-03-12T11:00:00Z', '2025-03-12T13:00:00Z', NOW);
    expect(line).toMatchObject({ nowPercent: 50, leftPercent: 50 });
  });
  it('clamps outside the lifetime and needs both ends', () => {
    expect(timeline('2025-03-12T09:00:00Z', '2025-03-12T10:00:00Z', NOW)?.nowPercent).toBe(100);
    expect(timeline('2025-03-12T13:00:00Z', '2025-03-12T14:00:00Z', NOW)?.nowPercent).toBe(0);
    expect(timeline(null, '2025-03-12T14:00:00Z', NOW)).toBeNull();
    expect(timeline('2025-03-12T14:00:00Z', '2025-03-12T13:00:00Z', NOW)).toBeNull();
  });
  it('takes the access token’s iat, else when it was written', () => {
    const f = (name: string, extra: Partial<FieldInfo> = {}): FieldInfo => ({
      name, secret: true, length: 10, value: null, updated_at: '2025-03-12T11:30:00Z', age_secs: 1800, jwt: null, ...extra,
    });
    expect(issuedAt([f('refresh_token'), f('access_token', { jwt })])).toBe('2025-03-12T11:00:00Z');
    expect(issuedAt([f('access_token')])).toBe('2025-03-12T11:30:00Z');
    expect(issuedAt([])).toBeNull();
  });
});

describe('labels', () => {
  it('names fields and masks secrets without their length leaking past 24', () => {
    expect(fieldLabel('access_token')).toBe('Access token');
    expect(fieldLabel('id_token')).toBe('ID token');
    expect(masked(4)).toHaveLength(8);
    expect(masked(2000)).toHaveLength(24);
  });
});

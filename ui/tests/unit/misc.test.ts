// Unit tests of the small modules: error hints, form rules, monograms, audit filtering.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/lib/api/types';
import { actionLabel, distinctActions, distinctConnections, filterAudit } from '../../src/lib/ui/audit';
import { asSentence, errorHint, VERIFY_FAILURES } from '../../src/lib/ui/errors';
import { issuerProblem, parseScopes, passphrasePairProblem, providerIdProblem } from '../../src/lib/ui/forms';
import { hueClass, monogram } from '../../src/lib/ui/monogram';

describe('error hints', () => {
  it('gives each classified verification failure its own title and hint', () => {
    const hints = VERIFY_FAILURES.map(errorHint);
    expect(new Set(hints.map((h) => h.title)).size).toBe(VERIFY_FAILURES.length);
    expect(new Set(hints.map((h) => h.hint)).size).toBe(VERIFY_FAILURES.length);
    expect(errorHint('clock_skew').hint).toMatch(/date and time/);
    expect(errorHint('credentials_wrong_region').hint).toMatch(/region/);
  });
  it('falls back to a generic title for other codes', () => {
    expect(errorHint('database')).toEqual({ title: 'That did not work', hint: '' });
  });
  it('turns core messages into sentences', () => {
    expect(asSentence('scaleway: the key was rejected')).toBe('Scaleway: the key was rejected.');
  });
});

describe('forms', () => {
  it('checks a passphrase typed twice', () => {
    expect(passphrasePairProblem('', '')).toBe('Enter a passphrase.');
    expect(passphrasePairProblem('short', 'short')).toMatch(/at least 8/);
    expect(passphrasePairProblem('long enough', '')).toMatch(/again/);
    expect(passphrasePairProblem('long enough', 'long enougH')).toBe('The two passphrases do not match.');
    expect(passphrasePairProblem('long enough', 'long enough')).toBeNull();
  });
  it('parses scopes', () => expect(parseScopes(' openid, email  profile openid ')).toEqual(['openid', 'email', 'profile']));
  it('checks custom provider ids and issuers', () => {
    expect(providerIdProblem('corp-sso')).toBeNull();
    expect(providerIdProblem('Corp SSO')).not.toBeNull();
    expect(issuerProblem('https://sso.example.com')).toBeNull();
    expect(issuerProblem('http://sso.example.com')).toMatch(/https/);
    expect(issuerProblem('http://localhost:8080/realms/dev')).toBeNull();
    expect(issuerProblem('sso.example.com')).toMatch(/full issuer URL/);
  });
});

describe('monograms', () => {
  it('takes one or two letters, or a known abbreviation', () => {
    expect(monogram('github', 'GitHub')).toBe('G');
    expect(monogram('hetzner', 'Hetzner Cloud')).toBe('HC');
    expect(monogram('aws', 'Amazon Web Services')).toBe('AWS');
    expect(monogram('microsoft', 'Microsoft (Entra ID / Microsoft account)')).toBe('M');
    expect(monogram('x', '')).toBe('X');
  });
  it('picks a stable colour class', () => {
    expect(hueClass('github')).toBe(hueClass('github'));
    expect(hueClass('github')).toMatch(/^hue-[0-7]$/);
  });
});

describe('audit', () => {
  const e = (id: number, action: string, connection_id: string | null): AuditEvent => ({
    id, at: '2025-03-12T12:00:00Z', action, connection_id, subject: null, actor: 'cli', detail: null, pid: null, program: null, parent_program: null, tool: null,
  });
  const events = [e(1, 'token.refreshed', 'c1'), e(2, 'token.handed_out', 'c2'), e(3, 'token.refreshed', 'c2'), e(4, 'vault.rekeyed', null)];
  it('filters by action and connection', () => {
    expect(filterAudit(events, { action: '', connection: '' })).toHaveLength(4);
    expect(filterAudit(events, { action: 'token.refreshed', connection: '' }).map((x) => x.id)).toEqual([1, 3]);
    expect(filterAudit(events, { action: 'token.refreshed', connection: 'c2' }).map((x) => x.id)).toEqual([3]);
  });
  it('lists the distinct values to filter on', () => {
    expect(distinctActions(events)).toEqual(['token.handed_out', 'token.refreshed', 'vault.rekeyed']);
    expect(distinctConnections(events)).toEqual(['c1', 'c2']);
  });
  it('names actions in words', () => {
    expect(actionLabel('connection.revealed')).toBe('Secret revealed');
    expect(actionLabel('flow.something_new')).toBe('Flow something new');
  });
});

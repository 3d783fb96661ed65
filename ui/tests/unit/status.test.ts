// Unit tests of src/lib/ui/status.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import type { ConnectionStatus } from '../../src/lib/api/types';
import { effectiveStatus, needsAttention, statusBadge } from '../../src/lib/ui/status';

const NOW = Date.parse('2025-03-12T12:00:00Z');

describe('statusBadge', () => {
  it.each<[ConnectionStatus, string, string]>([
    ['connected', 'Connected', 'ok'],
    ['expiring', 'Expiring', 'warn'],
    ['expired', 'Expired', 'danger'],
    ['needs_reauth', 'Needs re-auth', 'danger'],
  ])('%s → %s (%s)', (status, label, tone) => {
    const badge = statusBadge(status);
    expect(badge.label).toBe(label);
    expect(badge.tone).toBe(tone);
    expect(badge.hint.length).toBeGreaterThan(5);
  });
  it('tells the person to reconnect when the refresh token was refused', () => {
    expect(statusBadge('needs_reauth').hint).toMatch(/reconnect/i);
  });
});

describe('effectiveStatus', () => {
  it('turns a running-out connection into expired', () => {
    expect(effectiveStatus({ status: 'expiring', expires_at: '2025-03-12T11:59:59Z' }, NOW)).toBe('expired');
    expect(effectiveStatus({ status: 'connected', expires_at: '2025-03-12T12:00:00Z' }, NOW)).toBe('expired');
  });
  it('keeps the stored status otherwise', () => {
    expect(effectiveStatus({ status: 'expiring', expires_at: '2025-03-12T12:04:00Z' }, NOW)).toBe('expiring');
    expect(effectiveStatus({ status: 'connected', expires_at: null }, NOW)).toBe('connected');
    expect(effectiveStatus({ status: 'needs_reauth', expires_at: '2025-03-12T11:00:00Z' }, NOW)).toBe('needs_reauth');
  });
  it('flags what needs attention', () => {
    expect(['connected', 'expiring', 'expired', 'needs_reauth'].filter((s) => needsAttention(s as ConnectionStatus))).toEqual([
      'expired',
      'needs_reauth',
    ]);
  });
});

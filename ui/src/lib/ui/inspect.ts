// The token viewer's logic: decoded JWT claims for display (never verified here or anywhere in
// the UI), granted vs requested scopes, and where "now" sits between issued and expires.

import type { FieldInfo, UnverifiedJwt } from '../api/types';
import { formatLocal, parseTime, relative } from './time';

/** Claims that hold times, in the order people read them. */
const TIME_CLAIMS = ['iat', 'nbf', 'auth_time', 'exp'] as const;

const TIME_LABELS: Record<string, string> = {
  iat: 'Issued at',
  nbf: 'Not before',
  auth_time: 'Signed in at',
  exp: 'Expires at',
};

export interface TimeRow {
  claim: string;
  label: string;
  local: string;
  relative: string;
}

/** exp/iat/nbf/auth_time as local times with "3 h ago"/"in 5 min". */
export function jwtTimes(jwt: UnverifiedJwt, now: number): TimeRow[] {
  return TIME_CLAIMS.filter((c) => typeof jwt.times[c] === 'string').map((claim) => {
    const at = jwt.times[claim] as string;
    return { claim, label: TIME_LABELS[claim] ?? claim, local: formatLocal(at), relative: relative(at, now) };
  });
}

/** A claim's value as one line of text (objects and arrays as compact JSON). */
export function claimText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

/** Header or claims as sorted rows, time claims left out (shown as local times instead). */
export function claimRows(record: Record<string, unknown>, skipTimes = false): [string, string][] {
  return Object.keys(record)
    .filter((k) => !(skipTimes && (TIME_CLAIMS as readonly string[]).includes(k)))
    .sort()
    .map((k) => [k, claimText(record[k])]);
}

export interface ScopeRow {
  scope: string;
  /** granted: asked and given; missing: asked, not given; extra: given without being asked. */
  state: 'granted' | 'missing' | 'extra';
}

/** Requested scopes first (granted or missing), then extra ones the provider added. */
export function compareScopes(granted: readonly string[], requested: readonly string[]): ScopeRow[] {
  const given = new Set(granted);
  const asked = new Set(requested);
  const rows: ScopeRow[] = requested.map((scope) => ({ scope, state: given.has(scope) ? 'granted' : 'missing' }));
  for (const scope of granted) if (!asked.has(scope)) rows.push({ scope, state: 'extra' });
  return rows;
}

export interface Timeline {
  issuedAt: number;
  expiresAt: number;
  /** Where now sits, 0..100 (clamped). */
  nowPercent: number;
  /** Share of the lifetime still left, 0..100. */
  leftPercent: number;
}

/** Issued → now → expires for the bar; null without both ends. */
export function timeline(issued: string | null, expires: string | null, now: number): Timeline | null {
  const start = parseTime(issued);
  const end = parseTime(expires);
  if (start === null || end === null || end <= start) return null;
  const raw = ((now - start) / (end - start)) * 100;
  const nowPercent = Math.min(100, Math.max(0, raw));
  return { issuedAt: start, expiresAt: end, nowPercent, leftPercent: 100 - nowPercent };
}

/** When the current access token was issued: its iat claim, else when the field was written. */
export function issuedAt(fields: readonly FieldInfo[]): string | null {
  const access = fields.find((f) => f.name === 'access_token') ?? fields[0];
  if (!access) return null;
  return access.jwt?.times.iat ?? access.updated_at;
}

/** "access_token" → "Access token". */
export function fieldLabel(name: string): string {
  const special: Record<string, string> = { id_token: 'ID token', api_key: 'API key', client_id: 'Client ID' };
  if (special[name]) return special[name];
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The masked stand-in for a secret: dots, with its length. */
export function masked(length: number): string {
  return `${'•'.repeat(Math.min(24, Math.max(8, length)))}`;
}

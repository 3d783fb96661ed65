// What a connection's status looks like: a badge (label + tone) and one line saying what to do.
// The Rust side derives the status when it reads; a countdown that runs out while the screen is
// open turns "connected"/"expiring" into "expired" here until the next reload.

import type { ConnectionStatus, ConnectionSummary } from '../api/types';
import { parseTime } from './time';

export type Tone = 'ok' | 'warn' | 'danger' | 'neutral';

export interface Badge {
  label: string;
  tone: Tone;
  /** What it means for the person, and what to do. */
  hint: string;
}

const BADGES: Record<ConnectionStatus, Badge> = {
  connected: { label: 'Connected', tone: 'ok', hint: 'Ready to hand out.' },
  expiring: {
    label: 'Expiring',
    tone: 'warn',
    hint: 'Expires soon; Keyhaven refreshes it on next use, or refresh it now.',
  },
  expired: {
    label: 'Expired',
    tone: 'danger',
    hint: 'Expired; refresh it, or reconnect if it cannot be refreshed.',
  },
  needs_reauth: {
    label: 'Needs re-auth',
    tone: 'danger',
    hint: 'The provider refused the refresh token; reconnect to sign in again.',
  },
};

export function statusBadge(status: ConnectionStatus): Badge {
  return BADGES[status] ?? { label: status, tone: 'neutral', hint: '' };
}

/** The status to show now: the stored one, unless its expiry has passed since it was read. */
export function effectiveStatus(conn: Pick<ConnectionSummary, 'status' | 'expires_at'>, now: number): ConnectionStatus {
  const at = parseTime(conn.expires_at);
  if ((conn.status === 'connected' || conn.status === 'expiring') && at !== null && at <= now) {
    return 'expired';
  }
  return conn.status;
}

/** True when the person should act (expired or needs re-auth). */
export function needsAttention(status: ConnectionStatus): boolean {
  return status === 'expired' || status === 'needs_reauth';
}

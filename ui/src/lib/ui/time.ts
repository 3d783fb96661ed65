// Times a person reads at a glance: expiry countdowns ("in 4 min 12 s"), ages ("3 days"),
// local date-times, and how often a countdown needs to tick. Pure functions of (time, now).

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * A duration in the two largest units that matter: "42 s", "4 min 12 s", "3 h 20 min",
 * "2 days 5 h", "40 days". Seconds are shown only under an hour.
 */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(Math.abs(totalSeconds)));
  if (s < MINUTE) return `${s} s`;
  if (s < HOUR) {
    const m = Math.floor(s / MINUTE);
    const rest = s % MINUTE;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  if (s < DAY) {
    const h = Math.floor(s / HOUR);
    const m = Math.floor((s % HOUR) / MINUTE);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(s / DAY);
  if (d >= 7) return plural(d, 'day');
  const h = Math.floor((s % DAY) / HOUR);
  return h ? `${plural(d, 'day')} ${h} h` : plural(d, 'day');
}

/** An age in one unit, rounded down: "just now", "5 minutes", "3 hours", "2 days". */
export function formatAge(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < MINUTE) return 'less than a minute';
  if (s < HOUR) return plural(Math.floor(s / MINUTE), 'minute');
  if (s < DAY) return plural(Math.floor(s / HOUR), 'hour');
  return plural(Math.floor(s / DAY), 'day');
}

/** Parses RFC 3339; null for null or unparseable text. */
export function parseTime(rfc3339: string | null | undefined): number | null {
  if (!rfc3339) return null;
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? null : ms;
}

export interface Countdown {
  /** "expires in 4 min 12 s", "expired 2 h ago", "does not expire". */
  text: string;
  /** Seconds left (negative once past), null when there is no expiry. */
  secondsLeft: number | null;
  past: boolean;
}

/** The live expiry line of a connection or a sign-in. */
export function countdown(expiresAt: string | null, now: number, verb = 'expires'): Countdown {
  const at = parseTime(expiresAt);
  if (at === null) return { text: 'does not expire', secondsLeft: null, past: false };
  const left = Math.floor((at - now) / 1000);
  if (left > 0) return { text: `${verb} in ${formatDuration(left)}`, secondsLeft: left, past: false };
  const pastVerb = verb === 'expires' ? 'expired' : verb;
  if (left > -5) return { text: `${pastVerb} just now`, secondsLeft: left, past: true };
  return { text: `${pastVerb} ${formatDuration(-left)} ago`, secondsLeft: left, past: true };
}

/** How often a countdown must re-render: every second under an hour, else every minute. */
export function tickMs(secondsLeft: number | null): number {
  if (secondsLeft === null) return 60_000;
  return Math.abs(secondsLeft) < HOUR ? 1000 : 60_000;
}

/** A local date-time, e.g. "12 Mar 2025, 14:05:09"; the raw text if it does not parse. */
export function formatLocal(rfc3339: string, withSeconds = true): string {
  const at = parseTime(rfc3339);
  if (at === null) return rfc3339;
  return new Date(at).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: withSeconds ? 'medium' : 'short',
  });
}

/** "in 5 min" / "3 h ago" relative to now. */
export function relative(rfc3339: string, now: number): string {
  const at = parseTime(rfc3339);
  if (at === null) return '';
  const diff = Math.round((at - now) / 1000);
  if (Math.abs(diff) < 5) return 'now';
  return diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
}

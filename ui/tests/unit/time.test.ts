// Unit tests of src/lib/ui/time.ts (and neighbours): pure logic, no DOM.
import { describe, expect, it } from 'vitest';
import { countdown, formatAge, formatDuration, formatLocal, parseTime, relative, tickMs } from '../../src/lib/ui/time';

const NOW = Date.parse('2025-03-12T12:00:00Z');
const at = (secs: number) => new Date(NOW + secs * 1000).toISOString();

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [42, '42 s'],
    [60, '1 min'],
    [252, '4 min 12 s'],
    [3599, '59 min 59 s'],
    [3600, '1 h'],
    [12_000, '3 h 20 min'],
    [86_400, '1 day'],
    [86_400 * 2 + 3600 * 5, '2 days 5 h'],
    [86_400 * 40 + 999, '40 days'],
  ])('%i s → %s', (secs, text) => expect(formatDuration(secs)).toBe(text));

  it('uses the absolute value', () => expect(formatDuration(-90)).toBe('1 min 30 s'));
});

describe('countdown', () => {
  it('counts down to a future expiry', () => {
    expect(countdown(at(252), NOW)).toEqual({ text: 'expires in 4 min 12 s', secondsLeft: 252, past: false });
  });
  it('says how long ago it expired', () => {
    expect(countdown(at(-7260), NOW)).toMatchObject({ text: 'expired 2 h 1 min ago', past: true });
    expect(countdown(at(-2), NOW).text).toBe('expired just now');
  });
  it('handles no expiry and bad input', () => {
    expect(countdown(null, NOW)).toEqual({ text: 'does not expire', secondsLeft: null, past: false });
    expect(countdown('not a date', NOW).text).toBe('does not expire');
  });
  it('takes another verb', () => expect(countdown(at(600), NOW, 'closes').text).toBe('closes in 10 min'));
});

describe('tickMs', () => {
  it('ticks every second under an hour, else every minute', () => {
    expect(tickMs(59)).toBe(1000);
    expect(tickMs(-120)).toBe(1000);
    expect(tickMs(7200)).toBe(60_000);
    expect(tickMs(null)).toBe(60_000);
  });
});

describe('ages and local times', () => {
  it('formats ages in one unit', () => {
    expect(formatAge(30)).toBe('less than a minute');
    expect(formatAge(61)).toBe('1 minute');
    expect(formatAge(3 * 3600 + 5)).toBe('3 hours');
    expect(formatAge(86_400 * 3)).toBe('3 days');
  });
  it('parses RFC 3339 or gives null', () => {
    expect(parseTime('2025-03-12T12:00:00Z')).toBe(NOW);
    expect(parseTime('')).toBeNull();
    expect(parseTime(null)).toBeNull();
  });
  it('shows a local time with the year, and bad text as is', () => {
    expect(formatLocal('2025-03-12T12:00:00Z')).toMatch(/2025/);
    expect(formatLocal('garbage')).toBe('garbage');
  });
  it('gives relative times', () => {
    expect(relative(at(300), NOW)).toBe('in 5 min');
    expect(relative(at(-3 * 3600), NOW)).toBe('3 h ago');
    expect(relative(at(2), NOW)).toBe('now');
  });
});

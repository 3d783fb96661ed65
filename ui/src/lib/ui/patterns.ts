// Client-side checks of the catalog's patterns (Rust regexes, matched whole by core). A check
// here only gives early feedback: the Rust side checks again. A pattern JavaScript cannot
// compile is simply not checked.

export type PatternCheck = 'ok' | 'mismatch' | 'empty' | 'unchecked';

/** The pattern anchored at both ends, as core does; null if JavaScript cannot compile it. */
export function anchoredRegex(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    try {
      return new RegExp(`^(?:${pattern})$`);
    } catch {
      return null;
    }
  }
}

export function checkPattern(value: string, pattern: string | null | undefined): PatternCheck {
  if (value === '') return 'empty';
  if (!pattern) return 'ok';
  const re = anchoredRegex(pattern);
  if (!re) return 'unchecked';
  return re.test(value) ? 'ok' : 'mismatch';
}

const PLAIN_CHOICE = /^[A-Za-z0-9_.:/-]+$/;

/**
 * The choices of a pure alternation ("ovh-eu|ovh-ca|ovh-us"), or null when the pattern is
 * anything else (then the value is free text). Escaped dots ("a\.b") count as plain dots.
 */
export function alternationOptions(pattern: string | null | undefined): string[] | null {
  if (!pattern) return null;
  let text = pattern.trim();
  if (text.startsWith('(') && text.endsWith(')') && !text.slice(1, -1).includes('(')) {
    text = text.slice(text.startsWith('(?:') ? 3 : 1, -1);
  }
  const parts = text.split('|').map((p) => p.replace(/\\\./g, '.'));
  if (parts.length < 2) return null;
  return parts.every((p) => PLAIN_CHOICE.test(p)) ? parts : null;
}

/** Whitespace at either end, or a line break: core refuses these for credential values. */
export function hasStrayWhitespace(value: string): boolean {
  return value !== value.trim() || /[\r\n\0]/.test(value);
}

/** A message for a field's value, or null when it is fine (or empty and optional). */
export function fieldProblem(
  value: string,
  field: { label: string; pattern: string | null; optional?: boolean },
): string | null {
  if (value === '') return field.optional ? null : `${field.label} is required.`;
  if (hasStrayWhitespace(value)) return `${field.label} has spaces or line breaks around it; paste the value alone.`;
  if (checkPattern(value, field.pattern) === 'mismatch') {
    return `${field.label} does not look right: expected the format shown below.`;
  }
  return null;
}

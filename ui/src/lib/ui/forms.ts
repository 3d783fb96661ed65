// Small form rules shared by the settings and add-connection screens. They give early, readable
// messages; core enforces each rule again (the page is never the only check).

/**
 * The shortest new passphrase (vault, rekey, backup): core's MIN_NEW_PASSPHRASE_CHARS, which a
 * Rust test (src-tauri/src/commands/settings.rs) compares with this value.
 */
export const MIN_PASSPHRASE_CHARS = 8;

/** A problem with a new passphrase typed twice, or null when it can be used. */
export function passphrasePairProblem(first: string, second: string, minLength = MIN_PASSPHRASE_CHARS): string | null {
  if (first.length === 0) return 'Enter a passphrase.';
  if (first.length < minLength) return `Use at least ${minLength} characters.`;
  if (second.length === 0) return 'Type the passphrase again to confirm it.';
  if (first !== second) return 'The two passphrases do not match.';
  return null;
}

/** Scopes typed by hand: split on spaces and commas, de-duplicated, order kept. */
export function parseScopes(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** A provider id core accepts for a custom provider: lower-case letters, digits and dashes. */
export function providerIdProblem(id: string): string | null {
  if (!id) return 'Enter an id.';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) return 'Use lower-case letters, digits and dashes.';
  return null;
}

/** An issuer must be an https URL (http only for localhost). */
export function issuerProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'Enter the full issuer URL, starting with https://.';
  }
  const local = parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1';
  if (parsed.protocol !== 'https:' && !(local && parsed.protocol === 'http:')) return 'The issuer must use https://.';
  return null;
}

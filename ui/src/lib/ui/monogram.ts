// Provider badges without images: one or two letters from the name, and one of a fixed set of
// colour classes picked from the id, so a provider always gets the same colour.

const KNOWN: Record<string, string> = {
  aws: 'AWS',
  'ovhcloud-oauth2': 'OV',
  ovhcloud: 'OV',
  'http-basic': 'HB',
  'api-key': 'AK',
};

export const HUES = 8;

/** "GitHub" → "G", "Hetzner Cloud" → "HC", "Amazon Web Services" → "AWS" (via KNOWN). */
export function monogram(id: string, name: string): string {
  if (KNOWN[id]) return KNOWN[id];
  const words = name
    .replace(/\(.*?\)/g, ' ')
    .split(/[\s-]+/)
    .filter((w) => /^[A-Za-z0-9]/.test(w));
  if (words.length === 0) return id.slice(0, 1).toUpperCase() || '?';
  if (words.length === 1) return words[0]!.slice(0, 1).toUpperCase();
  return (words[0]!.slice(0, 1) + words[1]!.slice(0, 1)).toUpperCase();
}

/** A stable colour class, hue-0 … hue-7, from the provider id. */
export function hueClass(id: string): string {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return `hue-${hash % HUES}`;
}

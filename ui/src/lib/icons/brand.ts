// A brand icon (simple-icons: one 24x24 path and the brand's colour) and how it is drawn
// legibly: in its colour when that stands out from the badge's background, else in the text
// colour. Pure functions, unit tested (tests/unit/brand.test.ts).

export interface Brand {
  /** The brand's name (simple-icons' title). */
  title: string;
  /** Its colour, six hex digits without '#'. */
  hex: string;
  /** The SVG path, in a 0 0 24 24 view box. */
  path: string;
}

/** The badge's background behind an icon, per theme (ProviderIcon.svelte's .brand). */
export const BADGE_BG = { light: 'f3f4f7', dark: '2b2d35' } as const;

/**
 * The least contrast ratio (WCAG's) for the brand colour to be used. The icon is decorative
 * (the name is written beside it), so this is not WCAG's 3:1 for meaningful graphics: it keeps
 * mid-tone brand colours (Spotify's green, Strava's orange) and replaces those that nearly
 * vanish (black on dark, white or pale yellow on light).
 */
export const MIN_CONTRAST = 1.6;

function luminance(hex: string): number {
  const n = Number.parseInt(hex, 16);
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

/** WCAG contrast ratio of two colours (six hex digits each), 1 to 21. */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

/** Whether the brand colour is drawn on each theme's badge (false: the text colour instead). */
export function brandColourShows(hex: string): { light: boolean; dark: boolean } {
  return {
    light: contrast(hex, BADGE_BG.light) >= MIN_CONTRAST,
    dark: contrast(hex, BADGE_BG.dark) >= MIN_CONTRAST,
  };
}

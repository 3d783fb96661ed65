// Unit tests of src/lib/icons: the brand colour's legibility rule and the generated module.
import { describe, expect, it } from 'vitest';
import { BADGE_BG, brandColourShows, contrast } from '../../src/lib/icons/brand';
import { BRANDS, PROVIDER_ICONS } from '../../src/lib/icons/brands.generated';

describe('brand colours', () => {
  it('computes WCAG contrast', () => {
    expect(contrast('000000', 'ffffff')).toBeCloseTo(21, 5);
    expect(contrast('777777', '777777')).toBe(1);
  });
  it('draws near-background colours in the text colour, per theme', () => {
    // GitHub's near-black vanishes on the dark badge, not on the light one.
    expect(brandColourShows('181717')).toEqual({ light: true, dark: false });
    // White vanishes on the light badge.
    expect(brandColourShows('FFFFFF')).toEqual({ light: false, dark: true });
    // A mid-tone brand colour shows in both.
    expect(brandColourShows('5865F2')).toEqual({ light: true, dark: true });
    expect(BADGE_BG.light).not.toBe(BADGE_BG.dark);
  });
});

describe('brands.generated.ts', () => {
  it('has a path, colour and title for every icon a provider names', () => {
    expect(Object.keys(PROVIDER_ICONS).length).toBeGreaterThan(10);
    for (const [id, slug] of Object.entries(PROVIDER_ICONS)) {
      const b = BRANDS[slug];
      expect(b, `${id} -> ${slug}`).toBeDefined();
      expect(b!.hex).toMatch(/^[0-9A-F]{6}$/);
      expect(b!.path).toMatch(/^[Mm]/);
      expect(b!.title.length).toBeGreaterThan(0);
    }
  });
  it('holds only the icons the catalog uses', () => {
    expect(new Set(Object.values(PROVIDER_ICONS))).toEqual(new Set(Object.keys(BRANDS)));
  });
});

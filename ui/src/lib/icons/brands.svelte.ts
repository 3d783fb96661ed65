// The brand icons, loaded on first use: `brands.generated.ts` (~50 KB of SVG paths) is its own
// chunk, fetched from the app's own files (no network) once a badge that may have an icon is
// shown. Until then, and if loading fails, badges show their letters.

import type { Brand } from './brand';

type BrandsModule = typeof import('./brands.generated');

let loaded = $state.raw<BrandsModule | null>(null);
let loading: Promise<void> | null = null;

/** Starts loading the icons (once); resolves when they are there (or failed to load). */
export function loadBrands(): Promise<void> {
  loading ??= import('./brands.generated').then(
    (m) => {
      loaded = m;
    },
    () => {
      // Letters stay; a later badge tries again.
      loading = null;
    },
  );
  return loading;
}

/**
 * The icon for a provider, once loaded: by `icon` (its simple-icons slug) when the caller has
 * the summary, by provider id when `icon` is undefined, none when `icon` is null. Reactive.
 */
export function brandOf(id: string, icon: string | null | undefined): Brand | null {
  const m = loaded;
  if (!m || icon === null) return null;
  const slug = icon ?? m.PROVIDER_ICONS[id];
  return slug ? (m.BRANDS[slug] ?? null) : null;
}

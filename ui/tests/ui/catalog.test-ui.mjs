// UI tests: the catalog in groups by primary category, search by alias, and the brand icons
// (loaded lazily from the app's own files; letters until then and without an icon).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { shot, UI } from './harness.mjs';
import { heading, nav, test, withApp } from './common.mjs';

const providersIn = (locator) => locator.locator('.tile[data-provider]').evaluateAll((t) => t.map((e) => e.dataset.provider));

/** The mock's primary categories (tests/ui/mock-data.ts), in core's CATEGORIES order. */
const GROUPS = [
  ['dev-tools', 'Developer tools', 4],
  ['cloud', 'Cloud', 7],
  ['storage', 'Storage', 1],
  ['monitoring', 'Monitoring and incidents', 1],
  ['identity', 'Identity', 1],
  ['productivity', 'Productivity', 3],
  ['design', 'Design', 1],
  ['communication', 'Communication', 2],
  ['social', 'Social', 1],
  ['media', 'Media', 1],
  ['finance', 'Payments and finance', 1],
  ['mcp', 'MCP servers', 1],
  ['generic', 'Generic', 1],
];
const TOTAL = GROUPS.reduce((n, [, , count]) => n + count, 0);

test('catalog: groups by primary category in core order, headed with counts; icons and letters', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  await heading(page, 'Add a connection');
  const catalog = page.getByRole('region', { name: 'Provider catalog' });
  await catalog.locator('.tile[data-provider]').first().waitFor();

  // One section per group, in order, each labelled by its heading (label, count).
  const groups = catalog.locator('section[data-category]');
  assert.deepEqual(await groups.evaluateAll((s) => s.map((e) => e.dataset.category)), GROUPS.map(([id]) => id));
  for (const [id, label, count] of GROUPS) {
    const h = catalog.getByRole('heading', { level: 3, name: `${label} ${count} providers`, exact: true });
    await h.waitFor();
    const section = catalog.getByRole('region', { name: `${label} ${count} providers`, exact: true });
    assert.equal(await section.getAttribute('data-category'), id);
    assert.equal((await providersIn(section)).length, count, label);
  }
  // Within a group, by name; every entry once (under its first category only).
  assert.deepEqual(await providersIn(catalog.locator('section[data-category="cloud"]')), [
    'aws', 'contabo', 'exoscale', 'hetzner', 'ovhcloud', 'ovhcloud-oauth2', 'scaleway',
  ]);
  assert.equal((await providersIn(catalog)).length, TOTAL);
  assert.equal((await catalog.getByRole('status').textContent()).trim(), `${TOTAL} of ${TOTAL} providers in ${GROUPS.length} categories`);

  // An entry with an icon: its SVG in the brand colour, decorative, once the chunk is in.
  const gh = catalog.locator('[data-provider="github"] .icon');
  await gh.locator('svg path').waitFor();
  assert.equal(await gh.getAttribute('aria-hidden'), 'true');
  assert.equal(await gh.locator('svg path').getAttribute('fill'), '#181717');
  assert.equal((await gh.textContent()).trim(), '');
  // Without an icon (Microsoft, AWS): the letter badge.
  const ms = catalog.locator('[data-provider="microsoft"] .icon');
  assert.equal((await ms.textContent()).trim(), 'M');
  assert.equal(await ms.locator('svg').count(), 0);
  assert.equal(await catalog.locator('[data-provider="aws"] .icon svg').count(), 0);
  assert.equal((await catalog.locator('[data-provider="aws"] .icon').textContent()).trim(), 'AWS');

  // The icons came as their own chunk from the app's own origin; nothing from elsewhere.
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name));
  assert.ok(loaded.some((u) => /\/assets\/brands\.generated-[\w-]+\.js$/.test(u)), loaded.join('\n'));
  const origin = new URL(page.url()).origin;
  assert.deepEqual(loaded.filter((u) => !u.startsWith(origin)), []);
  const src = await page.evaluate(() => new URL(document.querySelector('script[type="module"]').src).pathname);
  const first = await readFile(join(UI, 'dist', src), 'utf8');
  const ghPath = await gh.locator('svg path').getAttribute('d');
  assert.ok(!first.includes(ghPath.slice(0, 40)), 'the icon paths are not in the first-paint script');

  await page.mouse.move(0, 0);
  await shot(page, 'catalog-light');

  // The category filter: one group, every entry of that category (by any of its categories).
  await page.getByLabel('Category').selectOption('identity');
  await catalog.getByRole('heading', { level: 3, name: 'Identity 3 providers', exact: true }).waitFor();
  assert.deepEqual(await providersIn(catalog), ['google', 'microsoft', 'okta']);
  assert.equal(await groups.count(), 1);
}));

test('catalog: search by alias, id and category, best first; flat results; keyboard', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  const catalog = page.getByRole('region', { name: 'Provider catalog' });
  await catalog.locator('.tile[data-provider]').first().waitFor();
  const search = page.getByLabel('Search providers');
  const results = catalog.getByRole('list', { name: 'Matching providers' });

  await search.fill('twitter');
  assert.deepEqual(await providersIn(results), ['x']);
  assert.equal(await catalog.locator('section[data-category]').count(), 0, 'results are not grouped');
  assert.equal((await catalog.getByRole('status').textContent()).trim(), `1 of ${TOTAL} providers match “twitter”`);
  await search.fill('OneDrive');
  assert.deepEqual(await providersIn(results), ['microsoft']);
  await search.fill('gmail');
  assert.deepEqual(await providersIn(results), ['google']);
  await search.fill('Entrá');
  assert.deepEqual(await providersIn(results), ['microsoft']);
  // Best first: GitLab's name starts with "git", a category match comes last.
  await search.fill('git');
  const git = await providersIn(results);
  assert.deepEqual(git.slice(0, 3), ['github', 'gitlab', 'gitlab-self-managed']);
  // With the filter, the results are narrowed to the category.
  await search.fill('cloud');
  await page.getByLabel('Category').selectOption('identity');
  assert.deepEqual(await providersIn(results), ['microsoft']);
  await page.getByLabel('Category').selectOption('');

  // Keyboard: from the search, Tab reaches the category filter, then the first result; Enter picks it.
  await search.fill('twitter');
  await search.focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-provider')), 'x');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /X \(Twitter\)/ }).first().waitFor();
}));

test('catalog: letters until the icons load; legible brand colours in dark', withApp({
  scheme: 'dark',
  setup: async (context) => {
    let release;
    const held = new Promise((r) => (release = r));
    context.__releaseIcons = release;
    await context.route(/\/assets\/brands\.generated-[\w-]+\.js$/, async (route) => {
      await held;
      await route.continue();
    });
  },
}, async (page) => {
  await nav(page, 'Add connection');
  const gh = page.locator('[data-provider="github"] .icon');
  await gh.waitFor();
  // The chunk is held back: GitHub shows its letter meanwhile.
  assert.equal((await gh.textContent()).trim(), 'G');
  assert.equal(await gh.locator('svg').count(), 0);
  page.context().__releaseIcons();
  await gh.locator('svg path').waitFor();
  // GitHub's near-black would vanish on the dark badge: drawn in the text colour instead.
  const fill = await gh.locator('svg path').evaluate((p) => getComputedStyle(p).fill);
  const text = await page.evaluate(() => getComputedStyle(document.body).color);
  assert.equal(fill, text);
  // Discord's blurple shows as itself.
  const discord = page.locator('[data-provider="discord"] .icon svg path');
  assert.equal(await discord.evaluate((p) => getComputedStyle(p).fill), 'rgb(88, 101, 242)');
}));

test('settings: the provider icons are credited, with simple-icons\' disclaimer', withApp({}, async (page) => {
  await nav(page, 'Settings');
  await heading(page, 'Settings');
  const about = page.getByRole('region', { name: 'About' });
  await about.getByText(/trademarks of their owners/).waitFor();
  assert.equal(
    await about.getByRole('link', { name: /disclaimer/ }).getAttribute('href'),
    'https://github.com/simple-icons/simple-icons/blob/develop/DISCLAIMER.md',
  );
}));

test('icons.mjs: the checked-in module is current; an icon simple-icons lacks fails, naming the file', async () => {
  const run = (args, env = {}) =>
    promisify(execFile)(process.execPath, [join(UI, 'scripts/icons.mjs'), ...args], { cwd: UI, env: { ...process.env, ...env } }).then(
      ({ stdout }) => ({ ok: true, out: stdout }),
      (e) => ({ ok: false, out: `${e.stdout}${e.stderr}` }),
    );
  const current = await run(['--check']);
  assert.ok(current.ok, current.out);
  const dir = await mkdtemp(join(tmpdir(), 'kh-icons-'));
  try {
    await writeFile(join(dir, 'fine.toml'), 'id = "fine"\nname = "Fine"\nicon = "github"\n');
    await writeFile(join(dir, 'typo.toml'), 'id = "typo"\nname = "Typo"\nicon = "githubb"\n\n[identity]\nicon = "not-top-level"\n');
    for (const mode of [['--slugs'], ['--check'], []]) {
      const r = await run(mode, { KEYHAVEN_PROVIDERS_DIR: dir });
      assert.equal(r.ok, false, `${mode}: ${r.out}`);
      assert.match(r.out, /typo\.toml: icon "githubb" is not a slug of simple-icons 16\.37\.0/);
      assert.doesNotMatch(r.out, /fine\.toml|not-top-level/);
    }
  } finally {
    await rm(dir, { recursive: true });
  }
});

// UI tests: every screen in light and dark (with screenshots), the vault gate, keyboard use.

import assert from 'node:assert/strict';
import { calls, openApp, shot } from './harness.mjs';
import { heading, nav, test, withApp } from './common.mjs';

for (const scheme of ['light', 'dark']) {
  test(`every screen renders (${scheme})`, async (env) => {
    const open = (query) => openApp(env.browser, env.base, env.mockCode, { scheme, query });
    let { page, finish } = await open('');
    try {
      // The theme follows the OS: the page background is light or dark.
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g).map(Number);
      const light = (r + g + b) / 3 > 128;
      assert.equal(light, scheme === 'light', `body background ${bg} in ${scheme} mode`);

      await heading(page, 'Connections');
      await page.locator('li[data-connection]').nth(6).waitFor();
      // The brand icons (a lazily loaded chunk) are in before the picture.
      await page.locator('li[data-connection] .icon svg').first().waitFor();
      await shot(page, `connections-${scheme}`);

      await nav(page, 'Add connection');
      await heading(page, 'Add a connection');
      await page.locator('[data-provider="github"]').waitFor();
      await shot(page, `add-catalog-${scheme}`);
      await page.locator('[data-provider="gitlab"]').click();
      await page.getByRole('heading', { name: 'Set up your GitLab OAuth app' }).waitFor();
      await shot(page, `add-oauth-app-${scheme}`);

      await nav(page, 'Add connection');
      await page.locator('[data-provider="microsoft"]').click();
      await page.getByRole('heading', { name: /Sign in to Microsoft/ }).waitFor();
      await shot(page, `add-options-${scheme}`);
      await page.getByRole('button', { name: 'Continue in browser' }).click();
      await page.getByRole('heading', { name: 'Waiting for your browser…' }).waitFor();
      await page.getByText('The browser did not come back to Keyhaven?').click();
      await shot(page, `add-waiting-${scheme}`);
      await page.getByRole('button', { name: 'Cancel' }).click();

      await nav(page, 'Cloud setup');
      await heading(page, 'Cloud setup');
      await page.getByRole('checkbox', { name: /Hetzner Cloud/ }).check();
      await page.getByRole('checkbox', { name: /Amazon Web Services/ }).check();
      await shot(page, `cloud-choose-${scheme}`);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.locator('form[data-provider="aws"]').waitFor();
      await shot(page, `cloud-step-${scheme}`);

      await nav(page, 'Connections');
      await page.getByRole('button', { name: 'View Microsoft (Entra ID / Microsoft account) alice@contoso.com' }).click();
      await heading(page, 'Microsoft (Entra ID / Microsoft account)');
      await page.getByRole('heading', { name: 'Activity' }).waitFor();
      await page.locator('tr[data-action]').first().waitFor();
      await shot(page, `viewer-${scheme}`);

      await nav(page, 'Settings');
      await heading(page, 'Settings');
      await page.locator('tr[data-action]').first().waitFor();
      await shot(page, `settings-${scheme}`);
    } finally {
      await finish();
    }

    ({ page, finish } = await open('?empty=1'));
    try {
      await page.getByRole('heading', { name: 'No connections yet' }).waitFor();
      await shot(page, `connections-empty-${scheme}`);
    } finally {
      await finish();
    }

    ({ page, finish } = await open('?vault=locked'));
    try {
      await heading(page, 'Unlock your vault');
      await shot(page, `unlock-${scheme}`);
    } finally {
      await finish();
    }
  });
}

test('lock returns to the unlock screen; a wrong passphrase is said next to the field', withApp({}, async (page) => {
  await page.getByRole('button', { name: 'Lock vault' }).click();
  await heading(page, 'Unlock your vault');
  const field = page.getByLabel('Passphrase');
  await field.fill('wrong');
  await field.press('Enter');
  await page.getByText('Wrong passphrase for this vault.').waitFor();
  await field.fill('the right one');
  await field.press('Enter');
  await heading(page, 'Connections');
  assert.ok((await calls(page, 'vault_lock')).length === 1);
}));

test('first run: the vault gate still creates a vault', withApp({ query: '?vault=missing' }, async (page) => {
  await page.getByRole('button', { name: 'Create vault' }).click();
  await heading(page, 'Connections');
}));

test('keyboard: Tab reaches the main actions with a visible focus ring; dialogs trap focus', withApp({}, async (page) => {
  await page.locator('li[data-connection]').nth(6).waitFor();
  // Start from the top of the window, as after a click on the header.
  await page.mouse.click(600, 20);
  const reached = [];
  for (let i = 0; i < 18; i += 1) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      const name = el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '';
      return { name: name.trim(), outline: style.outlineStyle, width: style.outlineWidth };
    });
    reached.push(info.name);
    assert.notEqual(info.outline, 'none', `focus is visible on "${info.name}"`);
  }
  for (const name of ['Connections', 'Add connection', 'Cloud setup', 'Settings', 'Add connection', 'Filter connections']) {
    assert.ok(reached.some((r) => r.startsWith(name) || r === name), `Tab reaches ${name}: ${reached.join(' | ')}`);
  }
  assert.ok(reached.some((r) => r.startsWith('View ')), 'Tab reaches the rows’ actions');

  // Keyboard navigation: Enter on a focused sidebar item switches screens.
  await page.getByRole('button', { name: 'Disconnect GitHub alice-martin' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const inside = [];
  for (let i = 0; i < 5; i += 1) {
    await page.keyboard.press('Tab');
    inside.push(await page.evaluate(() => document.querySelector('dialog')?.contains(document.activeElement) ?? false));
  }
  assert.ok(inside.every(Boolean), 'Tab stays inside the dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Disconnect GitHub alice-martin', 'focus returns to the button');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /^Settings/ }).focus();
  await page.keyboard.press('Enter');
  await heading(page, 'Settings');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new screen’s heading');
}));

test('screens other than the home screen load on first visit; a chunk that fails to load is said', withApp({ expectedConsoleError: /Failed to load resource: net::ERR_FAILED/ }, async (page) => {
  await heading(page, 'Connections');
  const scripts = () => page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.js')));
  assert.ok(!(await scripts()).some((n) => /(Settings|CloudWizard|AddConnection|ConnectionPage)-/.test(n.split('/').at(-1))), 'only the home screen is loaded at start');
  await nav(page, 'Cloud setup');
  await heading(page, 'Cloud setup');
  assert.ok((await scripts()).some((n) => /CloudWizardPage-/.test(n)), 'the wizard came in its own chunk');

  // The settings chunk cannot be fetched (a damaged install): a readable problem, not a blank page.
  await page.route(/SettingsPage-[^/]*\.js$/, (route) => route.abort());
  await nav(page, 'Settings');
  const problem = page.locator('[data-code="screen"]');
  await problem.getByText('This screen could not be loaded').waitFor();
  await problem.getByText(/reinstall it/).waitFor();
  // The rest of the app still works.
  await nav(page, 'Connections');
  await heading(page, 'Connections');
}));

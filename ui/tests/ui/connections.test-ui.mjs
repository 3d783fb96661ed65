// UI tests: the connections list, disconnect, the catalog and the browser sign-in flow.

import assert from 'node:assert/strict';
import { calls, shot } from './harness.mjs';
import { heading, nav, test, withApp } from './common.mjs';

test('connections: every status, live countdowns, attention count', withApp({}, async (page) => {
  const rows = page.locator('li[data-connection]');
  await rows.nth(6).waitFor();
  assert.equal(await rows.count(), 7);
  const statuses = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
  for (const s of ['connected', 'expiring', 'expired', 'needs_reauth']) assert.ok(statuses.includes(s), `a ${s} row`);
  const google = page.locator('li[data-connection="c_go01"]');
  await google.getByText('Expiring', { exact: true }).waitFor();
  const before = await google.locator('.expiry').textContent();
  assert.match(before, /^expires in 4 min \d+ s$/);
  await page.waitForTimeout(1100);
  assert.notEqual(await google.locator('.expiry').textContent(), before, 'the countdown ticks');
  await page.locator('li[data-connection="c_sl01"]').getByText('Needs re-auth').waitFor();
  await page.getByText('2 need attention').waitFor();
  // Filter by account.
  await page.getByLabel('Filter connections').fill('gmail');
  assert.equal(await rows.count(), 1);
}));

test('connections: refresh calls connection_refresh and says so', withApp({}, async (page) => {
  await page.getByRole('button', { name: 'Refresh GitLab amartin' }).click();
  await page.getByText(/GitLab refreshed; expires in/).waitFor();
  assert.deepEqual((await calls(page, 'connection_refresh')).map((c) => c.args), [{ id: 'c_gl01' }]);
  await page.getByRole('button', { name: 'Refresh Slack acme-team' }).click();
  await page.getByText(/Slack could not be refreshed: slack refused the refresh token/).waitFor();
}));

test('disconnect: confirmation (Escape cancels), then the report', withApp({}, async (page) => {
  const name = 'Disconnect Microsoft (Entra ID / Microsoft account) alice@contoso.com';
  await page.getByRole('button', { name }).click();
  const dialog = page.getByRole('dialog', { name: /Disconnect Microsoft/ });
  await dialog.waitFor();
  await dialog.getByRole('checkbox', { name: /Keep access at the provider/ }).waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await calls(page, 'connection_disconnect')).length, 0, 'Escape disconnects nothing');

  await page.getByRole('button', { name }).click();
  await dialog.getByRole('button', { name: 'Disconnect' }).click();
  const report = page.getByTestId('disconnect-report');
  await report.waitFor();
  await report.getByText('Revoked at Microsoft').waitFor();
  await report.getByText(/Microsoft has no revocation endpoint for access tokens/).waitFor();
  await report.getByText(/Keyhaven will retry/).waitFor();
  await report.getByRole('link', { name: /myapplications\.microsoft\.com/ }).click();
  assert.deepEqual((await calls(page, 'open_url')).map((c) => c.args.url), ['https://myapplications.microsoft.com/']);
  assert.deepEqual((await calls(page, 'connection_disconnect'))[0].args, { id: 'c_ms01', keepRemote: false });
  await shot(page, 'disconnect-report-light');
  await page.getByRole('button', { name: 'Close' }).click();
  await page.locator('li[data-connection="c_ms01"]').waitFor({ state: 'detached' });
}));

test('disconnect declined in the native confirmation changes nothing, quietly', withApp({}, async (page) => {
  await page.evaluate(() => window.__mock.decline('connection_disconnect'));
  await page.getByRole('button', { name: 'Disconnect GitHub alice-martin' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
  await page.getByText('alice-martin was not disconnected.').waitFor();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  await page.locator('li[data-connection="c_gh01"]').waitFor();
  assert.equal(await page.getByRole('alert').count(), 0, 'declining is not an error');
}));

test('disconnect keeping access at the provider sends keepRemote', withApp({}, async (page) => {
  await page.getByRole('button', { name: 'Disconnect GitHub alice-martin' }).click();
  await page.getByRole('checkbox', { name: /Keep access at the provider/ }).check();
  await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
  await page.getByText(/Access was kept at GitHub/).waitFor();
  assert.deepEqual((await calls(page, 'connection_disconnect'))[0].args, { id: 'c_gh01', keepRemote: true });
}));

test('catalog: search by name, id and category; category filter', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  const tiles = page.locator('.tile[data-provider]');
  await tiles.first().waitFor();
  const search = page.getByLabel('Search providers');
  await search.fill('hetz');
  assert.deepEqual(await tiles.evaluateAll((t) => t.map((e) => e.dataset.provider)), ['hetzner']);
  await search.fill('source control');
  assert.deepEqual((await tiles.evaluateAll((t) => t.map((e) => e.dataset.provider))).sort(), ['github', 'gitlab', 'gitlab-self-managed']);
  await search.fill('ovhcloud-oauth2');
  assert.deepEqual(await tiles.evaluateAll((t) => t.map((e) => e.dataset.provider)), ['ovhcloud-oauth2']);
  await search.fill('nothing-like-this');
  await page.getByText(/No provider matches/).waitFor();
  await search.fill('');
  await page.getByLabel('Category').selectOption('identity');
  assert.deepEqual((await tiles.evaluateAll((t) => t.map((e) => e.dataset.provider))).sort(), ['google', 'microsoft', 'okta']);
  // A cloud provider goes to the wizard, preselected.
  await page.getByLabel('Category').selectOption('');
  await page.locator('[data-provider="scaleway"]').click();
  await page.locator('form[data-provider="scaleway"]').waitFor();
}));

test('connect: configure the OAuth app, start, wait, finish with a done outcome', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  await page.locator('[data-provider="gitlab"]').click();
  await page.getByText('dev.keyhaven:/oauth/callback/gitlab').waitFor();
  await page.getByRole('button', { name: 'Copy redirect URI (loopback)' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'http://127.0.0.1:53682/callback');
  await page.getByRole('link', { name: /gitlab\.com/ }).click();
  await page.getByLabel('Client ID').fill('d3b07384d113edec49eaa6238ad5ff00');
  await page.getByLabel('Client ID').press('Enter');
  await page.getByRole('heading', { name: 'Sign in to GitLab' }).waitFor();
  assert.deepEqual((await calls(page, 'provider_configure'))[0].args, { id: 'gitlab', clientId: 'd3b07384d113edec49eaa6238ad5ff00', clientSecret: null });
  // Default scopes are checked; a custom one is added with Enter; one default is unchecked.
  for (const s of ['read_user', 'openid', 'profile', 'email']) assert.ok(await page.getByRole('checkbox', { name: s, exact: true }).isChecked());
  await page.getByLabel('Add a scope').fill('api');
  await page.getByLabel('Add a scope').press('Enter');
  await page.getByRole('checkbox', { name: 'profile', exact: true }).uncheck();
  await page.getByRole('radio', { name: /A local address/ }).check();
  await page.getByRole('button', { name: 'Continue in browser' }).click();
  await page.getByRole('heading', { name: 'Waiting for your browser…' }).waitFor();
  await page.getByText(/The sign-in link expires in (9|10) min/).waitFor();
  const start = (await calls(page, 'connect_start'))[0].args;
  assert.deepEqual(start, { provider: 'gitlab', redirect: 'loopback', scopes: ['read_user', 'openid', 'email', 'api'], vars: {} });
  await page.getByRole('button', { name: 'Copy link' }).click();
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^https:\/\/auth\.example\.com\/authorize/);
  await page.getByRole('button', { name: 'Open browser again' }).click();
  await page.waitForTimeout(400);
  assert.ok((await calls(page, 'connect_wait')).length >= 1, 'connect_wait is polled');
  assert.equal((await calls(page, 'connect_open_again')).length, 1);
  await page.evaluate(() =>
    window.__mock.finishFlow({ state: 'done', connection: { id: 'c_gl02', provider: 'gitlab', account: 'amartin', status: 'connected', expires_at: new Date(Date.now() + 7200e3).toISOString(), scopes: ['read_user'] } }),
  );
  const done = page.getByTestId('connect-done');
  await done.getByText('Connected to GitLab').waitFor();
  await done.getByText('amartin').waitFor();
  await shot(page, 'add-done-light');
}));

test('connect: a failed outcome is readable and can be retried; cancel', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  await page.locator('[data-provider="github"]').click();
  await page.getByRole('button', { name: 'Continue in browser' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('heading', { name: 'Sign in to GitHub' }).waitFor();
  assert.equal((await calls(page, 'connect_cancel')).length, 1);
  await page.getByRole('button', { name: 'Continue in browser' }).click();
  await page.evaluate(() => window.__mock.finishFlow({ state: 'failed', message: 'access_denied: the user denied the request' }));
  await page.getByText('Access_denied: the user denied the request.').waitFor();
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.getByRole('button', { name: 'Continue in browser' }).waitFor();
}));

test('connect: the paste box finishes a sign-in (Enter submits); flow-finished event', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  await page.locator('[data-provider="google"]').click();
  await page.getByRole('button', { name: 'Continue in browser' }).click();
  await page.getByText('The browser did not come back to Keyhaven?').click();
  const box = page.getByLabel('Paste the address your browser ended on');
  await box.fill('http://127.0.0.1:53682/callback?error=nothing');
  await box.press('Enter');
  await page.getByText('That is not the address Keyhaven expects').waitFor();
  await page.getByText('This address has no authorization code.').waitFor();
  await box.fill('http://127.0.0.1:53682/callback?code=4/0AeaYSHB&state=xyz');
  await box.press('Enter');
  await page.getByText('Connected to Google').waitFor();
  assert.deepEqual((await calls(page, 'connect_paste')).map((c) => c.args.url)[1], 'http://127.0.0.1:53682/callback?code=4/0AeaYSHB&state=xyz');

  // A deep link finishing the flow elsewhere arrives as the flow-finished event.
  await page.getByRole('button', { name: 'Connect another' }).click();
  await page.locator('[data-provider="slack"]').click();
  await page.getByRole('button', { name: 'Continue in browser' }).click();
  await page.getByRole('heading', { name: 'Waiting for your browser…' }).waitFor();
  await page.evaluate(() =>
    window.__mock.emit('flow-finished', { state: 'done', flow_id: 'flow-2', connection: { id: 'c_sl02', provider: 'slack', account: 'acme-team', status: 'connected', expires_at: null, scopes: [], instance: '' } }),
  );
  await page.getByText('Connected to Slack').waitFor();
}));

test('events: one channel handed to events_subscribe at start-up, no Tauri event listener', withApp({}, async (page) => {
  // SEC-44: the window has no event permission (the mock refuses plugin:event| like the real
  // capability), so the UI's updates must come through its own channel.
  const subscribed = await calls(page, 'events_subscribe');
  assert.equal(subscribed.length, 1);
  assert.match(String(subscribed[0].args.onEvent), /^__CHANNEL__:\d+$/);
  assert.equal((await calls(page)).filter((c) => c.cmd.startsWith('plugin:event|')).length, 0);
  // connections-changed reloads the list.
  const before = (await calls(page, 'connections_list')).length;
  await page.evaluate(() => window.__mock.emit('connections-changed'));
  await page.waitForFunction((n) => window.__mock.calls.filter((c) => c.cmd === 'connections_list').length > n, before);
  // Moving between screens does not subscribe again.
  await nav(page, 'Settings');
  await nav(page, 'Connections');
  assert.equal((await calls(page, 'events_subscribe')).length, 1);
}));

test('add connection: a notice when dev.keyhaven: links are not registered; loopback first', withApp({ query: '?links=unregistered' }, async (page) => {
  await nav(page, 'Add connection');
  const notice = page.getByTestId('links-unregistered');
  await notice.getByText(/Links back to Keyhaven are not registered on this system: the sign-in will use a local port, or paste the address/).waitFor();
  await shot(page, 'add-connection-links-unregistered');
  await page.locator('[data-provider="microsoft"]').click();
  await page.getByRole('radio', { name: /A local address/ }).waitFor();
  await page.waitForFunction(() => document.querySelector('input[type="radio"][value="loopback"]')?.checked === true);
  await page.getByRole('button', { name: 'Continue in browser' }).click();
  assert.equal((await calls(page, 'connect_start')).at(-1).args.redirect, 'loopback');
}));

test('add connection: no notice when the links are registered', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  await page.locator('.tile[data-provider]').first().waitFor();
  await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'app_info'));
  assert.equal(await page.getByTestId('links-unregistered').count(), 0);
}));

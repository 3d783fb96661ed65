// UI tests: the cloud wizard, the token viewer and settings.

import assert from 'node:assert/strict';
import { calls, shot } from './harness.mjs';
import { heading, nav, test, withApp } from './common.mjs';

test('cloud wizard: two providers, verify success, a verify failure, summary with snippets', withApp({}, async (page) => {
  await nav(page, 'Cloud setup');
  await page.getByRole('checkbox', { name: /Hetzner Cloud/ }).check();
  await page.getByRole('checkbox', { name: /Scaleway/ }).check();
  // OAuth providers are not offered here.
  assert.equal(await page.getByRole('checkbox', { name: /GitHub/ }).count(), 0);
  await page.getByRole('button', { name: 'Next' }).click();

  const hetzner = page.locator('form[data-provider="hetzner"]');
  await hetzner.waitFor();
  await hetzner.getByRole('link', { name: /Create it here/ }).waitFor();
  await hetzner.getByText('Needs: Read (Read & Write for tools that create servers)').waitFor();
  const token = hetzner.getByLabel('API token', { exact: true });
  assert.equal(await token.getAttribute('type'), 'password');
  await hetzner.getByRole('button', { name: 'Show API token' }).click();
  assert.equal(await token.getAttribute('type'), 'text');
  await token.fill('too-short');
  await hetzner.getByRole('button', { name: 'Verify and save' }).click();
  await hetzner.getByText('API token does not look right').waitFor();
  assert.equal((await calls(page, 'credentials_add')).length, 0, 'a bad format is caught before any call');
  await token.fill('a'.repeat(64));
  // A second Hetzner connection: the snippets must then name it provider:account.
  await hetzner.getByLabel('Connection name').fill('prod');
  await token.press('Enter');
  const outcome = page.getByTestId('verify-outcome');
  await outcome.getByText('Hetzner Cloud accepted these credentials').waitFor();
  await outcome.getByText('prod', { exact: true }).waitFor();
  await outcome.getByText('Servers').waitFor();
  await shot(page, 'cloud-verified-light');
  const first = (await calls(page, 'credentials_add'))[0].args;
  assert.deepEqual(first, { provider: 'hetzner', values: { token: 'a'.repeat(64) }, vars: {}, account: 'prod', verify: true });
  await outcome.getByRole('button', { name: 'Next: Scaleway' }).click();

  const scw = page.locator('form[data-provider="scaleway"]');
  await scw.getByLabel('Access key', { exact: true }).fill('SCWAB12CD34EF56GH78J');
  await scw.getByLabel('Secret key', { exact: true }).fill('00000000-0000-0000-0000-000000000000');
  await scw.getByLabel('Connection name').fill('staging');
  await scw.getByRole('button', { name: 'Verify and save' }).click();
  const problem = page.locator('[data-code="credentials_invalid"]');
  await problem.getByText('The provider rejected these credentials').waitFor();
  await problem.getByText('Scaleway: the secret key was rejected (HTTP 401): this key does not exist or was deleted.').waitFor();
  await problem.getByText(/Check that you copied the whole key/).waitFor();
  await shot(page, 'cloud-failure-light');
  await scw.getByRole('button', { name: 'Save without checking' }).click();
  await page.getByText('Scaleway saved without checking').waitFor();
  const second = (await calls(page, 'credentials_add'))[2].args;
  assert.equal(second.verify, false);
  assert.equal(second.account, 'staging');
  await page.getByRole('button', { name: 'Finish' }).click();

  const summary = page.getByTestId('wizard-summary');
  await summary.getByText('keyhaven exec --with hetzner:prod -- hcloud server list').waitFor();
  await summary.getByText('eval "$(keyhaven env scaleway)"').waitFor();
  await summary.getByText('keyhaven exec --with hetzner:prod --with scaleway -- terraform apply').waitFor();
  await summary.getByText('HCLOUD_TOKEN').waitFor();
  await summary.getByText('SCW_SECRET_KEY').waitFor();
  await summary.getByRole('button', { name: 'Copy env command for Scaleway' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'eval "$(keyhaven env scaleway)"');
  await shot(page, 'cloud-summary-light');
}));

test('cloud wizard: each classified failure has its own hint; region select', withApp({}, async (page) => {
  await nav(page, 'Cloud setup');
  await page.getByRole('checkbox', { name: /OVHcloud \(API keys\)/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  const ovh = page.locator('form[data-provider="ovhcloud"]');
  const endpoint = ovh.getByLabel('API endpoint');
  assert.deepEqual(await endpoint.locator('option').allTextContents(), ['ovh-eu', 'ovh-ca', 'ovh-us']);
  assert.equal(await endpoint.inputValue(), 'ovh-eu');
  await ovh.getByLabel('Application key', { exact: true }).fill('AbCdEf0123456789');
  await ovh.getByLabel('Application secret', { exact: true }).fill('s'.repeat(32));
  await ovh.getByLabel('Consumer key', { exact: true }).fill('c'.repeat(32));
  await endpoint.selectOption('ovh-ca');
  const verify = () => ovh.getByRole('button', { name: 'Verify and save' }).click();
  await verify();
  await page.locator('[data-code="credentials_wrong_region"]').getByText('These credentials belong to another region or endpoint').waitFor();
  await endpoint.selectOption('ovh-eu');
  await ovh.getByLabel('Consumer key', { exact: true }).fill('skew' + 'c'.repeat(28));
  await verify();
  await page.locator('[data-code="clock_skew"]').getByText(/Turn on automatic date and time/).waitFor();
  await ovh.getByLabel('Consumer key', { exact: true }).fill('forbidden' + 'c'.repeat(23));
  await verify();
  await page.locator('[data-code="credentials_forbidden"]').getByText('The key works but lacks a permission').waitFor();
  await ovh.getByLabel('Consumer key', { exact: true }).fill('offline' + 'c'.repeat(25));
  await verify();
  await page.locator('[data-code="provider_unavailable"]').getByText('The provider could not be reached').waitFor();
  await ovh.getByLabel('Consumer key', { exact: true }).fill('c'.repeat(32));
  await verify();
  await page.getByTestId('verify-outcome').getByText('am12345-ovh').waitFor();
  await page.getByTestId('verify-outcome').getByText('Example SAS').waitFor();
}));

test('token viewer: decoded JWTs, scopes, reveal (one native confirmation), copy, re-masked after leaving', withApp({}, async (page) => {
  await page.getByRole('button', { name: 'View Microsoft (Entra ID / Microsoft account) alice@contoso.com' }).click();
  await heading(page, 'Microsoft (Entra ID / Microsoft account)');
  assert.equal(await page.getByText('Decoded, not verified', { exact: true }).count(), 2);
  await page.getByRole('cell', { name: 'alice@contoso.com' }).first().waitFor();
  await page.getByText('Issued at iat').first().waitFor();
  const missing = page.locator('[data-scope-state="missing"]');
  assert.equal(await missing.count(), 1);
  await missing.getByText('Mail.Read').waitFor();
  assert.equal(await page.locator('[data-scope-state="granted"]').count(), 5);
  await page.getByText(/Refresh token: present, 3 days old/).waitFor();
  await page.locator('svg[role="img"]').waitFor();
  await page.getByRole('table', { name: 'Activity of this connection' }).getByText('Token refreshed').waitFor();
  assert.deepEqual((await calls(page, 'audit_list')).at(-1).args, { connection: 'c_ms01' });

  const access = page.locator('[data-field="access_token"]');
  // One confirmation only, the native one the Rust side shows (mocked here as answered "Show");
  // the page itself asks nothing, so no in-page dialog appears.
  await access.getByRole('button', { name: 'Reveal Access token' }).click();
  await access.getByTestId('revealed-value').getByText('gho_16C7e42F292c6912E7710c838347Ae178B4a').waitFor();
  await access.getByText(/Hidden again in \d+ s/).waitFor();
  assert.equal(await page.getByRole('dialog').count(), 0, 'the page asks nothing itself');
  assert.deepEqual((await calls(page, 'connection_reveal'))[0].args, { id: 'c_ms01', field: 'access_token' });

  // Declined in the native confirmation (code `cancelled`): nothing shown, no error notice.
  const idToken = page.locator('[data-field="id_token"]');
  await idToken.getByRole('button', { name: 'Reveal ID token' }).click();
  await idToken.getByRole('button', { name: 'Reveal ID token' }).waitFor();
  await page.waitForTimeout(200);
  assert.equal(await idToken.getByTestId('revealed-value').count(), 0);
  assert.equal(await page.getByText(/could not be revealed/).count(), 0);

  await page.locator('[data-field="refresh_token"]').getByRole('button', { name: 'Copy Refresh token' }).click();
  await page.getByText('Refresh token copied. The clipboard is cleared in 30 s.').waitFor();
  assert.deepEqual((await calls(page, 'connection_copy'))[0].args, { id: 'c_ms01', field: 'refresh_token' });

  // Leaving the screen drops the revealed value; coming back shows it masked.
  await nav(page, 'Settings');
  await heading(page, 'Settings');
  assert.equal(await page.evaluate(() => document.body.innerHTML.includes('gho_16C7e42F')), false);
  await nav(page, 'Connections');
  await page.getByRole('button', { name: 'View Microsoft (Entra ID / Microsoft account) alice@contoso.com' }).click();
  await page.locator('[data-field="access_token"]').getByRole('button', { name: 'Reveal Access token' }).waitFor();
  assert.equal(await page.getByTestId('revealed-value').count(), 0);
}));

test('settings: a keychain vault rekey is confirmed natively only (declined quietly)', withApp({ query: '?key=keychain' }, async (page) => {
  await nav(page, 'Settings');
  await page.getByText('System keychain').first().waitFor();
  assert.equal(await page.locator('#rekey-current').count(), 0);
  await page.evaluate(() => window.__mock.decline('vault_rekey'));
  await page.getByRole('button', { name: 'Replace the vault key' }).click();
  await page.getByText('The vault key was not changed.').waitFor();
  assert.equal(await page.getByRole('dialog').count(), 0, 'the page asks nothing itself');
  await page.getByRole('button', { name: 'Replace the vault key' }).click();
  await page.getByText('The vault was re-encrypted under a new key.').waitFor();
  assert.deepEqual((await calls(page, 'vault_rekey')).map((c) => c.args), [
    { currentPassphrase: null, newPassphrase: null },
    { currentPassphrase: null, newPassphrase: null },
  ]);
}));

test('settings: export and import reports, passphrase checks, audit filter, custom provider', withApp({}, async (page) => {
  await nav(page, 'Settings');
  await page.getByText('/home/alice/.local/share/keyhaven/vault.db').waitFor();
  await page.getByText('Argon2id · 64 MB memory · 3 passes').waitFor();

  // SEC-43: no path field; the file is chosen in the native save dialog.
  assert.equal(await page.getByLabel(/file path/i).count(), 0, 'the page names no path');
  await page.getByLabel('Backup passphrase', { exact: true }).first().fill('correct horse battery');
  await page.getByLabel('Type it again').nth(1).fill('correct horse');
  await page.getByRole('button', { name: 'Export backup' }).click();
  await page.getByText('The two passphrases do not match.').waitFor();
  assert.equal((await calls(page, 'vault_export')).length, 0);
  await page.getByLabel('Backup passphrase', { exact: true }).first().fill('correct horse battery');
  await page.getByLabel('Type it again').nth(1).fill('correct horse battery');
  await page.getByRole('checkbox', { name: /Move connections out/ }).check();
  await page.getByText(/a provider that rotates refresh tokens accepts each one in one place only/).waitFor();
  await page.getByRole('button', { name: 'Export backup' }).click();
  const report = page.getByTestId('export-report');
  await report.getByText(/Backup written to/).waitFor();
  await report.getByText('/home/alice/Documents/keyhaven-backup-2025-06-01.age').waitFor();
  await report.getByText(/Moved out of this vault: c_ms01/).waitFor();
  assert.deepEqual((await calls(page, 'vault_export'))[0].args, { passphrase: 'correct horse battery', moveOut: true });
  await shot(page, 'settings-export-light');

  // Declining the save dialog: a quiet notice, no problem box.
  await page.evaluate(() => window.__mock.decline('vault_export'));
  await page.getByLabel('Backup passphrase', { exact: true }).first().fill('correct horse battery');
  await page.getByLabel('Type it again').nth(1).fill('correct horse battery');
  await page.getByRole('button', { name: 'Export backup' }).click();
  await page.getByText('No backup was written.').waitFor();
  assert.equal(await page.getByRole('alert').filter({ hasText: /cancelled/ }).count(), 0);

  assert.equal(await page.getByLabel('Backup file path').count(), 0, 'the page names no path');
  await page.locator('#import-pass').fill('wrong');
  await page.getByRole('button', { name: 'Import backup' }).click();
  await page.getByText('Wrong backup passphrase').waitFor();
  await page.locator('#import-pass').fill('right one');
  await page.getByRole('button', { name: 'Import backup' }).click();
  const imported = page.getByTestId('import-report');
  await imported.getByText('1 added, 1 updated, 1 skipped, 1 refused.').waitFor();
  await imported.getByText(/the copy here is newer/).waitFor();
  await imported.getByTestId('import-refused').getByText(/another issuer/).waitFor();
  assert.deepEqual((await calls(page, 'vault_import')).at(-1).args, { passphrase: 'right one' });
  await page.evaluate(() => window.__mock.decline('vault_import'));
  await page.locator('#import-pass').fill('right one');
  await page.getByRole('button', { name: 'Import backup' }).click();
  await page.getByText('Nothing was imported.').waitFor();

  // Rekey of a passphrase vault asks the current passphrase, and the new one twice.
  await page.locator('#rekey-1').fill('new passphrase 1');
  await page.locator('#rekey-2').fill('new passphrase 2');
  await page.getByRole('button', { name: 'Change passphrase' }).click();
  await page.getByText('Enter the passphrase the vault opens with now.').waitFor();
  await page.locator('#rekey-problem').getByText('The two passphrases do not match.').waitFor();
  assert.equal((await calls(page, 'vault_rekey')).length, 0);
  await page.locator('#rekey-current').fill('wrong');
  await page.locator('#rekey-2').fill('new passphrase 1');
  await page.getByRole('button', { name: 'Change passphrase' }).click();
  await page.getByText('Wrong passphrase').first().waitFor();
  await page.locator('#rekey-current').fill('correct horse battery');
  await page.locator('#rekey-1').fill('new passphrase 1');
  await page.locator('#rekey-2').fill('new passphrase 1');
  await page.getByRole('button', { name: 'Change passphrase' }).click();
  await page.getByText('The vault now opens with the new passphrase.').waitFor();
  assert.deepEqual((await calls(page, 'vault_rekey')).at(-1).args, { currentPassphrase: 'correct horse battery', newPassphrase: 'new passphrase 1' });

  const table = page.getByRole('table', { name: 'Audit log' });
  assert.equal(await table.locator('tbody tr').count(), 11);
  await page.getByLabel('Action').selectOption({ label: 'Refresh failed' });
  assert.equal(await table.locator('tbody tr').count(), 2);
  await page.getByLabel('Connection', { exact: true }).selectOption('c_sl01');
  assert.equal(await table.locator('tbody tr').count(), 1);
  await page.getByText('1 of 11 entries').waitFor();

  await page.getByLabel('Id', { exact: true }).fill('Corp SSO');
  await page.getByRole('button', { name: 'Add provider' }).click();
  await page.getByText('Use lower-case letters, digits and dashes.').waitFor();
  await page.getByLabel('Id', { exact: true }).fill('corp-sso');
  await page.getByLabel('Issuer URL').fill('https://sso.example.com');
  await page.locator('#custom-client').fill('keyhaven-desktop');
  await page.getByRole('button', { name: 'Add provider' }).click();
  await page.getByTestId('custom-added').getByText('corp-sso').first().waitFor();
  assert.deepEqual((await calls(page, 'provider_add_custom'))[0].args, {
    id: 'corp-sso', issuer: 'https://sso.example.com', clientId: 'keyhaven-desktop', clientSecret: null, scopes: ['openid', 'profile', 'email', 'offline_access'],
  });
  // Declined in the native confirmation: a quiet notice.
  await page.evaluate(() => window.__mock.decline('provider_add_custom'));
  await page.getByLabel('Id', { exact: true }).fill('corp-two');
  await page.getByRole('button', { name: 'Add provider' }).click();
  await page.getByText('No provider was added.').waitFor();
}));

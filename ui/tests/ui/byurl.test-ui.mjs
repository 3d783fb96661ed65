// UI tests: connecting by URL on the add-connection screen (connect_url_preview, connect_url)
// and the MCP box of the connection it makes (connection_mcp).

import assert from 'node:assert/strict';
import { calls, shot } from './harness.mjs';
import { heading, nav, test, withApp } from './common.mjs';

const URL_ = 'https://mcp.example.com/mcp';

/** Types `url` into the Connect by URL box and presses Enter (Look up). */
async function lookUp(page, url) {
  const box = page.getByTestId('by-url');
  await box.getByLabel('Address of the API or MCP server').fill(url);
  await box.getByLabel('Address of the API or MCP server').press('Enter');
  return box;
}

test('connect by URL: look up, see who guards it, confirm, sign in, the MCP box', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  const box = await lookUp(page, `  ${URL_}  `);
  const card = box.getByTestId('by-url-preview');
  await card.getByText('What connecting it does').waitFor();
  assert.deepEqual((await calls(page, 'connect_url_preview')).map((c) => c.args), [{ url: URL_ }]);
  await card.getByText(URL_, { exact: true }).waitFor();
  await card.getByText('https://auth.example.com', { exact: true }).waitFor();
  assert.deepEqual(await card.getByRole('list', { name: 'Scopes asked for' }).locator('li').allInnerTexts(), ['notes:read', 'notes:write']);
  await card.getByText('mcp-example-com-mcp', { exact: true }).waitFor();
  await card.getByText(/^Keyhaven will register itself there/).waitFor();
  // The focus is on the card, and the catalog steps aside while it is shown.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'What connecting it does');
  assert.equal(await page.locator('.tile[data-provider]').count(), 0);
  await shot(page, 'add-by-url-preview-light');

  // Confirm: connect_url (whose native confirmation the mock answers yes), then the usual wait.
  await card.getByRole('button', { name: 'Confirm & sign in' }).click();
  await page.getByRole('heading', { name: 'Waiting for your browser…' }).waitFor();
  await page.getByText('Approve Keyhaven at auth.example.com').waitFor();
  assert.deepEqual((await calls(page, 'connect_url')).map((c) => c.args), [{ url: URL_, scopes: [] }]);
  assert.equal((await calls(page, 'connect_start')).length, 0, 'connect_url starts the sign-in itself');
  await page.evaluate(() =>
    window.__mock.finishFlow({ state: 'done', connection: { id: 'c_mc01', provider: 'mcp-example-com-mcp', account: 'alice', status: 'connected', expires_at: new Date(Date.now() + 3600e3).toISOString(), scopes: ['notes:read', 'notes:write'], instance: '', label: null, default: false, renewable: true } }),
  );
  const done = page.getByTestId('by-url-done');
  await done.getByText(`Connected to ${URL_}`).waitFor();
  await done.getByRole('button', { name: 'View connection' }).click();

  // The connection's page: the MCP box, a client picked, its snippet copied.
  await heading(page, 'mcp-example-com-mcp');
  const mcp = page.getByTestId('mcp');
  await mcp.getByText(URL_, { exact: true }).waitFor();
  assert.deepEqual((await calls(page, 'connection_mcp')).map((c) => c.args), [{ id: 'c_mc01' }]);
  const picker = mcp.getByLabel('MCP client');
  assert.deepEqual(await picker.locator('option').allInnerTexts(), ['Claude Desktop', 'Claude Code', 'Cursor', 'VS Code', 'Windsurf', 'Gemini CLI', 'Zed', 'Codex CLI']);
  await mcp.getByText('/home/alice/.config/Claude/claude_desktop_config.json').waitFor();
  await picker.selectOption('cursor');
  await mcp.getByTestId('mcp-config').getByText('/home/alice/.cursor/mcp.json').waitFor();
  await mcp.getByRole('button', { name: 'Copy the Cursor configuration' }).click();
  const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
  assert.deepEqual(copied, { mcpServers: { c_mc01: { command: '/usr/bin/keyhaven', args: ['mcp-proxy', 'c_mc01'] } } });
  // The snippet keeps its lines.
  assert.match(await mcp.locator('pre').innerText(), /^\{\n {2}"mcpServers": \{\n/);
  await picker.selectOption('codex');
  await mcp.getByText('[mcp_servers.c_mc01]', { exact: false }).waitFor();
  await shot(page, 'viewer-mcp-light');
}));

test('connect by URL: refusals explained, a server that cannot register, a declined confirmation', withApp({}, async (page) => {
  await nav(page, 'Add connection');
  const box = page.getByTestId('by-url');
  assert.ok(await box.getByRole('button', { name: 'Look up' }).isDisabled(), 'nothing to look up yet');

  // core's refusal of a plain-http address elsewhere, with its code's title.
  await lookUp(page, 'http://mcp.example.com/mcp');
  const problem = box.getByRole('alert');
  await problem.getByText('only https URLs (or http on this machine) are used, not http', { exact: false }).waitFor();
  assert.equal(await problem.getAttribute('data-code'), 'bad_input');
  assert.equal(await box.getByTestId('by-url-preview').count(), 0);
  assert.ok((await page.locator('.tile[data-provider]').count()) > 0, 'the catalog stays');

  // A server that cannot register Keyhaven: the way out, with the id and issuer filled in.
  await lookUp(page, 'https://noreg.example.org/v1/mcp');
  const card = box.getByTestId('by-url-preview');
  await card.getByText('This server does not let Keyhaven register itself.').waitFor();
  const way = card.getByTestId('by-url-no-registration');
  await way.getByText('keyhaven providers add --id noreg-example-org-v1-mcp --issuer https://auth.example.org --client-id CLIENT_ID').waitFor();
  await way.getByRole('button', { name: 'Copy the providers add command' }).click();
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^keyhaven providers add --id noreg-example-org-v1-mcp /);
  assert.equal(await card.getByRole('button', { name: 'Confirm & sign in' }).count(), 0, 'no sign-in that cannot work');
  await shot(page, 'add-by-url-no-registration-light');

  // Cancel goes back to the form and the catalog; editing the address drops a stale card.
  await card.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.tile[data-provider]').first().waitFor();
  await lookUp(page, URL_);
  await box.getByTestId('by-url-preview').waitFor();
  await box.getByLabel('Address of the API or MCP server').fill('https://mcp.example.com/other');
  assert.equal(await box.getByTestId('by-url-preview').count(), 0);

  // Declined in the native confirmation: a quiet notice, the card stays, no sign-in.
  await box.getByLabel('Address of the API or MCP server').press('Enter');
  await page.evaluate(() => window.__mock.decline('connect_url'));
  await box.getByRole('button', { name: 'Confirm & sign in' }).click();
  await page.getByText('Nothing was connected.').waitFor();
  assert.equal(await box.getByRole('alert').count(), 0, 'declining is not an error');
  await box.getByTestId('by-url-preview').waitFor();

  // An address that does not answer: the network failure, readably.
  await lookUp(page, 'https://api.example.net/mcp');
  await box.getByRole('alert').getByText(/could not connect/).waitFor();
}));

test('mcp: no MCP box on a connection that is not an MCP server’s', withApp({}, async (page) => {
  await page.getByRole('button', { name: 'View GitHub alice-martin' }).click();
  await heading(page, 'GitHub');
  await page.getByTestId('tools').locator('[data-tool="cargo"]').waitFor();
  await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'connection_mcp'));
  assert.deepEqual((await calls(page, 'connection_mcp')).map((c) => c.args), [{ id: 'c_gh01' }]);
  assert.equal(await page.getByTestId('mcp').count(), 0);
}));

// The real desktop app, end to end, through tauri-driver + WebKitWebDriver (run by
// scripts/desktop-e2e.sh inside a private X/D-Bus/keyring session, with a vault seeded with one
// connection, `alice`, at the local oidc-provider server as custom provider `testas`):
//   1. the app starts on that vault and lists the connection;
//   2. a connect flow started in the UI (the browser opened by tauri-plugin-opener through
//      xdg-open, no $BROWSER) finishes when the redirect is delivered as the OS would, by
//      launching the app binary a second time with the dev.keyhaven: URL;
//   3. with the OAuth server stopped (no network to it), the token viewer shows the stored
//      token's decoded claims;
//   4. the cloud wizard verifies a Hetzner token live (against tests/cloud-fake, which checks the
//      bearer scheme; the app reaches it through KEYHAVEN_TEST_API_BASE) and its summary gives the
//      `keyhaven exec` line, which the CLI then serves from the same vault;
//   5. Reveal asks in a native GTK dialog, answered here with real key presses (xdotool): Escape
//      shows nothing and records nothing, "Show" shows exactly the stored value, audited as
//      `desktop`;
//   6. Copy (confirmed natively too) puts the token on the X clipboard and clears it 30 s later,
//      but leaves alone what the person copied since;
//   7. settings show the vault's location and key source, and its audit log the reveal.
// Screenshots of each step go to $SHOTS. Prints `app e2e: N passed, M failed`.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Driver, button } from './webdriver.mjs';

const { APP, CLI, WD, REDIRECT_FILE, OAUTH_PGID, SHOTS } = process.env;
const accounts = JSON.parse(fs.readFileSync(new URL('../cloud-fake/accounts.json', import.meta.url), 'utf8'));
const HETZNER_TOKEN = accounts.hetzner.valid.token;

/** The keyhaven CLI on the same vault (KEYHAVEN_HOME and keyring come from the session). */
const cli = (...args) => execFileSync(CLI, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });

/** Visible top-level windows titled Keyhaven (the app's window, and a native dialog when open). */
function keyhavenWindows() {
  const r = spawnSync('xdotool', ['search', '--onlyvisible', '--name', '^Keyhaven$'], { encoding: 'utf8', timeout: 5_000 });
  return new Set(r.stdout.split('\n').filter(Boolean));
}

/** Waits for a native dialog (a new Keyhaven window) and answers it with real key presses. */
async function answerNativeDialog(before, keys) {
  const dialog = await d.until('the native confirmation dialog', () => [...keyhavenWindows()].find((w) => !before.has(w)), 15_000);
  await sleep(300); // let GTK give the dialog its initial focus
  const xdo = (...a) => {
    const r = spawnSync('xdotool', a, { encoding: 'utf8', timeout: 5_000 });
    if (r.status !== 0) throw new Error(`xdotool ${a.join(' ')}: ${r.stderr.trim() || r.status}`);
  };
  xdo('windowfocus', '--sync', dialog);
  for (const key of keys) xdo('key', '--clearmodifiers', key);
  await d.until('the dialog to close', () => !keyhavenWindows().has(dialog), 10_000);
}

/** The X clipboard's text, or null when it holds none. */
function clipboard() {
  const r = spawnSync('xclip', ['-o', '-selection', 'clipboard'], { encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? r.stdout : null;
}

/** Copies the Hetzner token through the app: Copy, then "Copy" in the native dialog. */
async function copyToken() {
  const windows = keyhavenWindows();
  await d.click(`//*[@data-field='token']//button[contains(normalize-space(.), 'Copy')]`);
  await answerNativeDialog(windows, ['Return']);
  await d.until('the token on the clipboard', () => clipboard() === HETZNER_TOKEN, 10_000);
}

const reveals = () => JSON.parse(cli('audit', '--json')).filter((e) => e.action === 'connection.revealed');
const results = [];
const d = new Driver(WD);

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`  ok    ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`  FAIL  ${name}: ${e.message}`);
    await d.screenshot(`${SHOTS}/app-e2e-failure-${results.length}.png`).catch(() => {});
  }
}

try {
  await d.start(APP);

  await step('the app opens the seeded vault and lists its connection', async () => {
    await d.waitText('Connections', 30_000);
    await d.waitText('alice', 30_000);
    await d.screenshot(`${SHOTS}/app-e2e-connections.png`);
  });

  await step('a sign-in started in the app finishes through a second launch with the deep link', async () => {
    await d.click(button('Add connection'));
    await d.click('css:[data-provider="testas"]');
    await d.click(button('Continue in browser'));
    await d.waitText('Waiting for your browser');
    const url = await d.until('the browser to reach the redirect', () => {
      try {
        const u = fs.readFileSync(REDIRECT_FILE, 'utf8').trim();
        return u.startsWith('dev.keyhaven:') ? u : null;
      } catch {
        return null;
      }
    }, 30_000);
    const second = spawnSync(APP, [url], { timeout: 20_000, stdio: 'ignore' });
    if (second.status !== 0) throw new Error(`the second launch did not hand over and exit (status ${second.status}, signal ${second.signal})`);
    await d.waitText('Connected to testas', 30_000);
    await d.waitText('bob');
    await d.click(button('Connections'));
    await d.waitText('bob');
    await d.screenshot(`${SHOTS}/app-e2e-connected.png`).catch((e) => console.log(`  (no screenshot: ${e.message})`));
  });

  await step('with the server gone, the token viewer shows the stored token offline', async () => {
    process.kill(-Number(OAUTH_PGID), 'SIGTERM');
    await sleep(500);
    await d.click(button('Connections'));
    await d.click(`//button[contains(@aria-label, 'View testas alice')]`);
    await d.waitText(/Decoded, not verified/i);
    await d.waitText('alice');
    await d.waitText(/Issued at/);
    await d.screenshot(`${SHOTS}/app-e2e-viewer-offline.png`);
  });

  await step('the cloud wizard verifies a Hetzner token live; the CLI serves it from the same vault', async () => {
    await d.click(button('Cloud setup'));
    await d.click('css:input[type="checkbox"][value="hetzner"]');
    await d.click(button('Next'));
    await d.type('css:form[data-provider="hetzner"] [data-field="token"] input', HETZNER_TOKEN);
    await d.click(button('Verify and save'));
    await d.waitText('Hetzner Cloud accepted these credentials', 30_000);
    await d.click(button('Finish'));
    await d.waitText('keyhaven exec --with hetzner -- hcloud server list');
    // No screenshot here: WebKitWebDriver's snapshot never answered on these two screens (15 s
    // each); the Playwright suite has pictures of them.
    const env = JSON.parse(cli('env', 'hetzner', '--format', 'json'));
    if (env.HCLOUD_TOKEN !== HETZNER_TOKEN) throw new Error('the CLI does not hand out the token the wizard stored');
  });

  await step('Reveal asks natively: Escape shows and records nothing, Show shows the stored value', async () => {
    await d.click(button('Connections'));
    await d.click(`//button[contains(@aria-label, 'View Hetzner Cloud')]`);
    const reveal = `//*[@data-field='token']//button[contains(normalize-space(.), 'Reveal')]`;
    const before = reveals().length;

    let windows = keyhavenWindows();
    await d.click(reveal);
    await answerNativeDialog(windows, ['Escape']);
    await sleep(500);
    if ((await d.findAll('css:[data-testid="revealed-value"]')).length) throw new Error('declined, yet a value is shown');
    if (/could not be revealed/.test(await d.pageText())) throw new Error('declining was reported as an error');
    if (reveals().length !== before) throw new Error('a declined reveal was audited');

    windows = keyhavenWindows();
    await d.click(reveal);
    await answerNativeDialog(windows, ['Return']); // "Show", the focused first button
    const shown = await d.text('css:[data-testid="revealed-value"]');
    if (shown !== HETZNER_TOKEN) throw new Error(`revealed ${shown.length} characters, not the stored token`);
    const after = reveals();
    if (after.length !== before + 1 || after.at(-1).actor !== 'desktop') throw new Error(`audit after the reveal: ${JSON.stringify(after.at(-1))}`);
    await d.screenshot(`${SHOTS}/app-e2e-revealed.png`).catch((e) => console.log(`  (no screenshot: ${e.message})`));
  });

  await step('Copy puts the token on the clipboard and clears it after 30 s, unless replaced', async () => {
    await copyToken();
    const copied = Date.now();
    await sleep(25_000);
    if (clipboard() !== HETZNER_TOKEN) throw new Error('the clipboard was cleared before 30 s');
    await d.until('the clipboard to be cleared', () => (clipboard() ?? '') === '', 15_000);
    const after = (Date.now() - copied) / 1000;
    if (after < 29) throw new Error(`cleared after ${after} s`);

    // Something else copied in the meantime is not the app's to clear.
    await copyToken();
    const mine = spawnSync('sh', ['-c', 'printf %s "my own note" | xclip -selection clipboard'], { timeout: 5_000 });
    if (mine.status !== 0) throw new Error('xclip could not take the clipboard');
    await sleep(33_000);
    if (clipboard() !== 'my own note') throw new Error(`the app cleared a clipboard it no longer owned: ${JSON.stringify(clipboard())}`);
  });

  await step('settings show the vault location, its key source and the audited reveal', async () => {
    await d.click(button('Settings'));
    await d.waitText(process.env.KEYHAVEN_HOME);
    await d.waitText(/keychain/i);
    await d.waitText(/revealed/i);
    await d.screenshot(`${SHOTS}/app-e2e-settings.png`).catch((e) => console.log(`  (no screenshot: ${e.message})`));
  });
} catch (e) {
  results.push(['session', false]);
  console.log(`  FAIL  could not drive the app: ${e.message}`);
} finally {
  await d.quit();
}

const failed = results.filter(([, ok]) => !ok).length;
console.log(`app e2e: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// The real desktop app, end to end, through tauri-driver + WebKitWebDriver (run by
// scripts/desktop-e2e.sh inside a private X/D-Bus/keyring session, with a vault seeded with one
// connection, `alice`, at the local oidc-provider server as custom provider `testas`):
//   1. the app starts on that vault and lists the connection;
//   2. a connect flow started in the UI finishes when the redirect is delivered as the OS would,
//      by launching the app binary a second time with the dev.keyhaven: URL;
//   3. with the OAuth server stopped (no network to it), the token viewer shows the stored
//      token's decoded claims.
// Screenshots of each step go to $SHOTS. Prints `app e2e: N passed, M failed`.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Driver, button } from './webdriver.mjs';

const { APP, WD, REDIRECT_FILE, OAUTH_PGID, SHOTS } = process.env;
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
} catch (e) {
  results.push(['session', false]);
  console.log(`  FAIL  could not drive the app: ${e.message}`);
} finally {
  await d.quit();
}

const failed = results.filter(([, ok]) => !ok).length;
console.log(`app e2e: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

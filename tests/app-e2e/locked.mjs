// The real desktop app on a locked passphrase vault, through tauri-driver + WebKitWebDriver (run
// by scripts/desktop-e2e-locked.sh inside a private X/D-Bus/keyring session, with a passphrase
// vault and custom provider `testas` at the local oidc-provider server):
//   1. the app starts on the unlock screen;
//   2. a sign-in started by the CLI (`keyhaven connect --redirect deep-link`) is delivered by a
//      second launch with the dev.keyhaven: URL while the vault is locked, after a malformed link:
//      nothing is finished yet, and nothing is lost (SEC-46);
//   3. unlocking in the UI finishes the kept link: the connection appears in the list and the
//      waiting CLI sees it;
//   4. changing the passphrase in Settings needs the current one (SEC-43): a wrong one changes
//      nothing, the right one re-keys (the CLI then opens the vault with the new passphrase only);
//   5. the app hosts the agent (docs/agent.md): once unlocked in the window, `keyhaven token`
//      needs no passphrase (the agent took the re-keyed vault too); "Lock vault" in the app locks
//      the agent, and the CLI needs the passphrase again.
// Screenshots go to $SHOTS. Prints `app e2e (locked vault): N passed, M failed`.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Driver, button } from './webdriver.mjs';

const { APP, CLI, WD, WORK, SHOTS, REPO, PASS_FILE, NEW_PASS_FILE } = process.env;
const PASSPHRASE = fs.readFileSync(PASS_FILE, 'utf8');
const NEW_PASSPHRASE = fs.readFileSync(NEW_PASS_FILE, 'utf8');
const REDIRECT_FILE = `${WORK}/locked-redirect.txt`;

/** The keyhaven CLI on the same vault, with a passphrase file. */
const cli = (passFile, ...args) =>
  execFileSync(CLI, args, {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEYHAVEN_PASSPHRASE_FILE: passFile },
  });
const connections = () => JSON.parse(cli(PASS_FILE, 'list', '--json'));

const results = [];
const d = new Driver(WD);
let connect = null; // the waiting `keyhaven connect`
let connectOut = '';
let connectExit = null;

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`  ok    ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`  FAIL  ${name}: ${e.message}`);
    await d.screenshot(`${SHOTS}/app-e2e-locked-failure-${results.length}.png`).catch(() => {});
  }
}

/** Launches the app binary a second time with `url`, as the OS does for a link. */
function secondLaunch(url) {
  const r = spawnSync(APP, [url], { timeout: 20_000, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`the second launch did not hand over and exit (status ${r.status}, signal ${r.signal})`);
}

try {
  await d.start(APP);

  await step('the app starts on the unlock screen of the passphrase vault', async () => {
    await d.waitText('Unlock your vault', 30_000);
    await d.screenshot(`${SHOTS}/app-e2e-locked.png`).catch(() => {});
  });

  await step('a sign-in link delivered while locked is kept, not finished and not lost', async () => {
    fs.rmSync(REDIRECT_FILE, { force: true });
    connect = spawn(CLI, ['connect', 'testas', '--redirect', 'deep-link', '--json', '--timeout', '150'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KEYHAVEN_PASSPHRASE_FILE: PASS_FILE,
        BROWSER: `node ${REPO}/tests/oauth-server/browser.mjs`,
        KH_TEST_REDIRECT_FILE: REDIRECT_FILE,
        KH_TEST_LOGIN: 'dave',
      },
    });
    connect.stdout.on('data', (b) => (connectOut += b));
    connect.on('exit', (code) => (connectExit = code));
    const url = await d.until('the browser to reach the redirect', () => {
      try {
        const u = fs.readFileSync(REDIRECT_FILE, 'utf8').trim();
        return u.startsWith('dev.keyhaven:') ? u : null;
      } catch {
        return null;
      }
    }, 40_000);
    // A malformed link first: refused at once (core's parser), never kept.
    secondLaunch("dev.keyhaven:/oauth/callback/testas?code=no-state-here");
    secondLaunch(url);
    await sleep(3_000);
    if (connectExit !== null) throw new Error(`the sign-in finished while the vault was locked (connect exited ${connectExit})`);
    if (connections().some((c) => c.account.startsWith('dave'))) throw new Error('dave is connected while the vault is locked');
    await d.waitText('Unlock your vault');
  });

  await step('unlocking in the UI finishes the kept link: the connection appears', async () => {
    await d.type('css:#passphrase', PASSPHRASE);
    await d.click(button('Unlock'));
    await d.waitText('Connections', 30_000);
    await d.waitText('dave', 30_000);
    await d.until('the waiting CLI to see the connection', () => connectExit !== null, 30_000);
    if (connectExit !== 0 || !/"account": "dave/.test(connectOut)) throw new Error(`connect exited ${connectExit}: ${connectOut.trim()}`);
    await d.screenshot(`${SHOTS}/app-e2e-locked-unlocked.png`).catch(() => {});
  });

  await step('changing the passphrase needs the current one: a wrong one changes nothing', async () => {
    await d.click(button('Settings'));
    await d.type('css:#rekey-current', 'not the passphrase');
    await d.type('css:#rekey-1', NEW_PASSPHRASE);
    await d.type('css:#rekey-2', NEW_PASSPHRASE);
    await d.click(button('Change passphrase'));
    await d.waitText('Wrong passphrase', 60_000);
    cli(PASS_FILE, 'list', '--json'); // still opens with the old passphrase

    await d.type('css:#rekey-current', PASSPHRASE);
    await d.type('css:#rekey-1', NEW_PASSPHRASE);
    await d.type('css:#rekey-2', NEW_PASSPHRASE);
    await d.click(button('Change passphrase'));
    await d.waitText('The vault now opens with the new passphrase.', 60_000);
    cli(NEW_PASS_FILE, 'list', '--json');
    let oldStillOpens = true;
    try {
      cli(PASS_FILE, 'list', '--json');
    } catch {
      oldStillOpens = false;
    }
    if (oldStillOpens) throw new Error('the old passphrase still opens the vault');
  });

  await step('the app hosts the agent: tokens without a passphrase until the app locks', async () => {
    const env = { ...process.env };
    delete env.KEYHAVEN_PASSPHRASE_FILE;
    const bare = (...args) =>
      execFileSync(CLI, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env });
    const status = () => JSON.parse(bare('agent', 'status', '--json'));
    const st = status();
    if (!st.running || st.host !== 'desktop' || st.locked || !st.this_vault) throw new Error(`agent status: ${JSON.stringify(st)}`);
    const dave = JSON.parse(cli(NEW_PASS_FILE, 'list', '--json')).find((c) => c.account.startsWith('dave'));
    const token = bare('token', dave.id).trim();
    if (token.length < 16) throw new Error(`no token from the agent: ${token}`);
    await d.click(button('Lock vault'));
    await d.waitText('Unlock your vault', 30_000);
    const locked = status();
    if (!locked.locked || locked.lock_reason !== 'asked') throw new Error(`after Lock: ${JSON.stringify(locked)}`);
    let error = '';
    try {
      bare('token', dave.id);
    } catch (e) {
      error = String(e.stderr);
    }
    if (!/passphrase/.test(error)) throw new Error(`a token without the passphrase after Lock (stderr: ${error})`);
  });
} catch (e) {
  results.push(['session', false]);
  console.log(`  FAIL  could not drive the app: ${e.message}`);
} finally {
  if (connect && connectExit === null) connect.kill('SIGTERM');
  await d.quit();
}

const failed = results.filter(([, ok]) => !ok).length;
console.log(`app e2e (locked vault): ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

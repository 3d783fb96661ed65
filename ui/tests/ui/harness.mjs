// The UI tests' harness: builds the app and the IPC mock, serves ui/dist from a local
// node:http server with the app's real CSP, and gives each test a fresh Chromium context with
// the mock injected before the app's script runs. Every test also fails on a page error, a
// CSP violation or an inline style attribute.

import { readFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';

export const UI = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const ARTIFACTS = join(UI, 'test-artifacts');
const DIST = join(UI, 'dist');

/** Builds the app (vite build, ui/vite.config.ts) and the mock as one IIFE script. */
export async function buildAll() {
  await build({ root: UI, logLevel: 'warn' });
  const out = await build({
    configFile: false,
    root: UI,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      lib: { entry: join(UI, 'tests/ui/mock-ipc.ts'), formats: ['iife'], name: 'KeyhavenMock', fileName: () => 'mock.js' },
    },
  });
  const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => o.output);
  const chunk = outputs.find((o) => o.type === 'chunk');
  if (!chunk) throw new Error('the mock bundle has no chunk');
  return chunk.code;
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

/** Serves ui/dist with the CSP of src-tauri/tauri.conf.json; resolves to its base URL. */
export async function serve() {
  const conf = JSON.parse(await readFile(join(UI, '../src-tauri/tauri.conf.json'), 'utf8'));
  const csp = conf.app.security.csp;
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    const file = join(DIST, path === '/' ? 'index.html' : path);
    try {
      const body = await readFile(file.startsWith(DIST) ? file : join(DIST, 'index.html'));
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
}

const WATCH = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || e.sample || '')));
`;

/**
 * Opens the app in a new context. Returns the page and `finish()`, which throws on any page
 * error, CSP violation or style attribute seen, then closes the context. `expectedConsoleError`
 * (a RegExp) exempts the console errors a test provokes on purpose; `setup(context)` runs before
 * the page opens.
 */
export async function openApp(browser, base, mockCode, { scheme = 'light', query = '', wait = true, expectedConsoleError = null, setup = null } = {}) {
  const context = await browser.newContext({ viewport: { width: 1180, height: 820 }, colorScheme: scheme, reducedMotion: 'reduce' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  context.setDefaultTimeout(5000);
  await context.addInitScript({ content: WATCH });
  await context.addInitScript({ content: mockCode });
  // A test's own set-up of the context before the page loads (e.g. holding back a chunk).
  if (setup) await setup(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expectedConsoleError?.test(m.text())) errors.push(`console error: ${m.text()}`);
  });
  await page.goto(`${base}/${query}`);
  if (wait) await page.locator('h1').first().waitFor();
  async function finish() {
    try {
      const found = await page.evaluate(() => ({
        csp: window.__cspViolations,
        // Chromium's autofill leaves an empty style="" on some inputs; anything else is ours.
        styled: [...document.querySelectorAll('[style]')]
          .filter((e) => e.getAttribute('style').trim() !== '')
          .map((e) => e.outerHTML.slice(0, 200)),
      }));
      for (const v of found.csp) errors.push(`CSP violation: ${v}`);
      for (const s of found.styled) errors.push(`inline style attribute: ${s}`);
    } finally {
      await context.close();
    }
    if (errors.length) throw new Error(errors.join('\n'));
  }
  return { page, finish };
}

export async function shot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The calls the mock recorded, optionally of one command. */
export async function calls(page, cmd) {
  const all = await page.evaluate(() => window.__mock.calls);
  return cmd ? all.filter((c) => c.cmd === cmd) : all;
}

#!/usr/bin/env node
// Plays the user's browser against the Keyhaven test AS (server.mjs), for end-to-end tests.
// Invoked like a BROWSER program:
//
//   node tests/oauth-server/browser.mjs 'AUTHORIZATION_URL'
//
// Over plain HTTP with a cookie jar it follows the URL, signs in (any username/password),
// approves consent (or cancels it with KH_TEST_DENY=1), and follows redirects until the
// Location leaves the AS: that is the client redirect (dev.keyhaven:... or
// http://127.0.0.1:PORT/callback...). Also drives device-flow verification URLs
// (/device?user_code=...) to the success page.
//
// Environment:
//   KH_TEST_LOGIN=alice          username to sign in with (sub = username)
//   KH_TEST_DENY=1               cancel at consent (device flow: abort at confirmation)
//   KH_TEST_REDIRECT_FILE=path   write the final client redirect URL (one line) there, atomically
//   KH_TEST_NO_DELIVER=1         do not GET a loopback (http://127.0.0.1...) client redirect
//   KH_TEST_BROWSER_LOG=path     append one line per run: the URL given
//
// Exit 0 when a client redirect (or the device-flow end page) was reached, else 1 with a
// one-line reason on stderr. A global timeout of 20 s applies.

import * as fs from 'node:fs';
import * as path from 'node:path';

const TIMEOUT_MS = 20_000;
const MAX_STEPS = 30;
const deadline = Date.now() + TIMEOUT_MS;

function fail(reason) {
  process.stderr.write(`browser.mjs: ${String(reason).replace(/\s+/g, ' ').trim()}\n`);
  process.exit(1);
}

const globalTimer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS / 1000}s`), TIMEOUT_MS);

function writeAtomic(file, content) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

// --- HTML helpers (the AS pages are small and known; no full parser needed) ---------------------
const decodeEntities = (s) => s
  .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
  .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
  .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&');

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3]);
  }
  return out;
}

function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const a = attrs(m[1]);
    const inputs = [];
    for (const i of m[2].matchAll(/<input\b([^>]*)>/gi)) inputs.push(attrs(i[1]));
    forms.push({
      id: a.id, action: a.action, method: (a.method || 'get').toUpperCase(), inputs,
    });
  }
  return forms;
}

const title = (html) => decodeEntities((/<title>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? '').trim());

function errorFromPage(html) {
  const fields = {};
  for (const m of html.matchAll(/<pre[^>]*>\s*<strong>([^<]+)<\/strong>:\s*([\s\S]*?)<\/pre>/gi)) {
    fields[decodeEntities(m[1]).trim()] = decodeEntities(m[2]).trim();
  }
  if (!fields.error) return null;
  return `${fields.error}${fields.error_description ? `: ${fields.error_description}` : ''}`;
}

// --- cookie jar -----------------------------------------------------------------------------
const jar = []; // { name, value, host, path, expires }

function storeCookies(url, res) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrParts] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let cpath = '/';
    let expires = Infinity;
    for (const p of attrParts) {
      const [k, ...v] = p.split('=');
      const key = k.trim().toLowerCase();
      const val = v.join('=').trim();
      if (key === 'path' && val.startsWith('/')) cpath = val;
      else if (key === 'max-age') expires = Date.now() + Number(val) * 1000;
      else if (key === 'expires' && expires === Infinity) expires = Date.parse(val);
    }
    const idx = jar.findIndex((c) => c.name === name && c.host === url.host && c.path === cpath);
    if (idx !== -1) jar.splice(idx, 1);
    if (expires > Date.now()) jar.push({ name, value, host: url.host, path: cpath, expires });
  }
}

function cookieHeader(url) {
  const now = Date.now();
  return jar
    .filter((c) => c.host === url.host && c.expires > now
      && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
    .sort((a, b) => b.path.length - a.path.length)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

async function request(url, { method = 'GET', form } = {}) {
  const headers = { accept: 'text/html,application/xhtml+xml', 'user-agent': 'keyhaven-test-browser/1' };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, {
    method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
  });
  storeCookies(url, res);
  const text = await res.text();
  return { res, text };
}

// --- main -----------------------------------------------------------------------------------
async function main() {
  const given = process.argv[2];
  if (process.argv.length !== 3 || !given) fail('usage: browser.mjs AUTHORIZATION_URL');

  if (process.env.KH_TEST_BROWSER_LOG) {
    fs.appendFileSync(process.env.KH_TEST_BROWSER_LOG, `${given.replace(/[\r\n]/g, '')}\n`);
  }

  let url;
  try {
    url = new URL(given);
  } catch {
    fail(`not a URL: ${given}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`refusing to open a ${url.protocol} URL`);
  const asOrigin = url.origin;
  const login = process.env.KH_TEST_LOGIN || 'alice';
  const deny = process.env.KH_TEST_DENY === '1';
  const deviceUserCode = url.searchParams.get('user_code');

  let method = 'GET';
  let form;
  let clientRedirect;

  for (let step = 0; step < MAX_STEPS; step += 1) {
    let r;
    try {
      r = await request(url, { method, form });
    } catch (e) {
      fail(`${method} ${url.origin}${url.pathname} failed: ${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`);
    }
    const { res, text } = r;
    method = 'GET';
    form = undefined;

    if (res.status >= 300 && res.status < 400) {
      const loc = res.headers.get('location');
      if (!loc) fail(`HTTP ${res.status} without Location at ${url.pathname}`);
      const next = new URL(loc, url);
      if ((next.protocol !== 'http:' && next.protocol !== 'https:') || next.origin !== asOrigin) {
        clientRedirect = next;
        break;
      }
      url = next;
      continue;
    }

    const asError = errorFromPage(text);
    if (asError) fail(`the AS showed an error page (HTTP ${res.status}): ${asError}`);
    if (res.status !== 200) fail(`HTTP ${res.status} at ${url.pathname}: ${title(text) || text.slice(0, 120)}`);

    const forms = parseForms(text);
    const find = (pred) => forms.find(pred);
    const loginForm = find((f) => f.inputs.some((i) => i.name === 'prompt' && i.value === 'login'));
    const consentForm = find((f) => f.inputs.some((i) => i.name === 'prompt' && i.value === 'consent'));
    const deviceInput = find((f) => f.id === 'op.deviceInputForm');
    const deviceConfirm = find((f) => f.id === 'op.deviceConfirmForm');
    const hidden = (f) => Object.fromEntries(f.inputs.filter((i) => i.type === 'hidden' && i.name).map((i) => [i.name, i.value ?? '']));

    const autoSubmit = forms.length === 1 && /document\.forms\[0\]\.submit\(\)/.test(text) ? forms[0] : null;

    if (autoSubmit) {
      // form_post-style auto-submitting page (the device flow uses one for its user code form)
      const target = new URL(autoSubmit.action ?? '', url);
      if (target.origin !== asOrigin) fail(`auto-submitting form to ${target.origin} (response_mode=form_post is not supported)`);
      url = target;
      method = autoSubmit.method;
      form = hidden(autoSubmit);
    } else if (loginForm) {
      url = new URL(loginForm.action, url);
      method = 'POST';
      form = { ...hidden(loginForm), login, password: 'keyhaven-test-password' };
    } else if (consentForm) {
      if (deny) {
        const abort = /<a\s+href="([^"]*\/abort)"/i.exec(text);
        if (!abort) fail('consent page has no cancel link');
        url = new URL(decodeEntities(abort[1]), url);
      } else {
        url = new URL(consentForm.action, url);
        method = 'POST';
        form = hidden(consentForm);
      }
    } else if (deviceConfirm) {
      url = new URL(deviceConfirm.action, url);
      method = 'POST';
      form = hidden(deviceConfirm);
      if (deny) {
        delete form.confirm;
        form.abort = 'yes';
      }
    } else if (deviceInput) {
      if (deny && /interrupted/.test(text)) {
        process.stderr.write('browser.mjs: device flow aborted (KH_TEST_DENY=1)\n');
        return 0;
      }
      if (/class="red"/.test(text)) fail(`device flow: ${(/<p class="red">([^<]*)</.exec(text)?.[1] ?? 'error').trim()}`);
      const code = deviceInput.inputs.find((i) => i.name === 'user_code')?.value || deviceUserCode;
      if (!code) fail('device flow: no user_code in the URL');
      url = new URL(deviceInput.action, url);
      method = 'POST';
      form = { ...hidden(deviceInput), user_code: code };
    } else if (/Sign-in Success/i.test(title(text))) {
      process.stderr.write('browser.mjs: device flow approved\n');
      return 0;
    } else {
      fail(`unexpected page at ${url.pathname}: ${title(text) || text.slice(0, 120)}`);
    }
  }
  if (!clientRedirect) fail(`gave up after ${MAX_STEPS} steps`);

  const href = clientRedirect.href;
  const file = process.env.KH_TEST_REDIRECT_FILE;
  if (file) writeAtomic(file, `${href}\n`);

  const loopback = clientRedirect.protocol === 'http:'
    && ['127.0.0.1', 'localhost', '[::1]'].includes(clientRedirect.hostname);
  if (loopback && !process.env.KH_TEST_NO_DELIVER) {
    let status = 0;
    let body;
    try {
      const res = await fetch(clientRedirect, {
        redirect: 'manual',
        headers: { accept: 'text/html,application/xhtml+xml', 'user-agent': 'keyhaven-test-browser/1' },
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
      status = res.status;
      body = await res.text();
    } catch (e) {
      body = `delivery failed: ${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`;
      process.stderr.write(`browser.mjs: ${body}\n`);
    }
    if (file) writeAtomic(`${file}.page`, `${status}\n${body}`);
  }
  return 0;
}

main().then((code) => {
  clearTimeout(globalTimer);
  process.exit(code);
}, (e) => fail(e?.stack ?? e));

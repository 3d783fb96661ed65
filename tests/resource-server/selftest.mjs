// Self-test of the Keyhaven test resource server:  node --test tests/resource-server/selftest.mjs
// Needs tests/oauth-server's node_modules (npm ci --prefix tests/oauth-server).
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const RS = path.join(here, 'server.mjs');
const AS = path.join(here, '..', 'oauth-server', 'server.mjs');
const BROWSER = path.join(here, '..', 'oauth-server', 'browser.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-rs-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const children = [];
after(() => { for (const c of children) c.kill('SIGTERM'); });

function start(script, env = {}) {
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${stderr}`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited early (${code}): ${stderr}`));
    });
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, ...JSON.parse(out.slice(0, nl)), stdout: () => out, stderr: () => stderr });
      }
    });
  });
}

let n = 0;
function runBrowser(url) {
  n += 1;
  const file = path.join(tmp, `redirect-${n}.txt`);
  return new Promise((resolve) => {
    execFile(process.execPath, [BROWSER, url], { env: { ...process.env, KH_TEST_REDIRECT_FILE: file, KH_TEST_NO_DELIVER: '1' }, timeout: 25_000 }, (err, _o, stderr) => {
      resolve({ code: err ? err.code : 0, stderr, redirect: fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : null });
    });
  });
}

/** Parses a WWW-Authenticate Bearer challenge into { scheme, params }. */
function parseChallenge(h) {
  const m = /^(\S+)\s*(.*)$/.exec(h ?? '');
  const params = {};
  for (const p of (m?.[2] ?? '').matchAll(/([\w-]+)="((?:[^"\\]|\\.)*)"/g)) params[p[1]] = p[2].replace(/\\(.)/g, '$1');
  return { scheme: m?.[1], params };
}

describe('keyhaven test resource server', () => {
  let as;
  let rs;
  let client;
  const REDIRECT = 'dev.keyhaven:/oauth/callback/mcp';

  /** The zero-set-up flow: register a client, code flow + PKCE + resource, token request. */
  async function getToken(resource, { scope = 'openid offline_access' } = {}) {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const u = new URL(`${as.issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT, scope, state: 's', resource,
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    })) u.searchParams.set(k, v);
    const b = await runBrowser(u.href);
    assert.equal(b.code, 0, b.stderr);
    const code = new URL(b.redirect).searchParams.get('code');
    assert.ok(code, b.redirect);
    const res = await fetch(`${as.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.client_id, resource,
      }),
    });
    const t = await res.json();
    assert.equal(res.status, 200, JSON.stringify(t));
    return t;
  }
  const mcp = (url, tok, init = {}) => fetch(url, {
    method: 'POST', ...init, headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...init.headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });

  before(async () => {
    as = await start(AS, { KH_AS_REGISTRATION: '1', KH_AS_RESOURCE_INDICATORS: '1' });
    rs = await start(RS, { KH_RS_ISSUER: as.issuer });
    const m = await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json();
    const reg = await fetch(m.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'rs selftest', application_type: 'native', token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT],
      }),
    });
    client = await reg.json();
    assert.equal(reg.status, 201, JSON.stringify(client));
  });

  test('ready line', () => {
    assert.equal(rs.stdout().split('\n').filter(Boolean).length, 1);
    assert.match(rs.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(rs.resource, `${rs.url}/mcp`);
    assert.equal(rs.resource_metadata, `${rs.url}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(rs.issuer, as.issuer);
    assert.equal(rs.mode, 'good');
  });

  test('discovery: 401 header -> metadata -> authorization server', async () => {
    const r = await mcp(rs.resource);
    assert.equal(r.status, 401);
    const c = parseChallenge(r.headers.get('www-authenticate'));
    assert.equal(c.scheme, 'Bearer');
    assert.deepEqual(c.params, { resource_metadata: rs.resource_metadata, scope: 'openid offline_access' });
    const g = await fetch(rs.resource);
    assert.equal(g.status, 401, 'GET too');

    for (const u of [c.params.resource_metadata, `${rs.url}/.well-known/oauth-protected-resource`]) {
      const m = await fetch(u);
      assert.equal(m.status, 200);
      assert.match(m.headers.get('content-type'), /application\/json/);
      const doc = await m.json();
      assert.equal(doc.resource, rs.resource);
      assert.deepEqual(doc.authorization_servers, [as.issuer]);
      assert.deepEqual(doc.scopes_supported, ['openid', 'offline_access']);
      assert.deepEqual(doc.bearer_methods_supported, ['header']);
    }
    const asm = await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json();
    assert.equal(asm.issuer, as.issuer);
    assert.ok(asm.registration_endpoint);
  });

  test('a token for this resource is accepted; a token for another resource is refused', async () => {
    await fetch(`${rs.url}/__test/reset`, { method: 'POST' });
    const t = await getToken(rs.resource);
    const ok = await mcp(rs.resource, t.access_token);
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.deepEqual(body, {
      ok: true, sub: 'alice', aud: rs.resource, scope: 'openid offline_access', client_id: client.client_id, method: 'POST', id: 1,
    });
    const get = await fetch(rs.resource, { headers: { authorization: `Bearer ${t.access_token}` } });
    assert.equal(get.status, 200);

    const other = await getToken('http://127.0.0.1:1/other');
    const bad = await mcp(rs.resource, other.access_token);
    assert.equal(bad.status, 401);
    const c = parseChallenge(bad.headers.get('www-authenticate'));
    assert.equal(c.params.error, 'invalid_token');
    assert.equal(c.params.resource_metadata, rs.resource_metadata);

    // a token without audience (token request without resource, openid scope) is refused too
    const plain = await fetch(`${as.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('keyhaven-confidential:keyhaven-confidential-secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const pt = await plain.json();
    assert.equal((await mcp(rs.resource, pt.access_token)).status, 401);
    assert.equal((await mcp(rs.resource, 'garbage')).status, 401);
    const malformed = await mcp(rs.resource, null, { headers: { authorization: 'Basic eDp5' } });
    assert.equal(malformed.status, 401);

    // refresh with resource: still accepted
    const rr = await fetch(`${as.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: client.client_id, resource: rs.resource }),
    });
    const r2 = await rr.json();
    assert.equal(rr.status, 200, JSON.stringify(r2));
    assert.equal((await mcp(rs.resource, r2.access_token)).status, 200);

    const s = await (await fetch(`${rs.url}/__test/stats`)).json();
    assert.equal(s.authorized, 3);
    assert.equal(s.unauthorized, 4);
    assert.equal(s.rejected.wrong_audience, 2);
    assert.equal(s.rejected.inactive, 1);
    assert.equal(s.rejected.malformed, 1);
    assert.equal(s.distinct_tokens, 5);
    assert.deepEqual(s.audiences.sort(), ['http://127.0.0.1:1/other', rs.resource].sort());
  });

  test('KH_RS_REQUIRED_SCOPE: a token without it gets 403 insufficient_scope', async () => {
    const strict = await start(RS, { KH_RS_ISSUER: as.issuer, KH_RS_REQUIRED_SCOPE: 'api:read', KH_RS_SCOPE: 'openid offline_access api:read' });
    const t = await getToken(strict.resource);
    const r = await mcp(strict.resource, t.access_token);
    assert.equal(r.status, 403);
    const c = parseChallenge(r.headers.get('www-authenticate'));
    assert.equal(c.params.error, 'insufficient_scope');
    assert.deepEqual(c.params.scope.split(' ').sort(), ['api:read', 'offline_access', 'openid']);
    const t2 = await getToken(strict.resource, { scope: 'openid offline_access api:read' });
    assert.equal((await mcp(strict.resource, t2.access_token)).status, 200);
    const s = await (await fetch(`${strict.url}/__test/stats`)).json();
    assert.equal(s.forbidden, 1);
    strict.child.kill('SIGTERM');
  });

  describe('hostile modes', () => {
    const modeServer = (mode, env = {}) => start(RS, { KH_RS_ISSUER: as.issuer, KH_RS_MODE: mode, ...env });
    const meta = async (s) => (await fetch(s.resource_metadata)).json();

    test('resource-mismatch', async () => {
      const s = await modeServer('resource-mismatch');
      const doc = await meta(s);
      assert.notEqual(doc.resource, s.resource);
      assert.equal(doc.resource, `${s.url}/other-mcp`);
    });

    test('other-scheme-as and http-as', async () => {
      const s = await modeServer('other-scheme-as');
      assert.match((await meta(s)).authorization_servers[0], /^ftp:\/\//);
      const h = await modeServer('http-as');
      assert.deepEqual((await meta(h)).authorization_servers, ['http://as.example.test']);
    });

    test('oversized', async () => {
      const s = await modeServer('oversized');
      const text = await (await fetch(s.resource_metadata)).text();
      assert.ok(text.length > 1024 * 1024, String(text.length));
      assert.equal(JSON.parse(text).resource, s.resource);
    });

    test('slow', async () => {
      const s = await modeServer('slow');
      await assert.rejects(fetch(s.resource_metadata, { signal: AbortSignal.timeout(1000) }), { name: 'TimeoutError' });
      const quick = await modeServer('slow', { KH_RS_SLOW_MS: '300' });
      const t0 = Date.now();
      const doc = await meta(quick);
      assert.ok(Date.now() - t0 >= 290);
      assert.equal(doc.resource, quick.resource);
    });

    test('redirect', async () => {
      const s = await modeServer('redirect');
      const r = await fetch(s.resource_metadata, { redirect: 'manual' });
      assert.equal(r.status, 302);
      const loc = new URL(r.headers.get('location'));
      assert.notEqual(loc.origin, s.url);
      assert.equal(loc.pathname, '/.well-known/oauth-protected-resource/mcp');
    });

    test('no-header', async () => {
      const s = await modeServer('no-header');
      const r = await mcp(s.resource);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      const doc = await (await fetch(`${s.url}/.well-known/oauth-protected-resource/mcp`)).json();
      assert.equal(doc.resource, s.resource);
      const bad = await mcp(s.resource, 'garbage');
      assert.deepEqual(Object.keys(parseChallenge(bad.headers.get('www-authenticate')).params).sort(), ['error', 'error_description']);
    });

    test('mixup', async () => {
      const s = await modeServer('mixup');
      const doc = await meta(s);
      assert.deepEqual(doc.authorization_servers, [`${s.url}/fake-as`]);
      for (const p of ['/fake-as/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/fake-as', '/.well-known/openid-configuration/fake-as']) {
        const m = await (await fetch(`${s.url}${p}`)).json();
        assert.equal(m.issuer, as.issuer, p);
        assert.equal(m.token_endpoint, `${as.issuer}/token`);
      }
    });

    test('plain-pkce', async () => {
      const s = await modeServer('plain-pkce');
      assert.deepEqual((await meta(s)).authorization_servers, [`${s.url}/fake-as`]);
      const m = await (await fetch(`${s.url}/.well-known/oauth-authorization-server/fake-as`)).json();
      assert.equal(m.issuer, `${s.url}/fake-as`);
      assert.deepEqual(m.code_challenge_methods_supported, ['plain']);
    });

    test('no-client-id', async () => {
      const s = await modeServer('no-client-id');
      const m = await (await fetch(`${s.url}/.well-known/oauth-authorization-server/fake-as`)).json();
      assert.equal(m.issuer, `${s.url}/fake-as`);
      assert.equal(m.registration_endpoint, `${s.url}/fake-as/register`);
      const r = await fetch(m.registration_endpoint, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
      });
      assert.equal(r.status, 201);
      const body = await r.json();
      assert.equal(body.client_id, undefined);
      assert.deepEqual(body.redirect_uris, [REDIRECT]);
      const st = await (await fetch(`${s.url}/__test/stats`)).json();
      assert.deepEqual(st.fake_as, { metadata: 1, registration: 1 });
    });

    test('unknown mode is refused at start', async () => {
      await assert.rejects(start(RS, { KH_RS_ISSUER: as.issuer, KH_RS_MODE: 'nope' }), /unknown KH_RS_MODE/);
    });
  });

  test('exits when stdin closes', async () => {
    const s = await start(RS, { KH_RS_ISSUER: as.issuer });
    const exited = new Promise((resolve) => s.child.once('exit', (code, sig) => resolve({ code, sig })));
    s.child.stdin.end();
    const e = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 3000).unref())]);
    assert.deepEqual(e, { code: 0, sig: null });
  });
});

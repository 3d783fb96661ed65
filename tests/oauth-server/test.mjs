// Smoke test of the Keyhaven test AS and browser.mjs:  node --test tests/oauth-server/
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, 'server.mjs');
const BROWSER = path.join(here, 'browser.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-oauth-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// --- helpers ----------------------------------------------------------------------------------
function startServer(extraEnv = {}) {
  const child = spawn(process.execPath, [SERVER, '--port', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...extraEnv },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${stderr}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const ready = JSON.parse(out.slice(0, nl));
        resolve({ child, ...ready, stderr: () => stderr, stdout: () => out });
      }
    });
  });
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

let n = 0;
function runBrowser(url, env = {}) {
  n += 1;
  const file = path.join(tmp, `redirect-${n}.txt`);
  return new Promise((resolve) => {
    execFile(process.execPath, [BROWSER, url], {
      env: { ...process.env, KH_TEST_REDIRECT_FILE: file, ...env }, timeout: 25_000,
    }, (err, stdout, stderr) => {
      const redirect = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
      const page = fs.existsSync(`${file}.page`) ? fs.readFileSync(`${file}.page`, 'utf8') : null;
      resolve({ code: err ? err.code : 0, stdout, stderr, redirect, page });
    });
  });
}

describe('keyhaven test authorization server', () => {
  let as;
  let issuer;
  const url = (p) => `${issuer}${p}`;
  const getJson = async (p, init) => {
    const res = await fetch(url(p), init);
    return { status: res.status, body: await res.json(), headers: res.headers };
  };
  const postForm = (p, form, headers = {}) => fetch(url(p), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const token = async (form, headers) => {
    const res = await postForm('/token', form, headers);
    return { status: res.status, body: await res.json() };
  };
  const fault = async (spec) => {
    const res = await fetch(url('/__test/fault'), { method: 'POST', body: JSON.stringify(spec) });
    assert.equal(res.status, 200, await res.text());
  };
  const stats = async () => (await getJson('/__test/stats')).body;
  const reset = () => fetch(url('/__test/reset'), { method: 'POST' });
  const basic = (id, secret) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

  function authUrl({
    clientId = 'keyhaven-native', redirectUri = 'dev.keyhaven:/oauth/callback/testas', scope = 'openid profile email offline_access api:read',
    challenge, method = 'S256', state = b64url(crypto.randomBytes(16)), nonce = b64url(crypto.randomBytes(16)),
  }) {
    const u = new URL(url('/auth'));
    const params = {
      client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope, state, nonce,
    };
    if (challenge) params.code_challenge = challenge;
    if (method) params.code_challenge_method = method;
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.href;
  }

  // one complete authorization for the given client; returns the code, verifier, etc.
  async function authorize(opts = {}) {
    const { verifier, challenge } = pkce();
    const state = b64url(crypto.randomBytes(16));
    const nonce = b64url(crypto.randomBytes(16));
    const r = await runBrowser(authUrl({ ...opts, challenge, state, nonce }), opts.env);
    assert.equal(r.code, 0, r.stderr);
    const redirect = new URL(r.redirect.trim());
    return { redirect, verifier, state, nonce, page: r.page, code: redirect.searchParams.get('code') };
  }

  async function codeFlowTokens(opts = {}) {
    const a = await authorize(opts);
    const redirectUri = opts.redirectUri ?? 'dev.keyhaven:/oauth/callback/testas';
    const t = await token({
      grant_type: 'authorization_code', code: a.code, code_verifier: a.verifier, redirect_uri: redirectUri, client_id: 'keyhaven-native',
    });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    return { ...a, tokens: t.body };
  }

  before(async () => {
    as = await startServer();
    issuer = as.issuer;
  });
  after(() => { as?.child.kill('SIGTERM'); });

  test('ready line and discovery metadata', async () => {
    assert.match(as.stdout(), /^\{"issuer":"http:\/\/127\.0\.0\.1:\d+","port":\d+\}\n$/);
    assert.equal(issuer, `http://127.0.0.1:${as.port}`);
    const oidc = await getJson('/.well-known/openid-configuration');
    const oauth = await getJson('/.well-known/oauth-authorization-server');
    assert.deepEqual(oauth.body, oidc.body);
    const m = oidc.body;
    assert.equal(m.issuer, issuer);
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    for (const s of ['openid', 'profile', 'email', 'offline_access', 'api:read']) assert.ok(m.scopes_supported.includes(s), s);
    for (const e of ['token_endpoint', 'userinfo_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'device_authorization_endpoint', 'jwks_uri']) {
      assert.ok(m[e]?.startsWith(issuer), e);
    }
    const jwks = await getJson('/jwks');
    assert.deepEqual(jwks.body.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    assert.ok(jwks.body.keys.every((k) => !k.d), 'no private parts');
  });

  test('code + PKCE flow, userinfo, refresh rotation and reuse detection', async () => {
    await reset();
    const logFile = path.join(tmp, 'browser.log');
    const a = await authorize({ env: { KH_TEST_BROWSER_LOG: logFile, KH_TEST_LOGIN: 'bob' } });
    assert.equal(a.redirect.protocol, 'dev.keyhaven:');
    assert.equal(a.redirect.pathname, '/oauth/callback/testas');
    assert.equal(a.redirect.searchParams.get('state'), a.state);
    assert.equal(a.redirect.searchParams.get('iss'), issuer);
    assert.equal(a.page, null, 'a dev.keyhaven: redirect is never delivered');
    assert.match(fs.readFileSync(logFile, 'utf8'), /^http:\/\/127\.0\.0\.1:\d+\/auth\?client_id=keyhaven-native&.*\n$/);

    const last = (await getJson('/__test/last-authorization')).body;
    assert.equal(last.code_challenge_method, 'S256');
    assert.equal(last.state, a.state);
    assert.equal(last.nonce, a.nonce);
    assert.equal(last.redirect_uri, 'dev.keyhaven:/oauth/callback/testas');

    // a wrong verifier fails and burns nothing we need: use a second code for that
    const wrong = await token({
      grant_type: 'authorization_code', code: a.code, code_verifier: pkce().verifier, redirect_uri: 'dev.keyhaven:/oauth/callback/testas', client_id: 'keyhaven-native',
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');

    const b = await authorize({ env: { KH_TEST_LOGIN: 'bob' } });
    const t = await token({
      grant_type: 'authorization_code', code: b.code, code_verifier: b.verifier, redirect_uri: 'dev.keyhaven:/oauth/callback/testas', client_id: 'keyhaven-native',
    });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.ok(t.body.access_token && t.body.refresh_token && t.body.id_token);
    assert.equal(t.body.token_type, 'Bearer');
    assert.equal(t.body.expires_in, 3600);
    assert.deepEqual(t.body.scope.split(' ').sort(), ['api:read', 'email', 'offline_access', 'openid', 'profile']);
    const claims = decodeJwt(t.body.id_token);
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, 'keyhaven-native');
    assert.equal(claims.nonce, b.nonce);
    assert.equal(claims.sub, 'bob');

    const ui = await getJson('/me', { headers: { authorization: `Bearer ${t.body.access_token}` } });
    assert.equal(ui.status, 200);
    assert.deepEqual(ui.body, {
      sub: 'bob', name: 'Test User bob', preferred_username: 'bob', email: 'bob@example.test', email_verified: true,
    });

    const r1 = await token({ grant_type: 'refresh_token', refresh_token: t.body.refresh_token, client_id: 'keyhaven-native' });
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.notEqual(r1.body.refresh_token, t.body.refresh_token, 'rotated');
    assert.notEqual(r1.body.access_token, t.body.access_token);

    const reuse = await token({ grant_type: 'refresh_token', refresh_token: t.body.refresh_token, client_id: 'keyhaven-native' });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    // reuse revokes the whole grant: the newest refresh token is dead too
    const after_ = await token({ grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, client_id: 'keyhaven-native' });
    assert.equal(after_.body.error, 'invalid_grant');

    // the code is single-use (a second redemption also revokes what the first one issued)
    const again = await token({
      grant_type: 'authorization_code', code: b.code, code_verifier: b.verifier, redirect_uri: 'dev.keyhaven:/oauth/callback/testas', client_id: 'keyhaven-native',
    });
    assert.equal(again.body.error, 'invalid_grant');


    const s = await stats();
    assert.equal(s.token.authorization_code, 3);
    assert.equal(s.token.refresh_token, 3);
    assert.equal(s.token_total, 6);
    assert.equal(s.invalid_grant, 4);
    assert.equal(s.reuse_detected, 1);
    assert.equal(s.userinfo, 1);
    assert.equal(s.authorization, 2);
    assert.equal(s.errors.token.invalid_grant, 4);

    await reset();
    const z = await stats();
    assert.equal(z.token_total, 0);
    assert.equal(z.invalid_grant, 0);
    assert.deepEqual(z.errors, {});
  });

  test('redeeming a code twice revokes the tokens it issued', async () => {
    const c = await codeFlowTokens();
    const ok = await fetch(url('/me'), { headers: { authorization: `Bearer ${c.tokens.access_token}` } });
    assert.equal(ok.status, 200);
    const twice = await token({
      grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: 'dev.keyhaven:/oauth/callback/testas', client_id: 'keyhaven-native',
    });
    assert.equal(twice.body.error, 'invalid_grant');
    const revoked = await fetch(url('/me'), { headers: { authorization: `Bearer ${c.tokens.access_token}` } });
    assert.equal(revoked.status, 401);
    const rt = await token({ grant_type: 'refresh_token', refresh_token: c.tokens.refresh_token, client_id: 'keyhaven-native' });
    assert.equal(rt.body.error, 'invalid_grant');
  });

  test('strict rotation: of two concurrent refreshes with one refresh token, exactly one succeeds', async () => {
    await reset();
    const c = await codeFlowTokens();
    const form = { grant_type: 'refresh_token', refresh_token: c.tokens.refresh_token, client_id: 'keyhaven-native' };
    const results = await Promise.all([token(form), token(form)]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400]);
    assert.equal(results.find((r) => r.status === 400).body.error, 'invalid_grant');
    const s = await stats();
    assert.equal(s.reuse_detected, 1);
    assert.equal(s.token.refresh_token, 2);
  });

  test('PKCE: plain and missing challenges are refused', async () => {
    const { challenge } = pkce();
    const plain = await runBrowser(authUrl({ challenge, method: 'plain' }));
    assert.equal(plain.code, 0, plain.stderr);
    const p = new URL(plain.redirect);
    assert.equal(p.searchParams.get('error'), 'invalid_request');
    assert.equal(p.searchParams.get('code'), null);

    const none = await runBrowser(authUrl({ challenge: undefined, method: undefined }));
    assert.equal(new URL(none.redirect).searchParams.get('error'), 'invalid_request');

    // confidential clients need PKCE too
    const conf = await runBrowser(authUrl({ clientId: 'keyhaven-confidential', challenge: undefined, method: undefined }));
    assert.equal(new URL(conf.redirect).searchParams.get('error'), 'invalid_request');
  });

  test('redirect matching: loopback any port, exact path; unknown redirect is an AS error page', async () => {
    const got = [];
    const listener = http.createServer((req, res) => {
      got.push(req.url);
      res.setHeader('content-type', 'text/html');
      res.end('<p>You can close this window.</p>');
    });
    await new Promise((r) => listener.listen(0, '127.0.0.1', r));
    const { port } = listener.address();
    try {
      const redirectUri = `http://127.0.0.1:${port}/callback`;
      const r = await codeFlowTokens({ redirectUri });
      assert.equal(r.redirect.origin, `http://127.0.0.1:${port}`);
      assert.equal(got.length, 1);
      assert.match(got[0], /^\/callback\?code=/);
      assert.equal(r.page, '200\n<p>You can close this window.</p>');

      // KH_TEST_NO_DELIVER: the redirect is recorded, not delivered
      const { challenge } = pkce();
      const nd = await runBrowser(authUrl({ redirectUri, challenge }), { KH_TEST_NO_DELIVER: '1' });
      assert.equal(nd.code, 0);
      assert.equal(nd.page, null);
      assert.equal(got.length, 1);
    } finally {
      listener.close();
    }

    const { challenge } = pkce();
    for (const bad of ['http://127.0.0.1:5555/other', 'http://localhost:5555/callback', 'dev.keyhaven:/oauth/callback/other']) {
      const r = await runBrowser(authUrl({ redirectUri: bad, challenge }));
      assert.equal(r.code, 1, bad);
      assert.match(r.stderr, /invalid_redirect_uri/);
      assert.equal(r.redirect, null);
    }
  });

  test('consent denied gives access_denied', async () => {
    const { challenge } = pkce();
    const r = await runBrowser(authUrl({ challenge }), { KH_TEST_DENY: '1' });
    assert.equal(r.code, 0, r.stderr);
    const u = new URL(r.redirect);
    assert.equal(u.searchParams.get('error'), 'access_denied');
    assert.equal(u.searchParams.get('iss'), issuer);
  });

  test('confidential clients, introspection, client_credentials, revocation', async () => {
    // client_secret_basic
    const a = await authorize({ clientId: 'keyhaven-confidential' });
    const form = {
      grant_type: 'authorization_code', code: a.code, code_verifier: a.verifier, redirect_uri: 'dev.keyhaven:/oauth/callback/testas',
    };
    const noAuth = await token({ ...form, client_id: 'keyhaven-confidential' });
    assert.equal(noAuth.body.error, 'invalid_client');
    const t = await token(form, basic('keyhaven-confidential', 'keyhaven-confidential-secret'));
    assert.equal(t.status, 200, JSON.stringify(t.body));

    const intro = await postForm('/token/introspection', { token: t.body.access_token }, basic('keyhaven-confidential', 'keyhaven-confidential-secret'));
    const ib = await intro.json();
    assert.equal(ib.active, true);
    assert.equal(ib.sub, 'alice');
    assert.equal(ib.client_id, 'keyhaven-confidential');

    // client_secret_post
    const p = await authorize({ clientId: 'keyhaven-post' });
    const tp = await token({
      grant_type: 'authorization_code', code: p.code, code_verifier: p.verifier, redirect_uri: 'dev.keyhaven:/oauth/callback/testas',
      client_id: 'keyhaven-post', client_secret: 'keyhaven-post-secret',
    });
    assert.equal(tp.status, 200, JSON.stringify(tp.body));

    const cc = await token({ grant_type: 'client_credentials', scope: 'api:read' }, basic('keyhaven-confidential', 'keyhaven-confidential-secret'));
    assert.equal(cc.status, 200, JSON.stringify(cc.body));
    assert.equal(cc.body.scope, 'api:read');

    // revocation (public client, own refresh token) -> the refresh token stops working
    const n1 = await codeFlowTokens();
    const rv = await postForm('/token/revocation', { token: n1.tokens.refresh_token, token_type_hint: 'refresh_token', client_id: 'keyhaven-native' });
    assert.equal(rv.status, 200);
    const dead = await token({ grant_type: 'refresh_token', refresh_token: n1.tokens.refresh_token, client_id: 'keyhaven-native' });
    assert.equal(dead.body.error, 'invalid_grant');
    const intro2 = await postForm('/token/introspection', { token: n1.tokens.access_token }, basic('keyhaven-confidential', 'keyhaven-confidential-secret'));
    assert.equal((await intro2.json()).active, false, 'revoking the RT revoked the grant');
  });

  test('device flow via browser.mjs', async () => {
    const res = await postForm('/device/auth', { client_id: 'keyhaven-native', scope: 'openid offline_access' });
    const d = await res.json();
    assert.ok(d.device_code && d.verification_uri_complete);
    const pending = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.device_code, client_id: 'keyhaven-native' });
    assert.equal(pending.body.error, 'authorization_pending');
    const b = await runBrowser(d.verification_uri_complete);
    assert.equal(b.code, 0, b.stderr);
    const t = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.device_code, client_id: 'keyhaven-native' });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.ok(t.body.refresh_token);
  });

  describe('fault injection', () => {
    const cc = () => postForm('/token', { grant_type: 'client_credentials' }, basic('keyhaven-confidential', 'keyhaven-confidential-secret'));

    before(reset);

    test('status_500 / status_503 / status_NNN with retry_after', async () => {
      await fault({ endpoint: 'token', mode: 'status_500' });
      let r = await cc();
      assert.equal(r.status, 500);
      assert.match(r.headers.get('content-type'), /text\/html/);
      assert.match(await r.text(), /<html>/);
      assert.equal((await cc()).status, 200, 'count defaults to 1');

      await fault({ endpoint: 'userinfo', mode: 'status_503', count: 2 });
      assert.equal((await fetch(url('/me'))).status, 503);
      assert.equal((await fetch(url('/me'))).status, 503);
      assert.equal((await fetch(url('/me'))).status, 401, 'then normal (no token)');

      await fault({ endpoint: 'token', mode: 'status_429', retry_after: 7 });
      r = await cc();
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '7');
    });

    test('malformed_json and html_200', async () => {
      await fault({ endpoint: 'jwks', mode: 'malformed_json' });
      let r = await fetch(url('/jwks'));
      assert.equal(r.status, 200);
      assert.equal(await r.text(), '{"access_token":');
      await fault({ endpoint: 'discovery', mode: 'html_200' });
      r = await fetch(url('/.well-known/openid-configuration'));
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /text\/html/);
      assert.match(await r.text(), /<html>/);
    });

    test('hang, drop, delay_ms, delay_before_ms', async () => {
      await fault({ endpoint: 'revocation', mode: 'hang' });
      const t0 = Date.now();
      await assert.rejects(fetch(url('/token/revocation'), {
        method: 'POST', body: new URLSearchParams({ token: 'x', client_id: 'keyhaven-native' }), signal: AbortSignal.timeout(400),
      }), { name: 'TimeoutError' });
      assert.ok(Date.now() - t0 >= 380);

      await fault({ endpoint: 'userinfo', mode: 'drop' });
      await assert.rejects(fetch(url('/me')), TypeError);

      await fault({ endpoint: 'token', mode: 'delay_ms:300' });
      let t1 = Date.now();
      let r = await cc();
      assert.equal(r.status, 200);
      assert.ok(Date.now() - t1 >= 290);

      await fault({ endpoint: 'discovery', mode: 'delay_before_ms:200' });
      t1 = Date.now();
      r = await fetch(url('/.well-known/oauth-authorization-server'));
      assert.equal(r.status, 200);
      assert.ok(Date.now() - t1 >= 190);
    });

    test('drop_after: the refresh is processed (rotated) but the answer is lost', async () => {
      const a = await codeFlowTokens();
      await fault({ endpoint: 'token', mode: 'drop_after' });
      await assert.rejects(token({ grant_type: 'refresh_token', refresh_token: a.tokens.refresh_token, client_id: 'keyhaven-native' }), TypeError);
      const retry = await token({ grant_type: 'refresh_token', refresh_token: a.tokens.refresh_token, client_id: 'keyhaven-native' });
      assert.equal(retry.body.error, 'invalid_grant');
    });

    test('oauth_error, patch, big_body', async () => {
      await fault({ endpoint: 'token', mode: 'oauth_error:slow_down' });
      let r = await cc();
      assert.equal(r.status, 400);
      assert.deepEqual(await r.json(), { error: 'slow_down' });
      await fault({ endpoint: 'token', mode: 'oauth_error:invalid_client' });
      r = await cc();
      assert.equal(r.status, 401);

      await fault({ endpoint: 'token', mode: 'patch', patch: { expires_in: '3600', scope: null } });
      r = await cc();
      const body = await r.json();
      assert.equal(body.expires_in, '3600');
      assert.ok(!('scope' in body));
      assert.ok(body.access_token);

      await fault({ endpoint: 'token', mode: 'big_body:1500000' });
      r = await cc();
      assert.ok((await r.text()).length > 1_500_000);
    });

    test('id_token modes', async () => {
      const a = await codeFlowTokens();
      const jwks = createLocalJWKSet((await getJson('/jwks')).body);
      let rt = a.tokens.refresh_token;
      const refreshWith = async (mode) => {
        if (mode) await fault({ endpoint: 'token', mode });
        const r = await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: 'keyhaven-native' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        rt = r.body.refresh_token;
        return r.body.id_token;
      };
      const good = await refreshWith(null);
      await compactVerify(good, jwks);
      const goodClaims = decodeJwt(good);
      assert.equal(goodClaims.nonce, a.nonce);

      const verifiedClaims = async (jwt) => JSON.parse(new TextDecoder().decode((await compactVerify(jwt, jwks)).payload));

      await assert.rejects(compactVerify(await refreshWith('id_token_bad_signature'), jwks), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
      assert.equal((await verifiedClaims(await refreshWith('id_token_wrong_aud'))).aud, 'keyhaven-someone-else');
      assert.equal((await verifiedClaims(await refreshWith('id_token_wrong_iss'))).iss, `${issuer}/wrong-issuer`);
      const wn = await verifiedClaims(await refreshWith('id_token_wrong_nonce'));
      assert.ok(wn.nonce && wn.nonce !== a.nonce);
      const ex = await verifiedClaims(await refreshWith('id_token_expired'));
      assert.ok(ex.exp < Date.now() / 1000 - 600);

      const none = await refreshWith('id_token_alg_none');
      assert.equal(decodeProtectedHeader(none).alg, 'none');
      assert.ok(none.endsWith('.'));
      assert.equal(decodeJwt(none).sub, goodClaims.sub);
      await assert.rejects(compactVerify(none, jwks));

      const uk = await refreshWith('id_token_unknown_kid');
      await assert.rejects(compactVerify(uk, jwks), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await assert.rejects(compactVerify(uk, createLocalJWKSet((await getJson('/jwks')).body)), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'never published');

      const nk = await refreshWith('id_token_new_kid');
      await assert.rejects(compactVerify(nk, jwks), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await compactVerify(nk, createLocalJWKSet((await getJson('/jwks')).body)); // published after a refetch

      const s = await stats();
      assert.ok(s.faults_applied.token >= 8);
    });

    test('bad fault specs are rejected', async () => {
      for (const spec of [{ endpoint: 'nope', mode: 'drop' }, { endpoint: 'token', mode: 'explode' }, { endpoint: 'userinfo', mode: 'id_token_expired' }, { endpoint: 'token', mode: 'drop', count: 0 }]) {
        const r = await fetch(url('/__test/fault'), { method: 'POST', body: JSON.stringify(spec) });
        assert.equal(r.status, 400, JSON.stringify(spec));
      }
    });

    test('reset clears pending faults', async () => {
      await fault({ endpoint: 'token', mode: 'status_500', count: 5 });
      await reset();
      assert.equal((await cc()).status, 200);
    });
  });

  test('exits when stdin closes, and on SIGTERM', async () => {
    const s1 = await startServer({ KH_AS_ACCESS_TTL: '5' });
    const t = await (await fetch(`${s1.issuer}/token`, {
      method: 'POST', headers: basic('keyhaven-confidential', 'keyhaven-confidential-secret'), body: new URLSearchParams({ grant_type: 'client_credentials' }),
    })).json();
    assert.equal(t.expires_in, 5, 'KH_AS_ACCESS_TTL');
    const exited = new Promise((resolve) => s1.child.once('exit', (code, sig) => resolve({ code, sig })));
    s1.child.stdin.end();
    const e1 = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 3000).unref())]);
    assert.deepEqual(e1, { code: 0, sig: null });
    assert.equal(s1.stdout().split('\n').filter(Boolean).length, 1, 'exactly one stdout line');

    const s2 = await startServer();
    const exited2 = new Promise((resolve) => s2.child.once('exit', (code, sig) => resolve({ code, sig })));
    // a hanging request must not keep the server alive
    await fetch(`${s2.issuer}/__test/fault`, { method: 'POST', body: JSON.stringify({ endpoint: 'jwks', mode: 'hang' }) });
    const hung = fetch(`${s2.issuer}/jwks`).catch(() => 'closed');
    await new Promise((r) => setTimeout(r, 100));
    s2.child.kill('SIGTERM');
    const e2 = await Promise.race([exited2, new Promise((r) => setTimeout(() => r('timeout'), 3000).unref())]);
    assert.deepEqual(e2, { code: 0, sig: null });
    assert.equal(await hung, 'closed');
  });
});

// --- opt-in: dynamic client registration (RFC 7591/7592) and resource indicators (RFC 8707) ----
describe('KH_AS_REGISTRATION=1 and KH_AS_RESOURCE_INDICATORS=1', () => {
  let as;
  let issuer;
  const RESOURCE = 'http://127.0.0.1:8765/mcp';
  const introspector = { authorization: `Basic ${Buffer.from('keyhaven-confidential:keyhaven-confidential-secret').toString('base64')}` };
  const form = (p, body, headers = {}) => fetch(`${issuer}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body),
  });
  const token = async (body) => {
    const res = await form('/token', body);
    return { status: res.status, body: await res.json() };
  };
  const introspect = async (t) => (await form('/token/introspection', { token: t }, introspector)).json();
  const register = async (meta) => {
    const res = await fetch(`${issuer}/reg`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(meta),
    });
    return { status: res.status, body: await res.json() };
  };
  const NATIVE = {
    client_name: 'Keyhaven (registered)',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback', 'dev.keyhaven:/oauth/callback/mcp1'],
  };

  async function codeFlow(clientId, { resource = RESOURCE, tokenResource = resource, redirectUri = 'dev.keyhaven:/oauth/callback/mcp1', scope = 'openid offline_access' } = {}) {
    const { verifier, challenge } = pkce();
    const u = new URL(`${issuer}/auth`);
    const params = {
      client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope, state: 'st', code_challenge: challenge, code_challenge_method: 'S256',
    };
    if (resource) params.resource = resource;
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    const r = await runBrowser(u.href, { KH_TEST_NO_DELIVER: '1' });
    assert.equal(r.code, 0, r.stderr);
    const redirect = new URL(r.redirect.trim());
    assert.equal(redirect.searchParams.get('error'), null, redirect.href);
    const body = {
      grant_type: 'authorization_code', code: redirect.searchParams.get('code'), code_verifier: verifier, redirect_uri: redirectUri, client_id: clientId,
    };
    if (tokenResource) body.resource = tokenResource;
    return token(body);
  }

  before(async () => {
    as = await startServer({ KH_AS_REGISTRATION: '1', KH_AS_RESOURCE_INDICATORS: '1' });
    issuer = as.issuer;
  });
  after(() => { as?.child.kill('SIGTERM'); });

  test('defaults: no registration endpoint, resource indicators refused', async () => {
    const plain = await startServer();
    try {
      const m = await (await fetch(`${plain.issuer}/.well-known/oauth-authorization-server`)).json();
      assert.equal(m.registration_endpoint, undefined);
      assert.equal((await fetch(`${plain.issuer}/reg`, { method: 'POST', body: '{}' })).status, 404);
      const s = await (await fetch(`${plain.issuer}/__test/stats`)).json();
      assert.ok(!('registration' in s));
      const cc = await fetch(`${plain.issuer}/token`, {
        method: 'POST', headers: introspector, body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE }),
      });
      assert.equal((await cc.json()).error, 'invalid_target');
    } finally {
      plain.child.kill('SIGTERM');
    }
  });

  test('registration of a native public client (RFC 7591) and its management (RFC 7592)', async () => {
    const m = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
    assert.equal(m.registration_endpoint, `${issuer}/reg`);
    const r = await register(NATIVE);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = r.body;
    assert.ok(c.client_id);
    assert.equal(c.client_secret, undefined, 'public client: no secret');
    assert.equal(c.token_endpoint_auth_method, 'none');
    assert.deepEqual(c.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(c.registration_client_uri, `${issuer}/reg/${c.client_id}`);
    assert.ok(c.registration_access_token);

    const auth = { authorization: `Bearer ${c.registration_access_token}` };
    const read = await fetch(c.registration_client_uri, { headers: auth });
    assert.equal(read.status, 200);
    assert.equal((await read.json()).client_id, c.client_id);
    const read2 = await fetch(c.registration_client_uri, { headers: auth });
    assert.equal(read2.status, 200, 'the registration access token is not rotated');
    assert.equal((await fetch(c.registration_client_uri)).status, 401);
    const listed = await (await fetch(`${issuer}/__test/clients`)).json();
    assert.ok(listed.clients.some((x) => x.client_id === c.client_id));

    const del = await fetch(c.registration_client_uri, { method: 'DELETE', headers: auth });
    assert.equal(del.status, 204);
    const t = await token({ grant_type: 'refresh_token', refresh_token: 'x', client_id: c.client_id });
    assert.equal(t.body.error, 'invalid_client');

    // bad metadata is refused with invalid_redirect_uri / invalid_client_metadata
    const bad = await register({ ...NATIVE, redirect_uris: ['http://example.com/callback'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_redirect_uri');

    const s = await (await fetch(`${issuer}/__test/stats`)).json();
    assert.equal(s.registration, 2);
    assert.equal(s.registration_management, 4);
  });

  test('code flow + PKCE + resource with a registered client; refresh with resource; audience in introspection', async () => {
    const { body: c } = await register(NATIVE);
    const t = await codeFlow(c.client_id);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.ok(t.body.access_token && t.body.refresh_token && t.body.id_token);
    assert.equal(t.body.scope, 'openid offline_access');
    assert.equal(t.body.access_token.split('.').length, 1, 'opaque by default');
    const i = await introspect(t.body.access_token);
    assert.equal(i.active, true);
    assert.equal(i.aud, RESOURCE);
    assert.equal(i.client_id, c.client_id);
    assert.equal(i.sub, 'alice');

    // the loopback redirect at any port works for a registered client too
    const lb = await codeFlow(c.client_id, { redirectUri: 'http://127.0.0.1:49152/callback' });
    assert.equal(lb.status, 200, JSON.stringify(lb.body));

    const r = await token({ grant_type: 'refresh_token', refresh_token: t.body.refresh_token, client_id: c.client_id, resource: RESOURCE });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.notEqual(r.body.refresh_token, t.body.refresh_token, 'rotated');
    assert.equal((await introspect(r.body.access_token)).aud, RESOURCE);

    // a refresh for a resource that was not granted is invalid_target
    const other = await token({ grant_type: 'refresh_token', refresh_token: r.body.refresh_token, client_id: c.client_id, resource: 'http://127.0.0.1:1/other' });
    assert.equal(other.body.error, 'invalid_target');

    // quirk (oidc-provider default, useGrantedResource=false): with openid in scope, a refresh
    // without `resource` gives a userinfo-only token without audience
    const nores = await token({ grant_type: 'refresh_token', refresh_token: r.body.refresh_token, client_id: c.client_id });
    assert.equal(nores.status, 200, JSON.stringify(nores.body));
    const ni = await introspect(nores.body.access_token);
    assert.equal(ni.active, true);
    assert.equal(ni.aud, undefined);

    // non-loopback http resources are refused at the authorization endpoint
    const { challenge } = pkce();
    const u = new URL(`${issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: c.client_id, response_type: 'code', redirect_uri: 'dev.keyhaven:/oauth/callback/mcp1', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', resource: 'http://example.com/mcp',
    })) u.searchParams.set(k, v);
    const bad = await runBrowser(u.href);
    assert.equal(new URL(bad.redirect.trim()).searchParams.get('error'), 'invalid_target');
  });

  test('a token request without resource (openid scope) gets no audience', async () => {
    const { body: c } = await register(NATIVE);
    const t = await codeFlow(c.client_id, { tokenResource: null });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal((await introspect(t.body.access_token)).aud, undefined);
    // without openid the granted resource is used even when the token request omits it
    const t2 = await codeFlow(c.client_id, { tokenResource: null, scope: 'offline_access api:read' });
    assert.equal(t2.status, 200, JSON.stringify(t2.body));
    assert.equal((await introspect(t2.body.access_token)).aud, RESOURCE);
  });

  test('POST /__test/delete-client: the client becomes invalid_client', async () => {
    const { body: c } = await register(NATIVE);
    const t = await codeFlow(c.client_id);
    assert.equal(t.status, 200);
    const delPage = await fetch(`${issuer}/__test/delete-client`, { method: 'POST', body: JSON.stringify({ client_id: c.client_id }) });
    assert.equal(delPage.status, 200);
    assert.deepEqual(await delPage.json(), { ok: true, deleted: c.client_id });
    const rat = await fetch(c.registration_client_uri, { headers: { authorization: `Bearer ${c.registration_access_token}` } });
    assert.equal(rat.status, 401);
    assert.equal((await rat.json()).error, 'invalid_token');
    const r = await token({ grant_type: 'refresh_token', refresh_token: t.body.refresh_token, client_id: c.client_id, resource: RESOURCE });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    // authorization requests: the AS shows an error page (it cannot trust any redirect_uri)
    const { challenge } = pkce();
    const u = new URL(`${issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: c.client_id, response_type: 'code', redirect_uri: 'dev.keyhaven:/oauth/callback/mcp1', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256',
    })) u.searchParams.set(k, v);
    const b = await runBrowser(u.href);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /invalid_client/);
    // deleting twice is a 404; static clients cannot be deleted
    const again = await fetch(`${issuer}/__test/delete-client`, { method: 'POST', body: JSON.stringify({ client_id: c.client_id }) });
    assert.equal(again.status, 404);
    const st = await fetch(`${issuer}/__test/delete-client`, { method: 'POST', body: JSON.stringify({ client_id: 'keyhaven-native' }) });
    assert.equal(st.status, 400);
  });

  test('registration faults (e.g. a 201 without client_id)', async () => {
    const f = await fetch(`${issuer}/__test/fault`, { method: 'POST', body: JSON.stringify({ endpoint: 'registration', mode: 'patch', patch: { client_id: null } }) });
    assert.equal(f.status, 200);
    const r = await register(NATIVE);
    assert.equal(r.status, 201);
    assert.equal(r.body.client_id, undefined);
    assert.ok(r.body.registration_access_token);
  });
});

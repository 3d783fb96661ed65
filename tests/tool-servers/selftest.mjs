// Self-test of the tool servers, with the real tools:  node --test tests/tool-servers/selftest.mjs
//
// Starts the test authorization server (tests/oauth-server, real oidc-provider) and each tool
// server, obtains real access tokens (client_credentials grant of keyhaven-confidential), and
// proves that git (clone, commit, push, fetch), kubectl (get --raw /version) and skopeo (copy,
// inspect) authenticate with them through the tools' own credential mechanisms, that bad and
// expired tokens are refused, and that the counters under /__test/ say so.
//
// Skips nothing: a missing tool fails the run, with what to install.

import { strict as assert } from 'node:assert';
import { execFile, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const AS_SCRIPT = path.join(REPO, 'tests/oauth-server/server.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-tool-selftest-'));
const children = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.stdin.end();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Preflight: every tool must be there (this test skips nothing).
// ---------------------------------------------------------------------------------------------
function preflight() {
  const missing = [];
  const have = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  if (!have('git')) missing.push('git (apt-get install -y git)');
  else if (spawnSync('git', ['http-backend'], { stdio: 'ignore', env: { ...process.env, GIT_PROJECT_ROOT: tmp, REQUEST_METHOD: 'GET', PATH_INFO: '/' } }).error) {
    missing.push('git http-backend (part of git)');
  }
  if (!have('kubectl', ['version', '--client'])) missing.push('kubectl (>= 1.32; e.g. the Kubernetes apt repository\'s kubectl, or google-cloud-sdk\'s)');
  if (!have('skopeo')) missing.push('skopeo (apt-get install -y skopeo)');
  if (!fs.existsSync(process.env.KH_REGISTRY_BIN || '/usr/bin/docker-registry')) missing.push('docker-registry (apt-get install -y docker-registry)');
  if (!have('openssl', ['version'])) missing.push('openssl (apt-get install -y openssl)');
  for (const t of ['tar', 'gzip', 'sha256sum']) if (!have(t)) missing.push(t);
  if (!fs.existsSync(path.join(REPO, 'tests/oauth-server/node_modules/oidc-provider'))) {
    missing.push('tests/oauth-server/node_modules (cd tests/oauth-server && npm ci)');
  }
  if (missing.length) {
    throw new Error(`tool-servers selftest: missing prerequisites:\n  - ${missing.join('\n  - ')}\n`
      + 'On Debian 12: apt-get install -y git skopeo docker-registry openssl (kubectl from the Kubernetes or Google Cloud apt repository).');
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
function startServer(script, env = {}) {
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let stderr = '';
  let out = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} printed no ready line in 30 s: ${stderr}`)), 30_000);
    const onExit = (code) => { clearTimeout(timer); reject(new Error(`${script} exited early (${code}): ${stderr}`)); };
    child.once('exit', onExit);
    const onData = () => {
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout.off('data', onData);
      resolve({ child, ...JSON.parse(out.slice(0, nl)), stderr: () => stderr, stdout: () => out });
    };
    child.stdout.on('data', onData);
  });
}

function stop(server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) { resolve({ code: server.child.exitCode, sig: server.child.signalCode }); return; }
    server.child.once('exit', (code, sig) => resolve({ code, sig }));
    server.child.stdin.end();
  });
}

const basicHeader = (user, pass) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function getToken(as) {
  const r = await fetch(`${as.issuer}/token`, {
    method: 'POST',
    headers: { Authorization: basicHeader('keyhaven-confidential', 'keyhaven-confidential-secret') },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body.access_token;
}

async function introspectActive(as, token) {
  const r = await fetch(`${as.issuer}/token/introspection`, {
    method: 'POST',
    headers: { Authorization: basicHeader('keyhaven-confidential', 'keyhaven-confidential-secret') },
    body: new URLSearchParams({ token }),
  });
  return (await r.json()).active;
}

async function stats(base) {
  const r = await fetch(`${base}/__test/stats`);
  assert.equal(r.status, 200);
  return r.json();
}
async function reset(base) {
  const r = await fetch(`${base}/__test/reset`, { method: 'POST' });
  assert.equal(r.status, 200);
}

const HOME = path.join(tmp, 'home');
fs.mkdirSync(HOME, { recursive: true });
// The tools see only what the test gives them: no user config, no prompts, no agents.
const TOOL_ENV = (() => {
  const env = { ...process.env, HOME, XDG_CONFIG_HOME: path.join(HOME, '.config'), XDG_RUNTIME_DIR: path.join(HOME, 'run') };
  for (const k of Object.keys(env)) if (/^(GIT_|KUBECONFIG$|REGISTRY_AUTH_FILE$|DOCKER_CONFIG$|SSH_ASKPASS$)/.test(k)) delete env[k];
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Keyhaven Test', GIT_AUTHOR_EMAIL: 'test@keyhaven.invalid',
    GIT_COMMITTER_NAME: 'Keyhaven Test', GIT_COMMITTER_EMAIL: 'test@keyhaven.invalid',
    KUBECONFIG: path.join(tmp, 'no-kubeconfig'),
    REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json'),
  };
})();
fs.mkdirSync(TOOL_ENV.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });

function run(cmd, args, { cwd = tmp, env = {}, timeout = 60_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    execFile(cmd, args, { cwd, env: { ...TOOL_ENV, ...env }, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started, what: `${cmd} ${args.join(' ')}` });
    });
  });
}
const ok = (r) => assert.equal(r.code, 0, `${r.what} failed (${r.code}):\n${r.stderr}${r.stdout}`);
const failsWith = (r, re) => {
  assert.notEqual(r.code, 0, `${r.what} should have failed:\n${r.stdout}`);
  assert.match(r.stderr + r.stdout, re, `${r.what}: unexpected error output`);
};

// git: a credential helper as git's own config gives it (the shape a Keyhaven helper answers in).
const gitHelper = (token, user = 'x-access-token') => [
  '-c', 'credential.helper=',
  '-c', `credential.helper=!f() { test "$1" = get && { echo username=${user}; echo password=${token}; }; }; f`,
];
const git = (args, opts) => run('git', args, opts);

// kubectl
let kubeconfigs = 0;
function kubeconfig({ server, token, caFile, caData }) {
  kubeconfigs += 1;
  const file = path.join(tmp, `kubeconfig-${kubeconfigs}`);
  const cluster = { server };
  if (caFile) cluster['certificate-authority'] = caFile;
  if (caData) cluster['certificate-authority-data'] = caData;
  // JSON is valid YAML: kubectl reads it as a kubeconfig.
  fs.writeFileSync(file, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'keyhaven-test', cluster }],
    users: [{ name: 'keyhaven', user: { token } }],
    contexts: [{ name: 'keyhaven-test', context: { cluster: 'keyhaven-test', user: 'keyhaven' } }],
    'current-context': 'keyhaven-test',
  }, null, 2));
  return file;
}
const kubectl = (cfg, args) => run('kubectl', args, { env: { KUBECONFIG: cfg } });

// skopeo
const POLICY = path.join(tmp, 'policy.json');
fs.writeFileSync(POLICY, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
const skopeo = (args, env = {}) => run('skopeo', ['--policy', POLICY, ...args], { env });
function authFile(host, user, token) {
  const file = path.join(tmp, `auth-${user}-${token.slice(0, 6)}.json`);
  fs.writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${token}`).toString('base64') } } }));
  return file;
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------
describe('tool servers', () => {
  let as; // access tokens live 1 h
  let asShort; // access tokens live 2 s
  let gitSrv; let kube; let reg; // introspect at `as`
  let gitShort; let kubeShort; let regShort; // introspect at `asShort`
  let token;
  const GIT_ROOT = path.join(tmp, 'git-root');
  const OCI = path.join(tmp, 'oci');
  let ociDigest;

  before(async () => {
    preflight();
    fs.mkdirSync(GIT_ROOT);
    [as, asShort] = await Promise.all([startServer(AS_SCRIPT), startServer(AS_SCRIPT, { KH_AS_ACCESS_TTL: '2' })]);
    const env = (a) => ({ KH_INTROSPECT_URL: `${a.issuer}/token/introspection`, KH_GIT_ROOT: GIT_ROOT });
    [gitSrv, kube, reg, gitShort, kubeShort, regShort] = await Promise.all([
      startServer(path.join(HERE, 'git-server.mjs'), env(as)),
      startServer(path.join(HERE, 'kube-server.mjs'), env(as)),
      startServer(path.join(HERE, 'registry-proxy.mjs'), env(as)),
      startServer(path.join(HERE, 'git-server.mjs'), env(asShort)),
      startServer(path.join(HERE, 'kube-server.mjs'), env(asShort)),
      startServer(path.join(HERE, 'registry-proxy.mjs'), env(asShort)),
    ]);
    token = await getToken(as);
    ok(await git(['init', '-q', '--bare', '-b', 'main', path.join(GIT_ROOT, 'repo.git')]));
    const mk = await run(path.join(HERE, 'make-oci-image.sh'), [OCI]);
    ok(mk);
    ociDigest = mk.stdout.trim();
    assert.match(ociDigest, /^sha256:[0-9a-f]{64}$/);
  });

  test('ready lines and /__test routes', async () => {
    for (const s of [gitSrv, kube, reg]) {
      assert.equal(s.stdout().split('\n').filter(Boolean).length, 1, 'exactly one stdout line');
      const st = await stats(s.http_url ?? s.url);
      for (const k of ['requests', 'unauthorized', 'authorized', 'distinct_tokens']) assert.equal(typeof st[k], 'number', k);
      assert.deepEqual(Object.keys(st.schemes).sort(), ['basic', 'bearer']);
      assert.ok(Array.isArray(st.usernames));
    }
    assert.match(gitSrv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(kube.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(fs.existsSync(kube.ca_file));
    assert.equal(Buffer.from(kube.ca_data, 'base64').toString(), fs.readFileSync(kube.ca_file, 'utf8'));
    assert.match(reg.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(reg.host, `127.0.0.1:${reg.port}`);
  });

  // --- git ------------------------------------------------------------------------------------
  describe('git-server', () => {
    test('no or bad credentials: 401 with a Basic challenge', async () => {
      await reset(gitSrv.url);
      const u = `${gitSrv.url}/repo.git/info/refs?service=git-upload-pack`;
      const none = await fetch(u);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Basic realm="keyhaven-test"');
      assert.equal((await fetch(u, { headers: { Authorization: basicHeader('x', 'nope') } })).status, 401);
      assert.equal((await fetch(u, { headers: { Authorization: 'Bearer nope' } })).status, 401);
      assert.equal((await fetch(u, { headers: { Authorization: basicHeader('x', token) } })).status, 200);
      assert.equal((await fetch(u, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
      const st = await stats(gitSrv.url);
      assert.equal(st.requests, 5);
      assert.equal(st.unauthorized, 3);
      assert.equal(st.authorized, 2);
      assert.equal(st.distinct_tokens, 1);
      assert.deepEqual(st.schemes, { basic: 1, bearer: 1 });
      assert.deepEqual(st.rejected, { missing: 1, malformed: 0, wrong_scheme: 0, inactive: 2 });
    });

    test('clone, commit, push and clone again with the token from a credential helper', async () => {
      await reset(gitSrv.url);
      const remote = `${gitSrv.url}/repo.git`;
      const work = path.join(tmp, 'git-work');
      ok(await git([...gitHelper(token), 'clone', '-q', remote, work]));
      fs.writeFileSync(path.join(work, 'README'), 'pushed through the keyhaven test git server\n');
      // A 3 MB file: bigger than http.postBuffer, so the push goes out chunked.
      fs.writeFileSync(path.join(work, 'blob.bin'), Buffer.alloc(3 * 1024 * 1024, 7).map((_, i) => (i * 2654435761) >>> 24));
      ok(await git(['add', '.'], { cwd: work }));
      ok(await git(['commit', '-q', '-m', 'first'], { cwd: work }));
      ok(await git([...gitHelper(token), 'push', '-q', 'origin', 'main'], { cwd: work }));
      const head = (await git(['rev-parse', 'HEAD'], { cwd: work })).stdout.trim();
      const again = path.join(tmp, 'git-again');
      ok(await git([...gitHelper(token), 'clone', '-q', remote, again]));
      assert.equal((await git(['rev-parse', 'HEAD'], { cwd: again })).stdout.trim(), head);
      assert.equal(fs.readFileSync(path.join(again, 'README'), 'utf8'), 'pushed through the keyhaven test git server\n');
      const st = await stats(gitSrv.url);
      // git tries anonymously first (401), then asks the helper: once per clone/push process.
      assert.equal(st.unauthorized, 3, JSON.stringify(st));
      assert.equal(st.rejected.missing, 3);
      assert.ok(st.authorized >= 5, JSON.stringify(st));
      assert.equal(st.requests, st.unauthorized + st.authorized);
      assert.equal(st.distinct_tokens, 1);
      assert.deepEqual(st.schemes, { basic: st.authorized, bearer: 0 });
      assert.deepEqual(st.usernames, ['x-access-token']);
    });

    test('fetch with a gzip-compressed upload-pack request', async () => {
      // git gzips an upload-pack request body bigger than 1 KiB: fetching 40 new annotated tags
      // sends 40 "want" lines (about 2 KiB).
      const work = path.join(tmp, 'git-gzip');
      ok(await git([...gitHelper(token), 'clone', '-q', `${gitSrv.url}/repo.git`, work]));
      const other = path.join(tmp, 'git-work');
      for (let i = 0; i < 40; i += 1) ok(await git(['tag', '-a', `v0.0.${i}`, '-m', `tag ${i}`], { cwd: other }));
      ok(await git([...gitHelper(token), 'push', '-q', 'origin', '--tags'], { cwd: other }));
      await reset(gitSrv.url);
      ok(await git([...gitHelper(token), 'fetch', '-q', '--tags', 'origin'], { cwd: work }));
      const tags = (await git(['tag', '--list'], { cwd: work })).stdout.split('\n').filter(Boolean);
      assert.equal(tags.length, 40);
      const st = await stats(gitSrv.url);
      assert.ok((st.content_encodings.gzip ?? 0) >= 1, `no gzip request body seen: ${JSON.stringify(st)}`);
    });

    test('bearer through http.extraHeader', async () => {
      await reset(gitSrv.url);
      ok(await git(['-c', `http.extraHeader=Authorization: Bearer ${token}`, 'ls-remote', `${gitSrv.url}/repo.git`]));
      const st = await stats(gitSrv.url);
      assert.equal(st.unauthorized, 0, JSON.stringify(st)); // the header goes out with the first request
      assert.ok(st.authorized >= 1, JSON.stringify(st));
      assert.deepEqual(st.schemes, { basic: 0, bearer: st.authorized });
    });

    test('bearer from a credential helper answering authtype=Bearer (git >= 2.46)', async () => {
      const version = (await git(['--version'])).stdout.trim();
      const v = /(\d+)\.(\d+)/.exec(version);
      assert.ok(v && (Number(v[1]) > 2 || (Number(v[1]) === 2 && Number(v[2]) >= 46)),
        `credential helpers answering authtype=Bearer need git >= 2.46; found ${version} (Debian 12's git is 2.39)`);
      await reset(gitSrv.url);
      const helper = path.join(tmp, 'bearer-helper.sh');
      const seen = path.join(tmp, 'bearer-helper.in');
      fs.writeFileSync(helper, `#!/bin/sh\nif [ "$1" = get ]; then\n  cat >${seen}\n  echo capability[]=authtype\n  echo authtype=Bearer\n  echo credential=${token}\nfi\n`, { mode: 0o755 });
      ok(await git(['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, 'ls-remote', `${gitSrv.url}/repo.git`]));
      const input = fs.readFileSync(seen, 'utf8');
      assert.match(input, /^capability\[\]=authtype$/m);
      assert.match(input, /^wwwauth\[\]=Basic realm="keyhaven-test"$/m);
      const st = await stats(gitSrv.url);
      assert.deepEqual(st.schemes, { basic: 0, bearer: st.authorized });
      assert.ok(st.authorized >= 1, JSON.stringify(st));
    });

    test('a bad token fails clone and push with "Authentication failed"', async () => {
      await reset(gitSrv.url);
      failsWith(await git([...gitHelper('not-a-token'), 'clone', '-q', `${gitSrv.url}/repo.git`, path.join(tmp, 'git-bad')]), /Authentication failed/);
      failsWith(await git([...gitHelper('not-a-token'), 'push', '-q', 'origin', 'main'], { cwd: path.join(tmp, 'git-work') }), /Authentication failed/);
      failsWith(await git(['ls-remote', `${gitSrv.url}/repo.git`]), /could not read Username|Authentication failed/);
      const st = await stats(gitSrv.url);
      assert.equal(st.authorized, 0, JSON.stringify(st));
      assert.equal(st.rejected.inactive, 2);
    });
  });

  // --- kubectl --------------------------------------------------------------------------------
  describe('kube-server', () => {
    test('kubectl get --raw /version with the token (certificate-authority file and -data)', async () => {
      await reset(kube.url.replace('https', 'http'));
      const r1 = await kubectl(kubeconfig({ server: kube.url, token, caFile: kube.ca_file }), ['get', '--raw', '/version']);
      ok(r1);
      assert.equal(JSON.parse(r1.stdout).gitVersion, 'v1.32.0-keyhaven-test');
      const r2 = await kubectl(kubeconfig({ server: kube.url, token, caData: kube.ca_data }), ['version', '-o', 'json']);
      ok(r2);
      assert.equal(JSON.parse(r2.stdout).serverVersion.gitVersion, 'v1.32.0-keyhaven-test');
      const st = await stats(kube.http_url);
      assert.equal(st.unauthorized, 0, JSON.stringify(st));
      assert.ok(st.authorized >= 2, JSON.stringify(st));
      assert.equal(st.distinct_tokens, 1);
      assert.deepEqual(st.schemes, { basic: 0, bearer: st.authorized });
    });

    test('a bad token: 401 Status, kubectl says Unauthorized', async () => {
      await reset(kube.http_url);
      const r = await fetch(`${kube.http_url}/version`, { headers: { Authorization: 'Bearer nope' } });
      assert.equal(r.status, 401);
      assert.deepEqual(await r.json(), {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401,
      });
      failsWith(await kubectl(kubeconfig({ server: kube.url, token: 'nope', caFile: kube.ca_file }), ['get', '--raw', '/version']), /Unauthorized/);
      const st = await stats(kube.http_url);
      assert.equal(st.authorized, 0);
      assert.ok(st.rejected.inactive >= 2, JSON.stringify(st));
    });

    test('kubectl sends no bearer token to a plain-http server', async () => {
      await reset(kube.http_url);
      failsWith(await kubectl(kubeconfig({ server: kube.http_url, token }), ['get', '--raw', '/version']), /Unauthorized/);
      const st = await stats(kube.http_url);
      assert.equal(st.authorized, 0);
      assert.ok(st.rejected.missing >= 1, JSON.stringify(st));
    });
  });

  // --- skopeo ---------------------------------------------------------------------------------
  describe('registry-proxy', () => {
    test('no or bad credentials: 401, Basic challenge, registry error body', async () => {
      await reset(reg.url);
      for (const headers of [{}, { Authorization: basicHeader('u', 'nope') }, { Authorization: `Bearer ${token}` }]) {
        const r = await fetch(`${reg.url}/v2/`, { headers });
        assert.equal(r.status, 401);
        assert.equal(r.headers.get('www-authenticate'), 'Basic realm="keyhaven-test"');
        const body = await r.json();
        assert.equal(body.errors[0].code, 'UNAUTHORIZED');
        assert.equal(body.errors[0].message, 'authentication required');
      }
      const good = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basicHeader('u', token) } });
      assert.equal(good.status, 200);
      assert.equal(good.headers.get('docker-distribution-api-version'), 'registry/2.0');
      const st = await stats(reg.url);
      assert.deepEqual(st.rejected, { missing: 1, malformed: 0, wrong_scheme: 1, inactive: 1 });
      assert.equal(st.authorized, 1);
    });

    test('skopeo copy (auth file) and inspect (--creds) with the token', async () => {
      await reset(reg.url);
      const dest = `docker://${reg.host}/keyhaven/test:latest`;
      ok(await skopeo(['copy', '--dest-tls-verify=false', `oci:${OCI}:latest`, dest], { REGISTRY_AUTH_FILE: authFile(reg.host, 'keyhaven', token) }));
      const r = await skopeo(['inspect', '--tls-verify=false', '--creds', `keyhaven:${token}`, dest]);
      ok(r);
      const info = JSON.parse(r.stdout);
      assert.equal(info.Digest, ociDigest);
      assert.deepEqual(info.RepoTags, ['latest']);
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `keyhaven:${token}`, dest]);
      ok(raw);
      assert.equal(JSON.parse(raw.stdout).mediaType, 'application/vnd.oci.image.manifest.v1+json');
      // and back out again: blobs are streamed through the proxy both ways
      ok(await skopeo(['copy', '--src-tls-verify=false', '--src-creds', `keyhaven:${token}`, dest, `oci:${path.join(tmp, 'oci-back')}:latest`]));
      const st = await stats(reg.url);
      assert.ok(st.authorized >= 6, JSON.stringify(st));
      assert.equal(st.distinct_tokens, 1);
      assert.deepEqual(st.usernames, ['keyhaven']);
      assert.deepEqual(st.schemes, { basic: st.authorized, bearer: 0 });
      // containers/image pings /v2/ anonymously first, once per skopeo run
      assert.equal(st.unauthorized, st.rejected.missing, JSON.stringify(st));
    });

    test('a bad token fails skopeo copy and inspect', async () => {
      await reset(reg.url);
      const dest = `docker://${reg.host}/keyhaven/test:latest`;
      failsWith(await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'keyhaven:nope', `oci:${OCI}:latest`, dest]), /unauthorized|authentication required/i);
      failsWith(await skopeo(['inspect', '--tls-verify=false', '--creds', 'keyhaven:nope', dest]), /unauthorized|authentication required/i);
      failsWith(await skopeo(['inspect', '--tls-verify=false', dest]), /unauthorized|authentication required/i);
      const st = await stats(reg.url);
      assert.equal(st.authorized, 0, JSON.stringify(st));
      assert.ok(st.rejected.inactive >= 2, JSON.stringify(st));
    });
  });

  // --- expiry ---------------------------------------------------------------------------------
  test('an expired token (KH_AS_ACCESS_TTL=2, 3 s later) is refused by all three', async () => {
    ok(await git(['init', '-q', '--bare', '-b', 'main', path.join(GIT_ROOT, 'short.git')]));
    const gitToken = await getToken(asShort);
    const issued = Date.now();
    const before1 = await git([...gitHelper(gitToken), 'ls-remote', `${gitShort.url}/repo.git`]);
    const kubeToken = await getToken(asShort);
    const kcfg = kubeconfig({ server: kubeShort.url, token: kubeToken, caFile: kubeShort.ca_file });
    const before2 = await kubectl(kcfg, ['get', '--raw', '/version']);
    const regToken = await getToken(asShort);
    const dest = `docker://${regShort.host}/keyhaven/short:latest`;
    const before3 = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `u:${regToken}`, `oci:${OCI}:latest`, dest]);
    const slow = Date.now() - issued > 1500 ? ` (the tools took ${Date.now() - issued} ms: machine too slow for a 2 s token?)` : '';
    assert.equal(before1.code, 0, `git with a fresh token${slow}: ${before1.stderr}`);
    assert.equal(before2.code, 0, `kubectl with a fresh token${slow}: ${before2.stderr}`);
    assert.equal(before3.code, 0, `skopeo with a fresh token${slow}: ${before3.stderr}`);

    await sleep(Math.max(0, issued + 3000 - Date.now()) + 1000);
    for (const t of [gitToken, kubeToken, regToken]) assert.equal(await introspectActive(asShort, t), false, 'token still active');
    for (const s of [gitShort, kubeShort, regShort]) await reset(s.http_url ?? s.url);
    failsWith(await git([...gitHelper(gitToken), 'ls-remote', `${gitShort.url}/repo.git`]), /Authentication failed/);
    failsWith(await kubectl(kcfg, ['get', '--raw', '/version']), /Unauthorized/);
    failsWith(await skopeo(['inspect', '--tls-verify=false', '--creds', `u:${regToken}`, dest]), /unauthorized/i);
    for (const s of [gitShort, kubeShort, regShort]) {
      const st = await stats(s.http_url ?? s.url);
      assert.equal(st.authorized, 0, JSON.stringify(st));
      assert.ok(st.rejected.inactive >= 1, JSON.stringify(st));
    }
  });

  // --- lifecycle ------------------------------------------------------------------------------
  test('servers exit when stdin closes; the registry dies with its proxy (even on SIGKILL)', async () => {
    const backendUp = async (url) => {
      try { await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) }); return true; } catch { return false; }
    };
    for (const s of [gitShort, kubeShort, regShort]) {
      const e = await Promise.race([stop(s), sleep(5000, 'timeout', { ref: false })]);
      assert.deepEqual(e, { code: 0, sig: null }, `${s.url} exit`);
    }
    assert.equal(fs.existsSync(kubeShort.ca_file), false, 'kube-server removes its temporary certificate');
    assert.equal(await backendUp(regShort.backend), false, 'docker-registry still running after its proxy exited');

    const doomed = await startServer(path.join(HERE, 'registry-proxy.mjs'), { KH_INTROSPECT_URL: `${as.issuer}/token/introspection` });
    assert.equal(await backendUp(doomed.backend), true);
    doomed.child.kill('SIGKILL');
    let up = true;
    for (let i = 0; i < 40 && up; i += 1) { await sleep(100); up = await backendUp(doomed.backend); }
    assert.equal(up, false, 'docker-registry survived a SIGKILLed proxy');
    fs.rmSync(doomed.dir, { recursive: true, force: true }); // a SIGKILLed proxy cannot clean up
  });
});

#!/usr/bin/env node
// Keyhaven test container registry: a real Docker registry (distribution, Debian package
// `docker-registry`) run as a child process without authentication on a private loopback port,
// behind this authenticating reverse proxy. Every request needs HTTP Basic credentials whose
// password is an OAuth access token that introspects (RFC 7662) as active.
//
//   KH_INTROSPECT_URL=http://127.0.0.1:N/token/introspection node tests/tool-servers/registry-proxy.mjs
//
// Binds 127.0.0.1 on an ephemeral port. When ready (the registry answers GET /v2/) it prints
// exactly one JSON line to stdout:
//   {"url":"http://127.0.0.1:PORT","port":PORT,"host":"127.0.0.1:PORT","backend":"http://127.0.0.1:BPORT",
//    "dir":"/tmp/kh-registry-..."}   (dir: config + storage, removed at exit)
// and from then on writes only to stderr. Exits on SIGTERM/SIGINT and when stdin reaches EOF,
// killing the registry and removing its storage. See README.md.
//
// TEST FIXTURE ONLY. Node 20 built-ins only (no npm dependencies).

import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  Stats, checkAuth, drain, fail, installShutdown, introspectionConfig, makeLog, onExit, printReady, sendJson, testRoutes,
} from './common.mjs';

const NAME = 'registry-proxy';
const log = makeLog(NAME);
const cfg = introspectionConfig(NAME);
const REGISTRY_BIN = process.env.KH_REGISTRY_BIN || '/usr/bin/docker-registry';
const stats = new Stats();

if (!fs.existsSync(REGISTRY_BIN)) {
  fail(NAME, `${REGISTRY_BIN} not found: install the Debian package docker-registry (apt-get install -y docker-registry)`);
}

// ---------------------------------------------------------------------------------------------
// The backend registry
// ---------------------------------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-registry-'));
onExit(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// setpriv --pdeathsig KILL: the registry dies with this process even if it is SIGKILLed.
const HAVE_SETPRIV = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

let backend = null; // ChildProcess
onExit(() => { if (backend && backend.exitCode === null) backend.kill('SIGKILL'); });

function registryConfig(port) {
  // YAML by hand (JSON is YAML too, but keep it readable for whoever looks at the temp dir).
  return `version: 0.1
log:
  level: ${process.env.KH_TOOL_LOG === '1' ? 'info' : 'error'}
  accesslog:
    disabled: ${process.env.KH_TOOL_LOG === '1' ? 'false' : 'true'}
storage:
  filesystem:
    rootdirectory: ${path.join(tmp, 'data')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${crypto.randomBytes(16).toString('hex')}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
`;
}

function get(url) {
  return new Promise((resolve, reject) => {
    const r = http.get(url, { agent: false, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode); });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
  });
}

async function startBackend() {
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freePort();
    const configFile = path.join(tmp, 'config.yml');
    fs.writeFileSync(configFile, registryConfig(port));
    const [cmd, args] = HAVE_SETPRIV
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', REGISTRY_BIN, 'serve', configFile]]
      : [REGISTRY_BIN, ['serve', configFile]];
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'ignore', process.env.KH_TOOL_LOG === '1' ? 'inherit' : 'pipe'],
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    });
    backend = child;
    let stderr = '';
    child.stderr?.on('data', (d) => { stderr = (stderr + d).slice(-8192); });
    let exited = null;
    child.on('exit', (code, sig) => {
      exited = { code, sig };
      if (!shuttingDown) log.info(`docker-registry exited (${code ?? sig}) ${stderr.trim()}`);
    });
    child.on('error', (e) => { exited = { code: -1, sig: e.message }; });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !exited) {
      try {
        if ((await get(`http://127.0.0.1:${port}/v2/`)) === 200) return port;
      } catch { /* not up yet */ }
      await sleep(50);
    }
    if (!exited) {
      child.kill('SIGKILL');
      fail(NAME, `docker-registry did not answer GET /v2/ within 20 s: ${stderr.trim()}`);
    }
    log.info(`docker-registry attempt ${attempt} failed (${exited.code ?? exited.sig}): ${stderr.trim()}`);
  }
  fail(NAME, 'docker-registry would not start');
  return 0;
}

let shuttingDown = false;
let backendPort = 0;
let BACKEND_HOST = '';

// ---------------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------------
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function unauthorized(res) {
  sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }, {
    'WWW-Authenticate': 'Basic realm="keyhaven-test"',
    'Docker-Distribution-Api-Version': 'registry/2.0',
  });
}

/** Rewrites a URL (absolute or not) that points at the backend so it points at the proxy. */
function rewriteLocation(value, proxyHost) {
  return value
    .replace(`http://${BACKEND_HOST}`, `http://${proxyHost}`)
    .replace(`//${BACKEND_HOST}`, `//${proxyHost}`);
}

function forward(req, res) {
  const proxyHost = req.headers.host || `127.0.0.1:${port}`;
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k === 'authorization' || HOP_BY_HOP.has(k)) continue;
    headers[k] = v;
  }
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-host'] = proxyHost;
  // Host stays the client's: the registry builds absolute URLs (Location of uploads) from it.
  const upstream = http.request({
    host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers, agent,
  }, (up) => {
    const out = {};
    for (const [k, v] of Object.entries(up.headers)) {
      if (HOP_BY_HOP.has(k)) continue;
      out[k] = k === 'location' ? rewriteLocation(String(v), proxyHost) : v;
    }
    res.writeHead(up.statusCode, up.statusMessage, out);
    up.pipe(res);
    up.on('error', () => res.destroy());
  });
  upstream.on('error', (e) => {
    log.info(`backend request ${req.method} ${req.url} failed: ${e.message}`);
    if (!res.headersSent) sendJson(res, 502, { errors: [{ code: 'UNAVAILABLE', message: `registry backend: ${e.message}` }] });
    else res.destroy();
  });
  req.on('aborted', () => upstream.destroy());
  res.on('close', () => { if (!res.writableFinished) upstream.destroy(); });
  req.pipe(upstream);
}

async function handle(req, res) {
  if (testRoutes(req, res, stats)) return;
  stats.requests += 1;
  const verdict = await checkAuth({ req, stats, cfg, schemes: ['basic'], log });
  if (!verdict.ok) {
    drain(req);
    if (verdict.reason === 'introspection_error') {
      sendJson(res, 503, { errors: [{ code: 'UNAVAILABLE', message: `token introspection failed: ${verdict.error}` }] });
      return;
    }
    unauthorized(res);
    return;
  }
  forward(req, res);
}

// ---------------------------------------------------------------------------------------------
// Start: the stdin watch first (a harness that dies during start-up must not leave a registry
// behind), then the registry, then the listening proxy.
// ---------------------------------------------------------------------------------------------
const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    log.info(`error: ${e.stack ?? e}`);
    if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(e.message ?? e) }] });
    else res.destroy();
  });
});
server.keepAliveTimeout = 5000;
server.requestTimeout = 0; // large blob uploads
onExit(() => { shuttingDown = true; agent.destroy(); }); // runs before the backend is killed
installShutdown([server], log);

backendPort = await startBackend();
BACKEND_HOST = `127.0.0.1:${backendPort}`;
backend.on('exit', () => {
  if (shuttingDown) return;
  log.info('docker-registry died: exiting');
  process.exit(1);
});

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const { port } = server.address();
printReady({ url: `http://127.0.0.1:${port}`, port, host: `127.0.0.1:${port}`, backend: `http://${BACKEND_HOST}`, dir: tmp });
log.debug(`listening on http://127.0.0.1:${port} -> ${BACKEND_HOST}, introspecting at ${cfg.url}`);

#!/usr/bin/env node
// Keyhaven test OAuth-protected resource (an MCP-style endpoint at /mcp), for "connect by URL
// with zero set-up" tests: RFC 9728 protected-resource metadata, RFC 6750 bearer errors,
// RFC 8707 audience checks by RFC 7662 introspection against tests/oauth-server.
//
//   KH_RS_ISSUER=http://127.0.0.1:AS_PORT node tests/resource-server/server.mjs [--port N]
//
// Binds 127.0.0.1 only. When ready it prints exactly one JSON line to stdout:
//   {"url":"http://127.0.0.1:PORT","resource":"http://127.0.0.1:PORT/mcp",
//    "resource_metadata":"http://127.0.0.1:PORT/.well-known/oauth-protected-resource/mcp",
//    "issuer":"<KH_RS_ISSUER>","mode":"good"}
// and from then on writes only to stderr. Exits on SIGTERM/SIGINT and when stdin reaches EOF
// (unless stdin is /dev/null). See README.md. TEST FIXTURE ONLY; Node 20 built-ins only.

import * as fs from 'node:fs';
import * as http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------------
// Output discipline: stdout carries exactly one line (the ready line); everything else -> stderr.
// ---------------------------------------------------------------------------------------------
const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);
const VERBOSE = process.env.KH_RS_LOG === '1';
const log = (...a) => console.error('[resource-server]', ...a);
const debug = (...a) => { if (VERBOSE) log(...a); };
function fail(msg) {
  process.stderr.write(`resource-server: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Arguments and environment
// ---------------------------------------------------------------------------------------------
let listenPort = 0;
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    let v;
    if (argv[i] === '--port') { v = argv[i + 1]; i += 1; } else if (argv[i].startsWith('--port=')) v = argv[i].slice(7);
    else fail(`unknown argument ${argv[i]} (usage: server.mjs [--port N])`);
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535) fail(`bad --port value ${v}`);
    listenPort = Number(v);
  }
}

const ISSUER = process.env.KH_RS_ISSUER;
if (!ISSUER) fail('KH_RS_ISSUER is required (the authorization server issuer, e.g. http://127.0.0.1:PORT)');
if (!URL.parse(ISSUER)) fail(`KH_RS_ISSUER is not a URL: ${ISSUER}`);
const INTROSPECT_URL = process.env.KH_INTROSPECT_URL || `${ISSUER.replace(/\/$/, '')}/token/introspection`;
if (!URL.parse(INTROSPECT_URL)) fail(`KH_INTROSPECT_URL is not a URL: ${INTROSPECT_URL}`);
const INTROSPECT_CLIENT = process.env.KH_INTROSPECT_CLIENT || 'keyhaven-confidential';
const INTROSPECT_SECRET = process.env.KH_INTROSPECT_SECRET || 'keyhaven-confidential-secret';
const SCOPE = (process.env.KH_RS_SCOPE ?? 'openid offline_access').trim();
const REQUIRED_SCOPES = (process.env.KH_RS_REQUIRED_SCOPE ?? '').split(' ').filter(Boolean);
const SLOW_MS = process.env.KH_RS_SLOW_MS ? Number(process.env.KH_RS_SLOW_MS) : 30_000;
if (!Number.isInteger(SLOW_MS) || SLOW_MS < 0) fail('KH_RS_SLOW_MS must be a non-negative integer');

const MODES = [
  'good', 'resource-mismatch', 'other-scheme-as', 'http-as', 'oversized', 'slow', 'redirect',
  'no-header', 'mixup', 'plain-pkce', 'no-client-id',
];
const MODE = process.env.KH_RS_MODE || 'good';
if (!MODES.includes(MODE)) fail(`unknown KH_RS_MODE ${MODE}; one of ${MODES.join(', ')}`);
const FAKE_AS_MODES = new Set(['mixup', 'plain-pkce', 'no-client-id']);

// ---------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------
let stats;
function resetStats() {
  stats = {
    requests: 0, // every request except /__test/ ones
    mcp: 0, // requests to /mcp
    metadata: 0, // protected-resource metadata requests (both paths)
    unauthorized: 0, // 401s
    forbidden: 0, // 403s (insufficient_scope)
    authorized: 0,
    rejected: { missing: 0, malformed: 0, inactive: 0, wrong_audience: 0 },
    introspections: 0,
    introspection_errors: 0, // the AS could not be asked (answered 503)
    tokens: new Set(), // distinct tokens presented (accepted or not)
    audiences: new Set(), // audiences of active tokens presented
    fake_as: { metadata: 0, registration: 0 },
  };
}
resetStats();
const statsJson = () => ({
  ...stats,
  rejected: { ...stats.rejected },
  fake_as: { ...stats.fake_as },
  tokens: undefined,
  distinct_tokens: stats.tokens.size,
  audiences: [...stats.audiences],
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
function sendJson(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

async function readBody(req, limit = 1024 * 1024) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > limit) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const quote = (s) => `"${String(s).replace(/["\\]/g, '\\$&')}"`;

async function introspect(token) {
  stats.introspections += 1;
  const auth = Buffer.from(`${encodeURIComponent(INTROSPECT_CLIENT)}:${encodeURIComponent(INTROSPECT_SECRET)}`).toString('base64');
  const res = await fetch(INTROSPECT_URL, {
    method: 'POST',
    headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let claims;
  try {
    claims = JSON.parse(text);
  } catch {
    throw new Error(`introspection answered ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  // oidc-provider refuses to introspect JWT access tokens (400 unsupported_token_type): such a
  // token cannot be checked here, so it counts as not active.
  if (res.status === 400 && claims.error === 'unsupported_token_type') return { active: false, claims };
  if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${text.slice(0, 200)}`);
  // Only bearer access tokens count (oidc-provider omits token_type for refresh tokens).
  const active = claims.active === true && String(claims.token_type ?? '').toLowerCase() === 'bearer';
  return { active, claims };
}

// ---------------------------------------------------------------------------------------------
// HTTP server first (port 0 needs the real port before the URLs are known)
// ---------------------------------------------------------------------------------------------
const server = http.createServer((req, res) => {
  route(req, res).catch((e) => {
    log('handler error', e);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(e.message) });
    else res.destroy();
  });
});
server.keepAliveTimeout = 5000;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(listenPort, '127.0.0.1', resolve);
});
const { port } = server.address();
const BASE = `http://127.0.0.1:${port}`;
const RESOURCE = `${BASE}/mcp`;
const METADATA_URL = `${BASE}/.well-known/oauth-protected-resource/mcp`;
const FAKE_AS = `${BASE}/fake-as`;

// ---------------------------------------------------------------------------------------------
// RFC 9728 protected-resource metadata, per mode
// ---------------------------------------------------------------------------------------------
function resourceMetadata() {
  const doc = {
    resource: RESOURCE,
    authorization_servers: [ISSUER],
    scopes_supported: SCOPE.split(' ').filter(Boolean),
    bearer_methods_supported: ['header'],
    resource_name: 'Keyhaven test MCP resource',
  };
  switch (MODE) {
    case 'resource-mismatch': doc.resource = `${BASE}/other-mcp`; break;
    case 'other-scheme-as': doc.authorization_servers = [`ftp://127.0.0.1:${port}/fake-as`]; break;
    case 'http-as': doc.authorization_servers = ['http://as.example.test']; break;
    case 'oversized': doc.padding = 'x'.repeat(1024 * 1024 + 512 * 1024); break; // body > 1.5 MiB
    default:
      if (FAKE_AS_MODES.has(MODE)) doc.authorization_servers = [FAKE_AS];
  }
  return doc;
}

async function serveMetadata(req, res) {
  stats.metadata += 1;
  if (MODE === 'redirect') {
    // Another origin (localhost instead of 127.0.0.1): a client must not follow it.
    const location = `http://localhost:${port}${req.url}`;
    res.writeHead(302, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  if (MODE === 'slow') {
    const gone = new Promise((resolve) => res.once('close', resolve));
    await Promise.race([sleep(SLOW_MS), gone]);
    if (res.destroyed || res.writableEnded) return;
  }
  sendJson(res, 200, resourceMetadata());
}

// ---------------------------------------------------------------------------------------------
// Fake authorization server (modes mixup, plain-pkce, no-client-id): its metadata is the real AS's
// (fetched on each request) with a few fields changed; every endpoint but registration stays the
// real AS's.
// ---------------------------------------------------------------------------------------------
const FAKE_AS_METADATA_PATHS = new Set([
  '/fake-as/.well-known/oauth-authorization-server', // issuer + suffix
  '/.well-known/oauth-authorization-server/fake-as', // RFC 8414 path-inserted form
  '/fake-as/.well-known/openid-configuration', // OIDC form
  '/.well-known/openid-configuration/fake-as', // OIDC path-inserted variant
]);

async function realAsMetadata() {
  try {
    const res = await fetch(`${ISSUER.replace(/\/$/, '')}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(5000) });
    if (res.ok) return await res.json();
  } catch (e) {
    log(`could not fetch the real AS metadata: ${e.message}`);
  }
  const i = ISSUER.replace(/\/$/, '');
  return {
    issuer: ISSUER,
    authorization_endpoint: `${i}/auth`,
    token_endpoint: `${i}/token`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
  };
}

async function serveFakeAsMetadata(res) {
  stats.fake_as.metadata += 1;
  const doc = await realAsMetadata();
  if (MODE === 'mixup') {
    doc.issuer = ISSUER; // listed as FAKE_AS, claims to be the real issuer
  } else if (MODE === 'plain-pkce') {
    doc.issuer = FAKE_AS;
    doc.code_challenge_methods_supported = ['plain'];
  } else if (MODE === 'no-client-id') {
    doc.issuer = FAKE_AS;
    doc.registration_endpoint = `${FAKE_AS}/register`;
  }
  sendJson(res, 200, doc);
}

async function serveFakeRegistration(req, res) {
  stats.fake_as.registration += 1;
  let meta = {};
  try {
    meta = JSON.parse((await readBody(req)) || '{}');
  } catch {
    meta = {};
  }
  // 201 with the client's own metadata echoed, but no client_id.
  const { client_id: _dropped, ...rest } = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta : {};
  sendJson(res, 201, { ...rest, client_id_issued_at: Math.floor(Date.now() / 1000) });
}

// ---------------------------------------------------------------------------------------------
// The protected endpoint
// ---------------------------------------------------------------------------------------------
function challenge(params = {}) {
  let all;
  if (MODE === 'no-header') {
    // no resource_metadata and no scope (a bare "Bearer" when there is no error): clients must
    // try the well-known URL themselves
    all = { ...params };
  } else {
    all = { ...params, resource_metadata: METADATA_URL };
    if (!('scope' in all) && SCOPE) all.scope = SCOPE;
  }
  if (Object.keys(all).length === 0) return 'Bearer';
  return `Bearer ${Object.entries(all).map(([k, v]) => `${k}=${quote(v)}`).join(', ')}`;
}

function unauthorized(res, reason, params = {}, description) {
  stats.unauthorized += 1;
  stats.rejected[reason] += 1;
  const body = params.error ? { error: params.error, error_description: description } : { error: 'unauthorized' };
  const p = { ...params };
  if (description && p.error) p.error_description = description;
  sendJson(res, 401, body, { 'WWW-Authenticate': challenge(p) });
}

/**
 * The authorized request: replace this function with a real MCP server later.
 * `token` is the introspection answer (active, aud includes RESOURCE, required scopes present).
 */
async function handleAuthorized(req, res, token) {
  let body = null;
  if (req.method === 'POST') {
    const raw = await readBody(req);
    try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
  } else {
    req.resume();
  }
  sendJson(res, 200, {
    ok: true,
    sub: token.sub,
    aud: token.aud,
    scope: token.scope,
    client_id: token.client_id,
    method: req.method,
    // echo a JSON-RPC id so a minimal MCP-ish client sees its request answered
    ...(body && typeof body === 'object' && 'id' in body ? { id: body.id } : {}),
  });
}

async function serveMcp(req, res) {
  stats.mcp += 1;
  const header = req.headers.authorization;
  if (!header) {
    req.resume();
    return unauthorized(res, 'missing');
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    req.resume();
    return unauthorized(res, 'malformed', { error: 'invalid_request' }, 'expected Authorization: Bearer <token>');
  }
  const token = m[1];
  stats.tokens.add(token);
  let verdict;
  try {
    verdict = await introspect(token);
  } catch (e) {
    req.resume();
    stats.introspection_errors += 1;
    log(`introspection failed: ${e.message}`);
    return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'token introspection failed' });
  }
  if (!verdict.active) {
    req.resume();
    return unauthorized(res, 'inactive', { error: 'invalid_token' }, 'the access token is not active');
  }
  const aud = verdict.claims.aud;
  const auds = aud === undefined ? [] : [].concat(aud);
  for (const a of auds) stats.audiences.add(a);
  if (!auds.includes(RESOURCE)) {
    req.resume();
    debug(`token for audience ${JSON.stringify(aud)} refused (want ${RESOURCE})`);
    return unauthorized(res, 'wrong_audience', { error: 'invalid_token' }, `the access token is not for ${RESOURCE}`);
  }
  const have = new Set(String(verdict.claims.scope ?? '').split(' ').filter(Boolean));
  const missing = REQUIRED_SCOPES.filter((s) => !have.has(s));
  if (missing.length) {
    req.resume();
    stats.forbidden += 1;
    const scope = [...new Set([...REQUIRED_SCOPES, ...have])].join(' ');
    return sendJson(res, 403, { error: 'insufficient_scope', error_description: `missing scope ${missing.join(' ')}` }, {
      'WWW-Authenticate': `Bearer error="insufficient_scope", scope=${quote(scope)}, resource_metadata=${quote(METADATA_URL)}, error_description=${quote(`missing scope ${missing.join(' ')}`)}`,
    });
  }
  stats.authorized += 1;
  debug(`${req.method} /mcp authorized (sub=${verdict.claims.sub})`);
  return handleAuthorized(req, res, verdict.claims);
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------
async function route(req, res) {
  const { pathname } = new URL(req.url, BASE);
  debug(`${req.method} ${req.url}`);
  if (pathname.startsWith('/__test/')) {
    req.resume();
    if (req.method === 'GET' && pathname === '/__test/stats') return sendJson(res, 200, statsJson());
    if (req.method === 'POST' && pathname === '/__test/reset') {
      resetStats();
      return sendJson(res, 200, { ok: true });
    }
    return sendJson(res, 404, { error: `no such test route: ${req.method} ${pathname}` });
  }
  stats.requests += 1;
  if (pathname === '/mcp' || pathname.startsWith('/mcp/')) return serveMcp(req, res);
  if (pathname === '/.well-known/oauth-protected-resource/mcp' || pathname === '/.well-known/oauth-protected-resource') {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' }, { Allow: 'GET' });
    return serveMetadata(req, res);
  }
  if (FAKE_AS_MODES.has(MODE) && FAKE_AS_METADATA_PATHS.has(pathname) && req.method === 'GET') {
    req.resume();
    return serveFakeAsMetadata(res);
  }
  if (MODE === 'no-client-id' && pathname === '/fake-as/register' && req.method === 'POST') {
    return serveFakeRegistration(req, res);
  }
  req.resume();
  return sendJson(res, 404, { error: 'not_found' });
}

// ---------------------------------------------------------------------------------------------
// Ready line, then shutdown handling
// ---------------------------------------------------------------------------------------------
stdoutWrite(`${JSON.stringify({
  url: BASE, resource: RESOURCE, resource_metadata: METADATA_URL, issuer: ISSUER, mode: MODE,
})}\n`);
log(`listening on ${BASE} (resource ${RESOURCE}, mode ${MODE}, AS ${ISSUER})`);

let shuttingDown = false;
function shutdown(reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  debug(`shutting down (${reason})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

function stdinIsDevNull() {
  try {
    const st = fs.fstatSync(0);
    const nul = fs.statSync('/dev/null');
    return st.isCharacterDevice() && st.rdev === nul.rdev;
  } catch {
    return false;
  }
}
if (stdinIsDevNull()) {
  log('stdin is /dev/null: not watching stdin; stop the server with SIGTERM');
} else {
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

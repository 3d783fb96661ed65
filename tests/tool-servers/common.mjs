// Shared plumbing of the Keyhaven tool servers (git-server.mjs, kube-server.mjs,
// registry-proxy.mjs): output discipline, token introspection, counters, the /__test/ routes
// and the stdin watch. TEST FIXTURE ONLY. Node 20 built-ins only (no npm dependencies).

import * as fs from 'node:fs';

// ---------------------------------------------------------------------------------------------
// Output discipline: stdout carries exactly one line (the ready line); everything else -> stderr.
// ---------------------------------------------------------------------------------------------
const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);
let readyPrinted = false;

/** Prints the one JSON ready line on stdout (only once). */
export function printReady(obj) {
  if (readyPrinted) throw new Error('ready line already printed');
  readyPrinted = true;
  stdoutWrite(`${JSON.stringify(obj)}\n`);
}

export function makeLog(name) {
  const verbose = process.env.KH_TOOL_LOG === '1';
  return {
    info: (...a) => console.error(`[${name}]`, ...a),
    debug: (...a) => { if (verbose) console.error(`[${name}]`, ...a); },
  };
}

export function fail(name, msg) {
  process.stderr.write(`${name}: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Introspection (RFC 7662). Every request is introspected: no cache, so a token that expires or
// is revoked is refused from the next request on.
// ---------------------------------------------------------------------------------------------
export function introspectionConfig(name) {
  const url = process.env.KH_INTROSPECT_URL;
  if (!url) fail(name, 'KH_INTROSPECT_URL is required (e.g. http://127.0.0.1:PORT/token/introspection)');
  try {
    new URL(url); // eslint-disable-line no-new
  } catch {
    fail(name, `KH_INTROSPECT_URL is not a URL: ${url}`);
  }
  const client = process.env.KH_INTROSPECT_CLIENT || 'keyhaven-confidential';
  const secret = process.env.KH_INTROSPECT_SECRET || 'keyhaven-confidential-secret';
  return { url, client, secret };
}

/**
 * Introspects `token`. Returns { active: boolean, claims } or throws when the authorization
 * server cannot be asked (network error, non-200 answer, not JSON).
 * Only bearer access tokens count: an answer with active=true but a token_type other than
 * "Bearer" is treated as inactive. oidc-provider leaves token_type out for refresh tokens, so a
 * credential helper that hands out a refresh token instead of an access token is refused.
 */
export async function introspect(cfg, token) {
  const auth = Buffer.from(`${encodeURIComponent(cfg.client)}:${encodeURIComponent(cfg.secret)}`).toString('base64');
  const res = await fetch(cfg.url, {
    method: 'POST',
    headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${text.slice(0, 200)}`);
  let claims;
  try {
    claims = JSON.parse(text);
  } catch {
    throw new Error(`introspection answer is not JSON: ${text.slice(0, 200)}`);
  }
  let active = claims.active === true;
  if (active && String(claims.token_type ?? '').toLowerCase() !== 'bearer') active = false;
  return { active, claims };
}

// ---------------------------------------------------------------------------------------------
// Authorization header parsing
// ---------------------------------------------------------------------------------------------
/**
 * Parses an Authorization header. Returns null when absent, else
 * { scheme: 'basic'|'bearer'|'other', token, username }. For Basic the token is the password.
 */
export function parseAuthorization(header) {
  if (!header) return null;
  const m = /^(\S+)\s+(.*)$/.exec(header.trim());
  if (!m) return { scheme: 'other', token: '', username: null };
  const scheme = m[1].toLowerCase();
  const rest = m[2].trim();
  if (scheme === 'bearer') return { scheme, token: rest, username: null };
  if (scheme === 'basic') {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { scheme, token: '', username: decoded };
    return { scheme, token: decoded.slice(colon + 1), username: decoded.slice(0, colon) };
  }
  return { scheme: 'other', token: '', username: null };
}

// ---------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------
export class Stats {
  constructor() {
    this.denied = new Set(); // tokens refused whatever the AS says (POST /__test/deny-seen)
    this.reset();
  }

  reset() {
    this.requests = 0; // every request except /__test/ ones
    this.unauthorized = 0; // answered 401
    this.authorized = 0; // passed on (token introspected as active)
    this.tokens = new Set(); // distinct accepted tokens
    this.schemes = { basic: 0, bearer: 0 }; // accepted requests per scheme
    this.usernames = new Set(); // distinct Basic usernames of accepted requests
    this.rejected = { missing: 0, malformed: 0, wrong_scheme: 0, inactive: 0 };
    this.introspection_errors = 0; // the AS could not be asked (answered 503)
    this.content_encodings = {}; // accepted requests per request Content-Encoding (e.g. gzip)
  }

  toJSON() {
    return {
      requests: this.requests,
      unauthorized: this.unauthorized,
      authorized: this.authorized,
      distinct_tokens: this.tokens.size,
      schemes: { ...this.schemes },
      usernames: [...this.usernames],
      rejected: { ...this.rejected },
      introspection_errors: this.introspection_errors,
      content_encodings: { ...this.content_encodings },
    };
  }
}

/**
 * The authorization check shared by every server. `schemes` lists the accepted schemes
 * ('basic', 'bearer'). Returns { ok: true, auth, claims } or { ok: false, reason } where reason
 * is 'missing' | 'malformed' | 'wrong_scheme' | 'inactive' | 'introspection_error' (then `error`).
 * Updates `stats`.
 */
export async function checkAuth({ req, stats, cfg, schemes, log }) {
  const auth = parseAuthorization(req.headers.authorization);
  let reason = null;
  if (!auth) reason = 'missing';
  else if (!schemes.includes(auth.scheme)) reason = auth.scheme === 'other' ? 'malformed' : 'wrong_scheme';
  else if (!auth.token) reason = 'malformed';
  if (reason) {
    stats.unauthorized += 1;
    stats.rejected[reason] += 1;
    log.debug(`${req.method} ${req.url}: 401 (${reason})`);
    return { ok: false, reason };
  }
  if (stats.denied.has(auth.token)) {
    stats.unauthorized += 1;
    stats.rejected.inactive += 1;
    log.debug(`${req.method} ${req.url}: 401 (denied by /__test/deny-seen)`);
    return { ok: false, reason: 'inactive' };
  }
  let verdict;
  try {
    verdict = await introspect(cfg, auth.token);
  } catch (e) {
    stats.introspection_errors += 1;
    log.info(`introspection failed: ${e.message}`);
    return { ok: false, reason: 'introspection_error', error: e.message };
  }
  if (!verdict.active) {
    stats.unauthorized += 1;
    stats.rejected.inactive += 1;
    log.debug(`${req.method} ${req.url}: 401 (inactive token)`);
    return { ok: false, reason: 'inactive' };
  }
  stats.authorized += 1;
  stats.tokens.add(auth.token);
  stats.schemes[auth.scheme] += 1;
  if (auth.scheme === 'basic' && auth.username !== null) stats.usernames.add(auth.username);
  const enc = req.headers['content-encoding'];
  if (enc) stats.content_encodings[enc] = (stats.content_encodings[enc] ?? 0) + 1;
  log.debug(`${req.method} ${req.url}: authorized (${auth.scheme}, sub=${verdict.claims.sub ?? verdict.claims.client_id})`);
  return { ok: true, auth, claims: verdict.claims };
}

/** Drains a request body (so that keep-alive works after an early answer). */
export function drain(req) {
  req.resume();
  req.on('error', () => {});
}

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * Handles GET /__test/stats and POST /__test/reset (no authentication). Returns true when the
 * request was a /__test/ route (answered here), false otherwise.
 */
export function testRoutes(req, res, stats, extra = {}) {
  const { pathname } = new URL(req.url, 'http://x');
  if (!pathname.startsWith('/__test/')) return false;
  drain(req);
  const route = `${req.method} ${pathname}`;
  if (route === 'GET /__test/stats') sendJson(res, 200, stats.toJSON());
  else if (route === 'POST /__test/reset') {
    stats.reset();
    sendJson(res, 200, { ok: true });
  } else if (route === 'POST /__test/deny-seen') {
    // The provider revoked every token seen so far: refused from now on, while the AS (and
    // Keyhaven) still consider them valid. What a 401 for a "valid" token looks like.
    for (const t of stats.tokens) stats.denied.add(t);
    sendJson(res, 200, { ok: true, denied: stats.denied.size });
  } else if (extra[route]) extra[route](req, res);
  else sendJson(res, 404, { error: `no such test route: ${route}` });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Shutdown: SIGTERM/SIGINT, stdin EOF (unless stdin is /dev/null), with cleanup callbacks.
// ---------------------------------------------------------------------------------------------
const cleanups = [];
/** Registers a synchronous cleanup run once at exit (kill children, remove temp dirs). */
export function onExit(fn) { cleanups.push(fn); }
let cleaned = false;
function runCleanups() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try { fn(); } catch (e) { console.error('cleanup failed:', e.message); }
  }
}
process.on('exit', runCleanups);

function stdinIsDevNull() {
  try {
    const st = fs.fstatSync(0);
    const nul = fs.statSync('/dev/null');
    return st.isCharacterDevice() && st.rdev === nul.rdev;
  } catch {
    return false;
  }
}

/** Installs the shutdown handlers for `servers` (node http/https/net servers). */
export function installShutdown(servers, log) {
  let shuttingDown = false;
  const shutdown = (reason) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.debug(`shutting down (${reason})`);
    runCleanups();
    let open = servers.length;
    const done = () => { open -= 1; if (open <= 0) process.exit(0); };
    for (const s of servers) {
      s.close(done);
      s.closeAllConnections?.();
    }
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  if (stdinIsDevNull()) {
    log.info('stdin is /dev/null: not watching stdin; stop the server with SIGTERM');
  } else {
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('close', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }
  return shutdown;
}

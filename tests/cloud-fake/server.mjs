#!/usr/bin/env node
// Keyhaven cloud-fake: a local fake of the credential-verification endpoints of cloud and API
// providers, checking each provider's real authentication scheme (bearer tokens, OVH `$1$`
// signatures, Exoscale EXO2-HMAC-SHA256, AWS Signature Version 4, OAuth2 token endpoints,
// Google's RS256 JWT bearer grant, prefixed and half-fixed Basic headers, GraphQL errors).
// The behaviour copied from each provider is specified, with sources, in docs/cloud-providers.md.
//
//   node tests/cloud-fake/server.mjs [--port N] [--accounts FILE]
//
// Binds 127.0.0.1 only. When ready it prints exactly one JSON line to stdout:
//   {"port":N,"base":"http://127.0.0.1:N"}
// and from then on writes only to stderr. Exits 0 on SIGTERM/SIGINT, and when its stdin reaches
// EOF if stdin is a pipe (like tests/oauth-server; /dev/null and terminals are ignored).
//
// Routing: a real URL https://HOST/PATH?QUERY is requested as BASE/HOST/PATH?QUERY; the first path
// segment selects the emulated host. Control routes live under /__fake/ (see README.md).
//
// TEST FIXTURE ONLY. Node 20 built-ins only (no npm dependencies).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);
const VERBOSE = process.env.KH_FAKE_LOG === '1';
const log = (...a) => { if (VERBOSE) console.error('[cloud-fake]', ...a); };

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const out = { port: 0, accounts: path.join(HERE, 'accounts.json') };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const take = (name) => {
      if (a === name) { i += 1; return argv[i]; }
      return a.slice(name.length + 1);
    };
    if (a === '--port' || a.startsWith('--port=')) {
      const v = take('--port');
      if (!/^\d+$/.test(v ?? '') || Number(v) > 65535) fail(`bad --port value ${v}`);
      out.port = Number(v);
    } else if (a === '--accounts' || a.startsWith('--accounts=')) {
      out.accounts = take('--accounts');
    } else if (a === '--help' || a === '-h') {
      process.stderr.write('usage: node server.mjs [--port N] [--accounts FILE]\n');
      process.exit(0);
    } else {
      fail(`unknown argument ${a}`);
    }
  }
  return out;
}
function fail(msg) {
  process.stderr.write(`cloud-fake: ${msg}\n`);
  process.exit(2);
}

const ARGS = parseArgs(process.argv.slice(2));
const ACCOUNTS = JSON.parse(fs.readFileSync(ARGS.accounts, 'utf8'));

/** All credential sets of one provider, as [name, object] pairs (keys starting with _ skipped). */
function sets(provider) {
  return Object.entries(ACCOUNTS[provider] ?? {}).filter(
    ([k, v]) => !k.startsWith('_') && v && typeof v === 'object',
  );
}
function findSet(provider, pred) {
  for (const [name, v] of sets(provider)) if (pred(v)) return { name, ...v };
  return null;
}
/** Identity objects without the _comment keys. */
function clean(obj) {
  if (Array.isArray(obj)) return obj.map(clean);
  if (obj && typeof obj === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(obj)) if (!k.startsWith('_')) out[k] = clean(v);
    return out;
  }
  return obj;
}

// ---------------------------------------------------------------------------------------------
// State: clock offset, faults, request log, issued tokens
// ---------------------------------------------------------------------------------------------
const STATS_MAX = 200;
const FAULT_MODES = new Set(['status_500', 'status_503', 'hang', 'drop', 'html']);
const state = {
  offset: 0, // seconds added to the real clock
  faults: new Map(), // host -> mode
  stats: [],
  ovhTokens: new Map(), // access_token -> { region, set, exp }
  contaboTokens: new Map(), // jti -> { exp }
  hanging: new Set(), // ServerResponse objects held open by the 'hang' fault
};
const nowMs = () => Date.now() + state.offset * 1000;
const nowSec = () => Math.floor(nowMs() / 1000);

function resetState() {
  state.offset = 0;
  state.faults.clear();
  state.stats = [];
  state.ovhTokens.clear();
  state.contaboTokens.clear();
  for (const res of state.hanging) res.socket?.destroy();
  state.hanging.clear();
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------
const sha1hex = (s) => crypto.createHash('sha1').update(s).digest('hex');
const sha256hex = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const uuid = () => crypto.randomUUID();
const b64url = (buf) => Buffer.from(buf).toString('base64url');

function safeEqual(a, b) {
  const ba = Buffer.from(String(a));
  const bb = Buffer.from(String(b));
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

function header(ctx, name) {
  const v = ctx.req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Token from "Authorization: Bearer X" (scheme case-insensitive), or null. */
function bearer(ctx) {
  const a = header(ctx, 'authorization');
  const m = a && /^Bearer\s+(\S+)\s*$/i.exec(a);
  return m ? m[1] : null;
}

/** [user, pass] from "Authorization: Basic ...", or null. */
function basic(ctx) {
  const a = header(ctx, 'authorization');
  const m = a && /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(a);
  if (!m) return null;
  const dec = Buffer.from(m[1], 'base64').toString('utf8');
  const i = dec.indexOf(':');
  return i < 0 ? null : [dec.slice(0, i), dec.slice(i + 1)];
}

/** OAuth2 client authentication (RFC 6749 2.3.1): Basic (form-urlencoded parts) or body. */
function clientAuth(ctx, form) {
  const b = basic(ctx);
  if (b) {
    const dec = (s) => {
      try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; }
    };
    return { id: dec(b[0]), secret: dec(b[1]), method: 'basic' };
  }
  if (form.has('client_id')) {
    return { id: form.get('client_id'), secret: form.get('client_secret'), method: 'post' };
  }
  return null;
}

function formBody(ctx) {
  const ct = (header(ctx, 'content-type') || '').toLowerCase();
  if (!ct.startsWith('application/x-www-form-urlencoded')) return null;
  return new URLSearchParams(ctx.body.toString('utf8'));
}

function send(ctx, status, body, headers = {}) {
  const h = { ...headers };
  const hasCT = Object.keys(h).some((k) => k.toLowerCase() === 'content-type');
  let payload;
  if (body === undefined || body === null) payload = '';
  else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
  else {
    payload = JSON.stringify(body);
    if (!hasCT) h['Content-Type'] = 'application/json';
  }
  h.Date = new Date(nowMs()).toUTCString(); // the fake's clock, as real servers send theirs
  h['Content-Length'] = Buffer.byteLength(payload);
  if (ctx.entry) ctx.entry.status = status;
  ctx.res.writeHead(status, h);
  ctx.res.end(payload);
}

function routeNotFound(ctx) {
  return send(ctx, 404, {
    error: 'route_not_emulated',
    message: `cloud-fake does not emulate ${ctx.method} ${ctx.path} on ${ctx.host}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Hetzner Cloud  (api.hetzner.cloud)
// ---------------------------------------------------------------------------------------------
function hetznerError(ctx, status, code, message) {
  return send(ctx, status, { error: { code, message, details: null } }, hetznerHeaders());
}
function hetznerHeaders() {
  return {
    'RateLimit-Limit': '3600',
    'RateLimit-Remaining': '3599',
    'RateLimit-Reset': String(nowSec() + 1),
    'X-Correlation-Id': crypto.randomBytes(8).toString('hex'),
  };
}
function hetzner(ctx) {
  const tok = bearer(ctx);
  const acct = tok && findSet('hetzner', (a) => safeEqual(a.token, tok));
  if (!acct) return hetznerError(ctx, 401, 'unauthorized', 'unable to authenticate');
  if (ctx.method !== 'GET' && acct.permission === 'read') {
    return hetznerError(ctx, 403, 'token_readonly', 'The token is only allowed to perform GET requests');
  }
  if (ctx.method === 'GET' && ctx.path === '/v1/servers') {
    const all = (acct.identity?.servers ?? []).map((s) => ({
      id: s.id,
      name: s.name,
      status: s.status,
      created: '2024-01-02T03:04:05+00:00',
      labels: {},
      server_type: { name: 'cx22' },
      datacenter: { name: 'fsn1-dc14', location: { name: 'fsn1' } },
    }));
    const perPage = Math.min(Math.max(Number(ctx.query.get('per_page')) || 25, 1), 50);
    const page = Math.max(Number(ctx.query.get('page')) || 1, 1);
    const lastPage = Math.max(Math.ceil(all.length / perPage), 1);
    return send(ctx, 200, {
      servers: all.slice((page - 1) * perPage, page * perPage),
      meta: {
        pagination: {
          page,
          per_page: perPage,
          previous_page: page > 1 ? page - 1 : null,
          next_page: page < lastPage ? page + 1 : null,
          last_page: lastPage,
          total_entries: all.length,
        },
      },
    }, hetznerHeaders());
  }
  if (ctx.method === 'GET' && ctx.path === '/v1/locations') {
    return send(ctx, 200, {
      locations: [
        { id: 1, name: 'fsn1', city: 'Falkenstein', country: 'DE', network_zone: 'eu-central' },
        { id: 2, name: 'nbg1', city: 'Nuremberg', country: 'DE', network_zone: 'eu-central' },
        { id: 3, name: 'hel1', city: 'Helsinki', country: 'FI', network_zone: 'eu-central' },
      ],
    }, hetznerHeaders());
  }
  return hetznerError(ctx, 404, 'not_found', 'Not Found');
}

// ---------------------------------------------------------------------------------------------
// Scaleway  (api.scaleway.com)
// ---------------------------------------------------------------------------------------------
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
function scalewayDenied(ctx, reason) {
  return send(ctx, 401, {
    message: 'authentication is denied',
    method: 'api_key',
    reason,
    type: 'denied_authentication',
  });
}
function scaleway(ctx) {
  const tok = header(ctx, 'x-auth-token');
  if (!tok || !UUID_RE.test(tok)) return scalewayDenied(ctx, 'invalid_argument');
  const acct = findSet('scaleway', (a) => safeEqual(a.secret_key, tok));
  if (!acct) return scalewayDenied(ctx, 'not_found');
  if (acct.identity?.expires_at && Date.parse(acct.identity.expires_at) < nowMs()) {
    return scalewayDenied(ctx, 'expired');
  }
  const m = /^\/iam\/v1alpha1\/api-keys\/([^/]+)$/.exec(ctx.path);
  if (ctx.method !== 'GET' || !m) return send(ctx, 404, { message: 'Not Found' });
  const perms = acct.permission_sets ?? [];
  if (!perms.includes('IAMReadOnly') && !perms.includes('IAMManager') && !perms.includes('OrganizationManager')) {
    return send(ctx, 403, {
      details: [{ action: 'read', resource: 'api_key' }],
      message: 'insufficient permissions',
      type: 'permissions_denied',
    });
  }
  const ak = decodeURIComponent(m[1]);
  const key = findSet('scaleway', (a) => a.access_key === ak && a.organization_id === acct.organization_id);
  if (!key) {
    return send(ctx, 404, { message: 'resource is not found', resource: 'api_key', resource_id: ak, type: 'not_found' });
  }
  const id = key.identity ?? {};
  return send(ctx, 200, {
    access_key: key.access_key,
    secret_key: null,
    application_id: id.application_id ?? null,
    user_id: id.user_id ?? null,
    description: id.description ?? '',
    created_at: id.created_at ?? null,
    updated_at: id.created_at ?? null,
    expires_at: id.expires_at ?? null,
    default_project_id: key.default_project_id,
    editable: true,
    deletable: true,
    managed: false,
    creation_ip: '192.0.2.10',
  });
}

// ---------------------------------------------------------------------------------------------
// OVHcloud API  (eu.api.ovh.com, ca.api.ovh.com, api.us.ovhcloud.com) and OAuth2 token endpoints
// ---------------------------------------------------------------------------------------------
const OVH_API_HOSTS = {
  'eu.api.ovh.com': 'ovh-eu',
  'api.ovh.com': 'ovh-eu', // historical alias of the EU API
  'ca.api.ovh.com': 'ovh-ca',
  'api.us.ovhcloud.com': 'ovh-us',
};
const OVH_TOKEN_HOSTS = {
  'www.ovh.com': 'ovh-eu',
  'ca.ovh.com': 'ovh-ca', // used by go-ovh / python-ovh
  'www.ovh.ca': 'ovh-ca', // used by the OVHcloud service-account guide
  'us.ovhcloud.com': 'ovh-us',
};
// Tolerance of X-Ovh-Timestamp against server time. Not documented by OVHcloud; clients are told to
// use GET /auth/time. 30 s is deliberately strict (see docs/cloud-providers.md, UNCONFIRMED).
const OVH_TIME_TOLERANCE = 30;

function ovhError(ctx, status, cls, message, extra = {}) {
  return send(ctx, status, { class: cls, message, ...extra }, ovhHeaders(ctx));
}
function ovhHeaders(ctx) {
  const region = (OVH_API_HOSTS[ctx.host] || 'ovh-eu').slice(4).toUpperCase();
  return {
    'X-Ovh-QueryID': `${region}.ext-1.${nowSec().toString(16)}.${crypto.randomInt(1e5)}.${crypto.randomBytes(16).toString('hex')}`,
  };
}
function ovhRuleMatches(rule, method, apiPath) {
  if (rule.method !== method) return false;
  const re = new RegExp(`^${rule.path.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(apiPath);
}

function ovhApi(ctx) {
  const region = OVH_API_HOSTS[ctx.host];
  const vm = /^\/(1\.0|v1)(\/.*)$/.exec(ctx.path);
  if (!vm) return ovhError(ctx, 404, 'Client::NotFound', 'Got an invalid (or empty) URL');
  const apiPath = vm[2];

  // Unauthenticated server time (integer seconds, JSON number).
  if (apiPath === '/auth/time') {
    if (ctx.method !== 'GET') return ovhError(ctx, 405, 'Client::MethodNotAllowed', 'Method not allowed');
    return send(ctx, 200, String(nowSec()), { 'Content-Type': 'application/json; charset=utf-8', ...ovhHeaders(ctx) });
  }
  const known = ['/me', '/auth/currentCredential'];
  if (!known.includes(apiPath)) {
    return ovhError(ctx, 404, 'Client::NotFound', `The requested object (${apiPath}) does not exist`);
  }
  if (ctx.method !== 'GET') return ovhError(ctx, 405, 'Client::MethodNotAllowed', 'Method not allowed');

  // OAuth2 service account: Authorization: Bearer <access_token>.
  const tok = bearer(ctx);
  if (tok) {
    const t = state.ovhTokens.get(tok);
    if (!t || t.region !== region || t.exp <= nowSec()) {
      return ovhError(ctx, 401, 'Client::Unauthorized', 'Invalid token');
    }
    if (apiPath !== '/me') return ovhError(ctx, 403, 'Client::Forbidden', 'This call has not been granted');
    const sa = t.set;
    if (!(sa.iam_actions ?? []).includes('account:apiovh:me/get')) {
      return ovhError(ctx, 403, 'Client::Forbidden', 'User not granted for this request', {
        details: { unauthorizedActionsByAuthentication: '', unauthorizedActionsByIAM: 'account:apiovh:me/get' },
      });
    }
    return send(ctx, 200, clean(sa.identity), ovhHeaders(ctx));
  }

  // Application key / consumer key / signature.
  const ak = header(ctx, 'x-ovh-application');
  const ck = header(ctx, 'x-ovh-consumer');
  if (!ak && !ck && !header(ctx, 'x-ovh-signature')) {
    return ovhError(ctx, 401, 'Client::Unauthorized', 'You must login first');
  }
  const app = ak && findSet('ovh', (s) => s.endpoint === region && s.application_key === ak);
  if (!app) return ovhError(ctx, 403, 'Client::Forbidden', 'Invalid application key');
  const tsRaw = header(ctx, 'x-ovh-timestamp');
  if (!tsRaw || !/^\d+$/.test(tsRaw) || Math.abs(Number(tsRaw) - nowSec()) > OVH_TIME_TOLERANCE) {
    return ovhError(ctx, 400, 'Client::BadRequest', 'Query out of time');
  }
  const cred = ck && findSet('ovh', (s) => s.endpoint === region && s.application_key === ak && s.consumer_key === ck);
  if (!cred) return ovhError(ctx, 403, 'Client::Forbidden', 'This credential does not exist');
  if (cred.consumer_key_status !== 'validated') {
    return ovhError(ctx, 403, 'Client::Forbidden', 'This credential is not valid');
  }
  const fullUrl = `http://${header(ctx, 'host')}${ctx.req.url}`;
  const toSign = [app.application_secret, ck, ctx.method, fullUrl, ctx.body.toString('utf8'), tsRaw].join('+');
  const expected = `$1$${sha1hex(toSign)}`;
  if (!safeEqual(expected, header(ctx, 'x-ovh-signature') ?? '')) {
    log('ovh signature mismatch; signed string should be', JSON.stringify(toSign.replace(app.application_secret, '<AS>')));
    return ovhError(ctx, 400, 'Client::BadRequest', 'Invalid signature');
  }
  if (apiPath === '/auth/currentCredential') {
    return send(ctx, 200, {
      credentialId: 1000 + sets('ovh').findIndex(([, s]) => s.consumer_key === ck),
      applicationId: 4242,
      creation: '2024-01-02T03:04:05+01:00',
      expiration: null,
      lastUse: new Date(nowMs()).toISOString(),
      ovhSupport: false,
      rules: cred.rules,
      status: 'validated',
      allowedIPs: null,
    }, ovhHeaders(ctx));
  }
  if (!(cred.rules ?? []).some((r) => ovhRuleMatches(r, ctx.method, apiPath))) {
    return ovhError(ctx, 403, 'Client::Forbidden', 'This call has not been granted');
  }
  return send(ctx, 200, clean(cred.identity), ovhHeaders(ctx));
}

function ovhToken(ctx) {
  const region = OVH_TOKEN_HOSTS[ctx.host];
  if (ctx.path !== '/auth/oauth2/token') return send(ctx, 404, 'Not Found', { 'Content-Type': 'text/plain' });
  if (ctx.method !== 'POST') return send(ctx, 405, { error: 'invalid_request', error_description: 'method not allowed' });
  const form = formBody(ctx);
  if (!form) return send(ctx, 400, { error: 'invalid_request', error_description: 'request body must be application/x-www-form-urlencoded' });
  const gt = form.get('grant_type');
  if (gt !== 'client_credentials') {
    return send(ctx, 400, { error: 'unsupported_grant_type', error_description: `grant type ${gt ?? '(missing)'} is not supported` });
  }
  const ca = clientAuth(ctx, form);
  if (!ca) return send(ctx, 400, { error: 'invalid_request', error_description: 'missing client credentials' });
  const sa = findSet('ovh', (s) => s.client_id === ca.id && s.endpoint === region);
  if (!sa) return send(ctx, 400, { error: 'invalid_client', error_description: 'ovhcloud oauth2 client does not exists' });
  if (!safeEqual(sa.client_secret, ca.secret ?? '')) {
    return send(ctx, 400, { error: 'invalid_client', error_description: 'invalid client credentials' });
  }
  const scope = form.get('scope');
  if (scope && !scope.split(' ').includes('all')) {
    return send(ctx, 400, { error: 'invalid_scope', error_description: `scope ${scope} is not supported` });
  }
  const access = `eyJ${crypto.randomBytes(24).toString('base64url')}`;
  state.ovhTokens.set(access, { region, set: sa, exp: nowSec() + 3599 });
  return send(ctx, 200, { access_token: access, token_type: 'Bearer', expires_in: 3599, scope: 'all' }, {
    'Cache-Control': 'no-store',
  });
}

// ---------------------------------------------------------------------------------------------
// Exoscale API v2  (api-<zone>.exoscale.com)
// ---------------------------------------------------------------------------------------------
const EXO_ZONES = ['ch-gva-2', 'ch-dk-2', 'de-fra-1', 'de-muc-1', 'at-vie-1', 'at-vie-2', 'bg-sof-1', 'hr-zag-1'];
const EXO_OPS = {
  'GET /v2/organization': { op: 'get-organization', service: 'organization' },
  'GET /v2/zone': { op: 'list-zones', service: 'compute' },
};
function exoError(ctx, status, message) {
  return send(ctx, status, { message });
}
function parseExoAuth(h) {
  const m = /^EXO2-HMAC-SHA256\s+(.+)$/.exec(h ?? '');
  if (!m) return null;
  const out = {};
  for (const part of m[1].split(',')) {
    const i = part.indexOf('=');
    if (i < 0) return null;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out.credential && out.expires && out.signature ? out : null;
}
function exoscale(ctx) {
  const auth = parseExoAuth(header(ctx, 'authorization'));
  if (!auth) return exoError(ctx, 401, 'Missing or malformed EXO2-HMAC-SHA256 Authorization header');
  const key = findSet('exoscale', (k) => k.api_key === auth.credential);
  if (!key) return exoError(ctx, 401, 'Invalid API key');
  if (!/^\d+$/.test(auth.expires) || Number(auth.expires) < nowSec()) {
    return exoError(ctx, 401, 'Request signature has expired');
  }
  const names = auth['signed-query-args'] ? auth['signed-query-args'].split(';').filter(Boolean) : [];
  const values = names.map((n) => ctx.query.get(n) ?? '').join('');
  const rawPath = ctx.req.url.split('?')[0];
  const message = [`${ctx.method} ${rawPath}`, ctx.body.toString('utf8'), values, '', auth.expires].join('\n');
  const expected = crypto.createHmac('sha256', key.api_secret).update(message, 'utf8').digest('base64');
  if (!safeEqual(expected, auth.signature)) {
    log('exoscale signature mismatch; message should be', JSON.stringify(message));
    return exoError(ctx, 401, 'Invalid request signature');
  }
  const route = EXO_OPS[`${ctx.method} ${ctx.path}`];
  if (!route) return exoError(ctx, 404, 'Not Found');
  const ops = key.operations ?? [];
  if (!ops.includes('*') && !ops.includes(route.op)) {
    return exoError(ctx, 403, `Forbidden by role policy for ${route.service}`);
  }
  if (route.op === 'get-organization') return send(ctx, 200, clean(key.identity.organization));
  return send(ctx, 200, {
    zones: EXO_ZONES.map((z) => ({ name: z, 'api-endpoint': `https://api-${z}.exoscale.com/v2`, 'sos-endpoint': `https://sos-${z}.exo.io` })),
  });
}

// ---------------------------------------------------------------------------------------------
// Contabo  (auth.contabo.com Keycloak token endpoint, api.contabo.com)
// ---------------------------------------------------------------------------------------------
const CONTABO_ISS = 'https://auth.contabo.com/auth/realms/contabo';
const CONTABO_KEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const CONTABO_KID = crypto.randomBytes(8).toString('hex');
// The pattern the Contabo OpenAPI document gives for the x-request-id header.
const CONTABO_REQUEST_ID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-5][0-9A-Fa-f]{3}-[089abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;

function jwtSign(payload) {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: CONTABO_KID }));
  const body = b64url(JSON.stringify(payload));
  const sig = crypto.sign('sha256', Buffer.from(`${head}.${body}`), CONTABO_KEY.privateKey);
  return `${head}.${body}.${b64url(sig)}`;
}
function jwtVerify(tok) {
  const parts = (tok ?? '').split('.');
  if (parts.length !== 3) return null;
  try {
    const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), CONTABO_KEY.publicKey, Buffer.from(parts[2], 'base64url'));
    return ok ? JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) : null;
  } catch {
    return null;
  }
}
function keycloakError(ctx, status, error, description) {
  return send(ctx, status, { error, error_description: description }, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}
function contaboAuth(ctx) {
  if (ctx.path !== '/auth/realms/contabo/protocol/openid-connect/token') {
    return send(ctx, 404, { error: 'Unable to find matching target resource method' });
  }
  if (ctx.method !== 'POST') return send(ctx, 405, { error: 'RESTEASY003650: No resource method found for GET, return 405 with Allow header' });
  const form = formBody(ctx);
  if (!form) return keycloakError(ctx, 400, 'invalid_request', 'Missing form parameter: grant_type');
  const ca = clientAuth(ctx, form);
  const client = ca && findSet('contabo', (s) => s.client_id === ca.id);
  if (!client) return keycloakError(ctx, 401, 'invalid_client', 'Invalid client or Invalid client credentials');
  if (!safeEqual(client.client_secret, ca.secret ?? '')) {
    return keycloakError(ctx, 401, 'unauthorized_client', 'Invalid client or Invalid client credentials');
  }
  const gt = form.get('grant_type');
  if (!gt) return keycloakError(ctx, 400, 'invalid_request', 'Missing form parameter: grant_type');
  if (gt !== 'password') return keycloakError(ctx, 400, 'unsupported_grant_type', 'Unsupported grant_type');
  const user = findSet('contabo', (s) => s.client_id === ca.id && s.api_user === form.get('username'));
  if (!user || !safeEqual(user.api_password, form.get('password') ?? '')) {
    return keycloakError(ctx, 401, 'invalid_grant', 'Invalid user credentials');
  }
  const iat = nowSec();
  const jti = uuid();
  const session = uuid();
  const id = user.identity;
  const access = jwtSign({
    exp: iat + 300, iat, jti, iss: CONTABO_ISS, sub: id.userId, typ: 'Bearer', azp: ca.id,
    session_state: session, scope: 'profile email', email_verified: id.emailVerified,
    name: `${id.firstName} ${id.lastName}`, preferred_username: user.api_user, given_name: id.firstName,
    family_name: id.lastName, email: id.email, tenantId: id.tenantId, customerId: id.customerId,
  });
  const refresh = jwtSign({ exp: iat + 1800, iat, jti: uuid(), iss: CONTABO_ISS, sub: id.userId, typ: 'Refresh', azp: ca.id, session_state: session });
  state.contaboTokens.set(jti, { exp: iat + 300 });
  return send(ctx, 200, {
    access_token: access, expires_in: 300, refresh_expires_in: 1800, refresh_token: refresh,
    token_type: 'Bearer', 'not-before-policy': 0, session_state: session, scope: 'profile email',
  }, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}
function contaboUserJson(s) {
  const id = s.identity;
  return {
    tenantId: id.tenantId, customerId: id.customerId, userId: id.userId, firstName: id.firstName,
    lastName: id.lastName, email: id.email, emailVerified: id.emailVerified, enabled: id.enabled,
    totp: id.totp, locale: id.locale, owner: id.owner,
    roles: s.admin ? [] : [{
      roleId: 4711, name: 'restricted', admin: false, accessAllResources: true, tenantId: id.tenantId,
      customerId: id.customerId, type: 'custom',
      permissions: (s.permissions ?? []).map((p) => ({ apiName: p.apiName, actions: p.actions, resources: [] })),
    }],
  };
}
function contaboApi(ctx) {
  const hdr = { 'x-request-id': header(ctx, 'x-request-id') ?? '' };
  const claims = jwtVerify(bearer(ctx));
  if (!claims || !state.contaboTokens.has(claims.jti) || claims.exp <= nowSec()) {
    return send(ctx, 401, { statusCode: 401, message: 'Unauthorized' }, hdr);
  }
  const rid = header(ctx, 'x-request-id');
  if (!rid || !CONTABO_REQUEST_ID.test(rid)) {
    return send(ctx, 400, { statusCode: 400, message: ['x-request-id must be a UUID4'], error: 'Bad Request' }, hdr);
  }
  const me = findSet('contabo', (s) => s.identity.userId === claims.sub);
  if (!me) return send(ctx, 401, { statusCode: 401, message: 'Unauthorized' }, hdr);
  const m = /^\/v1\/users(?:\/([^/]+))?$/.exec(ctx.path);
  if (ctx.method !== 'GET' || !m) return send(ctx, 404, { statusCode: 404, message: 'Not Found' }, hdr);
  const canRead = me.admin || (me.permissions ?? []).some((p) => p.apiName === '/v1/users' && p.actions.includes('READ'));
  if (!canRead) return send(ctx, 403, { statusCode: 403, message: 'Forbidden' }, hdr);
  const customer = sets('contabo').map(([, s]) => s).filter((s) => s.identity.customerId === me.identity.customerId);
  if (m[1]) {
    const u = customer.find((s) => s.identity.userId === decodeURIComponent(m[1]));
    if (!u) return send(ctx, 404, { statusCode: 404, message: `Entry User not found by userId ${m[1]}` }, hdr);
    return send(ctx, 200, { data: [contaboUserJson(u)], _links: { self: `/v1/users/${u.identity.userId}` } }, hdr);
  }
  const email = ctx.query.get('email');
  const list = customer.filter((s) => !email || s.identity.email.includes(email)).map(contaboUserJson);
  const size = Number(ctx.query.get('size')) || 10;
  const page = Number(ctx.query.get('page')) || 1;
  return send(ctx, 200, {
    _pagination: { size, totalElements: list.length, totalPages: Math.max(Math.ceil(list.length / size), 1), page },
    data: list.slice((page - 1) * size, page * size),
    _links: { first: '/v1/users?page=1', previous: '/v1/users', self: '/v1/users', next: '/v1/users', last: '/v1/users' },
  }, hdr);
}

// ---------------------------------------------------------------------------------------------
// DigitalOcean  (api.digitalocean.com)
// ---------------------------------------------------------------------------------------------
function digitalocean(ctx) {
  const rl = { 'ratelimit-limit': '5000', 'ratelimit-remaining': '4999', 'ratelimit-reset': String(nowSec() + 60) };
  const tok = bearer(ctx);
  const acct = tok && findSet('digitalocean', (a) => safeEqual(a.token, tok));
  if (!acct) return send(ctx, 401, { id: 'unauthorized', message: 'Unable to authenticate you.' }, rl);
  if (ctx.method !== 'GET' || ctx.path !== '/v2/account') {
    return send(ctx, 404, { id: 'not_found', message: 'The resource you were accessing could not be found.' }, rl);
  }
  const sc = acct.scopes ?? [];
  if (!sc.includes('account:read') && !sc.includes('api:read') && !sc.includes('api:write')) {
    return send(ctx, 403, { id: 'forbidden', message: 'You do not have permission to perform this action.' }, rl);
  }
  return send(ctx, 200, { account: clean(acct.identity) }, rl);
}

// ---------------------------------------------------------------------------------------------
// Linode / Akamai  (api.linode.com)
// ---------------------------------------------------------------------------------------------
function linode(ctx) {
  const tok = bearer(ctx);
  const acct = tok && findSet('linode', (a) => safeEqual(a.token, tok));
  if (!acct) return send(ctx, 401, { errors: [{ reason: 'Invalid Token' }] });
  const hdr = { 'X-OAuth-Scopes': acct.scopes };
  if (ctx.method === 'GET' && ctx.path === '/v4/profile') {
    return send(ctx, 200, clean(acct.identity), { ...hdr, 'X-Accepted-OAuth-Scopes': '*' });
  }
  if (ctx.method === 'GET' && ctx.path === '/v4/account') {
    const sc = String(acct.scopes).split(/[ ,]+/);
    if (!sc.includes('*') && !sc.includes('account:read_only') && !sc.includes('account:read_write')) {
      return send(ctx, 403, { errors: [{ reason: 'Unauthorized' }] }, { ...hdr, 'X-Accepted-OAuth-Scopes': 'account:read_only' });
    }
    return send(ctx, 200, {
      email: acct.identity.email, first_name: 'Kay', last_name: 'Haven', company: '', country: 'DE',
      balance: 0, balance_uninvoiced: 0, euuid: 'FA4E0000-0000-4000-8000-000000000001', active_since: '2024-01-02T03:04:05',
      capabilities: ['Linodes'],
    }, { ...hdr, 'X-Accepted-OAuth-Scopes': 'account:read_only' });
  }
  return send(ctx, 404, { errors: [{ reason: 'Not found' }] }, hdr);
}

// ---------------------------------------------------------------------------------------------
// Vultr  (api.vultr.com)
// ---------------------------------------------------------------------------------------------
function vultr(ctx) {
  const tok = bearer(ctx);
  const acct = tok && findSet('vultr', (a) => safeEqual(a.api_key, tok));
  if (!acct) return send(ctx, 401, { error: 'Invalid API token.', status: 401 });
  if (ctx.method !== 'GET' || ctx.path !== '/v2/account') return send(ctx, 404, { error: 'Invalid API route.', status: 404 });
  return send(ctx, 200, { account: clean(acct.identity) });
}

// ---------------------------------------------------------------------------------------------
// UpCloud  (api.upcloud.com)
// ---------------------------------------------------------------------------------------------
function upcloud(ctx) {
  const b = basic(ctx);
  const tok = bearer(ctx);
  if (!b && !tok) {
    // Measured shape: problem+json media type, but the UpCloud error object (not RFC 9457).
    const body = '{\n  "error" : {\n    "error_code" : "AUTHENTICATION_REQUIRED",\n    "error_message" : "The use of this API requires authentication. Create your account at https://www.upcloud.com/."\n  }\n}';
    return send(ctx, 401, body, { 'Content-Type': 'application/problem+json' });
  }
  const acct = b
    ? findSet('upcloud', (a) => a.username === b[0] && safeEqual(a.password, b[1]))
    : findSet('upcloud', (a) => a.token && safeEqual(a.token, tok));
  if (!acct) {
    return send(ctx, 401, { error: { error_code: 'AUTHENTICATION_FAILED', error_message: 'authentication failed using the given username and password' } });
  }
  if (ctx.method !== 'GET' || ctx.path !== '/1.3/account') {
    return send(ctx, 404, { error: { error_code: 'NOT_FOUND', error_message: 'The requested resource was not found.' } });
  }
  return send(ctx, 200, { account: clean(acct.identity) });
}

// ---------------------------------------------------------------------------------------------
// Cloudflare  (api.cloudflare.com)
// ---------------------------------------------------------------------------------------------
function cfResult(ctx, status, result, messages = [], errors = []) {
  return send(ctx, status, { result, success: errors.length === 0, errors, messages });
}
function cloudflare(ctx) {
  const tok = bearer(ctx);
  if (!tok) {
    return cfResult(ctx, 400, null, [], [
      { code: 9106, message: 'Missing X-Auth-Key header' },
      { code: 9107, message: 'Missing X-Auth-Email header' },
    ]);
  }
  const t = findSet('cloudflare', (a) => safeEqual(a.token, tok));
  const invalid = () => cfResult(ctx, 401, null, [], [{ code: 1000, message: 'Invalid API Token' }]);
  if (!t) return invalid();
  const verified = () => cfResult(ctx, 200, { id: t.token_id, status: 'active' }, [
    { code: 10000, message: 'This API Token is valid and active', type: null },
  ]);
  if (ctx.method === 'GET' && ctx.path === '/client/v4/user/tokens/verify') {
    return t.kind === 'user' ? verified() : invalid();
  }
  const am = /^\/client\/v4\/accounts\/([0-9a-f]{32})\/tokens\/verify$/.exec(ctx.path);
  if (ctx.method === 'GET' && am) {
    return t.kind === 'account' && t.account_id === am[1] ? verified() : invalid();
  }
  if (ctx.method === 'GET' && ctx.path === '/client/v4/user') {
    if (t.kind !== 'user' || !(t.permissions ?? []).includes('User Details Read')) {
      return cfResult(ctx, 403, null, [], [{ code: 9109, message: 'Unauthorized to access requested resource' }]);
    }
    return cfResult(ctx, 200, clean(t.identity));
  }
  return cfResult(ctx, 404, null, [], [{ code: 7003, message: 'Could not route to /' + ctx.path.replace(/^\/client\/v4\//, '') + ', perhaps your object identifier is invalid?' }]);
}

// ---------------------------------------------------------------------------------------------
// AWS STS  (sts.amazonaws.com = us-east-1, sts.<region>.amazonaws.com), Signature Version 4
// ---------------------------------------------------------------------------------------------
const AWS_REGIONS = new Set([
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'af-south-1', 'ap-east-1', 'ap-south-1', 'ap-south-2',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3',
  'ap-southeast-4', 'ap-southeast-5', 'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-west-1',
  'eu-west-2', 'eu-west-3', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'il-central-1', 'me-central-1',
  'me-south-1', 'mx-central-1', 'sa-east-1',
]);
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const AWS_SKEW = 15 * 60;

function stsRegion(host) {
  if (host === 'sts.amazonaws.com') return 'us-east-1';
  const m = /^sts\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  return m && AWS_REGIONS.has(m[1]) ? m[1] : null;
}
const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function stsError(ctx, status, code, message, type = 'Sender') {
  const rid = uuid();
  const body = `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n    <Message>${xmlEsc(message)}</Message>\n  </Error>\n  <RequestId>${rid}</RequestId>\n</ErrorResponse>\n`;
  return send(ctx, status, body, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': rid });
}
function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}
/** RFC 3986 percent-encoding as SigV4 wants it (unreserved: A-Z a-z 0-9 - _ . ~). */
function awsEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}
/** Canonical URI for non-S3 services: each segment of the path as received, encoded once more. */
function canonicalUri(rawPath) {
  return rawPath.split('/').map((seg) => awsEncode(seg)).join('/') || '/';
}
function canonicalQuery(rawQuery) {
  const pairs = rawQuery.split('&').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    return [awsEncode(safeDecode(k)), awsEncode(safeDecode(v))];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}
function headerValues(req, name) {
  const out = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === name) out.push(req.rawHeaders[i + 1].trim().replace(/\s+/g, ' '));
  }
  return out;
}
function sigv4Key(secret, date, region, service) {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

function sts(ctx) {
  const region = stsRegion(ctx.host);
  const auth = header(ctx, 'authorization');
  if (!auth) return stsError(ctx, 403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  const am = /^(\S+)\s+(.*)$/.exec(auth);
  if (!am || am[1] !== 'AWS4-HMAC-SHA256') {
    return stsError(ctx, 400, 'IncompleteSignature', `Unsupported AWS 'algorithm': '${am ? am[1] : auth}'`);
  }
  const params = {};
  for (const part of am[2].split(',')) {
    const i = part.indexOf('=');
    if (i > 0) params[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !params[k]);
  if (missing.length) {
    return stsError(ctx, 400, 'IncompleteSignature',
      missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') + ` Authorization=${auth}`);
  }
  const scope = params.Credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    return stsError(ctx, 400, 'IncompleteSignature', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${params.Credential}'`);
  }
  const [akid, scopeDate, scopeRegion, scopeService] = scope;
  const xAmzDate = header(ctx, 'x-amz-date');
  const reqTime = xAmzDate ? parseAmzDate(xAmzDate) : Date.parse(header(ctx, 'date') ?? '');
  if (Number.isNaN(reqTime)) {
    return stsError(ctx, 400, 'IncompleteSignature', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }

  const cred = findSet('aws', (c) => c.access_key_id === akid);
  if (!cred) return stsError(ctx, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  const token = header(ctx, 'x-amz-security-token');
  if (akid.startsWith('ASIA') || cred.session_token) {
    if (!token || !safeEqual(cred.session_token ?? '', token)) {
      return stsError(ctx, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    if (cred.expiration && Date.parse(cred.expiration) <= nowMs()) {
      return stsError(ctx, 403, 'ExpiredToken', 'The security token included in the request is expired');
    }
  } else if (token) {
    return stsError(ctx, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }

  const server = nowMs();
  const fmt = (ms) => amzDate(new Date(ms));
  if (reqTime < server - AWS_SKEW * 1000) {
    return stsError(ctx, 403, 'SignatureDoesNotMatch',
      `Signature expired: ${fmt(reqTime)} is now earlier than ${fmt(server - AWS_SKEW * 1000)} (${fmt(server)} - 15 min.)`);
  }
  if (reqTime > server + AWS_SKEW * 1000) {
    return stsError(ctx, 403, 'SignatureDoesNotMatch',
      `Signature not yet current: ${fmt(reqTime)} is still later than ${fmt(server + AWS_SKEW * 1000)} (${fmt(server)} + 15 min.)`);
  }
  if (xAmzDate && scopeDate !== xAmzDate.slice(0, 8)) {
    return stsError(ctx, 403, 'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${xAmzDate.slice(0, 8)}', from '${xAmzDate}'.`);
  }
  if (scopeService !== 'sts') {
    return stsError(ctx, 403, 'SignatureDoesNotMatch', "Credential should be scoped to correct service: 'sts'. ");
  }
  if (scopeRegion !== region) {
    return stsError(ctx, 403, 'SignatureDoesNotMatch', 'Credential should be scoped to a valid region. ');
  }
  const signed = params.SignedHeaders.split(';');
  if (!signed.includes('host')) {
    return stsError(ctx, 403, 'SignatureDoesNotMatch', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const [rawPath, rawQuery = ''] = [ctx.req.url.split('?')[0], ctx.req.url.split('?').slice(1).join('?')];
  const canonicalRequest = [
    ctx.method,
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    signed.map((h) => `${h}:${headerValues(ctx.req, h).join(',')}\n`).join(''),
    params.SignedHeaders,
    sha256hex(ctx.body),
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', xAmzDate ?? amzDate(new Date(reqTime)), `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`, sha256hex(canonicalRequest)].join('\n');
  const expected = crypto.createHmac('sha256', sigv4Key(cred.secret_access_key, scopeDate, scopeRegion, scopeService)).update(stringToSign).digest('hex');
  if (!safeEqual(expected, params.Signature.toLowerCase())) {
    log('sigv4 mismatch; canonical request should be', JSON.stringify(canonicalRequest), 'string to sign', JSON.stringify(stringToSign));
    return stsError(ctx, 403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }

  // Authenticated: the Query protocol action, from the form body (POST) and/or the query string.
  const p = new URLSearchParams(rawQuery);
  if (ctx.method === 'POST') {
    const ct = (header(ctx, 'content-type') || '').toLowerCase();
    if (ctx.body.length && !ct.startsWith('application/x-www-form-urlencoded')) {
      return stsError(ctx, 400, 'InvalidAction', 'Could not find operation for the request content type');
    }
    for (const [k, v] of new URLSearchParams(ctx.body.toString('utf8'))) p.set(k, v);
  } else if (ctx.method !== 'GET') {
    return stsError(ctx, 400, 'InvalidAction', `Unsupported HTTP method ${ctx.method}`);
  }
  const action = p.get('Action');
  const version = p.get('Version');
  if (!action) return stsError(ctx, 400, 'MissingAction', 'Missing Action');
  if (action !== 'GetCallerIdentity' || version !== '2011-06-15') {
    return stsError(ctx, 400, 'InvalidAction', `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`);
  }
  const rid = uuid();
  const id = cred.identity;
  const body = `<GetCallerIdentityResponse xmlns="${STS_NS}">\n  <GetCallerIdentityResult>\n    <Arn>${xmlEsc(id.Arn)}</Arn>\n    <UserId>${xmlEsc(id.UserId)}</UserId>\n    <Account>${xmlEsc(id.Account)}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>${rid}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`;
  return send(ctx, 200, body, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': rid });
}

// ---------------------------------------------------------------------------------------------
// Keyed APIs whose header is neither Bearer nor X-Auth-Token: PagerDuty (`Token token=`),
// Freshdesk (Basic key:X), Mailchimp (Basic anystring:key, data centre from the key's suffix),
// Stripe (Basic key: with an empty password). Each answers only its exact scheme.
// ---------------------------------------------------------------------------------------------
function unauthorized(ctx, body) {
  return send(ctx, 401, body);
}

function pagerduty(ctx) {
  const a = header(ctx, 'authorization') || '';
  const m = /^Token token=(\S+)$/.exec(a);
  const t = m && findSet('pagerduty', (x) => safeEqual(x.token, m[1]));
  if (!t) return unauthorized(ctx, { error: { message: 'Unauthorized', code: 2006 } });
  if (ctx.method === 'GET' && ctx.path === '/abilities') return send(ctx, 200, clean(t.identity));
  return send(ctx, 404, { error: { message: 'Not Found', code: 2100 } });
}

function freshdesk(ctx) {
  const sub = ctx.host.split('.')[0];
  const b = basic(ctx);
  const t = b && b[1] === 'X' && findSet('freshdesk', (x) => x.domain === sub && safeEqual(x.api_key, b[0]));
  if (!t) return unauthorized(ctx, { code: 'invalid_credentials', message: 'You have to be logged in to perform this action.' });
  if (ctx.method === 'GET' && ctx.path === '/api/v2/agents/me') return send(ctx, 200, clean(t.identity));
  return send(ctx, 404, { code: 'not_found' });
}

function mailchimp(ctx) {
  const dc = ctx.host.split('.')[0];
  const b = basic(ctx);
  const t = b && b[0] !== '' && findSet('mailchimp', (x) => safeEqual(x.api_key, b[1]));
  if (!t) return unauthorized(ctx, { title: 'API Key Invalid', status: 401, detail: 'Your API key may be invalid, or you\'ve attempted to access the wrong datacenter.' });
  if (t.dc !== dc) return unauthorized(ctx, { title: 'Wrong Datacenter', status: 403, detail: `This account belongs to ${t.dc}.` });
  if (ctx.method === 'GET' && ctx.path === '/3.0/') return send(ctx, 200, clean(t.identity));
  return send(ctx, 404, { title: 'Resource Not Found', status: 404 });
}

function stripe(ctx) {
  const b = basic(ctx);
  const t = b && b[1] === '' && findSet('stripe', (x) => safeEqual(x.api_key, b[0]));
  if (!t) return unauthorized(ctx, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
  if (ctx.method === 'GET' && ctx.path === '/v1/account') return send(ctx, 200, clean(t.identity));
  return send(ctx, 404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } });
}

// Railway's GraphQL API: a bad token is HTTP 200 with `errors` (GraphQL's convention).
function railway(ctx) {
  if (ctx.method !== 'POST' || ctx.path !== '/graphql/v2') return send(ctx, 404, { errors: [{ message: 'Not Found' }] });
  const tok = bearer(ctx);
  const t = tok && findSet('railway', (x) => safeEqual(x.token, tok));
  if (!t) return send(ctx, 200, { data: null, errors: [{ message: 'Not Authorized', extensions: { code: 'UNAUTHORIZED' } }] });
  return send(ctx, 200, clean(t.identity));
}

// ---------------------------------------------------------------------------------------------
// Google's token endpoint, JWT bearer grant (RFC 7523) with a service-account key
// (developers.google.com/identity/protocols/oauth2/service-account): the assertion must be an
// RS256 JWT signed by the key in gcp-service-account.json, with its kid, iss = client_email,
// aud = the token endpoint, a scope, and iat/exp at most an hour apart around now.
// ---------------------------------------------------------------------------------------------
const GCP_KEY = JSON.parse(fs.readFileSync(path.join(HERE, 'gcp-service-account.json'), 'utf8'));
const GCP_PUBLIC = crypto.createPublicKey(GCP_KEY.private_key);

function googleToken(ctx) {
  if (ctx.method !== 'POST' || ctx.path !== '/token') return send(ctx, 404, { error: 'not_found' });
  const form = formBody(ctx);
  if (!form) return send(ctx, 400, { error: 'invalid_request', error_description: 'Bad Request' });
  const grant = form.get('grant_type');
  if (grant !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
    return send(ctx, 400, { error: 'unsupported_grant_type', error_description: `Invalid grant_type: ${grant ?? ''}` });
  }
  const invalid = (d) => send(ctx, 400, { error: 'invalid_grant', error_description: d });
  const parts = (form.get('assertion') || '').split('.');
  if (parts.length !== 3) return invalid('Invalid JWT: the assertion is not a JWS.');
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return invalid('Invalid JWT: not JSON.');
  }
  if (header.alg !== 'RS256') return invalid('Invalid JWT: alg must be RS256.');
  const signed = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), GCP_PUBLIC, Buffer.from(parts[2], 'base64url'));
  if (!signed || (header.kid !== undefined && header.kid !== GCP_KEY.private_key_id)) return invalid('Invalid JWT Signature.');
  if (claims.iss !== GCP_KEY.client_email) return invalid('Invalid JWT: iss is not a service account of this key.');
  if (claims.aud !== 'https://oauth2.googleapis.com/token') return invalid('Invalid JWT: aud must be https://oauth2.googleapis.com/token.');
  const now = nowSec();
  if (!(Number.isInteger(claims.iat) && Number.isInteger(claims.exp) && claims.iat <= now + 300 && claims.exp > now && claims.exp - claims.iat <= 3600)) {
    return invalid('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
  }
  if (typeof claims.scope !== 'string' || claims.scope === '') return invalid('Invalid JWT: no scope.');
  return send(ctx, 200, { access_token: `ya29.khfake-${crypto.randomBytes(16).toString('hex')}`, expires_in: 3599, token_type: 'Bearer' });
}

// IBM Cloud IAM (cloud.ibm.com/docs/account?topic=account-iamtoken_from_apikey and the IAM
// Identity Services API): the API key grant, then the key's details with the token and the key.
const ibmTokens = new Map();
function ibmIam(ctx) {
  if (ctx.method === 'POST' && ctx.path === '/identity/token') {
    const form = formBody(ctx);
    if (!form) return send(ctx, 400, { errorCode: 'BXNIM0109E', errorMessage: 'Property missing or empty. Property name: grant_type' });
    if (form.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey') {
      return send(ctx, 400, { errorCode: 'BXNIM0103E', errorMessage: 'Unsupported grant type.' });
    }
    if (header(ctx, 'authorization') || form.has('client_id')) {
      return send(ctx, 400, { errorCode: 'BXNIM0110E', errorMessage: 'Client authentication is not expected for this grant.' });
    }
    const t = findSet('ibm', (x) => safeEqual(x.apikey, form.get('apikey') ?? ''));
    if (!t) return send(ctx, 400, { errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.' });
    const token = `eyKHfakeIBM.${crypto.randomBytes(16).toString('hex')}`;
    ibmTokens.set(token, t.name);
    return send(ctx, 200, { access_token: token, refresh_token: 'not_supported', token_type: 'Bearer', expires_in: 3600, expiration: nowSec() + 3600, scope: 'ibm openid' });
  }
  if (ctx.method === 'GET' && ctx.path === '/v1/apikeys/details') {
    const name = ibmTokens.get(bearer(ctx) ?? '');
    if (!name) return send(ctx, 401, { errorCode: 'BXNIM0308E', errorMessage: 'The token is not valid.' });
    const t = findSet('ibm', (x, n) => safeEqual(x.apikey, header(ctx, 'iam-apikey') ?? ''));
    if (!t) return send(ctx, 404, { errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.' });
    return send(ctx, 200, clean(t.identity));
  }
  return send(ctx, 404, { errorCode: 'BXNIM0404E', errorMessage: 'Not found.' });
}

// ---------------------------------------------------------------------------------------------
// Host table
// ---------------------------------------------------------------------------------------------
function handlerFor(host) {
  if (host === 'api.hetzner.cloud') return hetzner;
  if (host === 'api.scaleway.com') return scaleway;
  if (OVH_API_HOSTS[host]) return ovhApi;
  if (OVH_TOKEN_HOSTS[host]) return ovhToken;
  const exo = /^api-([a-z0-9-]+)\.exoscale\.com$/.exec(host);
  if (exo && EXO_ZONES.includes(exo[1])) return exoscale;
  if (host === 'auth.contabo.com') return contaboAuth;
  if (host === 'api.contabo.com') return contaboApi;
  if (host === 'api.digitalocean.com') return digitalocean;
  if (host === 'api.linode.com') return linode;
  if (host === 'api.vultr.com') return vultr;
  if (host === 'api.upcloud.com') return upcloud;
  if (host === 'api.cloudflare.com') return cloudflare;
  if (host === 'api.pagerduty.com') return pagerduty;
  if (/^[a-z0-9-]+\.freshdesk\.com$/.test(host)) return freshdesk;
  if (/^[a-z]+[0-9]+\.api\.mailchimp\.com$/.test(host)) return mailchimp;
  if (host === 'api.stripe.com') return stripe;
  if (host === 'backboard.railway.com') return railway;
  if (host === 'oauth2.googleapis.com') return googleToken;
  if (host === 'iam.cloud.ibm.com') return ibmIam;
  if (stsRegion(host)) return sts;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Control routes (/__fake/...)
// ---------------------------------------------------------------------------------------------
function control(ctx, route) {
  let json = {};
  if (ctx.body.length) {
    try { json = JSON.parse(ctx.body.toString('utf8')); } catch {
      return send(ctx, 400, { error: 'invalid_json' });
    }
  }
  if (route === '/__fake/clock' && ctx.method === 'GET') {
    return send(ctx, 200, { offset_seconds: state.offset, now: nowSec() });
  }
  if (route === '/__fake/clock' && ctx.method === 'POST') {
    if (!Number.isInteger(json.offset_seconds)) return send(ctx, 400, { error: 'offset_seconds must be an integer' });
    state.offset = json.offset_seconds;
    return send(ctx, 200, { offset_seconds: state.offset, now: nowSec() });
  }
  if (route === '/__fake/fault' && ctx.method === 'POST') {
    const host = typeof json.host === 'string' ? json.host.toLowerCase() : '';
    if (!host) return send(ctx, 400, { error: 'host is required' });
    if (json.mode === 'none' || json.mode === null) {
      state.faults.delete(host);
      return send(ctx, 200, { host, mode: 'none' });
    }
    if (!FAULT_MODES.has(json.mode)) {
      return send(ctx, 400, { error: `mode must be one of ${[...FAULT_MODES].join(', ')}, none` });
    }
    state.faults.set(host, json.mode);
    return send(ctx, 200, { host, mode: json.mode });
  }
  if (route === '/__fake/reset' && ctx.method === 'POST') {
    resetState();
    return send(ctx, 200, { reset: true });
  }
  if (route === '/__fake/stats' && ctx.method === 'GET') {
    return send(ctx, 200, { requests: state.stats });
  }
  return send(ctx, 404, { error: 'unknown control route', route });
}

function applyFault(ctx, mode) {
  if (mode === 'drop') {
    ctx.entry.status = 'dropped';
    ctx.req.socket.destroy();
    return;
  }
  if (mode === 'hang') {
    ctx.entry.status = 'hanging';
    state.hanging.add(ctx.res);
    ctx.res.on('close', () => state.hanging.delete(ctx.res));
    return;
  }
  if (mode === 'html') {
    const page = '<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>We&#39;ll be back soon</h1><p>This site is under maintenance.</p></body></html>\n';
    return send(ctx, 200, page, { 'Content-Type': 'text/html; charset=utf-8' });
  }
  if (mode === 'status_500') return send(ctx, 500, 'Internal Server Error\n', { 'Content-Type': 'text/plain' });
  return send(ctx, 503, '<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>\n', {
    'Content-Type': 'text/html', 'Retry-After': '1',
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------------------------
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  const body = await readBody(req);
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  const ctx = { req, res, body, method: req.method, query: new URLSearchParams(rawQuery), entry: null };
  if (rawPath.startsWith('/__fake/') || rawPath === '/__fake') return control(ctx, rawPath);

  const m = /^\/([^/]+)(\/.*)?$/.exec(rawPath);
  const host = m ? m[1].toLowerCase() : '';
  ctx.host = host;
  ctx.path = m && m[2] ? m[2] : '/';
  ctx.entry = {
    time: new Date().toISOString(),
    host,
    method: req.method,
    path: ctx.path + (q < 0 ? '' : `?${rawQuery}`),
    headers: { ...req.headers },
    status: null,
  };
  state.stats.push(ctx.entry);
  if (state.stats.length > STATS_MAX) state.stats.splice(0, state.stats.length - STATS_MAX);
  log(req.method, req.url);

  const fault = state.faults.get(host);
  if (fault) return applyFault(ctx, fault);
  const handler = host && handlerFor(host);
  if (!handler) {
    return send(ctx, 404, { error: 'unknown_host', host, message: `cloud-fake does not emulate host '${host}'` });
  }
  return handler(ctx);
}

const sockets = new Set();
const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('[cloud-fake] internal error:', err);
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'fake_internal_error', message: String(err?.message ?? err) }));
    }
  });
});
server.keepAliveTimeout = 5000;
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(code));
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(code), 1000).unref();
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

server.listen(ARGS.port, '127.0.0.1', () => {
  const { port } = server.address();
  stdoutWrite(`${JSON.stringify({ port, base: `http://127.0.0.1:${port}` })}\n`);
  // Exit when the parent closes our stdin, if stdin is a pipe (a dead harness cannot leak us).
  try {
    const st = fs.fstatSync(0);
    if (st.isFIFO() || st.isSocket()) {
      process.stdin.on('end', () => shutdown(0));
      process.stdin.on('error', () => {});
      process.stdin.resume();
    }
  } catch { /* no stdin at all */ }
});

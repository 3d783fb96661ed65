#!/usr/bin/env node
// Keyhaven test authorization server (OAuth 2.0 + OpenID Connect), built on oidc-provider.
//
//   node tests/oauth-server/server.mjs [--port N]
//
// Binds 127.0.0.1 only. When ready it prints exactly one JSON line to stdout:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
// and from then on writes only to stderr. It exits on SIGTERM/SIGINT and when its stdin
// reaches EOF (unless stdin is /dev/null). See README.md for the control API under /__test/.
//
// TEST FIXTURE ONLY: any username/password logs in, secrets are hard-coded.

import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { CompactSign } from 'jose';
import Provider, { errors } from 'oidc-provider';

// ---------------------------------------------------------------------------------------------
// Output discipline: stdout carries exactly one line (the ready line). oidc-provider prints its
// notices with console.info, so route every console method to stderr.
// ---------------------------------------------------------------------------------------------
const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const m of ['log', 'info', 'debug', 'warn']) {
  console[m] = (...args) => console.error(...args);
}
const VERBOSE = process.env.KH_AS_LOG === '1';
const log = (...args) => console.error('[oauth-server]', ...args);

// ---------------------------------------------------------------------------------------------
// Arguments and environment
// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const out = { port: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    let v;
    if (a === '--port') {
      v = argv[i + 1];
      i += 1;
    } else if (a.startsWith('--port=')) {
      v = a.slice('--port='.length);
    } else if (a === '--help' || a === '-h') {
      process.stderr.write('usage: node server.mjs [--port N]   (default 0 = ephemeral)\n');
      process.exit(0);
    } else {
      process.stderr.write(`server.mjs: unknown argument ${a}\n`);
      process.exit(2);
    }
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535) {
      process.stderr.write(`server.mjs: bad --port value ${v}\n`);
      process.exit(2);
    }
    out.port = Number(v);
  }
  return out;
}

function envSeconds(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    process.stderr.write(`server.mjs: ${name} must be a positive integer (seconds), got ${raw}\n`);
    process.exit(2);
  }
  return Number(raw);
}

const args = parseArgs(process.argv.slice(2));
const ACCESS_TTL = envSeconds('KH_AS_ACCESS_TTL', 3600);
const REFRESH_TTL = envSeconds('KH_AS_REFRESH_TTL', 14 * 24 * 3600);
const DEVICE_CODE_TTL = envSeconds('KH_AS_DEVICE_CODE_TTL', 600);
const ID_TOKEN_TTL = 3600;

// Opt-in features for "connect by URL" (MCP authorization): both off by default, so the server
// behaves exactly as before unless a test asks for them.
//   KH_AS_REGISTRATION=1          open dynamic client registration (RFC 7591) + management (RFC 7592)
//   KH_AS_RESOURCE_INDICATORS=1   resource indicators (RFC 8707): audience-bound access tokens
//   KH_AS_RESOURCE_TOKEN_FORMAT   opaque (default) | jwt, for resource-bound access tokens
//   KH_AS_USE_GRANTED_RESOURCE=1  a token/refresh request without `resource` still gets a token
//                                 for the resource granted at authorization (default: strict)
const envFlag = (name) => process.env[name] === '1';
const REGISTRATION = envFlag('KH_AS_REGISTRATION');
const RESOURCE_INDICATORS = envFlag('KH_AS_RESOURCE_INDICATORS');
const USE_GRANTED_RESOURCE = envFlag('KH_AS_USE_GRANTED_RESOURCE');
const RESOURCE_TOKEN_FORMAT = process.env.KH_AS_RESOURCE_TOKEN_FORMAT || 'opaque';
if (!['opaque', 'jwt'].includes(RESOURCE_TOKEN_FORMAT)) {
  process.stderr.write(`server.mjs: KH_AS_RESOURCE_TOKEN_FORMAT must be opaque or jwt, got ${RESOURCE_TOKEN_FORMAT}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Keys: fixed TEST-ONLY keys from test-keys.json (public on purpose). They used to be generated
// at every start, but Node 20 can deadlock in a KeyGenJob destructor during garbage collection
// under load (seen: the server hung before printing its ready line). Loading a JWK involves no
// KeyGenJob. RS256 (default id_token alg) and ES256 are published. A "standby" key of each kind
// is kept unpublished for the id_token_unknown_kid fault (never published) and the
// id_token_new_kid fault (published from the moment it is first used).
// ---------------------------------------------------------------------------------------------
const KEYS = JSON.parse(fs.readFileSync(new URL('./test-keys.json', import.meta.url), 'utf8'));
function makeKey({ kid, alg, jwk: privateJwk }) {
  const privateKey = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' });
  const jwk = { ...privateJwk, kid, alg, use: 'sig' };
  const publicJwk = { ...crypto.createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk, publicJwk };
}
const signingKeys = KEYS.signing.map(makeKey);
const keyByKid = new Map(signingKeys.map((k) => [k.kid, k]));
const unknownKeys = { RS256: makeKey(KEYS.unknown.RS256), ES256: makeKey(KEYS.unknown.ES256) };
const standbyKeys = { RS256: makeKey(KEYS.standby.RS256), ES256: makeKey(KEYS.standby.ES256) };
const publishedStandby = new Set(); // kids of standby keys currently added to the JWKS

// ---------------------------------------------------------------------------------------------
// Counters, fault queue, last authorization request
// ---------------------------------------------------------------------------------------------
const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
];
const COUNTED = ['authorization', 'userinfo', 'revocation', 'introspection', 'device_authorization', 'jwks', 'discovery'];
// Only with KH_AS_REGISTRATION=1 (so the default stats document is unchanged):
// POST /reg, and GET/PUT/DELETE /reg/<client_id>.
if (REGISTRATION) COUNTED.push('registration', 'registration_management');

let stats;
let faults; // endpoint -> [{ mode, remaining, ...options }]
let lastAuthorization = null;

function resetState() {
  stats = {
    token: Object.fromEntries(GRANT_TYPES.map((g) => [g, 0])),
    token_total: 0,
    ...Object.fromEntries(COUNTED.map((e) => [e, 0])),
    errors: {},
    invalid_grant: 0,
    reuse_detected: 0,
    faults_applied: {},
  };
  faults = {};
  publishedStandby.clear();
}
resetState();

function countError(endpoint, code) {
  if (!code) return;
  stats.errors[endpoint] ??= {};
  stats.errors[endpoint][code] = (stats.errors[endpoint][code] ?? 0) + 1;
}

const FAULT_ENDPOINTS = new Set([
  'token', 'userinfo', 'jwks', 'discovery', 'revocation', 'introspection', 'device_authorization', 'authorization',
  ...(REGISTRATION ? ['registration', 'registration_management'] : []),
]);
const ID_TOKEN_MODES = new Set([
  'id_token_bad_signature', 'id_token_wrong_aud', 'id_token_wrong_iss', 'id_token_wrong_nonce',
  'id_token_expired', 'id_token_alg_none', 'id_token_unknown_kid', 'id_token_new_kid',
]);
const SIMPLE_MODES = new Set([
  'malformed_json', 'html_200', 'hang', 'drop', 'drop_after', 'patch', 'big_body',
]);

function validateFault(f) {
  if (!f || typeof f !== 'object') return 'body must be a JSON object';
  if (!FAULT_ENDPOINTS.has(f.endpoint)) return `unknown endpoint ${JSON.stringify(f.endpoint)}; one of ${[...FAULT_ENDPOINTS].join(', ')}`;
  const { mode } = f;
  if (typeof mode !== 'string') return 'mode must be a string';
  if (f.count !== undefined && !(Number.isInteger(f.count) && (f.count >= 1 || f.count === -1))) {
    return 'count must be a positive integer, or -1 for "until reset"';
  }
  if (ID_TOKEN_MODES.has(mode)) {
    return f.endpoint === 'token' ? null : 'id_token_* modes apply to the token endpoint only';
  }
  if (SIMPLE_MODES.has(mode)) {
    if (mode === 'patch' && (!f.patch || typeof f.patch !== 'object' || Array.isArray(f.patch))) {
      return 'mode "patch" needs a "patch" object';
    }
    return null;
  }
  if (/^status_[1-5]\d\d$/.test(mode)) return null;
  if (/^(delay_ms|delay_before_ms):\d+$/.test(mode)) return null;
  if (/^big_body:\d+$/.test(mode)) return null;
  if (/^oauth_error:[\w.:-]+$/.test(mode)) return null;
  return `unknown mode ${JSON.stringify(mode)}`;
}

function takeFault(endpoint) {
  const q = faults[endpoint];
  if (!q || q.length === 0) return null;
  const f = q[0];
  if (f.remaining !== -1) {
    f.remaining -= 1;
    if (f.remaining <= 0) q.shift();
  }
  stats.faults_applied[endpoint] = (stats.faults_applied[endpoint] ?? 0) + 1;
  return f;
}

// ---------------------------------------------------------------------------------------------
// id_token tampering
// ---------------------------------------------------------------------------------------------
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const fromB64uJson = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

async function signJwt(header, payload, key) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key.privateKey);
}

function flipSignature(sig) {
  // Change several characters in the middle of the signature (avoid the last character, whose
  // low bits may be padding that decoders ignore).
  const chars = sig.split('');
  const start = Math.floor(chars.length / 3);
  for (let i = start; i < start + 4 && i < chars.length - 1; i += 1) {
    chars[i] = chars[i] === 'A' ? 'B' : 'A';
  }
  return chars.join('');
}

async function tamperIdToken(mode, idToken, issuer) {
  const [h, p, s] = idToken.split('.');
  const header = fromB64uJson(h);
  const payload = fromB64uJson(p);
  const key = keyByKid.get(header.kid);
  const alg = header.alg === 'ES256' ? 'ES256' : 'RS256';
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'id_token_bad_signature':
      return `${h}.${p}.${flipSignature(s)}`;
    case 'id_token_alg_none': {
      const { kid, ...rest } = header; // eslint-disable-line no-unused-vars
      return `${b64u(JSON.stringify({ ...rest, alg: 'none' }))}.${p}.`;
    }
    case 'id_token_wrong_aud':
      return signJwt(header, { ...payload, aud: 'keyhaven-someone-else', azp: undefined }, key);
    case 'id_token_wrong_iss':
      return signJwt(header, { ...payload, iss: `${issuer}/wrong-issuer` }, key);
    case 'id_token_wrong_nonce':
      return signJwt(header, { ...payload, nonce: `wrong-${crypto.randomBytes(12).toString('base64url')}` }, key);
    case 'id_token_expired':
      return signJwt(header, { ...payload, iat: now - 7200, exp: now - 3600 }, key);
    case 'id_token_unknown_kid': {
      const k = unknownKeys[alg];
      return signJwt({ ...header, alg, kid: k.kid }, payload, k);
    }
    case 'id_token_new_kid': {
      const k = standbyKeys[alg];
      publishedStandby.add(k.kid);
      return signJwt({ ...header, alg, kid: k.kid }, payload, k);
    }
    default:
      throw new Error(`unexpected id_token mode ${mode}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Accounts: any username logs in with any password; sub = username.
// ---------------------------------------------------------------------------------------------
async function findAccount(_ctx, sub) {
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        name: `Test User ${sub}`,
        preferred_username: sub,
        email: `${sub}@example.test`,
        email_verified: true,
      };
    },
  };
}

// Keyhaven's deep-link redirect URI names the authorization server: dev.keyhaven:/oauth/callback/
// <provider id> (RFC 9700 section 4.4.2, distinct redirect URIs). The clients here register it
// for each provider id in KH_AS_DEEP_LINK_IDS (comma-separated; default "testas", the id the
// tests give this server), plus the loopback redirect.
const DEEP_LINK_IDS = (process.env.KH_AS_DEEP_LINK_IDS ?? 'testas').split(',').map((s) => s.trim()).filter(Boolean);
const REDIRECT_URIS = [...DEEP_LINK_IDS.map((id) => `dev.keyhaven:/oauth/callback/${id}`), 'http://127.0.0.1/callback'];
// KH_AS_ISS=0: behave like the many servers that do not implement RFC 9207 (no iss in
// authorization responses, not advertised), for the mix-up tests.
const SEND_ISS = process.env.KH_AS_ISS !== '0';
const CODE_GRANTS = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];

const clients = [
  {
    client_id: 'keyhaven-native',
    client_name: 'Keyhaven (native, public)',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: REDIRECT_URIS,
    grant_types: CODE_GRANTS,
    response_types: ['code'],
  },
  {
    client_id: 'keyhaven-confidential',
    client_name: 'Keyhaven (confidential, client_secret_basic)',
    client_secret: 'keyhaven-confidential-secret',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: REDIRECT_URIS,
    grant_types: [...CODE_GRANTS, 'client_credentials'],
    response_types: ['code'],
  },
  {
    client_id: 'keyhaven-post',
    client_name: 'Keyhaven (confidential, client_secret_post)',
    client_secret: 'keyhaven-post-secret',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_post',
    redirect_uris: REDIRECT_URIS,
    grant_types: CODE_GRANTS,
    response_types: ['code'],
  },
];

// ---------------------------------------------------------------------------------------------
// HTTP server first (port 0 needs the real port before the issuer is known)
// ---------------------------------------------------------------------------------------------
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.keepAliveTimeout = 5000;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(args.port, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'api:read'];

// RFC 8707 resources this AS issues tokens for (KH_AS_RESOURCE_INDICATORS=1): any https:// URL,
// or http:// on a loopback host (any port), without fragment.
function acceptableResource(value) {
  const u = URL.parse(value);
  if (!u || u.hash) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

// oidc-provider's default in-memory store keeps at most 1,000 entries (LRU): the benchmark's
// 1,000 grants (3,000 entries) would silently evict each other. The same adapter over a store big
// enough for any test run.
const bigStore = new LRU({ maxSize: 1_000_000 });

const configuration = {
  adapter: (model) => new MemoryAdapter(model, bigStore),
  clients,
  findAccount,
  jwks: { keys: signingKeys.map((k) => k.jwk) },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: SCOPES,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  responseTypes: ['code'],
  // PKCE for every code flow, every client. oidc-provider 9 only implements S256: `plain` (or a
  // challenge without a method) is rejected at the authorization endpoint with invalid_request.
  pkce: { required: () => true },
  // Refresh tokens for every code flow of a client allowed the refresh_token grant (with or
  // without offline_access), rotated on every use. Presenting a consumed refresh token revokes
  // the whole grant (every token of it) and fails with invalid_grant (reuse detection).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: ACCESS_TTL,
    ClientCredentials: ACCESS_TTL,
    IdToken: ID_TOKEN_TTL,
    AuthorizationCode: 300,
    RefreshToken: REFRESH_TTL,
    DeviceCode: DEVICE_CODE_TTL,
    Grant: REFRESH_TTL,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    introspection: {
      enabled: true,
      // confidential clients may introspect any token; public clients only their own.
      allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    ...(REGISTRATION ? {
      // Open registration (no initial access token), as MCP clients expect. Registered clients
      // go through oidc-provider's normal metadata validation: native clients may use loopback
      // http redirect URIs (any port matches at authorization, RFC 8252 7.3) and custom schemes
      // such as dev.keyhaven:/oauth/callback/<id>, exactly like the static clients.
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: true },
      // RFC 7592: registration_client_uri + registration_access_token (GET/PUT/DELETE). The
      // registration access token is not rotated on use, so a stored one keeps working.
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
    } : {}),
    // oidc-provider 9 has resourceIndicators enabled by default, with a getResourceServerInfo
    // that rejects every resource (invalid_target). That stays the default behaviour.
    ...(RESOURCE_INDICATORS ? {
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (!acceptableResource(resourceIndicator)) {
            throw new errors.InvalidTarget(`resource ${resourceIndicator} is not served by this test AS (https:// or loopback http:// only)`);
          }
          return {
            // Every scope this AS knows may be granted for a resource server (including openid
            // and offline_access), so the access token's scope echoes what was asked.
            scope: SCOPES.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: ACCESS_TTL,
            accessTokenFormat: RESOURCE_TOKEN_FORMAT,
            ...(RESOURCE_TOKEN_FORMAT === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
          };
        },
        useGrantedResource: async () => USE_GRANTED_RESOURCE,
      },
    } : {}),
  },
  clientBasedCORS: () => true,
  renderError: async (ctx, out) => {
    // Plain page; browser.mjs reads the <pre data-key=...> lines.
    const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oops! something went wrong</title></head><body>
<h1>oops! something went wrong</h1>
${Object.entries(out).map(([k, v]) => `<pre data-key="${esc(k)}"><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('\n')}
</body></html>`;
  },
};

const provider = new Provider(issuer, configuration);

// ---------------------------------------------------------------------------------------------
// Events: error counters and reuse detection
// ---------------------------------------------------------------------------------------------
const EVENT_ENDPOINT = {
  'grant.error': 'token',
  'authorization.error': 'authorization',
  'userinfo.error': 'userinfo',
  'revocation.error': 'revocation',
  'introspection.error': 'introspection',
  'device_authorization.error': 'device_authorization',
  'jwks.error': 'jwks',
  'discovery.error': 'discovery',
  'registration_create.error': 'registration',
  'registration_read.error': 'registration_management',
  'registration_update.error': 'registration_management',
  'registration_delete.error': 'registration_management',
  'code_verification.error': 'code_verification',
  'end_session.error': 'end_session',
};
for (const [event, endpoint] of Object.entries(EVENT_ENDPOINT)) {
  provider.on(event, (_ctx, err) => {
    countError(endpoint, err?.error);
    if (event === 'grant.error' && err?.error === 'invalid_grant' && err?.error_detail === 'refresh token already used') {
      stats.reuse_detected += 1;
      log('refresh token reuse detected: grant revoked');
    }
    if (VERBOSE) log(`${event}: ${err?.error} ${err?.error_detail ?? err?.error_description ?? ''}`);
  });
}
// Registered clients, for GET /__test/clients.
const registeredClients = new Map();
if (REGISTRATION) {
  provider.on('registration_create.success', (_ctx, client) => {
    registeredClients.set(client.clientId, client.metadata());
    if (VERBOSE) log(`client registered: ${client.clientId}`);
  });
  provider.on('registration_update.success', (_ctx, client) => registeredClients.set(client.clientId, client.metadata()));
  provider.on('registration_delete.success', (_ctx, client) => registeredClients.delete(client.clientId));
}
provider.on('server_error', (ctx, err) => {
  countError(ctx?.oidc?.route ?? 'unknown', 'server_error');
  log('server_error', err);
});

// ---------------------------------------------------------------------------------------------
// Middleware: /__test/ control routes, counting, faults
// ---------------------------------------------------------------------------------------------
function endpointOf(ctx) {
  const { method, path } = ctx;
  if (path === '/auth' && (method === 'GET' || method === 'POST')) return 'authorization';
  if (REGISTRATION && /^\/reg\/[^/]+$/.test(path) && ['GET', 'PUT', 'DELETE'].includes(method)) return 'registration_management';
  if (method !== 'POST' && method !== 'GET') return null;
  switch (path) {
    case '/token': return method === 'POST' ? 'token' : null;
    case '/me': return 'userinfo';
    case '/token/revocation': return method === 'POST' ? 'revocation' : null;
    case '/token/introspection': return method === 'POST' ? 'introspection' : null;
    case '/device/auth': return method === 'POST' ? 'device_authorization' : null;
    case '/jwks': return method === 'GET' ? 'jwks' : null;
    case '/.well-known/openid-configuration':
    case '/.well-known/oauth-authorization-server':
      return method === 'GET' ? 'discovery' : null;
    case '/reg': return REGISTRATION && method === 'POST' ? 'registration' : null;
    default: return null;
  }
}

async function readRaw(req, limit = 1024 * 1024) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > limit) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

async function testRoutes(ctx) {
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /__test/stats':
      return json(ctx, 200, stats);
    case 'POST /__test/reset':
      resetState();
      return json(ctx, 200, { ok: true });
    case 'GET /__test/faults':
      return json(ctx, 200, faults);
    case 'GET /__test/last-authorization':
      if (!lastAuthorization) return json(ctx, 404, { error: 'no authorization request yet' });
      return json(ctx, 200, lastAuthorization);
    case 'POST /__test/mint': {
      // Benchmarks only: N independent grants for one account, each with a refresh token, as a
      // completed code flow of keyhaven-native would leave them (so 1,000 connections do not
      // need 1,000 browser sign-ins). The tokens are issued by oidc-provider's own models and
      // refresh through the real token endpoint.
      let body;
      try {
        body = JSON.parse(await readRaw(ctx.req));
      } catch (e) {
        return json(ctx, 400, { error: `invalid JSON: ${e.message}` });
      }
      const n = Number(body.n ?? 1);
      const login = String(body.login ?? 'bench');
      if (!Number.isInteger(n) || n < 1 || n > 20000) return json(ctx, 400, { error: 'n: 1..20000' });
      const client = await provider.Client.find('keyhaven-native');
      const scope = 'openid offline_access email profile';
      const out = [];
      for (let i = 0; i < n; i += 1) {
        const grant = new provider.Grant({ accountId: login, clientId: client.clientId });
        grant.addOIDCScope(scope);
        const grantId = await grant.save();
        const rt = new provider.RefreshToken({
          accountId: login, client, grantId, gty: 'authorization_code', scope, authTime: Math.floor(Date.now() / 1000),
        });
        const at = new provider.AccessToken({ accountId: login, client, grantId, gty: 'authorization_code', scope });
        out.push({ refresh_token: await rt.save(), access_token: await at.save() });
      }
      return json(ctx, 200, { tokens: out });
    }
    case 'GET /__test/clients': {
      // KH_AS_REGISTRATION=1: the dynamically registered clients (ids and metadata).
      if (!REGISTRATION) return json(ctx, 404, { error: 'dynamic client registration is off (KH_AS_REGISTRATION=1)' });
      return json(ctx, 200, { clients: [...registeredClients.values()] });
    }
    case 'POST /__test/delete-client': {
      // Simulates "the registration was deleted at the server": the client is removed from the
      // store, so every later authorization/token/introspection request with its id fails with
      // invalid_client (its tokens and grants are left as they are, but useless).
      if (!REGISTRATION) return json(ctx, 404, { error: 'dynamic client registration is off (KH_AS_REGISTRATION=1)' });
      let body;
      try {
        body = JSON.parse(await readRaw(ctx.req));
      } catch (e) {
        return json(ctx, 400, { error: `invalid JSON: ${e.message}` });
      }
      const id = body?.client_id;
      if (typeof id !== 'string' || !id) return json(ctx, 400, { error: 'client_id (string) is required' });
      if (clients.some((c) => c.client_id === id)) return json(ctx, 400, { error: `${id} is a static client; only registered clients can be deleted` });
      if (!(await provider.Client.adapter.find(id))) return json(ctx, 404, { error: `no registered client ${id}` });
      await provider.Client.adapter.destroy(id);
      registeredClients.delete(id);
      log(`registered client ${id} deleted (test control)`);
      return json(ctx, 200, { ok: true, deleted: id });
    }
    case 'POST /__test/fault': {
      let body;
      try {
        body = JSON.parse(await readRaw(ctx.req));
      } catch (e) {
        return json(ctx, 400, { error: `invalid JSON: ${e.message}` });
      }
      const problem = validateFault(body);
      if (problem) return json(ctx, 400, { error: problem });
      const { endpoint, mode, count = 1, ...options } = body;
      (faults[endpoint] ??= []).push({ mode, remaining: count, ...options });
      if (VERBOSE) log(`fault queued: ${endpoint} ${mode} x${count}`);
      return json(ctx, 200, { ok: true, queued: faults[endpoint] });
    }
    default:
      return json(ctx, 404, { error: `no such test route: ${route}` });
  }
}

const HTML_ERROR = (status, text) => `<!DOCTYPE html>
<html><head><title>${status} ${text}</title></head>
<body><h1>${status} ${text}</h1><p>The server encountered an error (injected by the Keyhaven test AS).</p></body></html>
`;

function paramsObject(searchParams) {
  const out = {};
  for (const [k, v] of searchParams) {
    if (k in out) out[k] = [].concat(out[k], v);
    else out[k] = v;
  }
  return out;
}

// KH_AS_RESOURCE_INDICATORS=1: oidc-provider rotates (consumes) the presented refresh token
// *before* it checks the requested `resource` against the grant, so a refresh for a resource that
// was never granted would fail with invalid_target *and* burn the refresh token (the next use is
// reuse, which revokes the grant). Real servers validate first; so does this fixture: the form
// body is read here (oidc-provider then uses it as an "already parsed" body) and such a request
// is answered with invalid_target without being processed. Returns true when it answered.
async function refusedRefreshResource(ctx, countToken) {
  if (!ctx.is('application/x-www-form-urlencoded')) return false;
  let raw;
  try {
    raw = await readRaw(ctx.req, 56 * 1024);
  } catch (e) {
    countToken(undefined);
    json(ctx, 400, { error: 'invalid_request', error_description: `failed to read the request body: ${e.message}` });
    return true;
  }
  ctx.req.body = raw;
  const q = new URLSearchParams(raw);
  const wanted = q.getAll('resource');
  if (q.get('grant_type') !== 'refresh_token' || wanted.length === 0) return false;
  const rt = await provider.RefreshToken.find(q.get('refresh_token') ?? '');
  if (!rt || rt.consumed || wanted.every((r) => rt.resourceIndicators.has(r))) return false;
  countToken('refresh_token');
  countError('token', 'invalid_target');
  if (VERBOSE) log('refresh for a resource not granted: invalid_target (refresh token left unused)');
  json(ctx, 400, { error: 'invalid_target', error_description: 'resource indicator is missing, or unknown' });
  return true;
}

// Token and revocation requests are processed one at a time so that two concurrent refreshes
// with the same refresh token cannot both succeed (strict rotation: the second one is reuse).
let serial = Promise.resolve();
function serialized(fn) {
  const run = serial.then(fn, fn);
  serial = run.then(() => {}, () => {});
  return run;
}

const waitClose = (ctx) => new Promise((resolve) => {
  if (ctx.req.socket.destroyed) resolve();
  else ctx.req.socket.once('close', resolve);
});

async function applyFault(ctx, endpoint, fault, next) {
  const { mode } = fault;
  if (VERBOSE) log(`fault ${endpoint} ${mode}`);
  let m;
  if ((m = /^status_(\d{3})$/.exec(mode))) {
    const status = Number(m[1]);
    ctx.status = status;
    if (fault.retry_after !== undefined) ctx.set('Retry-After', String(fault.retry_after));
    ctx.type = 'html';
    ctx.body = HTML_ERROR(status, http.STATUS_CODES[status] ?? 'Error');
    return;
  }
  if ((m = /^oauth_error:(.+)$/.exec(mode))) {
    const error = m[1];
    const status = fault.status ?? (['invalid_client', 'invalid_token'].includes(error) ? 401 : 400);
    if (status === 401 && endpoint === 'userinfo') ctx.set('WWW-Authenticate', `Bearer error="${error}"`);
    else if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="keyhaven-test"');
    if (fault.retry_after !== undefined) ctx.set('Retry-After', String(fault.retry_after));
    if (endpoint === 'token' && error === 'invalid_grant') stats.invalid_grant += 1;
    countError(endpoint, error);
    const body = { error };
    if (fault.error_description !== undefined) body.error_description = fault.error_description;
    return json(ctx, status, body);
  }
  if ((m = /^big_body(?::(\d+))?$/.exec(mode))) {
    const size = m[1] ? Number(m[1]) : 2 * 1024 * 1024;
    return json(ctx, 200, { access_token: 'x'.repeat(size), token_type: 'Bearer', expires_in: 3600 });
  }
  switch (mode) {
    case 'malformed_json':
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = '{"access_token":';
      return;
    case 'html_200':
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>Captive portal</h1><p>Please sign in to the network.</p></body></html>\n';
      return;
    case 'hang':
      ctx.respond = false;
      await waitClose(ctx);
      return;
    case 'drop':
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    default:
      break;
  }
  if ((m = /^delay_before_ms:(\d+)$/.exec(mode))) {
    await sleep(Number(m[1]));
    if (ctx.req.socket.destroyed) { ctx.respond = false; return; }
    return next();
  }
  // The remaining modes let the provider process the request, then alter the answer.
  await next();
  if ((m = /^delay_ms:(\d+)$/.exec(mode))) {
    await sleep(Number(m[1]));
    return;
  }
  if (mode === 'drop_after') {
    ctx.respond = false;
    ctx.req.socket.destroy();
    return;
  }
  if (mode === 'patch') {
    if (ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) && typeof ctx.body.pipe !== 'function') {
      const body = { ...ctx.body };
      for (const [k, v] of Object.entries(fault.patch)) {
        if (v === null) delete body[k];
        else body[k] = v;
      }
      ctx.body = body;
    } else {
      log(`fault patch on ${endpoint}: response has no JSON object body; left unchanged`);
    }
    return;
  }
  if (ID_TOKEN_MODES.has(mode)) {
    if (ctx.status === 200 && typeof ctx.body?.id_token === 'string') {
      ctx.body = { ...ctx.body, id_token: await tamperIdToken(mode, ctx.body.id_token, issuer) };
    } else {
      log(`fault ${mode}: the token response carried no id_token; left unchanged`);
    }
  }
}

if (!SEND_ISS) {
  provider.use(async (ctx, next) => {
    await next();
    const loc = ctx.response.get('Location');
    if (loc && !loc.startsWith(issuer)) {
      ctx.set('Location', loc.replace(/([?&])iss=[^&]*(&|$)/, (_m, sep, end) => (end ? sep : '')));
    }
    if (ctx.path.startsWith('/.well-known/') && ctx.body && typeof ctx.body === 'object') {
      const { authorization_response_iss_parameter_supported: _dropped, ...rest } = ctx.body;
      ctx.body = rest;
    }
  });
}

provider.use(async (ctx, next) => {
  const started = Date.now();
  try {
    if (ctx.path.startsWith('/__test/')) {
      await testRoutes(ctx);
      return;
    }
    const endpoint = endpointOf(ctx);
    if (!endpoint) {
      await next();
      return;
    }

    if (endpoint !== 'token') stats[endpoint] += 1;
    if (endpoint === 'authorization') {
      lastAuthorization = ctx.method === 'GET' ? paramsObject(new URL(ctx.href).searchParams) : null;
      // oidc-provider follows OIDC Core 11 strictly: offline_access is silently dropped unless
      // the request also says prompt=consent. This fixture's consent always runs anyway, so
      // add prompt=consent when offline_access is asked for without any prompt parameter.
      if (ctx.method === 'GET') {
        const q = new URLSearchParams(ctx.querystring);
        if ((q.get('scope') ?? '').split(' ').includes('offline_access') && !q.has('prompt')) {
          q.set('prompt', 'consent');
          ctx.querystring = q.toString();
        }
      }
    }

    const fault = takeFault(endpoint);
    let counted = false;
    const countToken = (grantType) => {
      if (counted) return;
      counted = true;
      stats.token_total += 1;
      const g = typeof grantType === 'string' && grantType ? grantType : 'unknown';
      stats.token[g] = (stats.token[g] ?? 0) + 1;
    };

    const passesThrough = !fault || !/^(status_|oauth_error:|big_body|malformed_json$|html_200$|hang$|drop$)/.test(fault.mode);
    if (endpoint === 'token' && !passesThrough) {
      // The provider never sees this request: read the form body to learn the grant type.
      try {
        const raw = await readRaw(ctx.req, 64 * 1024);
        countToken(new URLSearchParams(raw).get('grant_type'));
      } catch {
        countToken(undefined);
      }
    }

    const inner = async () => {
      if (endpoint === 'token' && RESOURCE_INDICATORS && await refusedRefreshResource(ctx, countToken)) return;
      await next();
      if (endpoint === 'token') {
        countToken(ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type);
        if (ctx.body?.error === 'invalid_grant') stats.invalid_grant += 1;
      }
      if (endpoint === 'authorization' && ctx.method === 'POST' && ctx.oidc?.body) {
        lastAuthorization = { ...ctx.oidc.body };
      }
      if (endpoint === 'jwks' && publishedStandby.size && ctx.body?.keys) {
        const extra = Object.values(standbyKeys).filter((k) => publishedStandby.has(k.kid)).map((k) => k.publicJwk);
        ctx.body = { ...ctx.body, keys: [...ctx.body.keys, ...extra] };
      }
    };
    const process_ = (endpoint === 'token' || endpoint === 'revocation') ? () => serialized(inner) : inner;

    if (fault) {
      await applyFault(ctx, endpoint, fault, process_);
    } else {
      await process_();
    }
  } finally {
    if (VERBOSE) log(`${ctx.method} ${ctx.path} -> ${ctx.respond === false ? '(no response)' : ctx.status} ${Date.now() - started}ms`);
  }
});

handler = provider.callback();

// ---------------------------------------------------------------------------------------------
// Ready line, then shutdown handling
// ---------------------------------------------------------------------------------------------
stdoutWrite(`${JSON.stringify({ issuer, port })}\n`);
log(`listening on ${issuer} (access token TTL ${ACCESS_TTL}s)`);

let shuttingDown = false;
function shutdown(reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (VERBOSE) log(`shutting down (${reason})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// Exit when stdin closes, so a harness that dies never leaves the server running. A stdin of
// /dev/null would close at once; in that case this watch is skipped (with a warning).
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

#!/usr/bin/env node
// Self-test for tests/cloud-fake/server.mjs. Starts the fake as a child process and, per provider,
// makes correctly authenticated requests (signatures computed here, independently of the server)
// and wrongly authenticated ones, asserting the status codes and error shapes. Also checks the
// signers in this file against published test vectors (AWS SigV4 documentation, egoscale).
//
//   node tests/cloud-fake/selftest.mjs
//
// Prints one line per failed check and a summary `cloud-fake selftest: N passed, M failed`.
// Exit status 0 only if every check passed. Node 20 built-ins only.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const A = JSON.parse(fs.readFileSync(path.join(HERE, 'accounts.json'), 'utf8'));

// ---------------------------------------------------------------------------------------------
// Tiny test harness
// ---------------------------------------------------------------------------------------------
let passed = 0;
let failed = 0;
const VERBOSE = process.env.KH_FAKE_SELFTEST_VERBOSE === '1';
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function eq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    if (VERBOSE) console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP client (node:http, so that every header, Host included, is exactly what we sign)
// ---------------------------------------------------------------------------------------------
let BASE = '';
let PORT = 0;
function request({ method = 'GET', url, headers = {}, body = '', timeoutMs = 3000 }) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers: { ...headers },
      agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
/** The fake URL for a real https URL: https://HOST/PATH -> BASE/HOST/PATH. */
const fake = (realUrl) => realUrl.replace(/^https:\/\//, `${BASE}/`);
async function ctl(method, route, obj) {
  const r = await request({ method, url: `${BASE}${route}`, headers: obj ? { 'Content-Type': 'application/json' } : {}, body: obj ? JSON.stringify(obj) : '' });
  eq(r.status, 200, `control ${route}`);
  return r.json;
}

// ---------------------------------------------------------------------------------------------
// Signers (independent of server.mjs)
// ---------------------------------------------------------------------------------------------
function ovhSignature(as, ck, method, url, body, ts) {
  return '$1$' + crypto.createHash('sha1').update(`${as}+${ck}+${method}+${url}+${body}+${ts}`).digest('hex');
}
function ovhHeaders(set, method, url, body, ts) {
  return {
    'X-Ovh-Application': set.application_key,
    'X-Ovh-Consumer': set.consumer_key,
    'X-Ovh-Timestamp': String(ts),
    'X-Ovh-Signature': ovhSignature(set.application_secret, set.consumer_key, method, url, body, ts),
  };
}

/** Exoscale EXO2-HMAC-SHA256 header for METHOD + (escaped path, query) as sent. */
function exoAuth(key, secret, method, pathAndQuery, body, expires) {
  const [p, q = ''] = pathAndQuery.split('?');
  const params = new Map();
  for (const [k, v] of new URLSearchParams(q)) params.set(k, params.has(k) ? null : v);
  const names = [...params.keys()].filter((k) => params.get(k) !== null).sort();
  const msg = `${method} ${p}\n${body}\n${names.map((n) => params.get(n)).join('')}\n\n${expires}`;
  const sig = crypto.createHmac('sha256', secret).update(msg).digest('base64');
  return `EXO2-HMAC-SHA256 credential=${key}${names.length ? `,signed-query-args=${names.join(';')}` : ''},expires=${expires},signature=${sig}`;
}

const enc = (s) => encodeURIComponent(s).replace(/[!*'()]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
/** AWS Signature Version 4 (non-S3). Returns the headers to send (incl. Authorization). */
function sigv4({ method, url, headers, body = '', accessKeyId, secretAccessKey, sessionToken, region, service, date }) {
  const u = new URL(url);
  const amz = date.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amz.slice(0, 8);
  const h = { ...headers, 'x-amz-date': amz };
  if (sessionToken) h['x-amz-security-token'] = sessionToken;
  const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v).trim().replace(/\s+/g, ' ')]));
  const names = Object.keys(lower).sort();
  const canonPath = u.pathname.split('/').map(enc).join('/');
  const query = [...u.searchParams].map(([k, v]) => [enc(k), enc(v)]).sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1)).map((p) => p.join('=')).join('&');
  const creq = [method, canonPath, query, names.map((n) => `${n}:${lower[n]}\n`).join(''), names.join(';'),
    crypto.createHash('sha256').update(body).digest('hex')].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amz, scope, crypto.createHash('sha256').update(creq).digest('hex')].join('\n');
  let k = crypto.createHmac('sha256', `AWS4${secretAccessKey}`).update(day).digest();
  for (const part of [region, service, 'aws4_request']) k = crypto.createHmac('sha256', k).update(part).digest();
  const signature = crypto.createHmac('sha256', k).update(sts).digest('hex');
  return { ...h, Authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`, _signature: signature };
}
function stripPrivate(h) {
  const { _signature, ...rest } = h;
  return rest;
}
const xml = (text, tag) => (new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text) || [])[1];

// ---------------------------------------------------------------------------------------------
// Start the server
// ---------------------------------------------------------------------------------------------
const child = spawn(process.execPath, [path.join(HERE, 'server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
const ready = await new Promise((resolve, reject) => {
  let buf = '';
  const t = setTimeout(() => reject(new Error('server did not print its ready line within 5 s')), 5000);
  child.stdout.on('data', (d) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl >= 0) { clearTimeout(t); resolve(buf.slice(0, nl)); }
  });
  child.on('exit', (code) => reject(new Error(`server exited early (${code})`)));
});
const info = JSON.parse(ready);
PORT = info.port;
BASE = info.base;
const HOST = `127.0.0.1:${PORT}`;

// ---------------------------------------------------------------------------------------------
// Contract and control routes
// ---------------------------------------------------------------------------------------------
await check('ready line has exactly {port, base}', () => {
  eq(Object.keys(info).sort().join(','), 'base,port', 'ready keys');
  eq(info.base, `http://127.0.0.1:${info.port}`, 'base');
});
await check('unknown host segment -> 404 JSON', async () => {
  const r = await request({ url: `${BASE}/no.such.host/x` });
  eq(r.status, 404, 'status');
  eq(r.json?.error, 'unknown_host', 'error');
});
await check('accounts.json values have the documented formats', () => {
  assert(/^[A-Za-z0-9]{64}$/.test(A.hetzner.valid.token), 'hetzner token');
  assert(/^SCW[A-Z0-9]{17}$/.test(A.scaleway.valid.access_key), 'scaleway access key');
  assert(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(A.scaleway.valid.secret_key), 'scaleway secret');
  assert(/^[A-Za-z0-9]{16}$/.test(A.ovh.eu_only.application_key), 'ovh AK');
  assert(/^[A-Za-z0-9]{32}$/.test(A.ovh.eu_only.application_secret), 'ovh AS');
  assert(/^[A-Za-z0-9]{32}$/.test(A.ovh.eu_only.consumer_key), 'ovh CK');
  assert(/^EXO[0-9a-f]{24}$/.test(A.exoscale.valid.api_key), 'exoscale key');
  assert(/^[A-Za-z0-9_-]{43}$/.test(A.exoscale.valid.api_secret), 'exoscale secret');
  assert(/^dop_v1_[0-9a-f]{64}$/.test(A.digitalocean.valid.token), 'do token');
  assert(/^[0-9a-f]{64}$/.test(A.linode.valid.token), 'linode token');
  assert(/^[A-Z0-9]{36}$/.test(A.vultr.valid.api_key), 'vultr key');
  assert(/^cfut_[A-Za-z0-9]{40}[A-Za-z0-9]+$/.test(A.cloudflare.valid.token), 'cloudflare cfut');
  assert(/^cfat_[A-Za-z0-9]{40}[A-Za-z0-9]+$/.test(A.cloudflare.account_token.token), 'cloudflare cfat');
  assert(/^[A-Za-z0-9_-]{40}$/.test(A.cloudflare.legacy.token), 'cloudflare legacy');
  assert(/^AKIA[A-Z0-9]{16}$/.test(A.aws.permanent.access_key_id), 'aws AKIA');
  assert(/^ASIA[A-Z0-9]{16}$/.test(A.aws.temporary.access_key_id), 'aws ASIA');
  assert(/^[A-Za-z0-9/+]{40}$/.test(A.aws.permanent.secret_access_key), 'aws secret');
});

// ---------------------------------------------------------------------------------------------
// Signer test vectors
// ---------------------------------------------------------------------------------------------
await check('SigV4 signer matches AWS documentation vector (get-vanilla)', () => {
  const h = sigv4({
    method: 'GET', url: 'https://example.amazonaws.com/', headers: { Host: 'example.amazonaws.com' },
    accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1', service: 'service', date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  });
  eq(h._signature, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31', 'signature');
});
await check('SigV4 signer matches AWS documentation vector (IAM ListUsers)', () => {
  const h = sigv4({
    method: 'GET', url: 'https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08',
    headers: { Host: 'iam.amazonaws.com', 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1', service: 'iam', date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  });
  eq(h._signature, '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7', 'signature');
});
await check('Exoscale signer matches egoscale test vectors', () => {
  const key = 'EXOxxxxxxxxxxxxxxxxxxxxxxxx';
  const secret = 'X'.repeat(43);
  const exp = Date.UTC(2077, 0, 1) / 1000;
  eq(exoAuth(key, secret, 'GET', '/v2/zone', '', exp),
    `EXO2-HMAC-SHA256 credential=${key},expires=${exp},signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=`, 'no query');
  eq(exoAuth(key, secret, 'GET', '/v2/zone?k1=v1&k2=v2', '', exp),
    `EXO2-HMAC-SHA256 credential=${key},signed-query-args=k1;k2,expires=${exp},signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=`, 'with query');
});

// ---------------------------------------------------------------------------------------------
// Hetzner Cloud
// ---------------------------------------------------------------------------------------------
const HZ = fake('https://api.hetzner.cloud/v1/servers?per_page=1');
await check('hetzner: valid token -> 200 with pagination', async () => {
  const r = await request({ url: HZ, headers: { Authorization: `Bearer ${A.hetzner.valid.token}` } });
  eq(r.status, 200, 'status');
  eq(r.json.meta.pagination.total_entries, 2, 'total_entries');
  eq(r.json.servers.length, 1, 'per_page honoured');
});
await check('hetzner: wrong token -> 401 unauthorized', async () => {
  const r = await request({ url: HZ, headers: { Authorization: `Bearer ${'x'.repeat(64)}` } });
  eq(r.status, 401, 'status');
  eq(r.json.error.code, 'unauthorized', 'code');
});
await check('hetzner: no token -> 401', async () => {
  eq((await request({ url: HZ })).status, 401, 'status');
});

// ---------------------------------------------------------------------------------------------
// Scaleway
// ---------------------------------------------------------------------------------------------
const scwUrl = (ak) => fake(`https://api.scaleway.com/iam/v1alpha1/api-keys/${ak}`);
await check('scaleway: valid key -> 200 with default_project_id', async () => {
  const s = A.scaleway.valid;
  const r = await request({ url: scwUrl(s.access_key), headers: { 'X-Auth-Token': s.secret_key } });
  eq(r.status, 200, 'status');
  eq(r.json.default_project_id, s.default_project_id, 'default_project_id');
  eq(r.json.secret_key, null, 'secret never returned');
});
await check('scaleway: unknown secret -> 401 denied_authentication/not_found', async () => {
  const r = await request({ url: scwUrl(A.scaleway.valid.access_key), headers: { 'X-Auth-Token': '0fa4e000-0000-4000-8000-0000000000ff' } });
  eq(r.status, 401, 'status');
  eq(r.json.type, 'denied_authentication', 'type');
  eq(r.json.reason, 'not_found', 'reason');
});
await check('scaleway: malformed secret -> 401 invalid_argument', async () => {
  const r = await request({ url: scwUrl(A.scaleway.valid.access_key), headers: { 'X-Auth-Token': 'not-a-uuid' } });
  eq(r.status, 401, 'status');
  eq(r.json.reason, 'invalid_argument', 'reason');
});
await check('scaleway: key without IAMReadOnly -> 403 permissions_denied', async () => {
  const s = A.scaleway.forbidden;
  const r = await request({ url: scwUrl(s.access_key), headers: { 'X-Auth-Token': s.secret_key } });
  eq(r.status, 403, 'status');
  eq(r.json.type, 'permissions_denied', 'type');
});

// ---------------------------------------------------------------------------------------------
// OVHcloud (application key / consumer key)
// ---------------------------------------------------------------------------------------------
const ovhTime = async (host = 'eu.api.ovh.com') => {
  const r = await request({ url: fake(`https://${host}/1.0/auth/time`) });
  eq(r.status, 200, 'auth/time status');
  return Number(r.text);
};
const OVH_ME = fake('https://eu.api.ovh.com/1.0/me');
await check('ovh: GET /auth/time is unauthenticated and returns integer seconds', async () => {
  const t = await ovhTime();
  assert(Number.isInteger(t) && Math.abs(t - Date.now() / 1000) < 5, `time ${t}`);
});
await check('ovh: signed GET /me -> 200 with nichandle', async () => {
  const s = A.ovh.eu_only;
  const ts = await ovhTime();
  const r = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', ts) });
  eq(r.status, 200, 'status');
  eq(r.json.nichandle, s.identity.nichandle, 'nichandle');
  assert(r.headers['x-ovh-queryid'], 'X-Ovh-QueryID header');
});
await check('ovh: signature over a different URL -> 400 Invalid signature', async () => {
  const s = A.ovh.eu_only;
  const ts = await ovhTime();
  const r = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', 'https://eu.api.ovh.com/1.0/me', '', ts) });
  eq(r.status, 400, 'status');
  eq(r.json.message, 'Invalid signature', 'message');
});
await check('ovh: wrong application secret -> 400 Invalid signature', async () => {
  const s = { ...A.ovh.eu_only, application_secret: 'x'.repeat(32) };
  const ts = await ovhTime();
  const r = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', ts) });
  eq(r.status, 400, 'status');
});
await check('ovh: unknown consumer key -> 403 This credential does not exist', async () => {
  const s = { ...A.ovh.eu_only, consumer_key: 'y'.repeat(32) };
  const ts = await ovhTime();
  const r = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', ts) });
  eq(r.status, 403, 'status');
  eq(r.json.message, 'This credential does not exist', 'message');
});
await check('ovh: consumer key pending validation -> 403 This credential is not valid', async () => {
  const s = A.ovh.pending;
  const ts = await ovhTime();
  const r = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', ts) });
  eq(r.status, 403, 'status');
  eq(r.json.message, 'This credential is not valid', 'message');
});
await check('ovh: access rules not covering /me -> 403 This call has not been granted', async () => {
  const s = A.ovh.forbidden;
  const ts = await ovhTime();
  const r = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', ts) });
  eq(r.status, 403, 'status');
  eq(r.json.message, 'This call has not been granted', 'message');
});
for (const host of ['ca.api.ovh.com', 'api.us.ovhcloud.com']) {
  await check(`ovh: eu-only keys on ${host} -> 403 Invalid application key`, async () => {
    const s = A.ovh.eu_only;
    const url = fake(`https://${host}/1.0/me`);
    const ts = await ovhTime(host);
    const r = await request({ url, headers: ovhHeaders(s, 'GET', url, '', ts) });
    eq(r.status, 403, 'status');
    eq(r.json.message, 'Invalid application key', 'message');
  });
}
await check('ovh: no credentials at all -> 401 You must login first', async () => {
  const r = await request({ url: OVH_ME });
  eq(r.status, 401, 'status');
});
await check('ovh: clock skew: local timestamp rejected, synced timestamp accepted', async () => {
  await ctl('POST', '/__fake/clock', { offset_seconds: 3600 });
  try {
    const s = A.ovh.eu_only;
    const local = Math.floor(Date.now() / 1000);
    const bad = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', local) });
    eq(bad.status, 400, 'unsynced status');
    eq(bad.json.message, 'Query out of time', 'unsynced message');
    const server = await ovhTime();
    assert(Math.abs(server - local - 3600) < 5, 'auth/time follows the fake clock');
    const good = await request({ url: OVH_ME, headers: ovhHeaders(s, 'GET', OVH_ME, '', server) });
    eq(good.status, 200, 'synced status');
  } finally {
    await ctl('POST', '/__fake/clock', { offset_seconds: 0 });
  }
});

// ---------------------------------------------------------------------------------------------
// OVHcloud OAuth2 service accounts
// ---------------------------------------------------------------------------------------------
const OVH_TOKEN = fake('https://www.ovh.com/auth/oauth2/token');
const ovhToken = (sa, { basic = true, secret = sa.client_secret } = {}) => {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'all' });
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (basic) headers.Authorization = `Basic ${Buffer.from(`${sa.client_id}:${secret}`).toString('base64')}`;
  else { form.set('client_id', sa.client_id); form.set('client_secret', secret); }
  return request({ method: 'POST', url: OVH_TOKEN, headers, body: form.toString() });
};
await check('ovh oauth2: client_credentials (basic) then Bearer GET /me -> 200', async () => {
  const sa = A.ovh.oauth2;
  const t = await ovhToken(sa);
  eq(t.status, 200, 'token status');
  eq(t.json.token_type, 'Bearer', 'token_type');
  const r = await request({ url: OVH_ME, headers: { Authorization: `Bearer ${t.json.access_token}` } });
  eq(r.status, 200, '/me status');
  eq(r.json.nichandle, sa.identity.nichandle, 'nichandle');
});
await check('ovh oauth2: client_secret_post also accepted', async () => {
  eq((await ovhToken(A.ovh.oauth2, { basic: false })).status, 200, 'token status');
});
await check('ovh oauth2: wrong client secret -> 400 invalid_client', async () => {
  const t = await ovhToken(A.ovh.oauth2, { secret: 'wrong' });
  eq(t.status, 400, 'status');
  eq(t.json.error, 'invalid_client', 'error');
});
await check('ovh oauth2: eu client at the ca token endpoint -> invalid_client', async () => {
  const sa = A.ovh.oauth2;
  const r = await request({
    method: 'POST', url: fake('https://ca.ovh.com/auth/oauth2/token'),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(`${sa.client_id}:${sa.client_secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials&scope=all',
  });
  eq(r.json?.error, 'invalid_client', 'error');
});
await check('ovh oauth2: service account without IAM policy -> 403 User not granted', async () => {
  const t = await ovhToken(A.ovh.oauth2_forbidden);
  eq(t.status, 200, 'token status');
  const r = await request({ url: OVH_ME, headers: { Authorization: `Bearer ${t.json.access_token}` } });
  eq(r.status, 403, 'status');
  eq(r.json.message, 'User not granted for this request', 'message');
});
await check('ovh oauth2: unknown bearer -> 401', async () => {
  eq((await request({ url: OVH_ME, headers: { Authorization: 'Bearer nope' } })).status, 401, 'status');
});

// ---------------------------------------------------------------------------------------------
// Exoscale
// ---------------------------------------------------------------------------------------------
const EXO_HOST = 'api-ch-gva-2.exoscale.com';
const exoGet = (set, apiPath, { expires = Math.floor(Date.now() / 1000) + 600, secret = set.api_secret } = {}) => {
  const sent = `/${EXO_HOST}${apiPath}`; // the path the fake receives
  return request({ url: `${BASE}${sent}`, headers: { Authorization: exoAuth(set.api_key, secret, 'GET', sent, '', expires) } });
};
await check('exoscale: signed GET /v2/organization -> 200 with organization name', async () => {
  const r = await exoGet(A.exoscale.valid, '/v2/organization');
  eq(r.status, 200, 'status');
  eq(r.json.name, A.exoscale.valid.identity.organization.name, 'name');
});
await check('exoscale: signed query arguments are verified', async () => {
  const r = await exoGet(A.exoscale.valid, '/v2/zone?b=2&a=1');
  eq(r.status, 200, 'status');
});
await check('exoscale: wrong secret -> 401', async () => {
  eq((await exoGet(A.exoscale.valid, '/v2/organization', { secret: 'z'.repeat(43) })).status, 401, 'status');
});
await check('exoscale: expired signature -> 401', async () => {
  eq((await exoGet(A.exoscale.valid, '/v2/organization', { expires: Math.floor(Date.now() / 1000) - 5 })).status, 401, 'status');
});
await check('exoscale: fake clock ahead -> locally fresh signature is expired', async () => {
  await ctl('POST', '/__fake/clock', { offset_seconds: 3600 });
  try {
    eq((await exoGet(A.exoscale.valid, '/v2/organization')).status, 401, 'skewed status');
    const r = await exoGet(A.exoscale.valid, '/v2/organization', { expires: Math.floor(Date.now() / 1000) + 3600 + 600 });
    eq(r.status, 200, 'status with expires on the server clock');
  } finally {
    await ctl('POST', '/__fake/clock', { offset_seconds: 0 });
  }
});
await check('exoscale: role without get-organization -> 403 Forbidden by role policy', async () => {
  const r = await exoGet(A.exoscale.forbidden, '/v2/organization');
  eq(r.status, 403, 'status');
  assert(/^Forbidden by role policy for /.test(r.json.message), `message ${r.json.message}`);
});
await check('exoscale: unknown zone host -> 404 unknown host', async () => {
  eq((await request({ url: `${BASE}/api-xx-nowhere-1.exoscale.com/v2/organization` })).status, 404, 'status');
});

// ---------------------------------------------------------------------------------------------
// Contabo
// ---------------------------------------------------------------------------------------------
const CNTB_TOKEN = fake('https://auth.contabo.com/auth/realms/contabo/protocol/openid-connect/token');
const cntbToken = (s, { password = s.api_password } = {}) => request({
  method: 'POST', url: CNTB_TOKEN, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ client_id: s.client_id, client_secret: s.client_secret, username: s.api_user, password, grant_type: 'password' }).toString(),
});
const cntbUsers = (tok, rid, email) => request({
  url: fake(`https://api.contabo.com/v1/users?email=${encodeURIComponent(email)}`),
  headers: { Authorization: `Bearer ${tok}`, ...(rid === undefined ? {} : { 'x-request-id': rid }) },
});
let cntbAccess = '';
await check('contabo: password grant -> 200 JWT access token', async () => {
  const t = await cntbToken(A.contabo.valid);
  eq(t.status, 200, 'status');
  eq(t.json.token_type, 'Bearer', 'token_type');
  cntbAccess = t.json.access_token;
  const claims = JSON.parse(Buffer.from(cntbAccess.split('.')[1], 'base64url').toString());
  eq(claims.customerId, A.contabo.valid.identity.customerId, 'customerId claim');
});
await check('contabo: GET /v1/users with UUID x-request-id -> 200 identity', async () => {
  const rid = crypto.randomUUID();
  const r = await cntbUsers(cntbAccess, rid, A.contabo.valid.api_user);
  eq(r.status, 200, 'status');
  eq(r.json.data[0].email, A.contabo.valid.identity.email, 'email');
  eq(r.headers['x-request-id'], rid, 'x-request-id echoed');
});
await check('contabo: missing x-request-id -> 400', async () => {
  eq((await cntbUsers(cntbAccess, undefined, A.contabo.valid.api_user)).status, 400, 'status');
});
await check('contabo: non-UUID x-request-id -> 400', async () => {
  eq((await cntbUsers(cntbAccess, 'request-1', A.contabo.valid.api_user)).status, 400, 'status');
});
await check('contabo: wrong API password -> 401 invalid_grant', async () => {
  const t = await cntbToken(A.contabo.valid, { password: 'wrong' });
  eq(t.status, 401, 'status');
  eq(t.json.error, 'invalid_grant', 'error');
});
await check('contabo: bad bearer -> 401', async () => {
  eq((await cntbUsers('not.a.jwt', crypto.randomUUID(), 'x')).status, 401, 'status');
});
await check('contabo: user without users READ -> 403', async () => {
  const t = await cntbToken(A.contabo.forbidden);
  eq(t.status, 200, 'token status');
  eq((await cntbUsers(t.json.access_token, crypto.randomUUID(), A.contabo.forbidden.api_user)).status, 403, 'status');
});

// ---------------------------------------------------------------------------------------------
// DigitalOcean, Linode, Vultr, UpCloud, Cloudflare
// ---------------------------------------------------------------------------------------------
const DO = fake('https://api.digitalocean.com/v2/account');
await check('digitalocean: valid -> 200 email; wrong -> 401; no account:read -> 403', async () => {
  const ok = await request({ url: DO, headers: { Authorization: `Bearer ${A.digitalocean.valid.token}` } });
  eq(ok.status, 200, 'valid status');
  eq(ok.json.account.email, A.digitalocean.valid.identity.email, 'email');
  const bad = await request({ url: DO, headers: { Authorization: 'Bearer dop_v1_nope' } });
  eq(bad.status, 401, 'wrong status');
  eq(bad.json.id, 'unauthorized', 'wrong id');
  const fb = await request({ url: DO, headers: { Authorization: `Bearer ${A.digitalocean.forbidden.token}` } });
  eq(fb.status, 403, 'forbidden status');
  eq(fb.json.id, 'forbidden', 'forbidden id');
});
await check('linode: profile 200 / wrong 401 / limited token on /account 403', async () => {
  const ok = await request({ url: fake('https://api.linode.com/v4/profile'), headers: { Authorization: `Bearer ${A.linode.valid.token}` } });
  eq(ok.status, 200, 'profile');
  eq(ok.json.username, A.linode.valid.identity.username, 'username');
  const bad = await request({ url: fake('https://api.linode.com/v4/profile'), headers: { Authorization: 'Bearer 00' } });
  eq(bad.status, 401, 'wrong');
  eq(bad.json.errors[0].reason, 'Invalid Token', 'reason');
  const lim = await request({ url: fake('https://api.linode.com/v4/account'), headers: { Authorization: `Bearer ${A.linode.limited.token}` } });
  eq(lim.status, 403, 'limited');
});
await check('vultr: valid 200 / wrong 401', async () => {
  const url = fake('https://api.vultr.com/v2/account');
  const ok = await request({ url, headers: { Authorization: `Bearer ${A.vultr.valid.api_key}` } });
  eq(ok.status, 200, 'valid');
  eq(ok.json.account.email, A.vultr.valid.identity.email, 'email');
  eq((await request({ url, headers: { Authorization: 'Bearer NOPE' } })).status, 401, 'wrong');
});
await check('upcloud: basic 200 / token 200 / wrong 401 / none 401 problem+json', async () => {
  const url = fake('https://api.upcloud.com/1.3/account');
  const u = A.upcloud.valid;
  const basicH = (p) => ({ Authorization: `Basic ${Buffer.from(`${u.username}:${p}`).toString('base64')}` });
  const ok = await request({ url, headers: basicH(u.password) });
  eq(ok.status, 200, 'basic');
  eq(ok.json.account.username, u.identity.username, 'username');
  eq((await request({ url, headers: { Authorization: `Bearer ${u.token}` } })).status, 200, 'token');
  const bad = await request({ url, headers: basicH('wrong') });
  eq(bad.status, 401, 'wrong');
  eq(bad.json.error.error_code, 'AUTHENTICATION_FAILED', 'error_code');
  const none = await request({ url });
  eq(none.status, 401, 'none');
  assert(String(none.headers['content-type']).startsWith('application/problem+json'), 'problem+json');
});
await check('cloudflare: verify 200 / invalid 401 / /user without permission 403 / account token', async () => {
  const v = fake('https://api.cloudflare.com/client/v4/user/tokens/verify');
  const ok = await request({ url: v, headers: { Authorization: `Bearer ${A.cloudflare.valid.token}` } });
  eq(ok.status, 200, 'verify');
  eq(ok.json.result.status, 'active', 'status active');
  const bad = await request({ url: v, headers: { Authorization: 'Bearer nope' } });
  eq(bad.status, 401, 'invalid');
  eq(bad.json.errors[0].code, 1000, 'code 1000');
  const user = await request({ url: fake('https://api.cloudflare.com/client/v4/user'), headers: { Authorization: `Bearer ${A.cloudflare.valid.token}` } });
  eq(user.json.result.email, A.cloudflare.valid.identity.email, 'email');
  const fb = await request({ url: fake('https://api.cloudflare.com/client/v4/user'), headers: { Authorization: `Bearer ${A.cloudflare.forbidden.token}` } });
  eq(fb.status, 403, 'forbidden');
  const at = A.cloudflare.account_token;
  eq((await request({ url: v, headers: { Authorization: `Bearer ${at.token}` } })).status, 401, 'account token at /user/tokens/verify');
  eq((await request({ url: fake(`https://api.cloudflare.com/client/v4/accounts/${at.account_id}/tokens/verify`), headers: { Authorization: `Bearer ${at.token}` } })).status, 200, 'account verify');
});

// ---------------------------------------------------------------------------------------------
// AWS STS GetCallerIdentity (SigV4)
// ---------------------------------------------------------------------------------------------
const STS_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
function stsCall(cred, { stsHost = 'sts.amazonaws.com', region = 'us-east-1', date = new Date(), secret = cred.secret_access_key, token = cred.session_token, method = 'POST', service = 'sts' } = {}) {
  const url = method === 'POST' ? `${BASE}/${stsHost}/` : `${BASE}/${stsHost}/?${STS_BODY}`;
  const body = method === 'POST' ? STS_BODY : '';
  const headers = { host: HOST };
  if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
  const h = sigv4({ method, url, headers, body, accessKeyId: cred.access_key_id, secretAccessKey: secret, sessionToken: token, region, service, date });
  return request({ method, url, headers: stripPrivate(h), body });
}
await check('aws: POST GetCallerIdentity (global endpoint) -> 200 Arn/Account', async () => {
  const r = await stsCall(A.aws.permanent);
  eq(r.status, 200, `status (${xml(r.text, 'Message')})`);
  eq(xml(r.text, 'Arn'), A.aws.permanent.identity.Arn, 'Arn');
  eq(xml(r.text, 'Account'), A.aws.permanent.identity.Account, 'Account');
});
await check('aws: regional endpoint sts.eu-west-1 signed for eu-west-1 -> 200', async () => {
  const r = await stsCall(A.aws.permanent, { stsHost: 'sts.eu-west-1.amazonaws.com', region: 'eu-west-1' });
  eq(r.status, 200, `status (${xml(r.text, 'Message')})`);
});
await check('aws: GET query form -> 200', async () => {
  const r = await stsCall(A.aws.permanent, { method: 'GET' });
  eq(r.status, 200, `status (${xml(r.text, 'Message')})`);
});
await check('aws: temporary credentials with X-Amz-Security-Token -> 200 assumed-role Arn', async () => {
  const r = await stsCall(A.aws.temporary);
  eq(r.status, 200, `status (${xml(r.text, 'Message')})`);
  eq(xml(r.text, 'Arn'), A.aws.temporary.identity.Arn, 'Arn');
});
await check('aws: temporary credentials without session token -> 403 InvalidClientTokenId', async () => {
  const r = await stsCall(A.aws.temporary, { token: null });
  eq(r.status, 403, 'status');
  eq(xml(r.text, 'Code'), 'InvalidClientTokenId', 'code');
});
await check('aws: expired session -> 403 ExpiredToken', async () => {
  const r = await stsCall(A.aws.expired_session);
  eq(r.status, 403, 'status');
  eq(xml(r.text, 'Code'), 'ExpiredToken', 'code');
});
await check('aws: wrong secret -> 403 SignatureDoesNotMatch', async () => {
  const r = await stsCall(A.aws.permanent, { secret: 'x'.repeat(40) });
  eq(r.status, 403, 'status');
  eq(xml(r.text, 'Code'), 'SignatureDoesNotMatch', 'code');
});
await check('aws: unknown access key -> 403 InvalidClientTokenId', async () => {
  const r = await stsCall({ ...A.aws.permanent, access_key_id: 'AKIAUNKNOWNUNKNOWN00' });
  eq(r.status, 403, 'status');
  eq(xml(r.text, 'Code'), 'InvalidClientTokenId', 'code');
});
await check('aws: scope region eu-west-1 at the global endpoint -> 403 SignatureDoesNotMatch', async () => {
  const r = await stsCall(A.aws.permanent, { region: 'eu-west-1' });
  eq(r.status, 403, 'status');
  eq(xml(r.text, 'Code'), 'SignatureDoesNotMatch', 'code');
});
await check('aws: X-Amz-Date 20 min old -> 403 Signature expired; fake clock moved -> accepted', async () => {
  const old = new Date(Date.now() - 20 * 60 * 1000);
  const r = await stsCall(A.aws.permanent, { date: old });
  eq(r.status, 403, 'status');
  eq(xml(r.text, 'Code'), 'SignatureDoesNotMatch', 'code');
  assert(/^Signature expired: /.test(xml(r.text, 'Message')), `message ${xml(r.text, 'Message')}`);
  await ctl('POST', '/__fake/clock', { offset_seconds: -20 * 60 });
  try {
    const r2 = await stsCall(A.aws.permanent, { date: old });
    eq(r2.status, 200, 'status with server clock matching');
    const skewed = await stsCall(A.aws.permanent);
    eq(skewed.status, 403, 'local now is 20 min in the future');
    assert(/^Signature not yet current: /.test(xml(skewed.text, 'Message')), 'not yet current');
    const serverDate = Date.parse(skewed.headers.date);
    assert(Math.abs(serverDate - (Date.now() - 20 * 60 * 1000)) < 5000, 'Date header carries the fake clock');
  } finally {
    await ctl('POST', '/__fake/clock', { offset_seconds: 0 });
  }
});

// ---------------------------------------------------------------------------------------------
// Faults and stats
// ---------------------------------------------------------------------------------------------
await check('fault status_503 / status_500 / html on one host only', async () => {
  const h = { Authorization: `Bearer ${A.digitalocean.valid.token}` };
  await ctl('POST', '/__fake/fault', { host: 'api.digitalocean.com', mode: 'status_503' });
  eq((await request({ url: DO, headers: h })).status, 503, '503');
  await ctl('POST', '/__fake/fault', { host: 'api.digitalocean.com', mode: 'status_500' });
  eq((await request({ url: DO, headers: h })).status, 500, '500');
  await ctl('POST', '/__fake/fault', { host: 'api.digitalocean.com', mode: 'html' });
  const html = await request({ url: DO, headers: h });
  eq(html.status, 200, 'html status');
  assert(String(html.headers['content-type']).startsWith('text/html'), 'html content-type');
  eq((await request({ url: fake('https://api.vultr.com/v2/account'), headers: { Authorization: `Bearer ${A.vultr.valid.api_key}` } })).status, 200, 'other host unaffected');
  await ctl('POST', '/__fake/reset');
  eq((await request({ url: DO, headers: h })).status, 200, 'after reset');
});
await check('fault drop closes the connection; hang times out; reset releases', async () => {
  await ctl('POST', '/__fake/fault', { host: 'eu.api.ovh.com', mode: 'drop' });
  let dropped = false;
  try { await request({ url: fake('https://eu.api.ovh.com/1.0/auth/time') }); } catch { dropped = true; }
  assert(dropped, 'drop should fail the request');
  await ctl('POST', '/__fake/fault', { host: 'eu.api.ovh.com', mode: 'hang' });
  let timedOut = false;
  try { await request({ url: fake('https://eu.api.ovh.com/1.0/auth/time'), timeoutMs: 300 }); } catch (e) { timedOut = e.message === 'timeout'; }
  assert(timedOut, 'hang should time out');
  await ctl('POST', '/__fake/reset');
  eq((await request({ url: fake('https://eu.api.ovh.com/1.0/auth/time') })).status, 200, 'after reset');
});
await check('stats lists recent requests with lowercased headers', async () => {
  const rid = crypto.randomUUID();
  await cntbUsers(cntbAccess, rid, A.contabo.valid.api_user);
  const st = await ctl('GET', '/__fake/stats');
  const last = st.requests[st.requests.length - 1];
  eq(last.host, 'api.contabo.com', 'host');
  eq(last.method, 'GET', 'method');
  assert(last.path.startsWith('/v1/users?email='), `path ${last.path}`);
  eq(last.headers['x-request-id'], rid, 'x-request-id header');
  assert(st.requests.length <= 200, 'at most 200');
});
await check('bad control requests -> 400', async () => {
  const r = await request({ method: 'POST', url: `${BASE}/__fake/fault`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ host: 'x', mode: 'explode' }) });
  eq(r.status, 400, 'status');
});

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------
await check('SIGTERM -> exit 0', async () => {
  const code = await new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  eq(code, 0, 'exit code');
});

console.log(`cloud-fake selftest: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

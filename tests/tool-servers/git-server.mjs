#!/usr/bin/env node
// Keyhaven test git server: Smart HTTP (clone, fetch, push) in front of `git http-backend`, with
// every request authenticated by an OAuth access token checked by RFC 7662 introspection.
//
//   KH_GIT_ROOT=/dir/of/bare/repos KH_INTROSPECT_URL=http://127.0.0.1:N/token/introspection \
//     node tests/tool-servers/git-server.mjs
//
// Binds 127.0.0.1 on an ephemeral port. When ready it prints exactly one JSON line to stdout:
//   {"url":"http://127.0.0.1:PORT","port":PORT,"root":"/abs/git/root"}
// and from then on writes only to stderr. Exits on SIGTERM/SIGINT and when stdin reaches EOF.
// A repository KH_GIT_ROOT/NAME.git is served at URL/NAME.git. See README.md.
//
// TEST FIXTURE ONLY. Node 20 built-ins only (no npm dependencies).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import {
  Stats, checkAuth, drain, fail, installShutdown, introspectionConfig, makeLog, printReady, sendJson, testRoutes,
} from './common.mjs';

const NAME = 'git-server';
const log = makeLog(NAME);
const cfg = introspectionConfig(NAME);
const ROOT_RAW = process.env.KH_GIT_ROOT;
if (!ROOT_RAW) fail(NAME, 'KH_GIT_ROOT is required (a directory holding bare repositories)');
const ROOT = path.resolve(ROOT_RAW);
if (!fs.existsSync(ROOT) || !fs.statSync(ROOT).isDirectory()) fail(NAME, `KH_GIT_ROOT ${ROOT} is not a directory`);
const GIT = process.env.KH_GIT_BIN || 'git';

const stats = new Stats();

function unauthorized(res, message = 'authentication required') {
  const text = `${message}\n`;
  res.writeHead(401, {
    'WWW-Authenticate': 'Basic realm="keyhaven-test"',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The CGI/1.1 environment of one request (RFC 3875), for git http-backend. */
function cgiEnv(req, url, remoteUser, authType) {
  const env = {
    ...process.env,
    GIT_PROJECT_ROOT: ROOT,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    SERVER_SOFTWARE: 'keyhaven-test-git-server',
    SERVER_NAME: '127.0.0.1',
    SERVER_PORT: String(req.socket.localPort),
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REMOTE_USER: remoteUser,
    AUTH_TYPE: authType,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
  };
  // A client's own git config must not leak in through the environment of this process.
  for (const k of Object.keys(env)) if (/^GIT_(DIR|WORK_TREE|INDEX_FILE|CONFIG_PARAMETERS|CONFIG_COUNT)$/.test(k)) delete env[k];
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  // Every request header as HTTP_*, except Authorization (RFC 3875 4.1.18): http-backend reads
  // HTTP_CONTENT_ENCODING (gzip request bodies, decompressed by http-backend itself) and
  // HTTP_GIT_PROTOCOL (protocol v2).
  for (const [k, v] of Object.entries(req.headers)) {
    if (k === 'authorization' || k === 'proxy-authorization') continue;
    env[`HTTP_${k.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(v) ? v.join(', ') : v;
  }
  return env;
}

/** Runs git http-backend for one authorized request and relays its CGI response. */
function runBackend(req, res, url, remoteUser, authType) {
  const child = spawn(GIT, ['http-backend'], { env: cgiEnv(req, url, remoteUser, authType), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024); });
  child.on('error', (e) => {
    log.info(`cannot run ${GIT} http-backend: ${e.message}`);
    if (!res.headersSent) sendJson(res, 500, { error: `cannot run git http-backend: ${e.message}` });
    else res.destroy();
  });
  child.stdin.on('error', () => {}); // http-backend may stop reading early (EPIPE)
  req.pipe(child.stdin);
  req.on('aborted', () => child.kill('SIGKILL'));
  res.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });

  let head = Buffer.alloc(0);
  let headersDone = false;
  const onData = (chunk) => {
    if (headersDone) return;
    head = Buffer.concat([head, chunk]);
    let sep = head.indexOf('\r\n\r\n');
    let sepLen = 4;
    const lf = head.indexOf('\n\n');
    if (lf !== -1 && (sep === -1 || lf < sep)) { sep = lf; sepLen = 2; }
    if (sep === -1) {
      if (head.length > 64 * 1024) {
        headersDone = true;
        child.kill('SIGKILL');
        sendJson(res, 502, { error: 'git http-backend sent no CGI header block' });
      }
      return;
    }
    headersDone = true;
    child.stdout.off('data', onData);
    let status = 200;
    let statusText;
    const headers = {};
    for (const line of head.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const k = line.slice(0, colon).trim();
      const v = line.slice(colon + 1).trim();
      if (k.toLowerCase() === 'status') {
        const m = /^(\d{3})\s*(.*)$/.exec(v);
        if (m) { status = Number(m[1]); statusText = m[2] || undefined; }
      } else if (headers[k] !== undefined) {
        headers[k] = [].concat(headers[k], v);
      } else {
        headers[k] = v;
      }
    }
    if (status >= 400) log.debug(`http-backend ${req.method} ${url.pathname}: ${status} ${stderr.trim()}`);
    if (statusText) res.writeHead(status, statusText, headers);
    else res.writeHead(status, headers);
    const rest = head.subarray(sep + sepLen);
    if (rest.length) res.write(rest);
    child.stdout.pipe(res);
  };
  child.stdout.on('data', onData);
  child.on('close', (code) => {
    if (!headersDone) {
      headersDone = true;
      log.info(`git http-backend exited ${code} without a response: ${stderr.trim()}`);
      if (!res.headersSent) sendJson(res, 502, { error: `git http-backend exited ${code}`, stderr: stderr.trim() });
    } else if (code !== 0) {
      log.debug(`git http-backend exited ${code}: ${stderr.trim()}`);
    }
  });
}

async function handle(req, res) {
  if (testRoutes(req, res, stats)) return;
  stats.requests += 1;
  const url = new URL(req.url, 'http://127.0.0.1');
  const verdict = await checkAuth({ req, stats, cfg, schemes: ['basic', 'bearer'], log });
  if (!verdict.ok) {
    drain(req);
    if (verdict.reason === 'introspection_error') {
      sendJson(res, 503, { error: 'token introspection failed', detail: verdict.error });
      return;
    }
    unauthorized(res);
    return;
  }
  const { auth } = verdict;
  const remoteUser = auth.scheme === 'basic' && auth.username ? auth.username : String(verdict.claims.sub ?? verdict.claims.client_id ?? 'bearer');
  runBackend(req, res, url, remoteUser, auth.scheme === 'basic' ? 'Basic' : 'Bearer');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    log.info(`error: ${e.stack ?? e}`);
    if (!res.headersSent) sendJson(res, 500, { error: String(e.message ?? e) });
    else res.destroy();
  });
});
server.keepAliveTimeout = 5000;
server.requestTimeout = 0; // large pushes
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const { port } = server.address();
printReady({ url: `http://127.0.0.1:${port}`, port, root: ROOT });
log.debug(`listening on http://127.0.0.1:${port}, serving ${ROOT}, introspecting at ${cfg.url}`);
installShutdown([server], log);

#!/usr/bin/env node
// Keyhaven test Kubernetes API server: just enough of the API for `kubectl get --raw /version`,
// `kubectl version` and discovery, with every request authenticated by a bearer token checked
// by RFC 7662 introspection.
//
//   KH_INTROSPECT_URL=http://127.0.0.1:N/token/introspection node tests/tool-servers/kube-server.mjs
//
// kubectl (client-go) never sends a bearer token to a plain-http server, so the API is served
// over HTTPS, with a self-signed certificate for 127.0.0.1 made at start with the openssl CLI.
// The same port also answers plain HTTP (the first byte of a connection tells TLS from HTTP),
// so the /__test/ routes can be reached without the CA, and a kubectl pointed at http:// gets
// the 401 it deserves. When ready it prints exactly one JSON line to stdout:
//   {"url":"https://127.0.0.1:PORT","http_url":"http://127.0.0.1:PORT","port":PORT,
//    "ca_file":"/tmp/.../ca.pem","ca_data":"<base64 of the PEM>"}
// and from then on writes only to stderr. Exits on SIGTERM/SIGINT and when stdin reaches EOF
// (the temporary certificate directory is removed). See README.md.
//
// TEST FIXTURE ONLY. Node 20 built-ins only (no npm dependencies).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  Stats, checkAuth, drain, installShutdown, introspectionConfig, makeLog, onExit, printReady, sendJson, testRoutes,
} from './common.mjs';

const NAME = 'kube-server';
const log = makeLog(NAME);
const cfg = introspectionConfig(NAME);
const stats = new Stats();

// ---------------------------------------------------------------------------------------------
// Certificate: self-signed, CA:TRUE, SAN IP:127.0.0.1 + DNS:localhost (Go's x509 verification
// wants the IP in the SAN; a self-signed leaf used as its own CA works for client-go).
// ---------------------------------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-kube-server-'));
onExit(() => fs.rmSync(tmp, { recursive: true, force: true }));
const keyFile = path.join(tmp, 'key.pem');
const caFile = path.join(tmp, 'ca.pem');
try {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', caFile, '-days', '7', '-subj', '/CN=keyhaven-test-kube-server',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,digitalSignature,keyCertSign',
    '-addext', 'extendedKeyUsage=serverAuth',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
} catch (e) {
  process.stderr.write(`${NAME}: openssl failed (is the openssl CLI installed?): ${e.stderr ?? e.message}\n`);
  process.exit(2);
}
const caPem = fs.readFileSync(caFile);

// ---------------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------------
const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-keyhaven-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function status(code, reason, message) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function api(req, res, url, verdict, serverAddress) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
  }
  switch (url.pathname) {
    case '/version':
    case '/version/':
      return sendJson(res, 200, VERSION);
    case '/api':
    case '/api/':
      return sendJson(res, 200, {
        kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      });
    case '/apis':
    case '/apis/':
      return sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    case '/api/v1':
    case '/api/v1/':
      return sendJson(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources: [] });
    case '/healthz':
    case '/livez':
    case '/readyz': {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      return res.end('ok');
    }
    case '/__whoami':
      // Not a Kubernetes route: what the introspection said about the token (for debugging).
      return sendJson(res, 200, verdict.claims);
    default:
      return sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }
}

async function handle(req, res, secure) {
  if (testRoutes(req, res, stats)) return;
  stats.requests += 1;
  const url = new URL(req.url, 'http://127.0.0.1');
  const verdict = await checkAuth({ req, stats, cfg, schemes: ['bearer'], log });
  drain(req);
  if (!verdict.ok) {
    if (verdict.reason === 'introspection_error') {
      return sendJson(res, 503, status(503, 'ServiceUnavailable', `token introspection failed: ${verdict.error}`));
    }
    return sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
  }
  return api(req, res, url, verdict, `127.0.0.1:${req.socket.localPort}`, secure);
}

function handler(secure) {
  return (req, res) => {
    handle(req, res, secure).catch((e) => {
      log.info(`error: ${e.stack ?? e}`);
      if (!res.headersSent) sendJson(res, 500, status(500, 'InternalError', String(e.message ?? e)));
      else res.destroy();
    });
  };
}

const httpsServer = https.createServer({ key: fs.readFileSync(keyFile), cert: caPem }, handler(true));
const httpServer = http.createServer(handler(false));
for (const s of [httpsServer, httpServer]) s.keepAliveTimeout = 5000;
httpsServer.on('tlsClientError', (e) => log.debug(`TLS client error: ${e.message}`));

// One port, two protocols: a TLS connection starts with a handshake record (0x16).
const sockets = new Set();
const front = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  socket.once('readable', () => {
    const first = socket.read(1);
    if (first === null) {
      // Not enough data yet (or EOF): wait again.
      if (!socket.readableEnded) socket.once('readable', () => dispatch(socket, socket.read(1)));
      return;
    }
    dispatch(socket, first);
  });
});
function dispatch(socket, first) {
  if (first === null) { socket.destroy(); return; }
  socket.unshift(first);
  (first[0] === 0x16 ? httpsServer : httpServer).emit('connection', socket);
}
front.close = ((orig) => function close(cb) {
  for (const s of sockets) s.destroy();
  return orig.call(this, cb);
})(front.close);

await new Promise((resolve, reject) => {
  front.once('error', reject);
  front.listen(0, '127.0.0.1', resolve);
});
const { port } = front.address();
printReady({
  url: `https://127.0.0.1:${port}`,
  http_url: `http://127.0.0.1:${port}`,
  port,
  ca_file: caFile,
  ca_data: caPem.toString('base64'),
});
log.debug(`listening on https://127.0.0.1:${port} (and http), introspecting at ${cfg.url}`);
installShutdown([front], log);

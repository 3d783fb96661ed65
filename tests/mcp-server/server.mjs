#!/usr/bin/env node
// Keyhaven test remote MCP server: the official TypeScript SDK (McpServer over the Streamable
// HTTP transport, with sessions) behind a bearer-token check, as the MCP authorization spec has
// it: a request without a token, or with one tests/oauth-server does not call active for this
// very resource (RFC 7662 introspection, RFC 8707 audience), gets 401 with
// `WWW-Authenticate: Bearer resource_metadata=...` (RFC 9728); a call to the `admin` tool
// without the `mcp:admin` scope gets 403 `insufficient_scope`.
//
//   KH_MCP_ISSUER=http://127.0.0.1:AS_PORT node tests/mcp-server/server.mjs
//
// Env: KH_MCP_JSON=1 answers with JSON bodies instead of SSE streams (enableJsonResponse).
// Binds 127.0.0.1 on a free port; prints one JSON line to stdout when ready:
//   {"url":"http://127.0.0.1:PORT","resource":"http://127.0.0.1:PORT/mcp", ...}
// GET /__test/stats: {"requests","unauthorized","forbidden","sessions","deleted","tokens":[...]}.
// POST /__test/forget-sessions: the server forgets every session (a restart, for the 404 path).
// POST /__test/deny-seen: the tokens seen so far are refused (401) from then on.
// Exits when stdin ends. TEST FIXTURE ONLY.

import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);

const ISSUER = (process.env.KH_MCP_ISSUER || '').replace(/\/$/, '');
if (!ISSUER) {
  process.stderr.write('mcp-server: KH_MCP_ISSUER is required\n');
  process.exit(2);
}
const INTROSPECT = `${ISSUER}/token/introspection`;
const INTROSPECT_AUTH = 'Basic ' + Buffer.from('keyhaven-confidential:keyhaven-confidential-secret').toString('base64');
const JSON_RESPONSES = process.env.KH_MCP_JSON === '1';

let RESOURCE = '';
let METADATA = '';
const stats = { requests: 0, unauthorized: 0, forbidden: 0, sessions: 0, deleted: 0, tokens: [] };
const transports = new Map();
// POST /__test/deny-seen: every token seen so far is refused from now on, though the
// authorization server still calls it active (a token revoked at the resource alone).
const seen = new Set();
const denied = new Set();

async function introspect(token) {
  const r = await fetch(INTROSPECT, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: INTROSPECT_AUTH },
    body: new URLSearchParams({ token }),
  });
  if (!r.ok) return { active: false };
  return r.json();
}

function challenge(res, status, extra) {
  const params = [`resource_metadata="${METADATA}"`];
  if (extra) params.unshift(extra);
  res.writeHead(status, { 'www-authenticate': `Bearer ${params.join(', ')}`, 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: status === 401 ? 'unauthorized' : 'forbidden' }));
}

// The bearer check: active, and for this resource.
async function authorize(req, res) {
  const h = req.headers.authorization || '';
  const m = /^Bearer (.+)$/i.exec(h);
  if (!m) {
    stats.unauthorized += 1;
    challenge(res, 401);
    return null;
  }
  if (denied.has(m[1])) {
    stats.unauthorized += 1;
    challenge(res, 401, `error="invalid_token"`);
    return null;
  }
  seen.add(m[1]);
  const info = await introspect(m[1]);
  const aud = [].concat(info.aud ?? []);
  if (!info.active || !aud.includes(RESOURCE)) {
    stats.unauthorized += 1;
    challenge(res, 401, `error="invalid_token"`);
    return null;
  }
  if (!stats.tokens.includes(m[1].slice(0, 8))) stats.tokens.push(m[1].slice(0, 8));
  return info;
}

function newServer() {
  const server = new McpServer({ name: 'keyhaven-test-mcp', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('echo', {
    description: 'Echoes its text',
    inputSchema: { text: z.string() },
  }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('count', {
    description: 'Counts to n, one progress notification and one log message per step',
    inputSchema: { n: z.number().int().min(1).max(100) },
  }, async ({ n }, extra) => {
    for (let i = 1; i <= n; i += 1) {
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
      }
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: `step ${i}` } });
      await new Promise((r) => setTimeout(r, 20));
    }
    return { content: [{ type: 'text', text: `counted to ${n}` }] };
  });
  server.registerTool('whoami', {
    description: 'The token subject the server saw',
  }, async (_args, extra) => ({ content: [{ type: 'text', text: String(extra.authInfo?.extra?.sub ?? '') }] }));
  server.registerTool('notify_later', {
    description: 'Sends a log message on the standalone stream after 200 ms',
  }, async () => {
    setTimeout(() => {
      server.server.sendLoggingMessage({ level: 'notice', data: 'later' }).catch((e) => console.error('notify', e));
    }, 200);
    return { content: [{ type: 'text', text: 'scheduled' }] };
  });
  server.registerTool('admin', {
    description: 'Needs the mcp:admin scope (the HTTP layer answers 403 insufficient_scope)',
  }, async () => ({ content: [{ type: 'text', text: 'admin ok' }] }));
  return server;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const httpServer = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/__test/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(stats));
    }
    if (url.pathname === '/__test/deny-seen' && req.method === 'POST') {
      for (const t of seen) denied.add(t);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ ok: true, denied: denied.size }));
    }
    if (url.pathname === '/__test/forget-sessions' && req.method === 'POST') {
      transports.clear();
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"ok":true}');
    }
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp' || url.pathname === '/.well-known/oauth-protected-resource') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({
        resource: RESOURCE,
        authorization_servers: [ISSUER],
        scopes_supported: ['openid', 'offline_access'],
        bearer_methods_supported: ['header'],
      }));
    }
    if (url.pathname !== '/mcp') {
      res.writeHead(404);
      return res.end();
    }
    stats.requests += 1;
    const info = await authorize(req, res);
    if (!info) return;
    req.auth = { token: '', clientId: info.client_id, scopes: (info.scope || '').split(' '), extra: { sub: info.sub } };
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const calls = [].concat(body ?? []).filter((m) => m?.method === 'tools/call');
    if (calls.some((m) => m.params?.name === 'admin') && !req.auth.scopes.includes('mcp:admin')) {
      stats.forbidden += 1;
      return challenge(res, 403, `error="insufficient_scope", scope="mcp:admin"`);
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid || !(req.method === 'POST' && isInitializeRequest(body))) {
        res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: sid ? 'Session not found' : 'No session' } }));
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: JSON_RESPONSES,
        onsessioninitialized: (id) => {
          transports.set(id, transport);
          stats.sessions += 1;
        },
        onsessionclosed: (id) => {
          transports.delete(id);
          stats.deleted += 1;
        },
      });
      await newServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    console.error('mcp-server:', e);
    if (!res.headersSent) {
      res.writeHead(500);
      res.end();
    }
  }
});

httpServer.listen(0, '127.0.0.1', () => {
  const { port } = httpServer.address();
  const base = `http://127.0.0.1:${port}`;
  RESOURCE = `${base}/mcp`;
  METADATA = `${base}/.well-known/oauth-protected-resource/mcp`;
  stdoutWrite(JSON.stringify({ url: base, resource: RESOURCE, resource_metadata: METADATA, issuer: ISSUER }) + '\n');
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));

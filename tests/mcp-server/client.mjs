#!/usr/bin/env node
// Keyhaven test MCP client: the official TypeScript SDK's Client, driven one step at a time.
//
//   node tests/mcp-server/client.mjs stdio COMMAND ARG...   (runs COMMAND as a stdio MCP server)
//   node tests/mcp-server/client.mjs http URL               (Streamable HTTP; bearer token from
//                                                            $KH_MCP_TOKEN)
//
// Reads one JSON step per line on stdin and prints one JSON line per step on stdout:
//   {"op":"connect"}                       -> {"ok":true,"server":{name,version},"protocol":...}
//   {"op":"list"}                          -> {"ok":true,"tools":["echo",...]}
//   {"op":"call","name":N,"args":{...}}    -> {"ok":true,"result":{...}} | {"ok":false,"error":{code,message}}
//   {"op":"count","n":3}                   -> {"ok":true,"result":...,"progress":[1,2,3]}
//   {"op":"logs"}                          -> {"ok":true,"logs":[...data]} (log messages seen so far)
//   {"op":"bench","n":500}                 -> {"ok":true,"median_us":...,"p90_us":...,"n":500}
//   {"op":"close"}                         -> {"ok":true}, then exits
// TEST FIXTURE ONLY.

import * as readline from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const [mode, target, ...rest] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

function transport() {
  if (mode === 'stdio') {
    return new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: 'inherit' });
  }
  if (mode === 'http') {
    const headers = { authorization: `Bearer ${process.env.KH_MCP_TOKEN}` };
    return new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } });
  }
  throw new Error('usage: client.mjs stdio COMMAND ARG... | http URL');
}

const client = new Client({ name: 'keyhaven-test-client', version: '1.0.0' });
const logs = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params.data));

const err = (e) => ({ ok: false, error: { code: e.code ?? null, message: String(e.message ?? e) } });

const steps = {
  async connect() {
    await client.connect(transport());
    return { ok: true, server: client.getServerVersion(), protocol: client.transport?.protocolVersion ?? null };
  },
  async list() {
    const r = await client.listTools();
    return { ok: true, tools: r.tools.map((t) => t.name) };
  },
  async call(s) {
    const result = await client.callTool({ name: s.name, arguments: s.args ?? {} });
    return { ok: true, result };
  },
  async count(s) {
    const progress = [];
    const result = await client.callTool({ name: 'count', arguments: { n: s.n } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    return { ok: true, result, progress };
  },
  async logs() {
    return { ok: true, logs };
  },
  async bench(s) {
    const times = [];
    for (let i = 0; i < (s.warmup ?? 50); i += 1) await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    for (let i = 0; i < s.n; i += 1) {
      const t0 = process.hrtime.bigint();
      await client.callTool({ name: 'echo', arguments: { text: 'x' } });
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    const at = (q) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]);
    return { ok: true, n: s.n, median_us: at(0.5), p90_us: at(0.9) };
  },
  async close() {
    await client.close();
    return { ok: true };
  },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const s = JSON.parse(line);
  const step = steps[s.op];
  if (!step) {
    say({ ok: false, error: { code: null, message: `unknown op ${s.op}` } });
    continue;
  }
  try {
    say(await step(s));
  } catch (e) {
    say(err(e));
  }
  if (s.op === 'close') process.exit(0);
}
process.exit(0);

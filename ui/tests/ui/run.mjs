// `npm run test:ui`: builds the UI, serves it, drives headless Chromium through every screen
// with the Rust side mocked (mock-ipc.ts), saves screenshots to ui/test-artifacts/, and prints
// "ui tests: N passed, M failed". Exits non-zero on any failure.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACTS, buildAll, launch, serve } from './harness.mjs';
import { tests } from './scenarios.mjs';

const started = Date.now();
const only = process.argv[2];
// Failure captures of an earlier run would be misleading; screenshots are overwritten anyway.
for (const name of await readdir(ARTIFACTS).catch(() => [])) {
  if (name.startsWith('FAILED-')) await rm(join(ARTIFACTS, name));
}
const mockCode = await buildAll();
const server = await serve();
const browser = await launch();
let passed = 0;
let failed = 0;
try {
  for (const t of tests) {
    if (only && !t.name.includes(only)) continue;
    const t0 = Date.now();
    try {
      await t.fn({ browser, base: server.url, mockCode });
      passed += 1;
      console.log(`  ok    ${t.name} (${Date.now() - t0} ms)`);
    } catch (error) {
      failed += 1;
      console.log(`  FAIL  ${t.name} (${Date.now() - t0} ms)\n${String(error?.stack ?? error).replace(/^/gm, '        ')}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ui/test-artifacts/)`);
console.log(`ui tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

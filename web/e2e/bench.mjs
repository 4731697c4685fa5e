#!/usr/bin/env node
// The dashboard's figures for docs/benchmarks.md: starts a control plane
// binary on a fresh data folder and a free port, runs the browser story once
// and then every screen cold --runs times, and prints first-load JavaScript
// and each screen's time to interactive.
//
//   cargo build --release --bin gsw-control-plane
//   node web/e2e/bench.mjs [--bin target/release/gsw-control-plane] [--runs 10]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const bin = resolve(opt('bin', join(here, '../../target/release/gsw-control-plane')));
const runs = opt('runs', '10');

const port = await new Promise((ok) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => ok(port));
  });
});
const data = mkdtempSync(join(tmpdir(), 'gsw-bench-'));
const server = spawn(bin, ['serve'], {
  env: { ...process.env, GSW_LISTEN: `127.0.0.1:${port}`, GSW_DATA_DIR: data, RUST_LOG: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
let status;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 100) throw new Error(`${bin} did not start on ${base}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`control plane ${bin} at ${base}`);
  const run = spawn(process.execPath, [join(here, 'run.mjs'), '--base-url', base, '--runs', runs, '--out', join(data, 'screenshots')], { stdio: 'inherit' });
  status = await new Promise((ok) => run.on('exit', (code) => ok(code ?? 1)));
} finally {
  server.kill('SIGTERM');
  await new Promise((ok) => server.on('exit', ok));
  rmSync(data, { recursive: true, force: true });
}
process.exit(status);

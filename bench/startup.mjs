// Start-up of `sluice run` with one broker and one trigger: the time from spawning the process to its broker's
// "listening" line and to its "sluice ready" line, and, once ready, the resident set and what a full garbage
// collection leaves of the heap (heap used, V8's old space). Builds take turns per round, so drift on a shared machine
// hits them alike; the table gives each build's median over the rounds.
//
//   npx tsc -b && node bench/startup.mjs
//   BENCH_STARTUP_BUILDS=before=/tmp/old/packages/cli/dist/bin.js,after=packages/cli/dist/bin.js node bench/startup.mjs
//   BENCH_STARTUP_ROUNDS=10    rounds (default 10)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { brokerConfig } from './processes.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 10);
const BUILDS = (process.env.BENCH_STARTUP_BUILDS ?? `sluice=${join(ROOT, 'packages/cli/dist/bin.js')}`).split(',').map((spec) => {
  const [name, path] = spec.includes('=') ? spec.split('=') : ['sluice', spec];
  return { name, bin: isAbsolute(path) ? path : join(ROOT, path) };
});
const MiB = 2 ** 20;
const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Starts one build on a fresh data directory, times its lines, reads its memory once ready, and stops it. */
async function startOnce(bin) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-startup-'));
  const heapFile = join(dir, 'heap.json');
  // The subscriber is never called: no event is sent.
  writeFileSync(join(dir, 'config.yaml'), brokerConfig({ broker: 'default', trigger: 'all', sinkUrl: 'http://127.0.0.1:9/' }));
  const preload = `--expose-gc --import ${join(ROOT, 'bench/startup-heap.mjs')}`;
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'run', '-f', join(dir, 'config.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', join(dir, 'store')], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'info', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${preload}`.trim(), SLUICE_BENCH_HEAP_FILE: heapFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    let out = '';
    let listeningMs;
    const readyMs = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        listeningMs ??= /Broker default\/default listening at/.test(out) ? performance.now() - started : undefined;
        if (/sluice ready on /.test(out)) resolve(performance.now() - started);
      });
      void exited.then((code) => reject(new Error(`sluice exited with ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`sluice did not start: ${out}`)), 60_000).unref();
    });
    child.kill('SIGUSR2');
    for (let i = 0; i < 200 && !existsSync(heapFile); i++) await new Promise((r) => setTimeout(r, 25));
    const heap = JSON.parse(readFileSync(heapFile, 'utf8'));
    return { listeningMs, readyMs, rss: heap.rss / MiB, heapUsed: heap.heapUsed / MiB, oldSpace: heap.oldSpaceUsed / MiB };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`sluice run start-up, one broker and one trigger: ${ROUNDS} rounds, builds taking turns; load average ${loadavg()[0].toFixed(1)} at the start`);
const rows = BUILDS.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, b] of BUILDS.entries()) rows[i].push(await startOnce(b.bin));
}
console.log(`load average ${loadavg()[0].toFixed(1)} at the end; medians:`);
console.table(
  Object.fromEntries(
    BUILDS.map((b, i) => {
      const m = (k) => median(rows[i].map((r) => r[k]));
      return [
        b.name,
        {
          'to listening (ms)': fmt(m('listeningMs')),
          'to ready (ms)': fmt(m('readyMs')),
          'RSS (MiB)': fmt(m('rss'), 1),
          'heap used after GC (MiB)': fmt(m('heapUsed'), 1),
          'old space after GC (MiB)': fmt(m('oldSpace'), 1),
        },
      ];
    }),
  ),
);

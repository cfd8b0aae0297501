// The size of the embedded store's write-ahead log under a load that never pauses: one durable Sluice (one broker,
// one trigger, 1 KiB events), a closed loop of 64 connections (or an open loop at BENCH_WAL_RATE events/s), the size
// of `sluice.db-wal` printed every 500 ms during the load and for 3 s after it. SQLite starts its WAL over only at a
// commit that finds every frame checkpointed; the store arranges that moment once the WAL passes 64 MiB
// (docs/reliability.md, "The write-ahead log under a steady load"). A build without it shows the WAL growing for as
// long as the load lasts.
//
//   npx tsc -b && node bench/wal-size.mjs
//   SLUICE_BIN=/other/checkout/packages/cli/dist/bin.js node bench/wal-size.mjs   # another build
//   BENCH_WAL_RATE=1000 BENCH_DURATION_MS=15000 node bench/wal-size.mjs         # open loop, 15 s
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SLUICE_BIN, startSluice } from '@sluice/testing';
import { closedLoop, openLoop } from './load.mjs';
import { brokerConfig, drain, startChild, startPhase } from './processes.mjs';

const BIN = process.env.SLUICE_BIN ?? SLUICE_BIN;
const RATE = Number(process.env.BENCH_WAL_RATE ?? 0);
const DURATION = Number(process.env.BENCH_DURATION_MS ?? 8000);
const mib = (bytes) => (bytes / 1048576).toFixed(1);

const { child: sink, port } = await startChild('sink.mjs');
const dir = mkdtempSync(join(tmpdir(), 'sluice-wal-'));
const sluice = await startSluice({ bin: BIN, yaml: brokerConfig({ broker: 'default', trigger: 'bench', sinkUrl: `http://127.0.0.1:${port}/` }), dataDir: dir, stderr: 'inherit' });
try {
  const url = `${sluice.url}/default/default`;
  const wal = join(dir, 'store', 'sluice.db-wal');
  const started = Date.now();
  const sizes = [];
  const sample = setInterval(() => {
    let size = 0;
    try {
      size = statSync(wal).size;
    } catch {
      // not created yet
    }
    sizes.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${mib(size)}`);
  }, 500);
  const idPrefix = await startPhase(sink);
  const load = RATE > 0 ? openLoop(url, { rate: RATE, durationMs: DURATION, idPrefix }) : closedLoop(url, { concurrency: 64, durationMs: DURATION, idPrefix });
  const result = await load;
  const stats = await drain(sink, result.ok, 60_000, { distinct: true });
  await new Promise((r) => setTimeout(r, 3000));
  clearInterval(sample);
  console.log(`${RATE > 0 ? `open loop at ${RATE}/s` : 'closed loop, 64 connections'} for ${DURATION / 1000} s, build ${BIN}`);
  console.log(`accepted ${result.ok}, delivered ${stats.distinct}, failed ${result.failed}`);
  console.log(`WAL MiB every 500 ms: ${sizes.join(', ')}`);
} finally {
  await sluice.stop();
  sink.kill();
  rmSync(dir, { recursive: true, force: true });
}

// The disk under the store, alone: how long an fdatasync takes at the write pattern of the store's write-ahead log,
// and whether a checkpoint-like write + fsync of another file on the same disk (what the WAL checkpoint worker does)
// makes it slower. No Sluice involved.
//
//   node bench/disk-sync.mjs [dir]          # dir: where to write (default: the OS temp dir, i.e. the disk of --data-dir)
//   BENCH_DISK_MS=6000 node bench/disk-sync.mjs
//
// Each mode runs for BENCH_DISK_MS (default 5 s): every 2 ms the "WAL" writes 8 KiB (two 4 KiB pages plus frame
// headers, about six 1 KiB events) at the next offset of a file and fdatasyncs it, as one group commit at 3,000
// events/s does.
// - `overwrite`: the WAL file is reused from its start when it reaches 4 MiB (what SQLite does after a checkpoint
//   has copied everything), so the file's size does not change;
// - `append`: the file grows with every write (a WAL that is never restarted: each sync also commits the new size);
// - `overwrite + checkpoint`: as `overwrite`, while a worker thread writes 4 MiB into a second file and fsyncs it
//   every 500 ms (the WAL checkpoint's copy of the pages into the database file).
// Prints the fdatasync latency distribution per mode (ms).
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const DIR = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'sluice-disk-'));
const DURATION = Number(process.env.BENCH_DISK_MS ?? 5000);
const WAL_BYTES = 4 * 1024 * 1024;
const COMMIT = Buffer.alloc(8 * 1024 + 48, 7);

const CHECKPOINTER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const fd = fs.openSync(workerData.file, 'w');
const page = Buffer.alloc(4096, 3);
let stop = false;
const times = [];
parentPort.on('message', () => { stop = true; });
const round = () => {
  if (stop) { fs.closeSync(fd); parentPort.postMessage(times); return; }
  const t0 = performance.now();
  for (let i = 0; i < 1024; i++) fs.writeSync(fd, page, 0, page.length, ((i * 7919) % 4096) * 4096); // 4 MiB, scattered
  fs.fsyncSync(fd);
  times.push(performance.now() - t0);
  setTimeout(round, 500);
};
round();
`;

function pct(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runMode(mode) {
  const file = join(DIR, `wal-${mode.replace(/\W+/g, '-')}`);
  const fd = openSync(file, 'w+');
  if (mode !== 'append') {
    for (let off = 0; off < WAL_BYTES; off += 65536) writeSync(fd, Buffer.alloc(65536), 0, 65536, off);
    fsyncSync(fd);
  }
  const worker = mode.includes('checkpoint') ? new Worker(CHECKPOINTER, { eval: true, workerData: { file: join(DIR, 'db') } }) : undefined;
  const syncs = [];
  let off = 0;
  const end = performance.now() + DURATION;
  await new Promise((resolve) => {
    const commit = () => {
      if (performance.now() >= end) return resolve();
      if (mode !== 'append' && off + COMMIT.length > WAL_BYTES) off = 0;
      writeSync(fd, COMMIT, 0, COMMIT.length, off);
      off += COMMIT.length;
      const t0 = performance.now();
      fdatasyncSync(fd);
      syncs.push(performance.now() - t0);
      setTimeout(commit, 2);
    };
    commit();
  });
  let checkpoints = [];
  if (worker) {
    checkpoints = await new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage('stop');
    });
    await worker.terminate();
  }
  closeSync(fd);
  const s = Float64Array.from(syncs).sort();
  const c = Float64Array.from(checkpoints).sort();
  return { mode, syncs: s.length, p50: pct(s, 50), p99: pct(s, 99), p999: pct(s, 99.9), max: s[s.length - 1], over10: syncs.filter((x) => x > 10).length, checkpointP50: pct(c, 50), checkpointMax: c[c.length - 1] };
}

const f = (n) => (Number.isFinite(n) ? n.toFixed(2) : '–');
console.log(`fdatasync of an 8 KiB WAL-like commit every 2 ms, ${DURATION / 1000} s per mode, in ${DIR}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| mode | syncs | fdatasync p50 / p99 / p99.9 / max ms | syncs > 10 ms | checkpoint write+fsync p50 / max ms |');
console.log('|---|--:|--:|--:|--:|');
for (const mode of ['overwrite', 'append', 'overwrite + checkpoint']) {
  const r = await runMode(mode);
  console.log(`| ${r.mode} | ${r.syncs} | ${f(r.p50)} / ${f(r.p99)} / ${f(r.p999)} / ${f(r.max)} | ${r.over10} | ${f(r.checkpointP50)} / ${f(r.checkpointMax)} |`);
}
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
rmSync(DIR, { recursive: true, force: true });

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
// Prints the fdatasync latency distribution per mode (ms). Then group commit with one or two fdatasyncs in flight.
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
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
  return {
    mode,
    syncs: s.length,
    p50: pct(s, 50),
    p99: pct(s, 99),
    p999: pct(s, 99.9),
    max: s[s.length - 1],
    over10: syncs.filter((x) => x > 10).length,
    checkpointP50: pct(c, 50),
    checkpointMax: c[c.length - 1],
  };
}

const f = (n) => (Number.isFinite(n) ? n.toFixed(2) : '–');
console.log(
  `fdatasync of an 8 KiB WAL-like commit every 2 ms, ${DURATION / 1000} s per mode, in ${DIR}; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('| mode | syncs | fdatasync p50 / p99 / p99.9 / max ms | syncs > 10 ms | checkpoint write+fsync p50 / max ms |');
console.log('|---|--:|--:|--:|--:|');
for (const mode of ['overwrite', 'append', 'overwrite + checkpoint']) {
  const r = await runMode(mode);
  console.log(`| ${r.mode} | ${r.syncs} | ${f(r.p50)} / ${f(r.p99)} / ${f(r.p999)} / ${f(r.max)} | ${r.over10} | ${f(r.checkpointP50)} / ${f(r.checkpointMax)} |`);
}
// Group commit as the store does it, on the reused file: an event every 1/3 ms (3,000 events/s), each 1.3 KiB, written
// at the next commit (once per event-loop turn) and durable when an fdatasync that started after its write returns.
// `in flight 1`: the next commit waits for the running fdatasync (the store's way); `in flight 2`: a second fdatasync
// may start while one runs. Prints the time from an event's arrival to its durability.
async function groupCommit(maxInFlight) {
  const fd = openSync(join(DIR, `gc-${maxInFlight}`), 'w+');
  for (let off = 0; off < WAL_BYTES; off += 65536) writeSync(fd, Buffer.alloc(65536), 0, 65536, off);
  fsyncSync(fd);
  const event = Buffer.alloc(1300, 5);
  const lat = [];
  let waiting = []; // arrival times not yet written
  let inFlight = 0;
  let off = 0;
  const start = performance.now();
  let arrived = 0;
  await new Promise((resolve) => {
    const commit = () => {
      if (waiting.length === 0 || inFlight >= maxInFlight) return;
      const batch = waiting;
      waiting = [];
      const buf = Buffer.concat(batch.map(() => event));
      if (off + buf.length > WAL_BYTES) off = 0;
      writeSync(fd, buf, 0, buf.length, off);
      off += buf.length;
      inFlight++;
      fdatasync(fd, () => {
        inFlight--;
        const now = performance.now();
        for (const t of batch) lat.push(now - t);
        commit();
      });
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.floor((now - start) * 3);
      while (arrived < due) waiting.push(start + arrived++ / 3);
      commit();
      if (now - start < DURATION)
        setTimeout(tick, 1); // arrivals gathered per millisecond (no spinning on a shared machine)
      else {
        const wait = () => (inFlight > 0 || waiting.length > 0 ? setTimeout(() => (commit(), wait()), 1) : resolve());
        wait();
      }
    };
    tick();
  });
  closeSync(fd);
  const l = Float64Array.from(lat).sort();
  return { maxInFlight, events: l.length, p50: pct(l, 50), p99: pct(l, 99), p999: pct(l, 99.9), max: l[l.length - 1] };
}
console.log('\nGroup commit at 3,000 events/s: arrival → durable (ms)');
console.log('| fdatasyncs in flight | events | p50 / p99 / p99.9 / max |');
console.log('|--:|--:|--:|');
for (const n of [1, 2, 1, 2]) {
  const r = await groupCommit(n);
  console.log(`| ${r.maxInFlight} | ${r.events} | ${f(r.p50)} / ${f(r.p99)} / ${f(r.p999)} / ${f(r.max)} |`);
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
rmSync(DIR, { recursive: true, force: true });

// Where the tail of a durable Sluice's latency comes from: the open-loop latency phase of `bench/run.mjs` (one broker,
// one trigger, 1 KiB events, latency from the intended send time) with bench/phase-trace.mjs preloaded into the Sluice
// process, then every event's path split into phases, and the phases of the slowest 1 % compared with the median
// event's. Also: what else happened in the process while the slow events were in it (event-loop gaps, GC pauses, WAL
// checkpoints of the worker thread, slow SQLite statements).
//
//   npx tsc -b && node bench/latency-attribution.mjs                # rates 1000,3000 (BENCH_LATENCY_RATES), 8 s each
//   SLUICE_BIN=/other/checkout/packages/cli/dist/bin.js node bench/latency-attribution.mjs   # another build
//   BENCH_ATTRIBUTION_JSON=out.json ...                              # also write the per-event rows
//   BENCH_CPU_PROF_DIR=dir ...                                       # and a --cpu-prof of the Sluice process
//   node bench/gap-frames.mjs out.json.3000 dir/CPU.*.0.*.cpuprofile  # what the event loop ran in its gaps (the main thread's profile)
//
// The figures are relative (which phase holds the 99th-percentile events), so they stay meaningful on a busy
// machine; the load average is printed next to each run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve as absolutePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLUICE_BIN, startSluice } from '@sluice/testing';
import { openLoop, pct } from './load.mjs';
import { ask, brokerConfig, drain, startChild } from './processes.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = process.env.SLUICE_BIN ?? SLUICE_BIN;
const DURATION = Number(process.env.BENCH_DURATION_MS ?? 8000);
const RATES = (process.env.BENCH_LATENCY_RATES ?? '1000,3000').split(',').map(Number);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function startTraced(sinkUrl, dir) {
  const traceFile = join(dir, 'trace.json');
  const sluice = await startSluice({
    bin: BIN,
    yaml: brokerConfig({ broker: 'default', trigger: 't0', sinkUrl }),
    dataDir: dir,
    stderr: 'inherit',
    // SLUICE_TEST_NODE_ARGS (say --single-threaded-gc on Node.js 20) as startSluice would take them, the profiler's after.
    nodeArgs: [
      ...(process.env.SLUICE_TEST_NODE_ARGS ?? '').split(' ').filter(Boolean),
      ...(process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-interval=500', `--cpu-prof-dir=${absolutePath(process.env.BENCH_CPU_PROF_DIR)}`] : []),
    ],
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(ROOT, 'bench/phase-trace.mjs')}`.trim(), SLUICE_BENCH_TRACE_FILE: traceFile },
  });
  return { child: sluice.child, url: `${sluice.url}/default/default`, traceFile, stop: sluice.stop };
}

/** Asks the preload for what it recorded since the previous call. */
async function snapshot(s) {
  rmSync(s.traceFile, { force: true });
  process.kill(s.child.pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(s.traceFile); i++) await new Promise((r) => setTimeout(r, 50));
  return JSON.parse(readFileSync(s.traceFile, 'utf8'));
}

function checkpointsSince(s, from) {
  const f = `${s.traceFile}.checkpoints`;
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => JSON.parse(l))
    .filter((c) => c[0] >= from);
}

// The path to the subscriber. Since deliveries start at the commit, the fdatasync is on the producer's path (ACK) only.
const PHASES = [
  ['client → request start', (e) => e.arrive - e.t0],
  ['request start → INSERT', (e) => e.insert - e.arrive],
  ['INSERT → commit end', (e) => e.txnEnd - e.insert],
  ['commit end → delivery request created', (e) => e.send - e.txnEnd],
  ['delivery request → subscriber got it', (e) => e.sinkAt - e.send],
];
const ACK = [
  ['client → request start', (e) => e.arrive - e.t0],
  ['request start → INSERT', (e) => e.insert - e.arrive],
  ['INSERT → commit end', (e) => e.txnEnd - e.insert],
  ['commit end → fdatasync start', (e) => e.syncStart - e.txnEnd],
  ['fdatasync (until its callback ran)', (e) => e.syncEnd - e.syncStart],
  ['synced → 202 written', (e) => e.ack - e.syncEnd],
  ['202 written → client got it (clocks of two processes)', (e) => e.done - e.ack],
];

function join2(record, sinkTimes, trace) {
  const sink = new Map(sinkTimes);
  const txns = new Map(trace.txns.map((t) => [t.n, t]));
  const syncs = trace.syncs; // in start order; a commit is covered by the first sync started after it
  const syncFor = (txn) => {
    let lo = 0;
    let hi = syncs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (syncs[mid].txn < txn) lo = mid + 1;
      else hi = mid;
    }
    return syncs[lo];
  };
  const evs = new Map(trace.events);
  const rows = [];
  for (const [id, t0, done] of record) {
    const e = evs.get(id);
    const sinkAt = sink.get(id);
    if (!e || sinkAt === undefined || e.txn === undefined) continue;
    const txn = txns.get(e.txn);
    const sync = syncFor(e.txn);
    if (!txn || !sync || sync.end === undefined) continue;
    rows.push({
      id,
      t0,
      done,
      sinkAt,
      arrive: e.arrive,
      insert: e.insert,
      txnStart: txn.start,
      txnEnd: txn.end,
      txnRows: txn.rows,
      syncStart: sync.start,
      syncEnd: sync.end,
      ack: e.ack,
      send: e.send,
      sent: e.sent,
    });
  }
  return rows;
}

const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const median = (xs) => pct(Float64Array.from(xs).sort(), 50);

function overlapShare(slow, intervals) {
  // Share of slow events whose time in Sluice (request start → subscriber got it) overlaps one of the intervals.
  let n = 0;
  for (const e of slow) if (intervals.some(([a, b]) => a < e.sinkAt && b > e.arrive)) n++;
  return slow.length ? n / slow.length : NaN;
}

function analyse(rate, rows, trace, checkpoints, loadBefore, loadAfter) {
  const e2e = rows.map((r) => r.sinkAt - r.t0);
  const sorted = Float64Array.from(e2e).sort();
  const p99 = pct(sorted, 99);
  const slow = rows.filter((r) => r.sinkAt - r.t0 >= p99);
  const ingressSorted = Float64Array.from(rows.map((r) => r.done - r.t0)).sort();
  const ip99 = pct(ingressSorted, 99);
  const slowIngress = rows.filter((r) => r.done - r.t0 >= ip99);
  console.log(`\n### ${rate} events/s — ${rows.length} events traced; load average ${loadBefore} → ${loadAfter}`);
  console.log(
    `e2e p50 / p99 / p99.9 / max: ${f(pct(sorted, 50))} / ${f(p99)} / ${f(pct(sorted, 99.9))} / ${f(sorted[sorted.length - 1])} ms; ingress p50 / p99: ${f(pct(ingressSorted, 50))} / ${f(ip99)} ms`,
  );
  console.log('| phase | all events, median ms | slowest 1 % e2e, median ms | mean ms | largest phase of how many slow events |');
  console.log('|---|--:|--:|--:|--:|');
  const largest = new Map();
  for (const r of slow) {
    let best;
    let bestV = -Infinity;
    for (const [name, fn] of PHASES) if (fn(r) > bestV) [best, bestV] = [name, fn(r)];
    largest.set(best, (largest.get(best) ?? 0) + 1);
  }
  for (const [name, fn] of PHASES) {
    const mean = slow.reduce((s, r) => s + fn(r), 0) / Math.max(1, slow.length);
    console.log(`| ${name} | ${f(median(rows.map(fn)), 2)} | ${f(median(slow.map(fn)), 2)} | ${f(mean, 2)} | ${largest.get(name) ?? 0} / ${slow.length} |`);
  }
  console.log('ingress (slowest 1 % by answer time):');
  for (const [name, fn] of ACK) console.log(`  ${name}: median ${f(median(slowIngress.map(fn)), 2)} ms (all: ${f(median(rows.map(fn)), 2)})`);
  const syncDur = Float64Array.from(trace.syncs.filter((s) => s.end).map((s) => s.end - s.start)).sort();
  const txnDur = Float64Array.from(trace.txns.filter((t) => t.rows > 0).map((t) => t.end - t.start)).sort();
  const rowsPerTxn = Float64Array.from(trace.txns.filter((t) => t.rows > 0).map((t) => t.rows)).sort();
  const gapTotal = trace.gaps.reduce((s, [a, b]) => s + (b - a), 0);
  const gapMax = Math.max(0, ...trace.gaps.map(([a, b]) => b - a));
  const gcTotal = trace.gcs.reduce((s, g) => s + g[1], 0);
  const gcMax = Math.max(0, ...trace.gcs.map((g) => g[1]));
  const gcKinds = {};
  for (const g of trace.gcs) gcKinds[g[2]] = (gcKinds[g[2]] ?? 0) + 1;
  const cpDur = Float64Array.from(checkpoints.map((c) => c[1] - c[0])).sort();
  console.log(
    `fdatasync (until callback): ${syncDur.length} syncs, p50 / p99 / max ${f(pct(syncDur, 50), 2)} / ${f(pct(syncDur, 99), 2)} / ${f(syncDur[syncDur.length - 1], 2)} ms; commits with events: ${txnDur.length}, duration p50 / p99 / max ${f(pct(txnDur, 50), 2)} / ${f(pct(txnDur, 99), 2)} / ${f(txnDur[txnDur.length - 1], 2)} ms, events per commit p50 / p99 ${pct(rowsPerTxn, 50)} / ${pct(rowsPerTxn, 99)}`,
  );
  console.log(
    `event-loop gaps > 4 ms: ${trace.gaps.length}, total ${f(gapTotal)} ms, max ${f(gapMax)} ms; GC: ${trace.gcs.length} pauses (kinds ${JSON.stringify(gcKinds)}), total ${f(gcTotal)} ms, max ${f(gcMax)} ms; WAL checkpoints: ${cpDur.length}, p50 / max ${f(pct(cpDur, 50))} / ${f(cpDur[cpDur.length - 1])} ms`,
  );
  console.log(`  ${gapBreakdown(trace)}`);
  const slowStmts = {};
  for (const [a, b, sql] of trace.slow) {
    const s = (slowStmts[sql] ??= { n: 0, total: 0, max: 0 });
    s.n++;
    s.total += b - a;
    s.max = Math.max(s.max, b - a);
  }
  for (const [sql, s] of Object.entries(slowStmts)
    .sort((x, y) => y[1].total - x[1].total)
    .slice(0, 4))
    console.log(`  statement > 1 ms: ${s.n}× total ${f(s.total)} max ${f(s.max)} ms: ${sql}`);
  console.log(
    `slow events (e2e ≥ p99) whose time in Sluice overlaps: an event-loop gap ${f(100 * overlapShare(slow, trace.gaps), 0)} %, a GC pause ${f(
      100 *
        overlapShare(
          slow,
          trace.gcs.map(([a, d]) => [a, a + d]),
        ),
      0,
    )} % (${f(
      100 *
        overlapShare(
          slow,
          trace.gcs.filter((g) => g[1] > 4).map(([a, d]) => [a, a + d]),
        ),
      0,
    )} % one over 4 ms), a WAL checkpoint ${f(100 * overlapShare(slow, checkpoints), 0)} %; all events: gap ${f(100 * overlapShare(rows, trace.gaps), 0)} %, checkpoint ${f(100 * overlapShare(rows, checkpoints), 0)} %`,
  );
  return { rate, events: rows.length, e2e: { p50: pct(sorted, 50), p99, p999: pct(sorted, 99.9) }, load: [loadBefore, loadAfter] };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-attr-'));
  const { child: sink, port } = await startChild('sink.mjs');
  process.on('exit', () => sink.kill());
  const s = await startTraced(`http://127.0.0.1:${port}/`, dir);
  console.log(`Latency attribution: ${BIN}, ${DURATION / 1000} s per rate after a 2 s warm-up`);
  const all = [];
  try {
    for (const rate of RATES) {
      await openLoop(s.url, { rate, durationMs: 2000 });
      await drain(sink, 0, 5000);
      await ask(sink, 'reset');
      await ask(sink, 'record');
      const loadBefore = load();
      const from = performance.timeOrigin + performance.now();
      await snapshot(s);
      const record = [];
      await openLoop(s.url, { rate, durationMs: DURATION, record });
      const stats = await drain(sink, record.length);
      const trace = await snapshot(s);
      const { times } = await ask(sink, 'times');
      const rows = join2(record, times, trace);
      all.push({ ...analyse(rate, rows, trace, checkpointsSince(s, from), loadBefore, load()), delivered: stats.count });
      if (process.env.BENCH_ATTRIBUTION_JSON) writeFileSync(`${process.env.BENCH_ATTRIBUTION_JSON}.${rate}`, JSON.stringify({ rows, trace }));
    }
  } finally {
    await s.stop();
    sink.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

// What the event loop's gaps were: CPU time the process spent in them (every thread) against their length, how many
// involuntary context switches they took, and how much of them a GC pause or a slow statement covered.
function gapBreakdown(trace) {
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const len = sum(trace.gaps.map(([a, b]) => b - a));
  if (!trace.gaps[0] || trace.gaps[0].length < 4) return 'gaps: no CPU figures (an older phase-trace)';
  const cpu = sum(trace.gaps.map((g) => g[2])) / 1000;
  const switches = sum(trace.gaps.map((g) => g[3]));
  const covered = (spans) => sum(trace.gaps.map(([a, b]) => sum(spans.map(([x, y]) => Math.max(0, Math.min(b, y) - Math.max(a, x))))));
  const gc = covered(trace.gcs.map(([start, dur]) => [start, start + dur]));
  const stmts = covered(trace.slow.map(([a, b]) => [a, b]));
  const idle = trace.gaps.filter(([a, b, c]) => c / 1000 < 0.3 * (b - a));
  return `gaps: ${f(len)} ms long, process CPU in them ${f(cpu)} ms (${f((100 * cpu) / len, 0)} %), ${switches} involuntary context switches; covered by GC ${f(gc)} ms, by statements > 1 ms ${f(stmts)} ms; ${idle.length} gaps (${f(sum(idle.map(([a, b]) => b - a)))} ms) with CPU < 30 % of their length (the process not running)`;
}

// Isolation between the triggers of one broker: the delivery rate of a healthy trigger alone, and beside sibling
// triggers whose subscribers are dead (one never answers, one refuses connections; timeout 2 s) or slow (2 s per
// request, timeout 10 s, maxInFlight saturated), measured in the same run; the figure that counts is the ratio. Afterwards the dead and slow
// subscribers come back and every trigger must end with every accepted event (at its subscriber or its dead-letter
// sink): lost = accepted − distinct ids delivered.
//
//   node bench/isolation.mjs       # BENCH_ISOLATION_MS per load phase (default 5000), BENCH_ISOLATION_ROUNDS (3)
//   SLUICE_BIN=/other/checkout/packages/cli/dist/bin.js node bench/isolation.mjs   # measure another build
//
// As a module: `const rows = await run({ durationMs, rounds })`; `print(rows)` prints the table.
import { createServer } from 'node:net';
import { resolve as absolutePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLUICE_BIN, startSluice } from '@sluice/testing';
import { closedLoop } from './load.mjs';
import { ask, drain, peakRssMiB, startChild, startPhase } from './processes.mjs';

const BIN = process.env.SLUICE_BIN ?? SLUICE_BIN;

const trigger = (name, uri, dls, annotations = {}) => `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
${
  Object.keys(annotations).length
    ? `  annotations:\n${Object.entries(annotations)
        .map(([k, v]) => `    ${k}: "${v}"\n`)
        .join('')}`
    : ''
}spec:
  broker: default
  filter:
    attributes:
      type: bench.event
  subscriber:
    uri: ${uri}
${dls ? `  delivery:\n    deadLetterSink:\n      uri: ${dls}\n` : ''}`;

/** One Sluice with `yaml` (Node's options `nodeArgs` first): its broker's URL, pid and `stop()`. */
async function startBroker(yaml, nodeArgs = []) {
  const sluice = await startSluice({ bin: BIN, yaml, nodeArgs, stderr: 'inherit' });
  return { url: `${sluice.url}/default/default`, pid: sluice.child.pid, stop: sluice.stop };
}

/** A loopback port with nothing listening on it (connections are refused until a sink takes it). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const BROKER = (timeout = 'PT2S') => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
spec:
  delivery:
    retry: 3
    backoffPolicy: exponential
    backoffDelay: PT0.5S
    timeout: ${timeout}
`;

/** Healthy trigger's deliveries per second over the load phase (closed loop, 64 connections). */
async function loadPhase(target, sink, durationMs) {
  const idPrefix = await startPhase(sink);
  const startedAt = performance.timeOrigin + performance.now();
  const load = await closedLoop(target.url, { concurrency: 64, durationMs, idPrefix });
  const stats = await drain(sink, load.ok, undefined, { distinct: true });
  const seconds = Math.max((stats.lastAt - startedAt) / 1000, load.elapsedMs / 1000);
  return { load, stats, deliveredPerSec: stats.count / seconds, peakRssMiB: peakRssMiB(target.pid) };
}

/** Waits until the union of distinct ids at the given sinks reaches `expected` (or stops growing for 20 s). */
async function settle(sinks, expected, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const ids = new Set();
    for (const s of sinks) for (const id of (await ask(s, 'ids')).ids) ids.add(id);
    if (ids.size >= expected || Date.now() > deadline) return ids.size;
    if (ids.size !== last) {
      last = ids.size;
      since = Date.now();
    } else if (Date.now() - since > 20_000) return ids.size;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One setup: the healthy trigger plus `siblings` (dead or slow); returns the healthy rate and the ledger. */
async function siblingsPhase(kind, sinkUrl, sink, durationMs, cpuProfDir) {
  const dls = [await startChild('sink.mjs'), await startChild('sink.mjs')];
  const dlsUrl = (i) => `http://127.0.0.1:${dls[i].port}/`;
  let subs;
  let revive;
  if (kind === 'dead') {
    const hang = await startChild('sink.mjs', ['hang']);
    const refusedPort = await freePort();
    subs = [hang, undefined];
    revive = async () => {
      await ask(hang.child, 'heal');
      subs[1] = await startChild('sink.mjs', [`port=${refusedPort}`]);
    };
    subs.urls = [`http://127.0.0.1:${hang.port}/`, `http://127.0.0.1:${refusedPort}/`];
  } else {
    const slow = [await startChild('sink.mjs', ['slow=2000']), await startChild('sink.mjs', ['slow=2000'])];
    subs = slow;
    // At 2 s per request the backlog would take minutes to drain: the ledger check speeds them up first.
    revive = async () => {
      for (const s of slow) await ask(s.child, 'heal');
    };
    subs.urls = slow.map((s) => `http://127.0.0.1:${s.port}/`);
  }
  // The dead subscribers' probes come every 5 s at most, so the ledger check after the run does not wait long.
  const annotations = { 'sluice.dev/circuit-breaker-max-backoff': 'PT5S' };
  // Slow subscribers answer within the timeout: they are slow, not failing.
  const yaml =
    BROKER(kind === 'dead' ? 'PT2S' : 'PT10S') + trigger('healthy', sinkUrl) + trigger('sibling-a', subs.urls[0], dlsUrl(0), annotations) + trigger('sibling-b', subs.urls[1], dlsUrl(1), annotations);
  const s = await startBroker(yaml, cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${absolutePath(cpuProfDir)}`] : []);
  const r = await loadPhase(s, sink, durationMs);
  await revive();
  const accepted = r.load.ok;
  const ledger = { healthy: accepted - r.stats.distinct };
  for (const i of [0, 1]) {
    const got = await settle([subs[i].child, dls[i].child], accepted);
    ledger[`sibling${i === 0 ? 'A' : 'B'}`] = accepted - got;
  }
  await s.stop();
  for (const c of [...subs, ...dls]) c?.child.kill();
  return { ...r, ledger };
}

export async function run({ durationMs = Number(process.env.BENCH_ISOLATION_MS ?? 5000), rounds = Number(process.env.BENCH_ISOLATION_ROUNDS ?? 3), cpuProfDir = process.env.BENCH_CPU_PROF_DIR } = {}) {
  const { child: sink, port } = await startChild('sink.mjs');
  const sinkUrl = `http://127.0.0.1:${port}/`;
  // Rounds of alone / dead / slow, so that a burst of load from elsewhere on the machine hits all setups alike; each
  // ratio is taken against the "alone" phase of its own round, and the median round is reported.
  const perRound = [];
  for (let i = 0; i < rounds; i++) {
    const aloneSluice = await startBroker(BROKER() + trigger('healthy', sinkUrl));
    const alone = await loadPhase(aloneSluice, sink, durationMs);
    await aloneSluice.stop();
    const dead = await siblingsPhase('dead', sinkUrl, sink, durationMs, i === 0 ? cpuProfDir : undefined);
    const slow = await siblingsPhase('slow', sinkUrl, sink, durationMs);
    perRound.push({ alone, dead, slow });
  }
  sink.kill();
  const row = (label, pick) => {
    const all = perRound.map((r) => ({ r: pick(r), ratio: pick(r).deliveredPerSec / r.alone.deliveredPerSec }));
    const median = [...all].sort((a, b) => a.ratio - b.ratio)[Math.floor(all.length / 2)];
    const sum = (f) => all.reduce((n, x) => n + f(x.r), 0);
    return {
      setup: label,
      accepted: sum((r) => r.load.ok),
      failedRequests: sum((r) => r.load.failed),
      deliveredPerSec: median.r.deliveredPerSec,
      ratio: median.ratio,
      ratios: all.map((x) => x.ratio),
      peakRssMiB: Math.max(...all.map((x) => x.r.peakRssMiB)),
      lost: {
        healthy: sum((r) => r.load.ok - r.stats.distinct),
        ...(all[0].r.ledger ? { siblingA: sum((r) => r.ledger.siblingA), siblingB: sum((r) => r.ledger.siblingB) } : {}),
      },
    };
  };
  return [row('healthy trigger alone', (r) => r.alone), row('beside a hanging and a refusing subscriber', (r) => r.dead), row('beside two 2 s subscribers (maxInFlight saturated)', (r) => r.slow)];
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');

/** Prints the rows as a markdown table. */
export function print(rows) {
  console.log('Isolation: the healthy trigger of a broker beside failing siblings (retry 3, exponential; median of the rounds)');
  console.log('| setup | accepted (all rounds) | healthy deliveries/s | vs alone (each round) | peak RSS MiB | lost (healthy / sibling A / sibling B) | non-202 |');
  console.log('|---|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    const lost = [r.lost.healthy, r.lost.siblingA ?? '–', r.lost.siblingB ?? '–'].join(' / ');
    console.log(
      `| ${r.setup} | ${fmt(r.accepted)} | ${fmt(r.deliveredPerSec)} | ${fmt(r.ratio, 2)}× (${r.ratios.map((x) => fmt(x, 2)).join(', ')}) | ${fmt(r.peakRssMiB)} | ${lost} | ${r.failedRequests} |`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().then(
    (rows) => {
      print(rows);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

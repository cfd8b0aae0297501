// What the Sluice process's main thread was running during the event loop's gaps (the stalls bench/phase-trace.mjs
// records: a 1 ms timer more than 4 ms late), from a V8 CPU profile of the same run:
//
//   BENCH_ATTRIBUTION_JSON=/tmp/attr.json BENCH_CPU_PROF_DIR=/tmp/prof node bench/latency-attribution.mjs
//   node bench/gap-frames.mjs /tmp/attr.json.3000 /tmp/prof/CPU.<…>.0.001.cpuprofile    (the main thread's: thread id 0)
//
// Each profile sample that falls inside a gap is counted under its leaf frame (self time) and under every frame of its
// stack (inclusive time); both as ms and as a share of the gaps' sampled time. `(idle)` samples inside a gap are the
// thread waiting in the kernel; samples can also fall on a thread that was runnable but not scheduled, which the
// profiler cannot tell apart from running (the gap's CPU figure in latency-attribution's output can).
import { readFileSync } from 'node:fs';

const [attrFile, profFile, topArg, ...rest] = process.argv.slice(2);
if (!attrFile || !profFile || rest.length > 0 || (topArg !== undefined && !/^\d+$/.test(topArg))) {
  // --cpu-prof writes one profile per thread: the main thread's is the one whose name ends in .0.001.cpuprofile.
  console.error('usage: node bench/gap-frames.mjs <BENCH_ATTRIBUTION_JSON file of one rate> <cpuprofile of the main thread> [top N]');
  process.exit(2);
}
const TOP = Number(topArg ?? 25);
const { trace } = JSON.parse(readFileSync(attrFile, 'utf8'));
if (trace.hrOffset === undefined) throw new Error(`${attrFile} has no hrOffset: record it with the current bench/phase-trace.mjs`);
const profile = JSON.parse(readFileSync(profFile, 'utf8'));

// Gaps on the profile's clock (µs), sorted.
const gaps = trace.gaps.map(([a, b]) => [(a - trace.origin + trace.hrOffset) * 1000, (b - trace.origin + trace.hrOffset) * 1000]).sort((x, y) => x[0] - y[0]);
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (id) => {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|packages)\//, '$1/').replace(/^file:\/\/\/.*\/bench\//, 'bench/')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
};

const self = new Map();
const inclusive = new Map();
let inGaps = 0;
let t = profile.startTime;
let g = 0;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  const dt = profile.timeDeltas[i + 1] ?? 0;
  while (g < gaps.length && gaps[g][1] < t) g++;
  if (g >= gaps.length) break;
  if (t < gaps[g][0]) continue;
  inGaps += dt;
  const id = profile.samples[i];
  self.set(label(id), (self.get(label(id)) ?? 0) + dt);
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const l = label(x);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}
const gapMs = gaps.reduce((s, [a, b]) => s + (b - a), 0) / 1000;
console.log(`${gaps.length} gaps, ${gapMs.toFixed(1)} ms; profile samples inside them: ${(inGaps / 1000).toFixed(1)} ms`);
const table = (title, m) => {
  console.log(`\n| ${title} | ms | share of the gaps |\n|---|--:|--:|`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`| \`${k}\` | ${(v / 1000).toFixed(1)} | ${((100 * v) / inGaps).toFixed(1)} % |`);
};
table('frame (self)', self);
table('frame (inclusive)', inclusive);

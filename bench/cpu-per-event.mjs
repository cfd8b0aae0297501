// CPU time per event of a durable Sluice (one broker, one trigger, 1 KiB binary events) against the bare Node
// forwarder, in the same run. On a shared machine latency and events/s move with everyone else's load; the CPU a
// process spends on one event moves much less, and the ratio to the forwarder's, measured in the same minutes, least.
// The setups take turns (forwarder, then each Sluice build, per round) so that drift hits them alike; each Sluice
// process is started once, warmed up, and measured in every round. CPU time is the process's user + system time from
// /proc (every thread: the WAL checkpoint worker and libuv's pool included) between the first request and the last
// delivery, divided by the deliveries.
//
//   npx tsc -b && node bench/cpu-per-event.mjs
//   BENCH_CPU_BUILDS=before=/tmp/old/packages/cli/dist/bin.js,after=packages/cli/dist/bin.js node bench/cpu-per-event.mjs
//   BENCH_CPU_BUILDS="default=packages/cli/dist/bin.js,stgc=--single-threaded-gc packages/cli/dist/bin.js"
//                              Node options before a build's path are that process's (SLUICE_TEST_NODE_ARGS: every one's)
//   BENCH_CPU_RATE=2000        open loop at this many events/s (default 2000), also printing each round's ingress
//                              and end-to-end p99 / p99.9 (an A/B of a change's tail latency); 0: closed loop, 64 connections
//   BENCH_DURATION_MS=5000     each setup's share of a round; BENCH_CPU_ROUNDS=3 rounds
//   BENCH_CPU_PROFILE=dir      after the rounds, one more profiled round per setup (bench/cpu-profile.mjs preloaded,
//                              100 µs sampling): the .cpuprofile files in dir and each setup's top frames by self
//                              time, in µs per event (BENCH_CPU_TOP=30 of them)
//   BENCH_CPU_ALLOC=dir        likewise with V8's sampling heap profiler, freed objects kept: the .heapprofile files
//                              and each setup's bytes allocated per event, by origin and by allocating frame (what the
//                              garbage collector will have to clear)
//   BENCH_CPU_SURVIVORS=dir    likewise, keeping only what no scavenge freed: the bytes per event that outlive the
//                              young generation, by the frame that allocated them
//   BENCH_CPU_GC=1             each build with --trace-gc-nvp: per round, the bytes its scavenges promote per event
//                              (what outlives the young generation and makes the mark-compacts' work), its scavenge
//                              pause per event and longest, and its other collections' pauses
//   BENCH_CPU_CLASS=kafka      the Kafka broker class instead of the embedded store (a local Kafka is started unless
//                              KAFKA_BROKERS is set; each build gets a broker and topic of its own, and a 10 s warm-up)
//   BENCH_PIN=1                Sluice and the forwarder on CPU 1, the load generator and the sink on the others
//   BENCH_CPU_DURABLE=1        also the durable forwarder (bench/forwarder.mjs durable=DIR: the bare forwarder plus a
//                              group-committed fdatasync of each body before its 202), the CPU the disk alone costs
//   BENCH_CPU_PERF=dir         likewise, one round per setup under `perf record -e cpu-clock -g` (CPU time only, the
//                              kernel included; with NODE_OPTIONS=--perf-basic-prof perf names the JavaScript frames)
//
// Each round also reads the whole machine's busy time (/proc/stat: every process, the load generator, the subscriber
// and, for the Kafka class, Kafka's JVM included) per event, and the JVM's own share. On a saturated machine the events
// per round follow 1 / (the machine's CPU per event), which bounds the ratio a setup can reach against the forwarder.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSluice } from '@sluice/testing';
import { closedLoop, openLoop } from './load.mjs';
import { brokerConfig, cpuSeconds, drain, kafkaForBench, pinServer, placement, startChild, startPhase } from './processes.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION_MS ?? 5000);
const RATE = Number(process.env.BENCH_CPU_RATE ?? 2000);
const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 3);
const PROFILES = { cpu: process.env.BENCH_CPU_PROFILE, alloc: process.env.BENCH_CPU_ALLOC, survivors: process.env.BENCH_CPU_SURVIVORS };
const [PROFILE_KIND, PROFILE_DIR] = (() => {
  const asked = Object.entries(PROFILES).filter(([, dir]) => dir);
  if (asked.length > 1) throw new Error('one of BENCH_CPU_PROFILE, BENCH_CPU_ALLOC and BENCH_CPU_SURVIVORS at a time');
  return asked[0] ?? ['cpu', undefined];
})();
/** The preload's environment for a profiled process (bench/cpu-profile.mjs). */
const profileEnv = (file) => ({
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(ROOT, 'bench/cpu-profile.mjs')}`.trim(),
  SLUICE_BENCH_CPU_PROF_FILE: file,
  SLUICE_BENCH_PROF_KIND: PROFILE_KIND,
});
const PERF_DIR = process.env.BENCH_CPU_PERF;
const KAFKA_CLASS = process.env.BENCH_CPU_CLASS === 'kafka';
const GC_TRACE = process.env.BENCH_CPU_GC === '1';
const BUILDS = (process.env.BENCH_CPU_BUILDS ?? `sluice=${join(ROOT, 'packages/cli/dist/bin.js')}`).split(',').map((spec) => {
  const [name, value] = spec.includes('=') ? [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)] : ['sluice', spec];
  // Node options may come before the path: `stgc=--single-threaded-gc packages/cli/dist/bin.js`.
  const words = value.trim().split(/\s+/);
  const path = words.pop();
  return { name, bin: isAbsolute(path) ? path : join(ROOT, path), nodeArgs: words };
});
const load = () => loadavg()[0].toFixed(1);
/** Kafka's JVM (the Kafka class, when this benchmark started Kafka itself). */
let kafkaPid;
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};

/**
 * CPU seconds per thread name of a process (from /proc/<pid>/task), the main thread (its id is the pid) apart and
 * trailing digits of the other names dropped. On Node 20 every other thread (V8's helpers, libuv's pool, worker
 * threads) is named `node`; io_uring's kernel threads show as `iou-sqp-` and `iou-wrk-`.
 */
function threadSeconds(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      const name = tid === String(pid) ? 'main thread' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/\d+$/, '');
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
    }
  } catch {
    // the process is gone: what was read so far
  }
  return out;
}

async function startBuild({ bin, nodeArgs }, sinkUrl, dir, brokers) {
  const name = brokers ? `cpu-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}` : 'default';
  const profFile = join(dir, 'profile.cpuprofile');
  const args = GC_TRACE ? [...nodeArgs, '--trace-gc-nvp'] : nodeArgs;
  const sluice = await startSluice({
    bin,
    ...(args.length > 0 ? { nodeArgs: args } : {}),
    yaml: brokerConfig({ broker: name, trigger: `t-${name}`, sinkUrl, brokers }),
    dataDir: dir,
    stderr: 'inherit',
    ...(PROFILE_DIR ? { env: profileEnv(profFile) } : {}),
  });
  pinServer(sluice.child.pid);
  return { pid: sluice.child.pid, url: `${sluice.url}/default/${name}`, profFile, stop: sluice.stop, output: sluice.output };
}

/** Seconds every CPU of the machine was busy (not idle or waiting for I/O) since boot, from /proc/stat. */
function machineBusySeconds() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
}

/** Sends the load, waits for every delivery, and returns the process's CPU µs per delivered event. */
async function measure(target, sink) {
  const idPrefix = await startPhase(sink);
  const machine = machineBusySeconds();
  const started = performance.now();
  const jvm = kafkaPid === undefined ? NaN : cpuSeconds(kafkaPid);
  const cpu = cpuSeconds(target.pid);
  const threads = threadSeconds(target.pid);
  const outputFrom = target.output?.().length;
  const result = RATE > 0 ? await openLoop(target.url, { rate: RATE, durationMs: DURATION, idPrefix }) : await closedLoop(target.url, { concurrency: 64, durationMs: DURATION, idPrefix });
  const stats = await drain(sink, result.ok, undefined, { distinct: true });
  const used = cpuSeconds(target.pid) - cpu;
  const perEvent = (secs) => (secs * 1e6) / Math.max(1, stats.count);
  const machineSecs = machineBusySeconds() - machine;
  const machineUs = perEvent(machineSecs);
  const machineBusy = machineSecs / (((performance.now() - started) / 1000) * availableParallelism());
  const jvmUs = kafkaPid === undefined ? NaN : perEvent(cpuSeconds(kafkaPid) - jvm);
  const perThread = {};
  for (const [name, secs] of Object.entries(threadSeconds(target.pid))) perThread[name] = ((secs - (threads[name] ?? 0)) * 1e6) / Math.max(1, stats.count);
  return {
    perThread,
    gc: outputFrom === undefined ? undefined : gcFigures(target.output().slice(outputFrom), stats.count),
    cpuUsPerEvent: perEvent(used),
    machineUs,
    machineBusy,
    jvmUs,
    delivered: stats.count,
    accepted: result.ok,
    failed: result.failed + (result.skipped ?? 0),
    achieved: result.rate,
    latency: { ingressP99: result.p99, ingressP999: result.p999, e2eP99: stats.p99, e2eP999: stats.p999 },
  };
}

/** A round's collections, from `--trace-gc-nvp` lines (one per collection: `gc=s` a scavenge, else a mark step or a mark-compact). */
function gcFigures(output, events) {
  const lines = output.split('\n').filter((l) => l.includes(' gc='));
  const field = (l, k) => Number(new RegExp(`\\b${k}=([0-9.]+)`).exec(l)?.[1] ?? 0);
  const scavenges = lines.filter((l) => l.includes(' gc=s '));
  const others = lines.filter((l) => !l.includes(' gc=s '));
  const sum = (ls, k) => ls.reduce((n, l) => n + field(l, k), 0);
  const max = (ls) => Math.max(0, ...ls.map((l) => field(l, 'pause')));
  return {
    promotedPerEvent: sum(scavenges, 'promoted') / Math.max(1, events),
    scavengeUsPerEvent: (1000 * sum(scavenges, 'pause')) / Math.max(1, events),
    scavengeMaxMs: max(scavenges),
    others: others.length,
    othersMs: sum(others, 'pause'),
    othersMaxMs: max(others),
  };
}

/** Where a profile node's code lives: a Sluice package, an npm package, a part of Node, or V8's own entries. */
function origin(node) {
  const url = node.callFrame.url;
  if (url === '') return node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : 'native';
  const pkg = /\/packages\/([^/]+)\//.exec(url);
  if (pkg && !url.includes('node_modules')) return `@sluice/${pkg[1]}`;
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (mod) return mod[1];
  const internal = /^node:internal\/([^/]+)/.exec(url);
  if (internal) return `node:${internal[1]}`;
  return url.startsWith('node:') ? url : 'other';
}

/**
 * Ranks what a profile's nodes hold (`[node, amount]` pairs: self time, or bytes allocated) by frame and by origin, per
 * event: `perEvent` in the amount's unit, `share` of the whole.
 */
function ranked(amounts, events) {
  const frames = new Map();
  const origins = new Map();
  let total = 0;
  for (const [n, amount] of amounts) {
    total += amount;
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    frames.set(key, (frames.get(key) ?? 0) + amount);
    const o = origin(n);
    origins.set(o, (origins.get(o) ?? 0) + amount);
  }
  const per = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([name, amount]) => ({ name, perEvent: amount / events, share: amount / total }));
  return { perEvent: total / events, frames: per(frames), origins: per(origins) };
}

/** Self time per frame and per origin of a .cpuprofile (idle left out), in µs per event. */
function summarize(profile, events) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  return ranked(
    [...self].map(([id, us]) => [byId.get(id), us]).filter(([n]) => n.callFrame.functionName !== '(idle)'),
    events,
  );
}

/** Bytes allocated per frame (self) and per origin of a .heapprofile, per event. */
function summarizeAlloc(profile, events) {
  const amounts = [];
  const walk = (n) => {
    if (n.selfSize > 0) amounts.push([n, n.selfSize]);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  return ranked(amounts, events);
}

/** One round under `perf record` (CPU time only, kernel included); the data file for `perf report`. */
async function perfRecorded(s, sink, file) {
  const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '1999', '-g', '-p', String(s.pid), '-o', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise((r) => setTimeout(r, 500));
  const m = await measure(s, sink);
  perf.kill('SIGINT');
  await new Promise((r) => perf.once('exit', r));
  return m;
}

async function profiled(s, sink) {
  rmSync(s.profFile, { force: true });
  rmSync(`${s.profFile}.started`, { force: true });
  process.kill(s.pid, 'SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(`${s.profFile}.started`); i++) await new Promise((r) => setTimeout(r, 50));
  const m = await measure(s, sink);
  process.kill(s.pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(s.profFile); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200)); // the write may still be in progress
  return { profile: JSON.parse(readFileSync(s.profFile, 'utf8')), events: m.delivered };
}

async function main() {
  console.log(
    `CPU per event: ${RATE > 0 ? `open loop at ${RATE}/s` : 'closed loop, 64 connections'}, ${DURATION / 1000} s per setup and round, ${ROUNDS} rounds; ${placement}; builds: ${BUILDS.map((b) => `${b.name}=${[...b.nodeArgs, b.bin].join(' ')}`).join(', ')}`,
  );
  const kafka = KAFKA_CLASS ? await kafkaForBench() : undefined;
  kafkaPid = kafka?.pid;
  const { child: sink, port: sinkPort } = await startChild('sink.mjs');
  const sinkUrl = `http://127.0.0.1:${sinkPort}/`;
  const dirs = [mkdtempSync(join(tmpdir(), 'sluice-cpu-'))];
  const fwdProf = join(dirs[0], 'profile.cpuprofile');
  const fwdEnv = PROFILE_DIR ? profileEnv(fwdProf) : undefined;
  const { child: fwd, port: fwdPort } = await startChild('forwarder.mjs', [sinkUrl], { env: fwdEnv, server: true });
  const setups = [{ name: 'bare forwarder', url: `http://127.0.0.1:${fwdPort}/default/default`, pid: fwd.pid, profFile: fwdProf }];
  let durableFwd;
  try {
    for (const b of BUILDS) {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-cpu-'));
      dirs.push(dir);
      setups.push({ name: b.name, build: true, ...(await startBuild(b, sinkUrl, dir, kafka?.brokers)) });
    }
    if (process.env.BENCH_CPU_DURABLE === '1') {
      const { child, port } = await startChild('forwarder.mjs', [sinkUrl, `durable=${dirs[0]}`], { server: true });
      durableFwd = child;
      setups.push({ name: 'durable forwarder', url: `http://127.0.0.1:${port}/default/default`, pid: child.pid, profFile: undefined });
    }
    console.log(`pids: ${setups.map((s) => `${s.name} ${s.pid}`).join(', ')}`);
    for (const s of setups) {
      await openLoop(s.url, { rate: Math.min(RATE || 2000, 2000), durationMs: 2000 }); // warm-up: JIT, connection pools
      // A Kafka setup also warms the Kafka JVM's produce and fetch paths, and its consumer group settles.
      if (kafka && s.build) await closedLoop(s.url, { concurrency: 64, durationMs: 10_000 });
      await drain(sink, 0, 1000);
    }
    const rows = setups.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const loadBefore = load();
      for (const [i, s] of setups.entries()) rows[i].push({ ...(await measure(s, sink)), load: loadBefore });
    }
    // With several builds, each is also set against the first one, round by round (the A/B figure of a change).
    const ab = BUILDS.length > 1;
    const isBuild = (i) => setups[i].build === true;
    console.log(`\n| setup | CPU µs per event, per round | median | vs bare forwarder (median of per-round ratios) |${ab ? ` vs ${setups[1].name} |` : ''} events per round | lost |`);
    console.log(`|---|--:|--:|--:|${ab ? '--:|' : ''}--:|--:|`);
    const ratio = (i, j) => median(rows[i].map((x, k) => x.cpuUsPerEvent / rows[j][k].cpuUsPerEvent));
    for (const [i, s] of setups.entries()) {
      const r = rows[i];
      const vsFirst = ab ? ` ${i < 2 || !isBuild(i) ? '–' : `${fmt(ratio(i, 1), 2)}×`} |` : '';
      console.log(
        `| ${s.name} | ${r.map((x) => fmt(x.cpuUsPerEvent)).join(', ')} | ${fmt(median(r.map((x) => x.cpuUsPerEvent)))} | ${i === 0 ? '1.00×' : `${fmt(ratio(i, 0), 2)}×`} |${vsFirst} ${r.map((x) => fmt(x.delivered)).join(', ')} | ${r.reduce((n, x) => n + x.accepted - x.delivered, 0)} |`,
      );
    }
    console.log(`load average (1 min) at the start of each round: ${rows[0].map((x) => x.load).join(', ')}`);
    // Where each process's CPU went, by thread kind (µs per event, median of the rounds).
    for (const [i, s] of setups.entries()) {
      const names = [...new Set(rows[i].flatMap((x) => Object.keys(x.perThread)))];
      const parts = names.map((n) => [n, median(rows[i].map((x) => x.perThread[n] ?? 0))]).sort((a, b) => b[1] - a[1]);
      console.log(`${s.name} by thread, µs per event: ${parts.map(([n, v]) => `${n} ${fmt(v, 1)}`).join(', ')}`);
    }
    if (GC_TRACE) {
      console.log('\n| build | promoted bytes per event, per round | scavenge pause µs per event | longest scavenge ms | other collections: count, pause ms in all, longest |\n|---|--:|--:|--:|--:|');
      for (const [i, s] of setups.entries()) {
        if (!s.build) continue;
        const g = rows[i].map((x) => x.gc);
        console.log(
          `| ${s.name} | ${g.map((x) => fmt(x.promotedPerEvent)).join(', ')} | ${g.map((x) => fmt(x.scavengeUsPerEvent, 1)).join(', ')} | ${g.map((x) => fmt(x.scavengeMaxMs, 1)).join(', ')} | ${g.map((x) => `${x.others}, ${fmt(x.othersMs, 1)}, ${fmt(x.othersMaxMs, 1)}`).join('; ')} |`,
        );
      }
    }
    // The whole machine: what the load generator, the subscriber (and Kafka) spend besides the process measured.
    const machineMedian = (i) => median(rows[i].map((x) => x.machineUs));
    console.log(
      `whole machine, CPU µs per event (median; busy share of the CPUs per round): ${setups
        .map((s, i) => `${s.name} ${fmt(machineMedian(i))} (${rows[i].map((x) => `${fmt(100 * x.machineBusy)} %`).join(', ')})`)
        .join('; ')}`,
    );
    if (kafkaPid !== undefined) {
      const jvm = median(rows.filter((_, i) => isBuild(i)).flatMap((r) => r.map((x) => x.jvmUs)));
      // On a saturated machine events/s ∝ 1 / machine CPU per event: a Sluice as cheap as the forwarder would still
      // pay Kafka's JVM on the same cores.
      console.log(
        `Kafka's JVM, CPU µs per event (median of the Kafka-class rounds): ${fmt(jvm, 1)}; the most a Kafka-class setup could reach against the forwarder on this machine, if it cost the machine no more than the forwarder besides the JVM: ${fmt(machineMedian(0) / (machineMedian(0) + jvm), 2)}×`,
      );
    }
    if (RATE > 0) {
      // At a fixed rate the same rounds also give each setup's tail latency (ms, from the intended send time).
      const tail = (r, k) => `${r.map((x) => fmt(x.latency[k], 1)).join(', ')} (median ${fmt(median(r.map((x) => x.latency[k])), 1)})`;
      console.log('\n| setup | ingress p99 ms, per round | ingress p99.9 | e2e p99 | e2e p99.9 |\n|---|--:|--:|--:|--:|');
      for (const [i, s] of setups.entries()) {
        console.log(`| ${s.name} | ${tail(rows[i], 'ingressP99')} | ${tail(rows[i], 'ingressP999')} | ${tail(rows[i], 'e2eP99')} | ${tail(rows[i], 'e2eP999')} |`);
      }
    }
    if (PERF_DIR) {
      mkdirSync(PERF_DIR, { recursive: true });
      for (const s of setups) {
        const file = join(PERF_DIR, `${s.name.replace(/\W+/g, '-')}.perf.data`);
        const m = await perfRecorded(s, sink, file);
        console.log(`perf: ${file}, ${fmt(m.delivered)} events, ${fmt(m.cpuUsPerEvent)} CPU µs per event`);
      }
    }
    if (PROFILE_DIR) {
      mkdirSync(PROFILE_DIR, { recursive: true });
      for (const s of setups.filter((x) => x.profFile !== undefined)) {
        const { profile, events } = await profiled(s, sink);
        const file = join(PROFILE_DIR, `${s.name.replace(/\W+/g, '-')}.${PROFILE_KIND === 'cpu' ? 'cpuprofile' : 'heapprofile'}`);
        writeFileSync(file, JSON.stringify(profile));
        const cpu = PROFILE_KIND === 'cpu';
        const sum = cpu ? summarize(profile, events) : summarizeAlloc(profile, events);
        const what = cpu
          ? `main thread busy ${fmt(sum.perEvent, 1)} µs per event (profiler on)`
          : `${fmt(sum.perEvent)} bytes ${PROFILE_KIND === 'alloc' ? 'allocated' : 'allocated and not freed by a scavenge'} per event on the main thread's heap`;
        const digits = cpu ? 1 : 0;
        console.log(`\n${s.name}: ${file}, ${fmt(events)} events, ${what}`);
        console.log(
          `by origin: ${sum.origins
            .slice(0, 14)
            .map((o) => `${o.name} ${fmt(o.perEvent, digits)}`)
            .join(', ')}`,
        );
        console.log(cpu ? '| frame (self time) | µs per event | share |' : '| frame (allocating) | bytes per event | share |');
        console.log('|---|--:|--:|');
        for (const f of sum.frames.slice(0, Number(process.env.BENCH_CPU_TOP ?? 30))) console.log(`| \`${f.name}\` | ${fmt(f.perEvent, cpu ? 2 : 0)} | ${fmt(100 * f.share, 1)} % |`);
      }
    }
  } finally {
    for (const s of setups.filter((x) => x.build)) {
      await s.stop();
    }
    durableFwd?.kill();
    fwd.kill();
    sink.kill();
    await kafka?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

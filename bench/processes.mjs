// Child processes of the benchmarks: the sink and forwarder scripts (forked, they report their port over IPC),
// questions to the sink, waiting for deliveries to drain, peak RSS of a process, and the event-loop delay a
// benchmarked Sluice records.
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('.', import.meta.url));

/**
 * Forks `bench/<file>` (with `env` added to the environment) and resolves with the child and the port it reports;
 * `server: true` marks a server under test (a forwarder), which BENCH_PIN places (see pinServer).
 */
export function startChild(file, args = [], { env, server = false } = {}) {
  const child = fork(join(BENCH, file), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      if (server) pinServer(child.pid);
      resolve({ child, port: m.port });
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

/** Sends an IPC command (with `fields`, e.g. the sink's `prefix`) to a child and resolves with its answer. */
export function ask(child, cmd, fields = {}) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ cmd, ...fields });
  });
}

let phases = 0;

/**
 * Resets the sink for a new phase and returns the event-id prefix of that phase (pass it to `openLoop`/`closedLoop`
 * as `idPrefix`): until the next reset the sink counts only those events, so a late or repeated delivery of an earlier
 * phase never makes up this phase's count.
 */
export async function startPhase(sink) {
  const prefix = `p${++phases}-`;
  await ask(sink, 'reset', { prefix });
  return prefix;
}

/**
 * Waits until the sink has `expected` deliveries (or its count stops growing for 5 s), then returns its stats. With
 * `distinct: true` it waits for `expected` distinct ids instead: where events can be delivered twice (the Kafka class
 * is at least once), the count can reach the number accepted while some events are still on their way.
 */
export async function drain(sink, expected, timeoutMs = 120_000, { distinct = false } = {}) {
  const deadline = Date.now() + timeoutMs;
  const got = (s) => (distinct ? s.distinct : s.count);
  let stats = await ask(sink, 'stats');
  let last = -1;
  let stableSince = Date.now();
  while (got(stats) < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    stats = await ask(sink, 'stats');
    if (got(stats) !== last) {
      last = got(stats);
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 5000) break;
  }
  return stats;
}

/** Peak resident set of a process in MiB (VmHWM), NaN when unknown. */
export function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Environment that makes a benchmarked Sluice record its event-loop delay (bench/event-loop-delay.mjs preloaded), and
 * the file it answers in: pass `env` to the process, then `eventLoopDelay({ pid, eldFile })`; `remove()` afterwards.
 */
export function eventLoopDelayEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-eld-'));
  const eldFile = join(dir, 'eld.json');
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(BENCH, 'event-loop-delay.mjs')}`.trim(), SLUICE_BENCH_ELD_FILE: eldFile };
  return { env, eldFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The event-loop delay histogram (ms) a benchmarked Sluice recorded since the previous call (or its start), read
 * through SIGUSR2 from the preloaded bench/event-loop-delay.mjs; undefined for a process without it.
 */
export async function eventLoopDelay(target) {
  if (!target.eldFile) return undefined;
  rmSync(target.eldFile, { force: true });
  process.kill(target.pid, 'SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(target.eldFile); i++) await new Promise((r) => setTimeout(r, 50));
  try {
    return JSON.parse(readFileSync(target.eldFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in seconds, from /proc (NaN when unknown). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

/**
 * `BENCH_PIN=1` (or another CPU list): the system under test gets those CPUs to itself and the load generator and the
 * subscriber the others, so the figures say what the server does with its own cores rather than how it shares them
 * with its load. The benchmark process (the load generator) pins itself when this module loads; its children (the
 * sink, and every server it starts) inherit that, and `pinServer` moves a server, every thread of it, to BENCH_PIN.
 */
const PIN = process.env.BENCH_PIN;
const ALL_CPUS = `0-${availableParallelism() - 1}`;
if (PIN) execFileSync('taskset', ['-a', '-cp', otherCpus(PIN), String(process.pid)], { stdio: 'ignore' });

function otherCpus(list) {
  const taken = new Set(
    list.split(',').flatMap((part) => {
      const [a, b = a] = part.split('-').map(Number);
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    }),
  );
  const rest = Array.from({ length: availableParallelism() }, (_, i) => i).filter((c) => !taken.has(c));
  if (rest.length === 0) throw new Error(`BENCH_PIN=${list} leaves no CPU of ${ALL_CPUS} for the load generator`);
  return rest.join(',');
}

/** Moves a server under test (every thread) to the BENCH_PIN CPUs; nothing without BENCH_PIN. */
export function pinServer(pid) {
  if (PIN) execFileSync('taskset', ['-a', '-cp', PIN, String(pid)], { stdio: 'ignore' });
}

/** How the processes were placed, for the benchmark's header. */
export const placement = PIN ? `server under test on CPU ${PIN}, load generator and subscriber on CPU ${otherCpus(PIN)} (BENCH_PIN)` : 'every process on every CPU';

/**
 * The Kafka a benchmark talks to: `given` or KAFKA_BROKERS when set, else a local single-node Kafka started for it
 * (deploy/local-services). `stop()` stops what was started here and nothing else.
 */
export async function kafkaForBench(given = process.env.KAFKA_BROKERS) {
  if (given) return { brokers: given, pid: undefined, stop: async () => {} };
  const { start } = await import(join(BENCH, '..', 'deploy/local-services/kafka.mjs'));
  const service = await start();
  return { brokers: service.env.KAFKA_BROKERS, pid: service.pid, stop: () => service.stop() };
}

/** `obj` as YAML block lines at `indent` (scalars and nested plain objects: what a Broker's `delivery` holds). */
function yamlBlock(obj, indent) {
  return Object.entries(obj)
    .map(([key, value]) => (typeof value === 'object' ? `${indent}${key}:\n${yamlBlock(value, `${indent}  `)}` : `${indent}${key}: ${value}\n`))
    .join('');
}

/** The `kafka-broker-config` ConfigMap a Kafka-class broker names: `brokers` (bootstrap servers), its topics' partitions and replication. */
export function kafkaConfigMap({ brokers, partitions = 10, replicationFactor = 1 }) {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kafka-broker-config\ndata:\n  bootstrap.servers: "${brokers}"\n  default.topic.partitions: "${partitions}"\n  default.topic.replication.factor: "${replicationFactor}"\n`;
}

/** A Broker `name`, of the Kafka class (naming {@link kafkaConfigMap}) when `kafka`, with `delivery` (an object, none when empty). */
export function brokerYaml({ name, kafka = false, delivery = {} }) {
  const kafkaClass = kafka ? '  annotations:\n    eventing.knative.dev/broker.class: Kafka\n' : '';
  const config = kafka ? '  config:\n    apiVersion: v1\n    kind: ConfigMap\n    name: kafka-broker-config\n' : '';
  const deliveryLines = Object.keys(delivery).length > 0 ? `  delivery:\n${yamlBlock(delivery, '    ')}` : '';
  const spec = config + deliveryLines;
  return `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: ${name}\n${kafkaClass}${spec ? `spec:\n${spec}` : ''}`;
}

/** A Trigger `name` of `broker` sending to `sinkUrl`: only events of `type` when given, else every event. */
export function triggerYaml({ name, broker, sinkUrl, type }) {
  const filter = type ? `  filter:\n    attributes:\n      type: ${type}\n` : '';
  return `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: ${name}\nspec:\n  broker: ${broker}\n${filter}  subscriber:\n    uri: ${sinkUrl}\n`;
}

/**
 * The configuration of one broker `broker` (of the Kafka class, with its ConfigMap, when `brokers` is given: 10
 * partitions, replication factor 1, unless `partitions` / `replicationFactor`) and one trigger `trigger` sending
 * `type` events (default `bench.event`; `null`: every event) to `sinkUrl`, with the broker's `delivery` (default no
 * retries; `{}`: none given).
 */
export function brokerConfig({ broker, trigger, sinkUrl, brokers, partitions, replicationFactor, delivery = { retry: 0 }, type = 'bench.event' }) {
  const docs = [brokerYaml({ name: broker, kafka: Boolean(brokers), delivery }), triggerYaml({ name: trigger, broker, sinkUrl, type })];
  return (brokers ? [kafkaConfigMap({ brokers, partitions, replicationFactor }), ...docs] : docs).join('---\n');
}

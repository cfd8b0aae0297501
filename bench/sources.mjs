// Consume throughput of KafkaSource and CloudPubSubSource inside the real `sluice run`, into a fast local HTTP sink
// (its own process), next to baselines measured in the same run on the same records/messages:
//   - consume only: raw kafkajs (eachBatch) / raw Pub/Sub streaming pull + ack, nothing else;
//   - bare forwarder: the same client POSTing each record/message body to the same sink (undici, same concurrency),
//     committing/acking after the response — what a source does, minus CloudEvent mapping and delivery policy.
// Needs the build (`npx tsc -b`). Uses KAFKA_BROKERS / PUBSUB_EMULATOR_HOST when set, otherwise starts the real
// services through deploy/local-services. `run()` returns the rows; executed directly it prints a table.
// BENCH_KAFKA_RECORDS / BENCH_PUBSUB_MESSAGES change the sizes (defaults keep the whole run under ~90 s).
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startSluice } from '@sluice/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const KAFKA_RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 50_000);
const PUBSUB_MESSAGES = Number(process.env.BENCH_PUBSUB_MESSAGES ?? 20_000);
const PAYLOAD = JSON.stringify({
  order: 12345,
  customer: 'c-42',
  items: [
    { sku: 'A-1', qty: 2 },
    { sku: 'B-7', qty: 1 },
  ],
  note: 'x'.repeat(40),
});

// ---------------------------------------------------------------------------------------------------- sink process
if (process.argv[2] === 'sink') {
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      const now = performance.timeOrigin + performance.now();
      if (count === 0) firstAt = now;
      lastAt = now;
      count++;
      res.writeHead(202, { 'content-length': 0 }).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  process.on('message', (m) => {
    if (m.cmd === 'reset') {
      count = 0;
      firstAt = 0;
      lastAt = 0;
      process.send({ ok: true });
    } else if (m.cmd === 'stats') {
      process.send({ count, firstAt, lastAt });
    }
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

// --------------------------------------------------------------------------------------------------------- helpers
async function startSink() {
  const child = fork(SELF, ['sink'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  const ask = (cmd) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ cmd });
    });
  return { url: `http://127.0.0.1:${port}/`, reset: () => ask('reset'), stats: () => ask('stats'), stop: () => child.kill() };
}

/** Polls the sink until `n` requests arrived; events/s between the first and the last one. */
async function sinkRate(sink, n, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await sink.stats();
    if (s.count >= n) return { events: s.count, seconds: (s.lastAt - s.firstAt) / 1000, perSec: (s.count - 1) / ((s.lastAt - s.firstAt) / 1000) };
    if (Date.now() > end) throw new Error(`sink got ${s.count}/${n} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `sluice run` on `yaml` with `env` added, its errors shown as they happen. */
const runSluice = (yaml, env = {}) => startSluice({ yaml, env, stderr: 'inherit' });

/** POSTs with at most `limit` requests in flight; resolves when all are answered. */
async function postAll(dispatcher, url, bodies, limit) {
  const { request } = await import('undici');
  let i = 0;
  const worker = async () => {
    while (i < bodies.length) {
      const body = bodies[i++];
      const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
      await res.body.dump();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, bodies.length) }, worker));
}

// ----------------------------------------------------------------------------------------------------------- Kafka
async function benchKafka(brokers, sink) {
  const { default: kafkajs } = await import('kafkajs');
  const { Agent } = await import('undici');
  const { Kafka, logLevel, Partitioners } = kafkajs;
  const kafka = new Kafka({ clientId: 'bench-sources', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench-sources-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let sent = 0; sent < KAFKA_RECORDS; sent += 5000) {
    const n = Math.min(5000, KAFKA_RECORDS - sent);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${(sent + i) % 64}`, value: PAYLOAD, headers: { 'content-type': 'application/json' } })) });
  }
  await producer.disconnect();

  // Baselines: a kafkajs consumer with its own group reading the same records.
  const rawRun = async (forward) => {
    const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
    const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}`, maxWaitTimeInMs: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let count = 0;
    let first = 0;
    let last = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    await consumer.run({
      partitionsConsumedConcurrently: 16,
      eachBatch: async ({ batch }) => {
        if (forward)
          await postAll(
            dispatcher,
            sink.url,
            batch.messages.map((m) => m.value),
            100,
          );
        const now = performance.now();
        if (count === 0) first = now;
        count += batch.messages.length;
        last = now;
        if (count >= KAFKA_RECORDS) done();
      },
    });
    await finished;
    await consumer.disconnect();
    await dispatcher.close();
    return forward ? undefined : { events: count, seconds: (last - first) / 1000, perSec: count / ((last - first) / 1000) };
  };
  const rows = [];
  const consumeOnly = await rawRun(false);
  rows.push({ source: 'Kafka', what: 'kafkajs consume only (baseline)', ...consumeOnly });
  await sink.reset();
  const fwd = rawRun(true);
  const forwarder = await sinkRate(sink, KAFKA_RECORDS, 60_000);
  await fwd;
  rows.push({ source: 'Kafka', what: 'kafkajs → HTTP forwarder, 100 in flight/partition (baseline)', ...forwarder });

  for (const ordering of ['unordered', 'ordered']) {
    await sink.reset();
    const sluice = await runSluice(`apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: bench-${ordering}}
spec:
  bootstrapServers: ["${brokers}"]
  topics: [${topic}]
  consumerGroup: bench-sluice-${ordering}-${randomUUID()}
  initialOffset: earliest
  ordering: ${ordering}
  sink: {uri: "${sink.url}"}
`);
    const r = await sinkRate(sink, KAFKA_RECORDS, 120_000);
    await sluice.stop();
    rows.push({ source: 'Kafka', what: `Sluice KafkaSource, ${ordering}`, ...r, vsForwarder: r.perSec / forwarder.perSec, vsConsume: r.perSec / consumeOnly.perSec });
  }
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return rows;
}

// --------------------------------------------------------------------------------------------------------- Pub/Sub
async function benchPubSub(host, sink) {
  const { PubSub } = await import('@google-cloud/pubsub');
  const { Agent } = await import('undici');
  const project = 'sluice-bench';
  const pubsub = new PubSub({ projectId: project, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' });
  const run = randomUUID().slice(0, 8);
  const [topic] = await pubsub.createTopic(`bench-${run}`);
  // One subscription per reader, all created before publishing so each gets every message. Sluice's is created
  // under the name the source derives (sluice_<namespace>_<name>) and reused by it.
  const [rawSub] = await topic.createSubscription(`bench-raw-${run}`);
  const [fwdSub] = await topic.createSubscription(`bench-fwd-${run}`);
  await topic.createSubscription(`sluice_default_bench-${run}`);
  const publisher = pubsub.topic(topic.name, { batching: { maxMessages: 1000, maxMilliseconds: 20 } });
  for (let sent = 0; sent < PUBSUB_MESSAGES; sent += 1000) {
    const n = Math.min(1000, PUBSUB_MESSAGES - sent);
    await Promise.all(Array.from({ length: n }, () => publisher.publishMessage({ data: Buffer.from(PAYLOAD), attributes: { kind: 'order' } })));
  }

  const pull = async (subscription, forward) => {
    const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
    const { request } = await import('undici');
    const sub = pubsub.subscription(subscription.name, { flowControl: { maxMessages: 1000, allowExcessMessages: false } });
    let count = 0;
    let first = 0;
    let last = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    sub.on('message', async (m) => {
      if (forward) {
        const res = await request(sink.url, { method: 'POST', body: m.data, headers: { 'content-type': 'application/json' }, dispatcher });
        await res.body.dump();
      }
      m.ack();
      const now = performance.now();
      if (count === 0) first = now;
      count++;
      last = now;
      if (count >= PUBSUB_MESSAGES) done();
    });
    await finished;
    await sub.close();
    await dispatcher.close();
    return { events: count, seconds: (last - first) / 1000, perSec: (count - 1) / ((last - first) / 1000) };
  };
  const rows = [];
  const pullOnly = await pull(rawSub, false);
  rows.push({ source: 'Pub/Sub emulator', what: 'streaming pull + ack only, 1000 in flight (baseline)', ...pullOnly });
  await sink.reset();
  await pull(fwdSub, true);
  const forwarder = await sinkRate(sink, PUBSUB_MESSAGES, 60_000);
  rows.push({ source: 'Pub/Sub emulator', what: 'pull → HTTP forwarder → ack, 1000 in flight (baseline)', ...forwarder });
  await sink.reset();
  const sluice = await runSluice(
    `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: bench-${run}}
spec:
  project: ${project}
  topic: bench-${run}
  sink: {uri: "${sink.url}"}
`,
    { PUBSUB_EMULATOR_HOST: host },
  );
  const r = await sinkRate(sink, PUBSUB_MESSAGES, 120_000);
  await sluice.stop();
  rows.push({ source: 'Pub/Sub emulator', what: 'Sluice CloudPubSubSource', ...r, vsForwarder: r.perSec / forwarder.perSec, vsConsume: r.perSec / pullOnly.perSec });
  await topic.delete().catch(() => {});
  await pubsub.close();
  return rows;
}

// ------------------------------------------------------------------------------------------------------------ run
/** Runs both benchmarks; returns `{ source, what, events, seconds, perSec, vsForwarder?, vsConsume? }` rows. */
export async function run() {
  const started = [];
  const need = async (envVar, script) => {
    if (process.env[envVar]) return process.env[envVar];
    const mod = await import(pathToFileURL(join(ROOT, 'deploy/local-services', script)).href);
    const handle = await mod.start();
    started.push(handle);
    return handle.env[envVar];
  };
  const sink = await startSink();
  try {
    const [brokers, host] = await Promise.all([need('KAFKA_BROKERS', 'kafka.mjs'), need('PUBSUB_EMULATOR_HOST', 'pubsub-emulator.mjs')]);
    const only = process.env.BENCH_SOURCES_ONLY; // 'kafka' or 'pubsub', to run one half
    return [...(only === 'pubsub' ? [] : await benchKafka(brokers, sink)), ...(only === 'kafka' ? [] : await benchPubSub(host, sink))];
  } finally {
    sink.stop();
    await Promise.allSettled(started.map((s) => s.stop()));
  }
}

/** Formats rows as a Markdown table. */
export function format(rows) {
  const header = '| source | reader | events | seconds | events/s | vs forwarder | vs consume only |\n|---|---|---:|---:|---:|---:|---:|';
  const pct = (x) => (x === undefined ? '' : `${(x * 100).toFixed(0)} %`);
  const lines = rows.map((r) => `| ${r.source} | ${r.what} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSec).toLocaleString('en-US')} | ${pct(r.vsForwarder)} | ${pct(r.vsConsume)} |`);
  return `${header}\n${lines.join('\n')}\n\nMachine: ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

if (process.argv[2] !== 'sink' && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const t0 = Date.now();
  console.log(format(await run()));
  console.log(`(total ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

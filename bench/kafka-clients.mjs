// Kafka clients compared for the Kafka broker class: kafkajs 2.2.4 (what packages/kafka-store uses),
// @platformatic/kafka 1.x (pure JavaScript) and @confluentinc/kafka-javascript (librdkafka, native), each against the
// same real Kafka in the same run, in interleaved rounds, each client in its own child process so that
// process.cpuUsage() counts only that client's work (librdkafka's threads included).
//
// The candidates are not dependencies of the repository: install them in a scratch directory and point
// KAFKA_CLIENTS_DIR at it (default /tmp/kclients); a candidate that is not installed there is skipped and said so
// (kafkajs falls back to the repository's own copy).
//
//   mkdir -p /tmp/kclients && cd /tmp/kclients && npm init -y >/dev/null
//   npm install kafkajs@2.2.4 @platformatic/kafka@1.35.0
//   CKJS_LINKING=dynamic npm install @confluentinc/kafka-javascript@1.10.1   # source build, see docs/kafka-broker.md
//   node bench/kafka-clients.mjs      # starts a local Kafka 4.3.1 (deploy/local-services) unless KAFKA_BROKERS is set
//
// Environment: KAFKA_CLIENTS_DIR, KAFKA_BROKERS, KCLIENTS_ROUNDS (3), KCLIENTS_MS (2000, per produce phase),
// KCLIENTS_RATES (1000,200: records/s of the latency phases), KCLIENTS_LATENCY_MS (4000 per rate),
// KCLIENTS_CONSUME (20000 records),
// KCLIENTS_ONLY (comma-separated client names).
//
// What every round measures, per client (1 KiB value, no key, binary-mode CloudEvents headers shaped like
// packages/kafka-store's record codec; acks=-1; no idempotence and no compression, as the store's producer):
// - produce, closed loop: 4 requests in flight (the store's maxConcurrentProduces), each a send of 1, 10 or 100
//   records (what one group commit hands to the client); records/s and CPU µs per record of the client's process;
// - produce latency, open loop: single-record sends (one send() call each) at a fixed rate, latency from each
//   record's intended send time (no coordinated omission); p50 / p99 / p99.9 ms. A client whose cost per request is
//   above the rate's budget queues up here, which the achieved rate shows;
// - consume: a fresh consumer group reads a prefilled topic (10 partitions) from the start and decodes every record's
//   headers to strings as the store's codec does; records/s and CPU µs per record from the first record to the last.
// After the rounds, a protocol check per client against the same Kafka (`--features`): what the store needs.
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { kafkaForBench } from './processes.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const CLIENTS_DIR = process.env.KAFKA_CLIENTS_DIR ?? '/tmp/kclients';
const PAYLOAD = Buffer.alloc(1024, 'x');
const PARTITIONS = 10;

/** Loads a package from the scratch directory, else (kafkajs only) from the repository. */
async function load(name, { repoFallback = false } = {}) {
  for (const base of [CLIENTS_DIR, ...(repoFallback ? [ROOT] : [])]) {
    if (!existsSync(join(base, 'node_modules', name))) continue;
    const require = createRequire(join(base, 'package.json'));
    const resolved = require.resolve(name);
    return { mod: await import(pathToFileURL(resolved).href), from: base };
  }
  return undefined;
}

/** The installed version of a package (read from its package.json, which not every package exports). */
function versionOf(base, name) {
  return JSON.parse(readFileSync(join(base, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** A record as packages/kafka-store's encodeRecord makes it for a bench event (fresh headers object per record). */
function record(i) {
  return {
    key: null,
    value: PAYLOAD,
    headers: {
      ce_specversion: '1.0',
      ce_id: `bench-${i}`,
      ce_source: '/bench',
      ce_type: 'bench.event',
      ce_time: '2026-01-01T00:00:00.000Z',
      'content-type': 'application/json',
    },
  };
}

/** Decodes headers to strings as the store's codec does (kafkajs and librdkafka hand out Buffers). */
function decodeHeaders(headers) {
  let n = 0;
  if (headers instanceof Map) {
    for (const [k, v] of headers) if (String(k).startsWith('ce_') || k === 'content-type') n += String(v).length;
  } else if (Array.isArray(headers)) {
    // librdkafka's KafkaJS layer: headers may arrive as an array of single-key objects
    for (const h of headers) for (const k in h) n += h[k].toString('utf8').length;
  } else if (headers) {
    for (const k in headers) {
      const v = headers[k];
      n += (Array.isArray(v) ? v[0] : v).toString('utf8').length;
    }
  }
  return n;
}

// ------------------------------------------------------------------------------------------------ client adapters
// Each adapter: { version, producer(): { send(topic, records) → Promise, close() }, consume(topic, groupId, expected,
// onFirst) → Promise, features(ctx) → rows }.

/**
 * Runs a subscribed consumer with a KafkaJS-style `run({ eachBatch })` (kafkajs, and the KafkaJS API of
 * @confluentinc/kafka-javascript) until `onRecord` says it has seen enough, then disconnects it.
 */
async function consumeUntilDone(consumer, onRecord) {
  let done;
  const finished = new Promise((r) => (done = r));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (onRecord(decodeHeaders(m.headers) + (m.value?.length ?? 0))) done();
    },
  });
  await finished;
  await consumer.disconnect();
}
async function kafkajsAdapter(brokers) {
  const loaded = await load('kafkajs', { repoFallback: true });
  const kafkajs = loaded.mod.default;
  const { connect } = await import('node:net');
  const version = versionOf(loaded.from, 'kafkajs');
  // As packages/kafka-store: TCP_NODELAY sockets, no producer retries, the default partitioner.
  const socketFactory = ({ host, port, onConnect }) => {
    const s = connect({ host, port }, onConnect);
    s.setNoDelay(true);
    s.setKeepAlive(true, 60_000);
    return s;
  };
  const kafka = new kafkajs.Kafka({ clientId: 'kclients', brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING, socketFactory });
  return {
    name: 'kafkajs',
    version,
    from: loaded.from,
    async producer() {
      const p = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner, retry: { retries: 0 } });
      await p.connect();
      return {
        send: (topic, messages) => p.sendBatch({ acks: -1, timeout: 10_000, topicMessages: [{ topic, messages }] }),
        close: () => p.disconnect(),
      };
    },
    async consume(topic, groupId, expected, onRecord) {
      const c = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await consumeUntilDone(c, onRecord);
    },
    admin: async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    },
    kafka,
    kafkajs,
  };
}

async function platformaticAdapter(brokers) {
  const loaded = await load('@platformatic/kafka');
  if (!loaded) return undefined;
  const k = loaded.mod;
  const version = versionOf(loaded.from, '@platformatic/kafka');
  const base = { clientId: 'kclients', bootstrapBrokers: brokers.split(',') };
  const serializers = { headerKey: k.stringSerializer, headerValue: k.stringSerializer };
  return {
    name: '@platformatic/kafka',
    version,
    from: loaded.from,
    brokers: base.bootstrapBrokers,
    async producer() {
      const p = new k.Producer({ ...base, serializers, retries: 0, autocreateTopics: false });
      return {
        // acks on every send: send() ignores the constructor's `acks` and defaults to 1 (leader only) unless idempotent.
        send: (topic, records) => p.send({ acks: k.ProduceAcks.ALL, messages: records.map((r) => ({ topic, value: r.value, headers: r.headers })) }),
        close: () => p.close(),
      };
    },
    async consume(topic, groupId, expected, onRecord) {
      const c = new k.Consumer({ ...base, groupId, maxWaitTime: 100, deserializers: { headerKey: k.stringDeserializer, headerValue: k.stringDeserializer } });
      const stream = await c.consume({ topics: [topic], mode: k.MessagesStreamModes.EARLIEST, autocommit: true });
      await new Promise((resolve, reject) => {
        stream.on('data', (m) => {
          if (onRecord(decodeHeaders(m.headers) + (m.value?.length ?? 0))) resolve();
        });
        stream.on('error', reject);
      });
      await stream.close();
      await c.close();
    },
    k,
  };
}

async function confluentAdapter(brokers) {
  const loaded = await load('@confluentinc/kafka-javascript');
  if (!loaded) return undefined;
  const mod = loaded.mod.default ?? loaded.mod;
  const version = versionOf(loaded.from, '@confluentinc/kafka-javascript');
  const { Kafka, logLevel } = mod.KafkaJS;
  const kafka = new Kafka({ kafkaJS: { clientId: 'kclients', brokers: brokers.split(','), logLevel: logLevel.NOTHING } });
  return {
    name: '@confluentinc/kafka-javascript',
    version: `${version} (librdkafka ${mod.librdkafkaVersion})`,
    from: loaded.from,
    async producer() {
      // linger.ms 0: the store batches by group commit itself; librdkafka's default (5 ms) would add to every latency.
      const p = kafka.producer({ 'linger.ms': 0, kafkaJS: { acks: -1, allowAutoTopicCreation: false, idempotent: false } });
      await p.connect();
      return { send: (topic, messages) => p.send({ topic, messages }), close: () => p.disconnect() };
    },
    async consume(topic, groupId, expected, onRecord) {
      const c = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, maxWaitTimeInMs: 100 } });
      await c.connect();
      await c.subscribe({ topics: [topic] });
      await consumeUntilDone(c, onRecord);
    },
    kafka,
    mod,
  };
}

const ADAPTERS = { kafkajs: kafkajsAdapter, platformatic: platformaticAdapter, confluent: confluentAdapter };

// ------------------------------------------------------------------------------------------------ measurements

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Closed loop: `inflight` senders, each sending `batch` records per request, for `ms`. */
async function closedLoop(producer, topic, batch, ms, inflight = 4) {
  let records = 0;
  let seq = 0;
  const t0 = performance.now();
  const c0 = cpuUs();
  const end = t0 + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const rs = new Array(batch);
      for (let i = 0; i < batch; i++) rs[i] = record(seq++);
      await producer.send(topic, rs);
      records += batch;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const elapsed = performance.now() - t0;
  return { batch, perSec: (records / elapsed) * 1000, cpuUsPerRecord: (cpuUs() - c0) / records, records };
}

const pct = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

/** Open loop: single-record sends at `rate`/s for `ms`; latency from each record's intended send time. */
async function openLoop(producer, topic, rate, ms, maxOutstanding = 2000) {
  const latencies = [];
  let sent = 0;
  let outstanding = 0;
  let skipped = 0;
  let failed = 0;
  const total = Math.floor((rate * ms) / 1000);
  const interval = 1000 / rate;
  const t0 = performance.now();
  const c0 = cpuUs();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) {
        const intended = t0 + sent * interval;
        sent++;
        if (outstanding >= maxOutstanding) {
          skipped++;
          continue;
        }
        outstanding++;
        producer.send(topic, [record(sent)]).then(
          () => {
            latencies.push(performance.now() - intended);
            if (--outstanding === 0 && sent >= total) resolve();
          },
          () => {
            failed++;
            if (--outstanding === 0 && sent >= total) resolve();
          },
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else if (outstanding === 0) resolve();
    };
    tick();
  });
  const sorted = Float64Array.from(latencies).sort();
  return {
    rate,
    achieved: (latencies.length / (performance.now() - t0)) * 1000,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    p999: pct(sorted, 99.9),
    max: sorted[sorted.length - 1],
    cpuUsPerRecord: (cpuUs() - c0) / Math.max(1, latencies.length),
    skipped,
    failed,
  };
}

async function consumePhase(adapter, topic, expected) {
  let seen = 0;
  let t0;
  let c0;
  let t1;
  let c1;
  let bytes = 0;
  const started = performance.now();
  await adapter.consume(topic, `kclients-${adapter.name.replace(/\W/g, '')}-${Date.now().toString(36)}`, expected, (n) => {
    bytes += n;
    if (seen++ === 0) {
      t0 = performance.now();
      c0 = cpuUs();
    }
    if (seen === expected) {
      t1 = performance.now();
      c1 = cpuUs();
      return true;
    }
    return false;
  });
  // The first record's cost is outside the window: count the others.
  const n = expected - 1;
  return { records: expected, perSec: (n / (t1 - t0)) * 1000, cpuUsPerRecord: (c1 - c0) / n, firstRecordMs: t0 - started, bytes };
}

async function childRound(name, cfg) {
  const adapter = await ADAPTERS[name](cfg.brokers);
  const producer = await adapter.producer();
  const result = { client: name, version: adapter.version };
  try {
    // Warm-up (discarded): connections, metadata, JIT of the produce path.
    await closedLoop(producer, cfg.produceTopic, 10, Math.min(1500, cfg.ms));
    result.produce = [];
    for (const batch of [1, 10, 100]) result.produce.push(await closedLoop(producer, cfg.produceTopic, batch, cfg.ms));
    result.latency = [];
    for (const rate of cfg.rates) {
      await sleep(200);
      result.latency.push(await openLoop(producer, cfg.produceTopic, rate, cfg.latencyMs));
    }
  } finally {
    await producer.close();
  }
  result.consume = await consumePhase(adapter, cfg.consumeTopic, cfg.consumeRecords);
  return result;
}

// ------------------------------------------------------------------------------------------------ protocol check

/** Runs `fn`, recording ok / the error's message under `label`. */
async function check(rows, label, fn) {
  try {
    const detail = await fn();
    rows.push({ label, ok: detail !== false, detail: typeof detail === 'string' ? detail : '' });
  } catch (err) {
    rows.push({
      label,
      ok: false,
      detail: String(err?.message ?? err)
        .split('\n')[0]
        .slice(0, 140),
    });
  }
}

const withTimeout = (p, ms, what) => Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what}: no answer within ${ms} ms`)))]);

async function childFeatures(name, cfg) {
  const adapter = await ADAPTERS[name](cfg.brokers);
  const rows = [];
  const topic = `kclients-features-${name}-${Date.now().toString(36)}`;
  const headers = { ce_specversion: '1.0', ce_id: 'f-1', ce_source: '/features', ce_type: 'features.event', 'content-type': 'text/plain' };
  const same = (h) => {
    const got = {};
    if (h instanceof Map) for (const [k, v] of h) got[String(k)] = String(v);
    else if (Array.isArray(h)) for (const o of h) for (const k in o) got[k] = o[k].toString('utf8');
    else for (const k in h) got[k] = (Array.isArray(h[k]) ? h[k][0] : h[k]).toString('utf8');
    return Object.keys(headers).every((k) => got[k] === headers[k]);
  };
  if (name === 'kafkajs') await featuresKafkajs(adapter, rows, topic, headers, same);
  else if (name === 'platformatic') await featuresPlatformatic(adapter, rows, topic, headers, same);
  else await featuresConfluent(adapter, rows, topic, headers, same);
  return { client: name, version: adapter.version, rows };
}

async function featuresKafkajs(a, rows, topic, headers, same) {
  const admin = await a.admin();
  const group = `${topic}-g`;
  await check(rows, 'create topic', () => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] }));
  const p = await a.producer();
  await check(rows, 'produce with headers, acks=-1', () =>
    p.send(
      topic,
      [0, 1, 2].map((i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`), headers })),
    ),
  );
  await p.close();
  await check(rows, 'list offsets', async () => `end offsets sum ${(await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0)}`);
  await check(rows, 'consumer group (classic), headers round-trip', async () => {
    const c = a.kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    let n = 0;
    let ok = true;
    const got = new Promise((resolve) =>
      c.run({
        // No auto-commit: it would overwrite the commit with metadata below when the consumer stops.
        autoCommit: false,
        eachMessage: async ({ message }) => {
          ok &&= same(message.headers);
          if (++n === 3) resolve();
        },
      }),
    );
    await withTimeout(got, 20_000, 'consume');
    await c.commitOffsets([{ topic, partition: 0, offset: '1', metadata: 'attempt=2' }]);
    await c.disconnect();
    return ok ? 'classic protocol, 3/3 records, headers equal' : false;
  });
  await check(rows, 'offset commit with metadata, read back', async () => {
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const p0 = offsets[0].partitions.find((x) => x.partition === 0);
    return p0?.metadata === 'attempt=2' ? 'metadata read back' : false;
  });
  await check(rows, 'describe group', async () => `state ${(await admin.describeGroups([group])).groups[0].state}`);
  rows.push({ label: 'consumer group protocol (KIP-848)', ok: false, detail: 'not implemented (classic only)' });
  await check(rows, 'memberless offset commit (empty group)', async () => {
    const { connectCluster } = await import(pathToFileURL(join(ROOT, 'packages/kafka-store/dist/kafka-internals.js')).href);
    const cluster = await connectCluster(a.kafka);
    const coord = await cluster.findGroupCoordinator({ groupId: `${group}-new` });
    await coord.offsetCommit({ groupId: `${group}-new`, memberId: '', groupGenerationId: -1, topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }] });
    await cluster.disconnect();
    return 'through kafkajs internals (private cluster factory)';
  });
  await check(rows, 'fetch an offset range without a group', async () => {
    const { connectCluster } = await import(pathToFileURL(join(ROOT, 'packages/kafka-store/dist/kafka-internals.js')).href);
    const cluster = await connectCluster(a.kafka);
    await cluster.addTargetTopic(topic);
    const leader = cluster.findLeaderForPartitions(topic, [0]);
    const broker = await cluster.findBroker({ nodeId: Object.keys(leader)[0] });
    const r = await broker.fetch({ maxWaitTime: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 20 }] }] });
    await cluster.disconnect();
    return `through kafkajs internals; ${r.responses[0].partitions[0].messages.length} record(s)`;
  });
  await check(rows, 'describe / alter topic configs', async () => {
    const T = a.kafkajs.ConfigResourceTypes.TOPIC;
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: T, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const d = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: T, name: topic, configNames: ['retention.ms'] }] });
    return d.resources[0].configEntries[0].configValue === '3600000' ? '' : false;
  });
  await check(rows, 'delete group', () => admin.deleteGroups([group]));
  await check(rows, 'delete topic', () => admin.deleteTopics({ topics: [topic] }));
  await admin.disconnect();
}

async function featuresPlatformatic(a, rows, topic, headers, same) {
  const { k } = a;
  const base = { clientId: 'kclients', bootstrapBrokers: a.brokers };
  const admin = new k.Admin(base);
  const group = `${topic}-g`;
  await check(rows, 'create topic', () => admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 }));
  await sleep(500);
  const p = await a.producer();
  await check(rows, 'produce with headers, acks=-1', () =>
    p.send(
      topic,
      [0, 1, 2].map((i) => ({ value: Buffer.from(`v${i}`), headers })),
    ),
  );
  await p.close();
  await check(rows, 'list offsets', async () => {
    const r = await admin.listOffsets({ topics: [{ name: topic, partitions: [0, 1, 2].map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) }] });
    return `end offsets sum ${r[0].partitions.reduce((n, x) => n + Number(x.offset), 0)}`;
  });
  const consumeThree = async (groupId, extra) => {
    const c = new k.Consumer({ ...base, groupId, maxWaitTime: 100, ...extra, deserializers: { headerKey: k.stringDeserializer, headerValue: k.stringDeserializer } });
    const stream = await c.consume({ topics: [topic], mode: k.MessagesStreamModes.EARLIEST, autocommit: false, ...extra });
    let n = 0;
    let ok = true;
    let last;
    await withTimeout(
      new Promise((resolve, reject) => {
        stream.on('data', (m) => {
          ok &&= same(m.headers);
          last = m;
          if (++n === 3) resolve();
        });
        stream.on('error', reject);
      }),
      20_000,
      'consume',
    );
    return { c, stream, ok, last };
  };
  await check(rows, 'consumer group (classic), headers round-trip', async () => {
    const { c, stream, ok } = await consumeThree(group, {});
    await c.commit({ offsets: [{ topic, partition: 0, offset: 1n, leaderEpoch: -1 }] });
    await stream.close();
    await c.close();
    return ok ? 'classic protocol, 3/3 records, headers equal' : false;
  });
  // The consumer's commit() sends no metadata (the exported OffsetCommit request API has the field; not tried here).
  rows.push({ label: 'offset commit with metadata, read back', ok: false, detail: 'commit() has no metadata field' });
  await check(rows, 'describe group', async () => {
    const g = (await admin.describeGroups({ groups: [group] })).get(group);
    return `state ${g.state}, protocol type ${g.protocolType}`;
  });
  await check(rows, 'consumer group protocol (KIP-848)', async () => {
    const { c, stream, ok } = await consumeThree(`${group}-848`, { groupProtocol: k.GroupProtocols.CONSUMER });
    await stream.close();
    await c.close();
    return ok ? 'groupProtocol: consumer, 3/3 records' : false;
  });
  await check(rows, 'memberless offset commit (empty group)', async () => {
    await admin.alterConsumerGroupOffsets({ groupId: `${group}-new`, topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 1n }] }] });
    return 'admin.alterConsumerGroupOffsets (public API)';
  });
  await check(rows, 'fetch an offset range without a group', async () => {
    const c = new k.Consumer({ ...base, groupId: `${group}-fetch` });
    const md = await c.metadata({ topics: [topic] });
    const leader = md.topics.get(topic).partitions[0].leader;
    const r = await c.fetch({
      node: leader,
      topics: [{ topicId: md.topics.get(topic).id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
    });
    await c.close();
    const recs = r.responses[0].partitions[0].records;
    return `consumer.fetch (public API); ${Array.isArray(recs) ? recs.reduce((n, b) => n + b.records.length, 0) : (recs?.records?.length ?? '?')} record(s)`;
  });
  await check(rows, 'describe / alter topic configs', async () => {
    await admin.incrementalAlterConfigs({ resources: [{ resourceType: k.ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name: 'retention.ms', configOperation: 0, value: '3600000' }] }] });
    const d = await admin.describeConfigs({ resources: [{ resourceType: k.ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms'] }] });
    return d[0].configs.find((x) => x.name === 'retention.ms')?.value === '3600000' ? 'incrementalAlterConfigs + describeConfigs' : false;
  });
  await check(rows, 'delete group', () => admin.deleteGroups({ groups: [group] }));
  await check(rows, 'delete topic', () => admin.deleteTopics({ topics: [topic] }));
  await admin.close();
}

async function featuresConfluent(a, rows, topic, headers, same) {
  const admin = a.kafka.admin();
  await admin.connect();
  const group = `${topic}-g`;
  await check(rows, 'create topic', () => admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] }));
  const p = await a.producer();
  await check(rows, 'produce with headers, acks=-1', () =>
    p.send(
      topic,
      [0, 1, 2].map((i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`), headers })),
    ),
  );
  await p.close();
  await check(rows, 'list offsets', async () => `end offsets sum ${(await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0)}`);
  const consumeThree = async (groupId, extra) => {
    const c = a.kafka.consumer({ ...extra, kafkaJS: { groupId, fromBeginning: true, autoCommit: false } });
    await c.connect();
    await c.subscribe({ topics: [topic] });
    let n = 0;
    let ok = true;
    const got = new Promise((resolve) =>
      c.run({
        eachMessage: async ({ message }) => {
          ok &&= same(message.headers);
          if (++n === 3) resolve();
        },
      }),
    );
    await withTimeout(got, 30_000, 'consume');
    return { c, ok };
  };
  await check(rows, 'consumer group (classic), headers round-trip', async () => {
    const { c, ok } = await consumeThree(group, {});
    await c.commitOffsets([{ topic, partition: 0, offset: '1', metadata: 'attempt=2' }]);
    await c.disconnect();
    return ok ? 'classic protocol, 3/3 records, headers equal' : false;
  });
  await check(rows, 'offset commit with metadata, read back', async () => {
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const p0 = offsets[0].partitions.find((x) => x.partition === 0);
    return p0?.metadata === 'attempt=2' ? 'metadata read back' : `read back ${JSON.stringify(p0)}`;
  });
  await check(rows, 'describe group', async () => `state ${(await admin.describeGroups([group])).groups[0].state}`);
  await check(rows, 'consumer group protocol (KIP-848)', async () => {
    const { c, ok } = await consumeThree(`${group}-848`, { 'group.protocol': 'consumer' });
    await c.disconnect();
    return ok ? 'group.protocol=consumer, 3/3 records' : false;
  });
  rows.push({ label: 'memberless offset commit (empty group)', ok: false, detail: 'not in the API (no alterConsumerGroupOffsets / setOffsets)' });
  rows.push({ label: 'fetch an offset range without a group', ok: false, detail: 'not in the KafkaJS-style API; not tested with the node-rdkafka-style assign()' });
  rows.push({ label: 'describe / alter topic configs', ok: false, detail: 'not in the API (no describeConfigs / alterConfigs)' });
  await check(rows, 'delete group', () => admin.deleteGroups([group]));
  await check(rows, 'delete topic', () => admin.deleteTopics({ topics: [topic] }));
  await admin.disconnect();
}

// ------------------------------------------------------------------------------------------------ parent

function runChild(mode, name, cfg) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [mode, name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, KCLIENTS_CFG: JSON.stringify(cfg) } });
    let result;
    child.on('message', (m) => (result = m));
    child.on('exit', (code) => (result && !result.error ? resolve(result) : reject(new Error(`${name}: ${result?.error ?? `exited with ${code}`}`))));
  });
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const range = (xs, d = 0) => `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})`;

/** Runs the comparison; returns { clients, rounds, features, skipped }. */
export async function run(opts = {}) {
  const rounds = opts.rounds ?? Number(process.env.KCLIENTS_ROUNDS ?? 3);
  const only = (process.env.KCLIENTS_ONLY ?? '').split(',').filter(Boolean);
  const kafka = await kafkaForBench(opts.brokers);
  const brokers = kafka.brokers;
  const clients = [];
  const skipped = [];
  for (const [name, make] of Object.entries(ADAPTERS)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const a = await make(brokers);
    if (a) clients.push({ name, version: a.version, from: a.from });
    else skipped.push(name);
  }
  const runId = Date.now().toString(36);
  const cfg = {
    brokers,
    ms: Number(process.env.KCLIENTS_MS ?? 2000),
    rates: (process.env.KCLIENTS_RATES ?? '1000,200').split(',').map(Number),
    latencyMs: Number(process.env.KCLIENTS_LATENCY_MS ?? 4000),
    consumeRecords: Number(process.env.KCLIENTS_CONSUME ?? 20_000),
    consumeTopic: `kclients-consume-${runId}`,
  };
  const tools = await kafkajsAdapter(brokers);
  const admin = await tools.admin();
  const topics = [cfg.consumeTopic, ...clients.map((c) => `kclients-produce-${c.name}-${runId}`)];
  const results = [];
  const features = [];
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })) });
    // The consume topic is filled once, by kafkajs, with records of the same shape.
    const p = await tools.producer();
    for (let i = 0; i < cfg.consumeRecords; i += 500)
      await p.send(
        cfg.consumeTopic,
        Array.from({ length: Math.min(500, cfg.consumeRecords - i) }, (_, j) => record(i + j)),
      );
    await p.close();
    for (let r = 0; r < rounds; r++) {
      // Interleaved, and the order turns every round so no client always runs first (or right after another).
      const order = clients.map((_, i) => clients[(i + r) % clients.length]);
      for (const c of order) {
        const res = await runChild('--child', c.name, { ...cfg, produceTopic: `kclients-produce-${c.name}-${runId}` });
        results.push({ round: r + 1, ...res });
        opts.onResult?.(res, r + 1);
      }
    }
    if (opts.features !== false) for (const c of clients) features.push(await runChild('--features', c.name, cfg).catch((err) => ({ client: c.name, error: err.message, rows: [] })));
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
    await kafka.stop();
  }
  return { clients, rounds, results, features, skipped, cfg };
}

/** Markdown tables: medians over the rounds (min–max in brackets). */
export function table({ clients, results, features, cfg }) {
  const out = [];
  const of = (name) => results.filter((r) => r.client === name);
  out.push('| client | records per request | produce records/s | CPU µs per record |');
  out.push('|---|--:|--:|--:|');
  for (const c of clients) {
    for (const batch of [1, 10, 100]) {
      const xs = of(c.name).map((r) => r.produce.find((p) => p.batch === batch));
      out.push(`| ${c.name} ${c.version} | ${batch} | ${range(xs.map((x) => x.perSec))} | ${range(xs.map((x) => x.cpuUsPerRecord))} |`);
    }
  }
  out.push('');
  out.push(`| client | single-record sends/s: target | achieved | p50 ms | p99 ms | p99.9 ms | CPU µs per record | failed or not sent |`);
  out.push('|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const rate of cfg.rates) {
    for (const c of clients) {
      const xs = of(c.name).map((r) => r.latency.find((l) => l.rate === rate));
      out.push(
        `| ${c.name} | ${fmt(rate)} | ${range(xs.map((x) => x.achieved))} | ${range(
          xs.map((x) => x.p50),
          1,
        )} | ${range(
          xs.map((x) => x.p99),
          1,
        )} | ${range(
          xs.map((x) => x.p999),
          1,
        )} | ${range(xs.map((x) => x.cpuUsPerRecord))} | ${xs.reduce((n, x) => n + x.failed + x.skipped, 0)} |`,
      );
    }
  }
  out.push('');
  out.push(`| client | consume records/s (${fmt(cfg.consumeRecords)} records, fresh group) | CPU µs per record | first record after (ms) |`);
  out.push('|---|--:|--:|--:|');
  for (const c of clients) {
    const xs = of(c.name).map((r) => r.consume);
    out.push(
      `| ${c.name} | ${range(xs.map((x) => x.perSec))} | ${range(
        xs.map((x) => x.cpuUsPerRecord),
        1,
      )} | ${range(xs.map((x) => x.firstRecordMs))} |`,
    );
  }
  if (features.length > 0) {
    out.push('');
    const labels = [...new Set(features.flatMap((f) => f.rows.map((r) => r.label)))];
    out.push(`| against Kafka | ${features.map((f) => f.client).join(' | ')} |`);
    out.push(`|---|${features.map(() => '---').join('|')}|`);
    for (const l of labels) {
      out.push(
        `| ${l} | ${features
          .map((f) => {
            const r = f.rows.find((x) => x.label === l);
            return r ? `${r.ok ? 'yes' : 'no'}${r.detail ? `: ${r.detail.replace(/\|/g, '/')}` : ''}` : '–';
          })
          .join(' | ')} |`,
      );
    }
    for (const f of features) if (f.error) out.push(`\n${f.client}: protocol check failed: ${f.error}`);
  }
  return out.join('\n');
}

const mode = process.argv[2];
if (mode === '--child' || mode === '--features') {
  const cfg = JSON.parse(process.env.KCLIENTS_CFG);
  const name = process.argv[3];
  (mode === '--child' ? childRound(name, cfg) : childFeatures(name, cfg)).then(
    (res) => process.send(res, () => process.exit(0)),
    (err) => process.send({ error: String(err?.stack ?? err) }, () => process.exit(1)),
  );
} else if (process.argv[1] && SELF === process.argv[1]) {
  const t0 = Date.now();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`Kafka clients compared — ${machine}; Kafka and the client share the machine; load average at start ${loadavg()[0].toFixed(2)}; ${new Date().toISOString()}\n`);
  run({ onResult: (r, round) => console.error(`  round ${round}: ${r.client} done (batch 100: ${fmt(r.produce.at(-1).perSec)} records/s)`) }).then(
    (res) => {
      for (const c of res.clients) console.log(`- ${c.name} ${c.version} from ${c.from}`);
      for (const s of res.skipped) console.log(`- ${s}: not installed in ${CLIENTS_DIR}, skipped`);
      console.log(`\n${res.rounds} interleaved rounds; medians (min–max)\n`);
      console.log(table(res));
      console.log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s; load average at the end ${loadavg()[0].toFixed(2)}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

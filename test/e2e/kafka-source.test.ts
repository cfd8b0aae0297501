// @needs kafka
// End-to-end: the real `sluice` CLI (built output) runs a KafkaSource against the REAL Kafka (deploy/local-services),
// into a Broker + Trigger or straight to a real HTTP subscriber. Build first: `npx tsc -b`.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { requireService } from '../services/index.js';
import { runCli, startSluice, tempDir, waitFor, type Received, type Reply } from './harness.js';
import { applySinkBrokerLater, subscriberAndDir } from './fixtures.js';
import { broker, documents, trigger } from './manifests.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

async function kafkaTopic(brokers: string, partitions: number) {
  const kafka = new Kafka({ clientId: 'e2e-kafka-source', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `e2e-ks-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    topic,
    produce: (messages: kafkajs.Message[]) => producer.send({ topic, acks: -1, messages }),
    close: async () => {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/**
 * What a test against Kafka starts with: a fresh topic of `partitions`, a subscriber (answering with `respond`) and a
 * data directory, all removed after the test; undefined when Kafka is not there (the test is skipped).
 */
async function kafkaTest(t: TestContext, partitions: number, respond?: (received: Received) => Reply) {
  const brokers = requireService(t, 'kafka');
  if (!brokers) return undefined;
  const k = await kafkaTopic(brokers, partitions);
  t.after(k.close);
  return { brokers, k, ...(await subscriberAndDir(t, respond)) };
}

function attrs(r: Received): Record<string, unknown> {
  const { knativearrivaltime: _arrival, ...rest } = r.event!.attributes;
  return rest;
}

test('records of each shape arrive through a Broker and Trigger with the exact attributes', async (t) => {
  const setup = await kafkaTest(t, 3);
  if (!setup) return;
  const { brokers, k, sub, dir } = setup;
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: documents(
      broker('default', { namespace: 'shop' }),
      trigger('all', { broker: 'default', subscriber: sub.url }, { namespace: 'shop' }),
      `apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: orders, namespace: shop}
spec:
  bootstrapServers: ["${brokers}"]
  topics: [${k.topic}]
  initialOffset: earliest
  ceOverrides: {extensions: {team: payments}}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
`,
    ),
  });
  t.after(() => sluice.stop('SIGKILL'));
  const ts = '1714557600123';
  await k.produce([
    { key: 'cust-1', value: '{"order":1}', timestamp: ts, headers: { 'content-type': 'Application/JSON', 'X-Request-ID': 'r-1', traceparent: '00-abc-def-01' } },
    {
      key: 'cust-2',
      value: 'binary payload',
      headers: { ce_specversion: '1.0', ce_id: 'bin-1', ce_source: '/legacy/producer', ce_type: 'com.example.binary', ce_subject: 'thing', ce_ext: 'x', 'content-type': 'text/plain' },
    },
    {
      key: 'cust-3',
      value: JSON.stringify({ specversion: '1.0', id: 'str-1', source: 'urn:producer', type: 'com.example.structured', datacontenttype: 'application/json', data: { a: 1 }, myext: 'y' }),
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    },
    { key: null, value: null, headers: { ce_specversion: '1.0', ce_id: 'broken' } }, // claims to be a CloudEvent, is not one
  ]);
  await sub.waitForCount(4, 30_000);
  const byType = (type: string): Received[] => sub.received.filter((r) => r.event?.attributes['type'] === type);

  const [plain, broken] = [...byType('dev.knative.kafka.event')].sort((a, b) => (a.event!.attributes['partitionkey'] === undefined ? 1 : b.event!.attributes['partitionkey'] === undefined ? -1 : 0));
  const pm = /^partition:(\d+)\/offset:(\d+)$/.exec(String(plain!.event!.attributes['id']))!;
  assert.deepEqual(attrs(plain!), {
    specversion: '1.0',
    id: `partition:${pm[1]}/offset:${pm[2]}`,
    source: `/apis/v1/namespaces/shop/kafkasources/orders#${k.topic}`,
    type: 'dev.knative.kafka.event',
    subject: `partition:${pm[1]}#${pm[2]}`,
    time: '2024-05-01T10:00:00.123Z',
    key: 'cust-1',
    partitionkey: 'cust-1',
    kafkaheaderxrequestid: 'r-1',
    kafkaheadertraceparent: '00-abc-def-01',
    datacontenttype: 'application/json',
    team: 'payments',
  });
  assert.equal(plain!.body.toString(), '{"order":1}');
  assert.equal(broken!.event!.attributes['kafkaheaderceid'], 'broken', 'an invalid CloudEvent record is wrapped, not dropped');
  assert.equal(broken!.event!.attributes['kafkaheadercespecversion'], '1.0');

  const [bin] = byType('com.example.binary');
  assert.deepEqual(attrs(bin!), {
    specversion: '1.0',
    id: 'bin-1',
    source: '/legacy/producer',
    type: 'com.example.binary',
    subject: 'thing',
    ext: 'x',
    datacontenttype: 'text/plain',
    team: 'payments',
  });
  assert.equal(bin!.body.toString(), 'binary payload');

  const [str] = byType('com.example.structured');
  assert.deepEqual(attrs(str!), { specversion: '1.0', id: 'str-1', source: 'urn:producer', type: 'com.example.structured', datacontenttype: 'application/json', myext: 'y', team: 'payments' });
  assert.deepEqual(JSON.parse(str!.body.toString()), { a: 1 });
});

test('ordered: a sink that answers 503 and then recovers receives every record, each partition in offset order', async (t) => {
  // Down for the first 1.5 s after the first delivery attempt, then up.
  let failUntil = 0;
  const statuses = new WeakMap<Received, number>();
  const setup = await kafkaTest(t, 3, (r) => {
    if (failUntil === 0) failUntil = Date.now() + 1500;
    const status = Date.now() < failUntil ? 503 : 202;
    statuses.set(r, status);
    return { status };
  });
  if (!setup) return;
  const { brokers, k, sub, dir } = setup;
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: ordered}
spec:
  bootstrapServers: ["${brokers}"]
  topics: [${k.topic}]
  initialOffset: earliest
  ordering: ordered
  delivery: {retry: 2, backoffPolicy: linear, backoffDelay: PT0.1S}
  sink: {uri: "${sub.url}"}
`,
  });
  t.after(() => sluice.stop('SIGKILL'));
  const N = 300;
  await k.produce(Array.from({ length: N }, (_, i) => ({ key: `key-${i % 7}`, value: String(i) })));
  const accepted = (): Received[] => sub.received.filter((r) => statuses.get(r) === 202);
  await waitFor(() => accepted().length >= N, `${N} accepted records (got ${accepted().length})`, 60_000);
  assert.ok(sub.received.length > N, 'the sink refused some deliveries first');
  const perPartition = new Map<string, number[]>();
  for (const r of accepted()) {
    const [, p, o] = /^partition:(\d+)\/offset:(\d+)$/.exec(String(r.event!.attributes['id']))!;
    perPartition.set(p!, [...(perPartition.get(p!) ?? []), Number(o)]);
  }
  let total = 0;
  for (const [p, offsets] of perPartition) {
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i),
      `partition ${p}: every offset once, in order`,
    );
    total += offsets.length;
  }
  assert.equal(total, N);
});

test('kill -9 mid-stream and restart: every produced record is delivered (duplicates allowed)', async (t) => {
  const setup = await kafkaTest(t, 3, () => ({ status: 202 }));
  if (!setup) return;
  const { brokers, k, sub, dir } = setup;
  const yaml = `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: durable}
spec:
  bootstrapServers: ["${brokers}"]
  topics: [${k.topic}]
  initialOffset: earliest
  ordering: unordered
  delivery: {retry: 3, backoffDelay: PT0.1S}
  sink: {uri: "${sub.url}"}
`;
  const first = await startSluice({ dataDir: dir.path, yaml, env: { SLUICE_LOG_LEVEL: 'info' } });
  const produced = new Set<string>();
  let next = 0;
  const produceBatch = async (n: number): Promise<void> => {
    const batch = Array.from({ length: n }, () => ({ key: `k${next % 11}`, value: `record-${next++}` }));
    await k.produce(batch);
    for (const m of batch) produced.add(m.value);
  };
  for (let i = 0; i < 20; i++) await produceBatch(1000);
  await waitFor(() => sub.received.length >= 2000, '2000 records delivered', 60_000);
  assert.equal(await first.stop('SIGKILL'), null, 'killed');
  const deliveredBeforeKill = new Set(sub.received.map((r) => r.body.toString())).size;
  assert.ok(deliveredBeforeKill < produced.size, `killed mid-stream (${deliveredBeforeKill}/${produced.size})`);
  await produceBatch(1000); // produced while Sluice is down
  const second = await startSluice({ dataDir: dir.path, yaml, env: { SLUICE_LOG_LEVEL: 'info' } });
  t.after(() => second.stop('SIGKILL'));
  await produceBatch(500); // and after the restart
  // Incremental, so polling does not starve the subscriber that shares this event loop.
  const seen = new Set<string>();
  let scanned = 0;
  const delivered = (): Set<string> => {
    for (; scanned < sub.received.length; scanned++) seen.add(sub.received[scanned]!.body.toString());
    return seen;
  };
  try {
    await waitFor(
      () => {
        const got = delivered();
        return got.size >= produced.size && [...produced].every((v) => got.has(v));
      },
      `all ${produced.size} records delivered`,
      120_000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- first run ---\n${first.output().slice(-3000)}\n--- second run ---\n${second.output().slice(-3000)}`, { cause: err });
  }
  const duplicates = sub.received.length - delivered().size;
  t.diagnostic(`${produced.size} records, ${sub.received.length} deliveries, ${duplicates} duplicates (records in flight or delivered but not yet committed at the kill)`);
});

test('sluice validate reports KafkaSource mistakes as file:line:col', async (t) => {
  const dir = tempDir();
  t.after(dir.remove);
  const file = `${dir.path}/bad.yaml`;
  writeFileSync(
    file,
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: bad}
spec:
  initialOffset: oldest
  net:
    sasl: {enable: true}
  sink: {uri: "http://127.0.0.1:9/"}
  extra: 1
---
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: nosasluser}
spec:
  bootstrapServers: [127.0.0.1:9092]
  topics: [t]
  net:
    sasl: {enable: true}
  sink: {uri: "http://127.0.0.1:9/"}
`,
  );
  const r = await runCli(['validate', '-f', file]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trim().split('\n').slice(0, -1), [
    `${file}:5:3: KafkaSource/bad: spec: missing required field "bootstrapServers"`,
    `${file}:5:3: KafkaSource/bad: spec: missing required field "topics"`,
    `${file}:5:18: KafkaSource/bad: spec.initialOffset: must be one of: "earliest", "latest"`,
    `${file}:9:3: KafkaSource/bad: spec.extra: unknown field "extra"`,
    `${file}:18:11: KafkaSource/nosasluser: spec.net.sasl: enable is true but user is not set (a secretKeyRef to the SASL user name)`,
    `${file}:18:11: KafkaSource/nosasluser: spec.net.sasl: enable is true but password is not set (a secretKeyRef to the SASL password)`,
  ]);
});

test('a sink Broker applied later: records are not committed while it does not exist, and every one arrives once it does', async (t) => {
  const setup = await kafkaTest(t, 2);
  if (!setup) return;
  const { brokers, k, sub, dir } = setup;
  const suffix = randomUUID().slice(0, 8);
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: early-${suffix}}
spec:
  bootstrapServers: ["${brokers}"]
  topics: [${k.topic}]
  initialOffset: earliest
  delivery: {retry: 1, backoffPolicy: linear, backoffDelay: PT0.1S}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: later-${suffix}}
`,
  });
  t.after(() => sluice.stop('SIGKILL'));
  const N = 20;
  await k.produce(Array.from({ length: N }, (_, i) => ({ key: `key-${i}`, value: String(i) })));
  // The broker does not exist (404): the partition pauses on the record instead of committing past it.
  await waitFor(() => /partition paused: a record was neither delivered nor dead-lettered/.test(sluice.output()), 'a paused partition', 60_000);
  await applySinkBrokerLater(sluice, dir.path, { broker: `later-${suffix}`, trigger: `all-${suffix}` }, sub.url);
  await waitFor(() => new Set(sub.received.map((x) => x.event?.data?.toString())).size >= N, `${N} records through the broker (got ${sub.received.length})`, 90_000);
  assert.deepEqual(
    [...new Set(sub.received.map((x) => Number(x.event!.data!.toString())))].sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i),
  );
});

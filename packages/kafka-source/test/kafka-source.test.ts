// @needs kafka
// KafkaSourceComponent against the REAL Kafka (deploy/local-services) and real HTTP sinks on loopback: offsets are
// committed only for records the sink accepted or the dead-letter sink took, in both ordering modes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { UndiciSender } from '@sluice/delivery';
import { componentContext, requireService, startSubscriber, waitFor, type Received } from '@sluice/testing';
import { KafkaSourceComponent } from '../src/kafka-source.js';
import type { KafkaSource } from '../src/kafka-source-types.js';

/** A recording subscriber that answers each request with the status `respond` gives. */
const sinkAnswering = (respond: (h: Received) => number) => startSubscriber((h) => ({ status: respond(h) }));

const { Kafka, logLevel, Partitioners } = kafkajs;

const sender = new UndiciSender();
after(() => sender.close());
const ctx = componentContext(sender);

function source(brokers: string, topic: string, group: string, spec: Partial<KafkaSource['spec']>, sinkUrl: string): KafkaSource {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'KafkaSource',
    metadata: { name: 'it', namespace: 'default' },
    spec: { bootstrapServers: brokers.split(','), topics: [topic], consumerGroup: group, initialOffset: 'earliest', sink: { uri: sinkUrl }, ...spec },
  };
}

async function setup(t: { name: string }, brokers: string, partitions: number, records: { key: string; value: string }[]) {
  const kafka = new Kafka({ clientId: 'kafka-source-it', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `ks-it-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: records });
  await producer.disconnect();
  const group = `ks-it-group-${randomUUID().slice(0, 8)}`;
  const committed = async (): Promise<Map<number, string>> => {
    const r = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(r[0]!.partitions.map((p) => [p.partition, p.offset]));
  };
  const ends = async (): Promise<Map<number, string>> => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
  return { topic, group, committed, ends, close: () => admin.disconnect(), name: t.name };
}

const idOf = (h: Received): string => String(h.headers['ce-id']);

test('ordered: a sink that fails then recovers gets every record, in order per partition; offsets committed to the end', async (t) => {
  const brokers = requireService(t, 'kafka');
  if (!brokers) return;
  const records = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
  const k = await setup(t, brokers, 3, records);
  t.after(k.close);
  // Down for the first 1.5 s after the first delivery attempt, then up.
  let failUntil = 0;
  const s = await sinkAnswering(() => {
    if (failUntil === 0) failUntil = Date.now() + 1500;
    return Date.now() < failUntil ? 503 : 202;
  });
  t.after(s.close);
  const c = new KafkaSourceComponent(source(brokers, k.topic, k.group, { delivery: { retry: 1, backoffDelay: 'PT0.05S' } }, s.url), { pauseMs: { initial: 100, max: 200 } });
  await c.start(ctx);
  await waitFor(() => new Set(s.received.filter((h) => h.status === 202).map(idOf)).size === 30, '30 distinct records', 30_000);
  await waitFor(
    async () => {
      const [c1, e] = [await k.committed(), await k.ends()];
      return [...e].every(([p, high]) => c1.get(p) === high);
    },
    'offsets committed to the end',
    30_000,
  );
  await c.stop();
  assert.ok(s.received.filter((h) => h.headers['ce-id'] !== undefined).length > 30, 'the first attempts were refused and retried');
  // Per partition, the accepted deliveries are every offset once, in order (ordered = one at a time).
  const accepted = new Map<number, number[]>();
  for (const h of s.received.filter((x) => x.status === 202)) {
    const [, p, o] = /^partition:(\d+)\/offset:(\d+)$/.exec(idOf(h))!;
    accepted.set(Number(p), [...(accepted.get(Number(p)) ?? []), Number(o)]);
  }
  for (const [p, offsets] of accepted)
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i),
      `partition ${p} in order`,
    );
});

test('unordered: the commit point waits for a record the sink keeps refusing; everything is committed after it recovers', async (t) => {
  const brokers = requireService(t, 'kafka');
  if (!brokers) return;
  const k = await setup(
    t,
    brokers,
    1,
    Array.from({ length: 20 }, (_, i) => ({ key: 'same', value: `v${i}` })),
  );
  t.after(k.close);
  let refuse = true;
  const s = await sinkAnswering((h) => (refuse && idOf(h) === 'partition:0/offset:3' ? 503 : 202));
  t.after(s.close);
  const c = new KafkaSourceComponent(source(brokers, k.topic, k.group, { ordering: 'unordered' }, s.url), { maxInFlightPerPartition: 5, pauseMs: { initial: 100, max: 200 } });
  await c.start(ctx);
  await waitFor(
    () => {
      const ids = new Set(s.received.map(idOf));
      return [0, 1, 2, 4, 5, 6, 7].every((o) => ids.has(`partition:0/offset:${o}`)) && s.received.filter((h) => idOf(h) === 'partition:0/offset:3').length >= 2;
    },
    'records 0..7 seen and offset 3 refused twice',
    30_000,
  );
  await new Promise((r) => setTimeout(r, 1500)); // longer than the auto-commit interval
  assert.equal((await k.committed()).get(0), '3', 'committed up to the refused record, not past it');
  assert.ok(!s.received.some((h) => Number(/offset:(\d+)/.exec(idOf(h))![1]) >= 8), 'never more than 5 records beyond the commit point');
  refuse = false;
  await waitFor(() => new Set(s.received.map(idOf)).size === 20, 'all 20 delivered', 30_000);
  await waitFor(async () => (await k.committed()).get(0) === '20', 'committed to the end', 30_000);
  await c.stop();
});

test('dead-letter sink: refused records go there with the error extensions and are committed; a failing DLS holds the commit', async (t) => {
  const brokers = requireService(t, 'kafka');
  if (!brokers) return;
  const k = await setup(
    t,
    brokers,
    1,
    Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `v${i}` })),
  );
  t.after(k.close);
  const s = await sinkAnswering(() => 400);
  t.after(s.close);
  let dlsUp = false;
  const dls = await sinkAnswering(() => (dlsUp ? 202 : 503));
  t.after(dls.close);
  const c = new KafkaSourceComponent(source(brokers, k.topic, k.group, { delivery: { retry: 2, backoffDelay: 'PT0.01S', deadLetterSink: { uri: dls.url } } }, s.url), {
    pauseMs: { initial: 100, max: 200 },
  });
  await c.start(ctx);
  await waitFor(() => dls.received.length >= 6, 'the DLS refused the first record a few times', 30_000);
  assert.equal(s.received.filter((h) => idOf(h) === 'partition:0/offset:0').length >= 2, true, 'a 400 is not retried, but the record comes back after the pause');
  assert.equal((await k.committed()).get(0), '-1', 'nothing committed while neither sink takes the record');
  dlsUp = true;
  await waitFor(async () => (await k.committed()).get(0) === '5', 'committed to the end', 30_000);
  await c.stop();
  const delivered = dls.received.filter((h, i) => dls.received.findIndex((x) => idOf(x) === idOf(h)) === i);
  assert.equal(new Set(dls.received.map(idOf)).size, 5);
  for (const h of delivered) {
    assert.equal(h.headers['ce-knativeerrorcode'], '400');
    assert.equal(h.headers['ce-knativeerrordest'], s.url);
    assert.equal(h.headers['ce-type'], 'dev.knative.kafka.event');
  }
});

// @needs kafka
// Smoke test against a REAL Kafka broker with kafkajs: proves the pinned broker version speaks every
// protocol operation we rely on (CreateTopics, Produce acks=-1 with keys and headers, consumer-group
// Join/Sync/Heartbeat/Fetch, OffsetCommit/OffsetFetch, LeaveGroup and resume from committed offsets).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import type { Consumer, IHeaders } from 'kafkajs';
import { requireService } from './index.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

interface Received {
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  }
  return out;
}

/** Runs `consumer` until `count` records arrived, then keeps listening `settleMs` more to catch extras. */
async function consumeUntil(consumer: Consumer, topic: string, count: number, opts: { settleMs: number; timeoutMs: number; commit: boolean }): Promise<Received[]> {
  const got: Received[] = [];
  let reached!: () => void;
  const reachedCount = new Promise<void>((r) => (reached = r));
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      got.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers: headersToStrings(message.headers),
      });
      if (opts.commit) {
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      }
      if (got.length >= count) reached();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${opts.timeoutMs}ms with ${got.length}/${count} records`)), opts.timeoutMs);
  });
  try {
    await Promise.race([reachedCount, timeout]);
  } finally {
    clearTimeout(timer);
  }
  await new Promise((r) => setTimeout(r, opts.settleMs));
  return got;
}

test('kafka: 3-partition topic, keyed+headered acks=-1 produce, group consume, commit, resume after commit', async (t) => {
  const brokers = requireService(t, 'kafka');
  if (!brokers) return;

  const kafka = new Kafka({
    clientId: 'sluice-kafka-smoke',
    brokers: brokers.split(','),
    logLevel: logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 200 },
  });
  const run = randomUUID().slice(0, 8);
  const topic = `sluice-smoke-${run}`;
  const groupId = `sluice-smoke-group-${run}`;

  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  t.after(async () => {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  });
  await admin.connect();
  await producer.connect();

  // --- topic with 3 partitions
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  assert.equal(created, true);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(meta.topics[0]?.partitions.length, 3);

  // --- produce keyed records with headers, acks=-1 (all in-sync replicas)
  const first = Array.from({ length: 12 }, (_, i) => ({
    key: `key-${i % 6}`,
    value: JSON.stringify({ n: i }),
    headers: { 'ce-id': `id-${i}`, 'ce-type': 'dev.sluice.smoke' },
  }));
  const acks1 = await producer.send({ topic, acks: -1, messages: first });
  assert.ok(acks1.length > 0);
  for (const r of acks1) assert.equal(r.errorCode, 0);

  // Same key => same partition (murmur2 default partitioner), and more than one partition got data.
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.length, 3);
  const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  assert.equal(total, first.length);
  assert.ok(offsets.filter((p) => Number(p.high) > 0).length >= 2, 'keys spread over several partitions');

  // --- consume with a consumer group, committing each record's offset
  const consumer1 = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
  t.after(() => consumer1.disconnect().catch(() => {}));
  await consumer1.connect();
  const got1 = await consumeUntil(consumer1, topic, first.length, { settleMs: 500, timeoutMs: 60_000, commit: true });
  await consumer1.disconnect();

  assert.equal(got1.length, first.length, 'each record delivered exactly once to the group');
  assert.deepEqual(
    got1.map((r) => JSON.parse(r.value).n).sort((a, b) => a - b),
    first.map((_, i) => i),
  );
  const partitionOfKey = new Map<string, number>();
  for (const r of got1) {
    const n = JSON.parse(r.value).n as number;
    assert.equal(r.key, `key-${n % 6}`);
    assert.deepEqual(r.headers, { 'ce-id': `id-${n}`, 'ce-type': 'dev.sluice.smoke' });
    const p = partitionOfKey.get(r.key);
    if (p === undefined) partitionOfKey.set(r.key, r.partition);
    else assert.equal(r.partition, p, `key ${r.key} stays on one partition`);
  }

  // Committed offsets (OffsetFetch) equal each partition's high watermark.
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committedByPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]));
  for (const p of offsets) {
    if (p.high === '0') continue; // nothing to commit on an empty partition
    assert.equal(committedByPartition.get(p.partition), p.high, `partition ${p.partition} committed up to its end`);
  }

  // --- more records while the group is offline
  const second = Array.from({ length: 6 }, (_, i) => ({
    key: `key-${i}`,
    value: JSON.stringify({ n: 100 + i }),
    headers: { 'ce-id': `id-${100 + i}` },
  }));
  await producer.send({ topic, acks: -1, messages: second });

  // --- restart: a NEW consumer in the same group resumes after the committed offsets, even though it
  // subscribes fromBeginning — nothing that was committed is delivered again.
  const consumer2 = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
  t.after(() => consumer2.disconnect().catch(() => {}));
  await consumer2.connect();
  const got2 = await consumeUntil(consumer2, topic, second.length, { settleMs: 2_000, timeoutMs: 60_000, commit: true });
  await consumer2.disconnect();

  assert.deepEqual(
    got2.map((r) => JSON.parse(r.value).n).sort((a, b) => a - b),
    second.map((_, i) => 100 + i),
    'only the records produced after the commit are delivered after the restart',
  );
  for (const r of got2) assert.equal(r.headers['ce-id'], `id-${JSON.parse(r.value).n}`);

  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
});

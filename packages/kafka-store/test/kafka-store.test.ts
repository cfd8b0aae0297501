// @needs kafka
// The storage-port contract and Kafka-specific behaviour, against a REAL Kafka broker (KAFKA_BROKERS).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { isSluiceError, type CloudEvent } from '@sluice/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, type LogRecord } from '@sluice/store';
import { requireService, runStoreContract, waitFor } from '@sluice/testing';
import { loadKafkajs } from '@sluice/plugin';
import { KafkaEventStore, type KafkaEventStoreOptions } from '../src/index.js';

const { Kafka, logLevel } = kafkajs;
// The stores get kafkajs as Sluice loads it (with its pooled encoder).
const storeKafkajs = loadKafkajs();
const brokers = process.env['KAFKA_BROKERS']?.split(',') ?? [];

/** Stores a test opened: closed after it even when an assertion failed (an open store's consumers keep the file alive). */
const opened: KafkaEventStore[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
});

function storeFor(prefix: string, extra: Partial<KafkaEventStoreOptions> = {}): KafkaEventStore {
  const store = new KafkaEventStore({
    kafkajs: storeKafkajs,
    brokers,
    topics: { partitions: 4 },
    topicFor: (log) => ({ topic: `${prefix}-${log}` }),
    groupIdFor: (g) => `${prefix}-${g}`,
    ...extra,
  });
  opened.push(store);
  return store;
}

const ev = (id: string, extra: Record<string, string | number | boolean> = {}, data: Buffer | null = Buffer.from(`data-${id}`)): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/kafka-test', type: 'test', ...extra },
  data: data ?? undefined,
});

if (brokers.length > 0) {
  runStoreContract('kafka', async () => {
    const prefix = `c-${randomUUID().slice(0, 8)}`;
    // Kafka-class brokers keep their dead letters in the instance's embedded store.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-dl-'));
    const deadLetters = new SqliteEventStore({ path: join(dir, 'dead-letters.db') });
    return {
      open: async () => storeFor(prefix, { deadLetters }),
      deadLetters: () => deadLetters,
      cleanup: async () => {
        await deadLetters.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
} else {
  test('[kafka] store contract', (t) => {
    requireService(t, 'kafka');
  });
}

test('[kafka] records are binary-mode CloudEvents: ce_ headers, content-type, partitionkey as the key', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `b-${randomUUID().slice(0, 8)}`;
  const store = storeFor(prefix);
  await store.append('log', [ev('1', { partitionkey: 'pk-1', datacontenttype: 'application/json', knativebrokerttl: 255, flag: true }, Buffer.from('{"a":1}'))]);
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: `${prefix}-log`, fromBeginning: true });
  const got: Array<{ key: string | undefined; value: string; headers: Record<string, string> }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ key: message.key?.toString(), value: message.value?.toString() ?? '', headers });
    },
  });
  await waitFor(() => got.length === 1, 'the record', 15_000);
  await consumer.disconnect();
  const r = got[0]!;
  assert.equal(r.key, 'pk-1');
  assert.equal(r.value, '{"a":1}');
  assert.equal(r.headers['ce_id'], '1');
  assert.equal(r.headers['ce_specversion'], '1.0');
  assert.equal(r.headers['ce_source'], '/kafka-test');
  assert.equal(r.headers['ce_partitionkey'], 'pk-1');
  assert.equal(r.headers['ce_knativebrokerttl'], '255');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['ce_datacontenttype'], undefined);
  // Typed attributes come back with their type.
  const seen: LogRecord[] = [];
  const late = storeFor(prefix);
  late.consume('log', 'typed', { maxInFlight: 5 }, async (rec) => {
    seen.push(rec);
    return { kind: 'done' };
  });
  await late.ready('log');
  await late.append('log', [ev('2', { knativebrokerttl: 254, flag: false }, null)]);
  await waitFor(() => seen.length === 1, 'typed record', 15_000);
  assert.equal(seen[0]!.event.attributes['knativebrokerttl'], 254);
  assert.equal(seen[0]!.event.attributes['flag'], false);
  assert.equal(seen[0]!.event.data, undefined);
  await late.close();
  await store.close();
});

test('[kafka] two stores in one group split the partitions, and every event is handled (at least once, as a consumer group delivers)', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `s-${randomUUID().slice(0, 8)}`;
  const a = storeFor(prefix);
  const b = storeFor(prefix);
  const byStore: Record<string, string[]> = { a: [], b: [] };
  for (const [name, s] of [
    ['a', a],
    ['b', b],
  ] as const) {
    s.consume('log', 'shared', { maxInFlight: 20 }, async (r) => {
      byStore[name]!.push(String(r.event.attributes['id']));
      return { kind: 'done' };
    });
    await s.ready('log');
  }
  // Wait until the group is stable with both members before measuring duplicates.
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  for (let i = 0; i < 200; i++) {
    const { groups } = await admin.describeGroups([`${prefix}-shared`]);
    if (groups[0]?.state === 'Stable' && groups[0].members.length === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await admin.disconnect();
  const ids = Array.from({ length: 400 }, (_, i) => String(i));
  await Promise.all([
    a.append(
      'log',
      ids.slice(0, 200).map((id) => ev(id)),
    ),
    b.append(
      'log',
      ids.slice(200).map((id) => ev(id)),
    ),
  ]);
  // A rebalance may hand a record to the other member before its commit: duplicates are allowed, a missing event is not.
  const handled = (): Set<string> => new Set([...byStore['a']!, ...byStore['b']!]);
  await waitFor(
    () => handled().size === 400,
    () => `all 400 events handled (${handled().size})`,
    15_000,
  );
  assert.deepEqual([...handled()].sort(), [...ids].sort(), 'every event handled');
  assert.ok(byStore['a']!.length > 0 && byStore['b']!.length > 0, `both members worked (a=${byStore['a']!.length}, b=${byStore['b']!.length})`);
  await Promise.all([a.close(), b.close()]);
});

test('[kafka] a failing record does not hold back its partition: later records are delivered and committed', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `r-${randomUUID().slice(0, 8)}`;
  // One partition, so the failing record and the others share it.
  const store = storeFor(prefix, { topics: { partitions: 1 } });
  const delivered: string[] = [];
  let failures = 0;
  store.consume('log', 'g', { maxInFlight: 4 }, async (r) => {
    const id = String(r.event.attributes['id']);
    if (id === 'bad' && r.attempt < 3) {
      failures++;
      return { kind: 'retry', attempt: r.attempt + 1, dueAt: Date.now() + 200 };
    }
    delivered.push(`${id}@${r.attempt}`);
    return { kind: 'done' };
  });
  await store.ready('log');
  await store.append('log', [ev('bad'), ...Array.from({ length: 20 }, (_, i) => ev(`ok${i}`))]);
  await waitFor(() => delivered.filter((d) => d.startsWith('ok')).length === 20, 'the later records', 15_000);
  assert.ok(!delivered.includes('bad@3'), 'the later records did not wait for the retries');
  await waitFor(() => delivered.includes('bad@3'), 'the last retry', 15_000);
  assert.equal(failures, 3);
  await new Promise((r) => setTimeout(r, 200)); // let the retry topic's offset commit
  assert.equal((await store.exactStats('log')).retrying, 0);
  await store.close();
});

test('[kafka] a dead-letter sink that keeps failing is never committed past, across a restart', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `d-${randomUUID().slice(0, 8)}`;
  let store = storeFor(prefix, { topics: { partitions: 1 } });
  const attempts: number[] = [];
  // Attempts ≥ 2 stand for dead-letter attempts of the replacement event; the sink keeps failing.
  store.consume('log', 'g', { maxInFlight: 4 }, async (r) => {
    attempts.push(r.attempt);
    return { kind: 'retry', attempt: r.attempt + 1, dueAt: Date.now() + 50, event: ev(`dl-${r.attempt + 1}`) };
  });
  await store.ready('log');
  await store.append('log', [ev('x')]);
  await waitFor(() => attempts.length >= 4, 'several failing attempts', 15_000);
  await store.close();
  const before = attempts.length;
  store = storeFor(prefix, { topics: { partitions: 1 } });
  const after: LogRecord[] = [];
  store.consume('log', 'g', { maxInFlight: 4 }, async (r) => {
    after.push(r);
    return { kind: 'done' }; // the sink recovered
  });
  await waitFor(() => after.length >= 1, 'the pending dead-letter attempt after the restart', 15_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(after.length, 1, `exactly the one pending attempt comes back (${after.map((r) => r.attempt).join(',')})`);
  assert.ok(after[0]!.attempt >= before - 1, `attempt number kept (${after[0]!.attempt} after ${before} attempts)`);
  assert.equal(after[0]!.event.attributes['id'], `dl-${after[0]!.attempt}`);
  await store.close();
});

test('[kafka] ordered consumption is one record at a time per partition, retries in place', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `o-${randomUUID().slice(0, 8)}`;
  const store = storeFor(prefix, { topics: { partitions: 3 } });
  const seen = new Map<string, number[]>();
  const active = new Map<string, number>();
  let overlap = false;
  let failed = false;
  store.consume('log', 'g', { maxInFlight: 50, orderingKey: (e) => String(e.attributes['partitionkey']) }, async (r) => {
    const k = String(r.event.attributes['partitionkey']);
    const n = Number(r.event.attributes['seq']);
    active.set(k, (active.get(k) ?? 0) + 1);
    if (active.get(k)! > 1) overlap = true;
    await new Promise((res) => setTimeout(res, 1));
    active.set(k, active.get(k)! - 1);
    if (k === 'k1' && n === 5 && !failed) {
      failed = true;
      return { kind: 'retry', attempt: 1, dueAt: Date.now() + 100 };
    }
    const list = seen.get(k) ?? [];
    list.push(n);
    seen.set(k, list);
    return { kind: 'done' };
  });
  await store.ready('log');
  const events: CloudEvent[] = [];
  for (let n = 0; n < 30; n++) for (const k of ['k0', 'k1', 'k2', 'k3', 'k4']) events.push(ev(`${k}-${n}`, { partitionkey: k, seq: String(n) }));
  await store.append('log', events);
  await waitFor(() => [...seen.values()].reduce((a, l) => a + l.length, 0) === 150, 'all ordered deliveries', 15_000);
  for (const [k, list] of seen)
    assert.deepEqual(
      list,
      Array.from({ length: 30 }, (_, i) => i),
      `order of ${k}`,
    );
  assert.equal(overlap, false);
  await store.close();
});

// Needs no Kafka (it talks to a closed port), so it runs even where the broker could not start.
test('[kafka] append fails fast with a retryable 503 code when Kafka is unreachable', async () => {
  const store = new KafkaEventStore({ kafkajs: storeKafkajs, brokers: ['127.0.0.1:1'], produceTimeoutMs: 3000 });
  opened.push(store);
  const t0 = Date.now();
  await assert.rejects(store.append('log', [ev('x')]), (err: unknown) => isSluiceError(err, 'SLUICE_STORE_WRITE_FAILED') && err.retryable);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  await store.close();
});

test('[kafka] append fails with SLUICE_STORE_OVERLOADED beyond the pending limit', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `p-${randomUUID().slice(0, 8)}`;
  const store = storeFor(prefix, { maxPendingEvents: 2 });
  const first = store.append('log', [ev('1'), ev('2')]);
  await assert.rejects(store.append('log', [ev('3')]), (err: unknown) => isSluiceError(err, 'SLUICE_STORE_OVERLOADED') && err.retryable);
  await first;
  await store.close();
});

test('[kafka] an external topic must exist and is never created', async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `x-${randomUUID().slice(0, 8)}`;
  const store = new KafkaEventStore({ kafkajs: storeKafkajs, brokers, topicFor: () => ({ topic: `${prefix}-missing`, external: true }), produceTimeoutMs: 5000 });
  opened.push(store);
  await assert.rejects(store.ready('log'), (err: unknown) => isSluiceError(err, 'SLUICE_KAFKA_TOPIC_MISSING'));
  await assert.rejects(store.append('log', [ev('1')]), (err: unknown) => isSluiceError(err, 'SLUICE_STORE_WRITE_FAILED') && err.retryable && /does not exist/.test(err.message));
  await store.close();
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  assert.ok(!(await admin.listTopics()).includes(`${prefix}-missing`));
  await admin.createTopics({ topics: [{ topic: `${prefix}-ext`, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const ok = new KafkaEventStore({ kafkajs: storeKafkajs, brokers, topicFor: () => ({ topic: `${prefix}-ext`, external: true }), groupIdFor: (g) => `${prefix}-${g}` });
  opened.push(ok);
  const got: string[] = [];
  ok.consume('log', 'g', { maxInFlight: 5 }, async (r) => {
    got.push(String(r.event.attributes['id']));
    return { kind: 'done' };
  });
  await ok.ready('log');
  await ok.append('log', [ev('e1')]);
  await waitFor(() => got.length === 1, 'delivery from the external topic', 15_000);
  await ok.close();
});

test("[kafka] stats report the slowest group's lag", async (t) => {
  if (!requireService(t, 'kafka')) return;
  const prefix = `l-${randomUUID().slice(0, 8)}`;
  const store = storeFor(prefix);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let handled = 0;
  store.consume('log', 'slow', { maxInFlight: 1 }, async () => {
    await gate;
    handled++;
    return { kind: 'done' };
  });
  await store.ready('log');
  const before = Date.now();
  await store.append(
    'log',
    Array.from({ length: 10 }, (_, i) => ev(String(i))),
  );
  assert.equal((await store.exactStats('log')).backlog, 10);
  // Per group: one in the handler; the group's lag less the records this instance holds is the backlog.
  await waitFor(() => store.stats('log').groups['slow']?.inFlight === 1, 'one record in flight');
  const g = (await store.exactStats('log')).groups['slow']!;
  assert.equal(g.inFlight, 1);
  assert.equal(g.retrying, 0);
  assert.ok(g.backlog >= 0 && g.backlog <= 9, `backlog ${g.backlog} excludes what this instance holds`);
  assert.ok(g.oldestPendingAt !== undefined && g.oldestPendingAt >= before - 1000, 'oldest pending = the Kafka append time');
  release();
  await waitFor(() => handled === 10, 'all handled', 15_000);
  await new Promise((r) => setTimeout(r, 200));
  const after = await store.exactStats('log');
  assert.equal(after.backlog, 0);
  assert.deepEqual(after.groups['slow'], { backlog: 0, inFlight: 0, retrying: 0, oldestPendingAt: undefined });
  await store.close();
});

// @needs kafka
// KafkaSink end to end through the real CLI and a real Kafka: the shipped example (Trigger → KafkaSink, binary and
// structured records, partitionkey as the key, topics created), a missing topic refused at start, and a SIGKILL
// under load that loses none of the events answered 202.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Agent, request } from 'undici';
import { requireService } from '../services/index.js';
import { ROOT, cleanupScope, runCli, startSluice, tempDir, type SluiceProcess } from './harness.js';

const { Kafka, logLevel } = kafkajs;

const cleanup = cleanupScope();

async function start(yaml: string): Promise<SluiceProcess> {
  const dir = tempDir('sluice-kafka-sink-e2e-');
  cleanup.add(() => dir.remove());
  const p = await startSluice({ yaml, dataDir: dir.path });
  cleanup.add(async () => p.stop('SIGKILL'));
  return p;
}

interface Consumed {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Reads a topic from the beginning until `until` holds for what was read (or 30 s pass). */
async function readTopic(servers: string, topic: string, until: (records: Consumed[]) => boolean): Promise<Consumed[]> {
  const consumer = new Kafka({ brokers: servers.split(','), logLevel: logLevel.NOTHING }).consumer({ groupId: `e2e-${randomUUID()}` });
  const records: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        records.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
      },
    });
    const deadline = Date.now() + 30_000;
    while (!until(records) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

const dispatcher = new Agent({ connections: 64 });
cleanup.add(() => dispatcher.close());

async function post(url: string, id: string, extra: Record<string, string> = {}, body = `{"n":"${id}"}`): Promise<number> {
  try {
    const headers: Record<string, string> = { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': 'dev.example.order.created', 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(extra)) headers[`ce-${k}`] = v;
    const res = await request(url, { method: 'POST', dispatcher, headers, body });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

test('the example: Trigger → KafkaSink, binary records keyed by partitionkey and structured records, topics created', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const suffix = randomUUID().slice(0, 8);
  const yaml = readFileSync(join(ROOT, 'examples/kafka-sink/kafka-sink.yaml'), 'utf8')
    .replaceAll('127.0.0.1:9092', servers)
    .replace('topic: orders-audit', `topic: audit-${suffix}`)
    .replace('topic: orders\n', `topic: orders-${suffix}\n`);
  const s = await start(yaml);
  for (let i = 0; i < 10; i++) assert.equal(await post(`${s.url}/default/default`, `o-${i}`, { partitionkey: `customer-${i % 3}` }), 202);
  const orders = await readTopic(servers, `orders-${suffix}`, (r) => r.length >= 10);
  assert.equal(orders.length, 10);
  const first = orders.find((r) => r.headers['ce_id'] === 'o-0')!;
  assert.equal(first.key, 'customer-0');
  assert.equal(first.headers['ce_type'], 'dev.example.order.created');
  assert.equal(first.headers['ce_source'], '/e2e');
  assert.equal(first.headers['ce_specversion'], '1.0');
  assert.equal(first.headers['content-type'], 'application/json');
  assert.equal(first.value, '{"n":"o-0"}');
  const audit = await readTopic(servers, `audit-${suffix}`, (r) => r.length >= 10);
  const event = JSON.parse(audit.find((r) => r.key === 'customer-1')!.value) as Record<string, unknown>;
  assert.equal(audit[0]!.headers['content-type'], 'application/cloudevents+json; charset=UTF-8');
  assert.equal(event['type'], 'dev.example.order.created');
  assert.equal(event['partitionkey'], 'customer-1');
  assert.deepEqual(event['data'], { n: String(event['id']) });
  const admin = new Kafka({ brokers: servers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [`orders-${suffix}`] });
    assert.equal(meta.topics[0]!.partitions.length, 3);
  } finally {
    await admin.disconnect();
  }
});

test('a topic that does not exist, without numPartitions/replicationFactor, stops sluice run with its name', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const dir = tempDir('sluice-kafka-sink-e2e-');
  cleanup.add(() => dir.remove());
  const file = join(dir.path, 'c.yaml');
  const topic = `missing-${randomUUID().slice(0, 8)}`;
  (await import('node:fs')).writeFileSync(file, `apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata:\n  name: s\nspec:\n  topic: ${topic}\n  bootstrapServers: ["${servers}"]\n`);
  const r = await runCli(['run', '-f', file, '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'store')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, new RegExp(`topic "${topic}" does not exist`));
});

test('SIGKILL while events pour in: every event answered 202 is on the topic', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const topic = `crash-${randomUUID().slice(0, 8)}`;
  const s = await start(`apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata:
  name: crash
spec:
  topic: ${topic}
  bootstrapServers: ["${servers}"]
  numPartitions: 2
  replicationFactor: 1
`);
  const url = `${s.url}/kafkasinks/default/crash`;
  const accepted = new Set<string>();
  let next = 0;
  let killed = false;
  const worker = async (): Promise<void> => {
    while (!killed && next < 20_000) {
      const id = `k-${next++}`;
      if ((await post(url, id)) === 202) accepted.add(id);
      if (accepted.size >= 1500 && !killed) {
        killed = true;
        s.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await s.stop('SIGKILL');
  assert.ok(accepted.size >= 1500, `accepted ${accepted.size}`);
  const records = await readTopic(servers, topic, (r) => r.length >= accepted.size);
  const onTopic = new Set(records.map((r) => r.headers['ce_id']));
  const lost = [...accepted].filter((id) => !onTopic.has(id));
  assert.deepEqual(lost, [], `lost ${lost.length} of ${accepted.size} accepted events`);
  t.diagnostic(`${accepted.size} accepted before the kill, ${records.length} records on the topic (the rest were in flight, never acknowledged)`);
});

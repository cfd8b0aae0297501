// @needs kafka
// The Kafka broker class end to end: real `sluice run` processes on the same YAML share the work through a real Kafka
// (one topic per broker, one consumer group per trigger), and every accepted event reaches a real HTTP subscriber —
// also when one instance is killed with SIGKILL, when the dead-letter sink fails for a while, and in ordered mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { Agent, request } from 'undici';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '../services/index.js';
import { ROOT, cleanupScope, replyHeaders, runCli, startSluice, startSubscriber, tempDir, waitFor, waitForIdle, type SluiceProcess } from './harness.js';
import { adminCli } from './fixtures.js';
import { documents, kafkaBroker, trigger } from './manifests.js';

const { Kafka, logLevel } = kafkajs;

const cleanup = cleanupScope();

/** A Kafka-class broker named after the test (fresh topic), its ConfigMap, and the given triggers. */
const kafkaYaml = (servers: string, broker: string, triggers: readonly string[], partitions = 6): string => documents(kafkaBroker(broker, { servers, partitions }), ...triggers);

async function start(yaml: string): Promise<SluiceProcess> {
  const dir = tempDir('sluice-kafka-e2e-');
  cleanup.add(() => dir.remove()); // also when the process never becomes ready
  const p = await startSluice({ yaml, dataDir: dir.path });
  cleanup.add(async () => p.stop('SIGKILL'));
  return p;
}

/** Waits until the trigger's consumer group is stable with `members` members (so no rebalance is pending). */
async function waitForGroup(servers: string, groupId: string, members: number): Promise<void> {
  const admin = new Kafka({ brokers: servers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { groups } = await admin.describeGroups([groupId]);
      const g = groups[0];
      if (g?.state === 'Stable' && g.members.length === members) return;
      if (Date.now() > deadline) throw new Error(`group ${groupId} not stable with ${members} members: ${g?.state} ${g?.members.length}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

const dispatcher = new Agent({ connections: 64 });
cleanup.add(() => dispatcher.close());

/** Posts one binary-mode event; true when it was accepted (202). */
async function send(url: string, id: string, extra: Record<string, string> = {}): Promise<boolean> {
  try {
    const headers: Record<string, string> = { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/kafka-e2e', 'ce-type': 'e2e.event', 'content-type': 'text/plain' };
    for (const [k, v] of Object.entries(extra)) headers[`ce-${k}`] = v;
    const res = await request(url, { method: 'POST', dispatcher, headers, body: `payload ${id}` });
    await res.body.dump();
    return res.statusCode === 202;
  } catch {
    return false;
  }
}

test('two instances share a Kafka broker: every accepted event arrives once in steady state, and after a SIGKILL', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `share-${randomUUID().slice(0, 6)}`;
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  const yaml = kafkaYaml(servers, broker, [trigger(`all-${broker}`, { broker, subscriber: sub.url })]);
  const a = await start(yaml);
  const b = await start(yaml);
  await waitForGroup(servers, `knative-trigger-default-all-${broker}`, 2);

  // Steady state: 2,000 events split across both ingresses.
  const ids = Array.from({ length: 2000 }, (_, i) => `s-${i}`);
  const accepted = new Set<string>();
  for (let i = 0; i < ids.length; i += 64) {
    await Promise.all(
      ids.slice(i, i + 64).map(async (id, j) => {
        if (await send(`${(j % 2 === 0 ? a : b).url}/default/${broker}`, id)) accepted.add(id);
      }),
    );
  }
  assert.equal(accepted.size, 2000, 'both ingresses accept');
  await waitFor(() => new Set(sub.ids()).size >= 2000, 'all 2,000 events at the subscriber', 30_000);
  await waitForIdle([a, b], { exact: true });
  const counts = new Map<string, number>();
  for (const id of sub.ids()) counts.set(id, (counts.get(id) ?? 0) + 1);
  const dupes = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(dupes, [], 'no event delivered twice in steady state');
  for (const r of sub.received) assert.equal(r.body.toString(), `payload ${String(r.event!.attributes['id'])}`, 'data intact');

  // SIGKILL one instance mid-stream: the other takes over its partitions after the session timeout.
  const before = sub.received.length;
  let stop = false;
  let n = 0;
  const senders = Array.from({ length: 16 }, async () => {
    while (!stop) {
      const id = `k-${n++}`;
      const target = n % 2 === 0 && a.child.exitCode === null && a.child.signalCode === null ? a : b;
      if (await send(`${target.url}/default/${broker}`, id)) accepted.add(id);
    }
  });
  await waitFor(() => accepted.size >= 3000, '1,000 more accepted events', 30_000);
  await a.stop('SIGKILL');
  await waitFor(() => accepted.size >= 4000, 'more events accepted by the survivor', 30_000);
  stop = true;
  await Promise.all(senders);
  const received = (): Set<string> => new Set(sub.ids());
  // On a timeout the assertion below names what is missing (how many, which), not only that the wait ended.
  await waitFor(() => [...accepted].every((id) => received().has(id)), 'every accepted event, including those of the killed instance', 90_000).catch(() => undefined);
  const lost = [...accepted].filter((id) => !received().has(id));
  assert.deepEqual(lost.slice(0, 20), [], `lost ${lost.length} of ${accepted.size} accepted events (first 20 shown)`);
  t.diagnostic(`after the kill: ${sub.received.length - before} deliveries for ${accepted.size - 2000} accepted events (duplicates around the kill are allowed)`);
});

test('replies of a Kafka-broker trigger are produced to the broker topic and routed to other triggers', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `reply-${randomUUID().slice(0, 6)}`;
  const replies = await startSubscriber();
  const asker = await startSubscriber((r) => ({
    status: 200,
    headers: replyHeaders({ id: `re-${String(r.event?.attributes['id'])}`, source: '/replier', type: 'e2e.reply' }),
    body: '{"answer":42}',
  }));
  cleanup.add(
    () => replies.close(),
    () => asker.close(),
  );
  const yaml = kafkaYaml(
    servers,
    broker,
    [trigger(`ask-${broker}`, { broker, filter: { type: 'e2e.event' }, subscriber: asker.url }), trigger(`replies-${broker}`, { broker, filter: { type: 'e2e.reply' }, subscriber: replies.url })],
    2,
  );
  const s = await start(yaml);
  for (let i = 0; i < 20; i++) assert.ok(await send(`${s.url}/default/${broker}`, `q-${i}`));
  await replies.waitForCount(20, 20_000);
  assert.deepEqual(new Set(replies.ids()), new Set(Array.from({ length: 20 }, (_, i) => `re-q-${i}`)));
  assert.equal(replies.received[0]!.body.toString(), '{"answer":42}');
});

test("a KafkaNamespaced broker, as Knative documents it, runs on its namespace's ConfigMap and its own topic", async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const ns = `team-${randomUUID().slice(0, 6)}`;
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  // The shipped example, on this test's Kafka, namespace and subscriber.
  const yaml = readFileSync(join(ROOT, 'examples/kafka-broker/kafka-namespaced.yaml'), 'utf8')
    .replaceAll('127.0.0.1:9092', servers)
    .replaceAll('team-a', ns)
    .replace('http://127.0.0.1:8081/', sub.url);
  const s = await start(yaml);
  for (let i = 0; i < 20; i++) assert.ok(await send(`${s.url}/${ns}/default`, `n-${i}`));
  await sub.waitForCount(20, 20_000);
  assert.deepEqual(new Set(sub.ids()), new Set(Array.from({ length: 20 }, (_, i) => `n-${i}`)));
  const admin = new Kafka({ brokers: servers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [meta] = (await admin.fetchTopicMetadata({ topics: [`knative-broker-${ns}-default`] })).topics;
    assert.equal(meta?.partitions.length, 3);
  } finally {
    await admin.disconnect();
  }
});

test('config-kafka-features templates give two deployments on one Kafka their own topics and consumer groups', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `tpl-${randomUUID().slice(0, 6)}`;
  const features = (prefix: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-kafka-features
  namespace: knative-eventing
data:
  brokers.topic.template: "${prefix}.{{ .Namespace }}.{{ .Name }}"
  triggers.consumergroup.template: "${prefix}-{{ .Namespace }}-{{ .Name }}"
---
`;
  const east = await startSubscriber();
  const west = await startSubscriber();
  cleanup.add(
    () => east.close(),
    () => west.close(),
  );
  // The same broker and trigger names in both deployments: only the templates tell them apart.
  const a = await start(features('east') + kafkaYaml(servers, broker, [trigger(`t-${broker}`, { broker, subscriber: east.url })], 2));
  const b = await start(features('west') + kafkaYaml(servers, broker, [trigger(`t-${broker}`, { broker, subscriber: west.url })], 2));
  await waitForGroup(servers, `east-default-t-${broker}`, 1);
  await waitForGroup(servers, `west-default-t-${broker}`, 1);
  for (let i = 0; i < 10; i++) assert.ok(await send(`${a.url}/default/${broker}`, `east-${i}`));
  for (let i = 0; i < 5; i++) assert.ok(await send(`${b.url}/default/${broker}`, `west-${i}`));
  await east.waitForCount(10, 20_000);
  await west.waitForCount(5, 20_000);
  await waitForIdle([a, b], { exact: true });
  assert.deepEqual(new Set(east.ids()), new Set(Array.from({ length: 10 }, (_, i) => `east-${i}`)), 'east sees only its own events');
  assert.deepEqual(new Set(west.ids()), new Set(Array.from({ length: 5 }, (_, i) => `west-${i}`)), 'west sees only its own events');
  const admin = new Kafka({ brokers: servers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    for (const topic of [`east.default.${broker}`, `west.default.${broker}`, `east-default-t-${broker}-retry`, `west-default-t-${broker}-retry`]) {
      assert.ok(topics.includes(topic), `topic ${topic} exists`);
    }
    assert.ok(!topics.includes(`knative-broker-default-${broker}`), 'the default topic name is not used');
    const offsets = await admin.fetchTopicOffsets(`east.default.${broker}`);
    assert.equal(
      offsets.reduce((n, p) => n + Number(p.high), 0),
      10,
      "east's topic holds east's 10 events",
    );
  } finally {
    await admin.disconnect();
  }
});

test('a dead-letter sink that fails for a while, across a SIGKILL and restart, loses nothing', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `dls-${randomUUID().slice(0, 6)}`;
  let sinkUp = false;
  const deadLettered = new Set<string>();
  const dls = await startSubscriber((r) => {
    if (!sinkUp) return { status: 503 };
    deadLettered.add(String(r.event?.attributes['id']));
    return { status: 202 };
  });
  const failing = await startSubscriber(() => ({ status: 500 }));
  cleanup.add(
    () => dls.close(),
    () => failing.close(),
  );
  const yaml = kafkaYaml(
    servers,
    broker,
    // The circuit breakers are off here: this case is about the dead-letter path (with them, events would wait behind
    // the open circuits instead of being dead-lettered one by one; see the circuit-breaker tests).
    [
      trigger(
        `failing-${broker}`,
        { broker, subscriber: failing.url, delivery: { retry: 1, backoffDelay: 'PT0.05S', deadLetterSink: dls.url } },
        { annotations: { 'sluice.dev/circuit-breaker-failures': '0' } },
      ),
    ],
    3,
  );
  const s = await start(yaml);
  const ids = Array.from({ length: 50 }, (_, i) => `d-${i}`);
  for (const id of ids) assert.ok(await send(`${s.url}/default/${broker}`, id));
  // Every event reaches the dead-letter sink, which refuses it; the dispatcher keeps retrying the sink.
  await waitFor(() => new Set(dls.ids()).size === 50, 'first dead-letter attempts', 20_000);
  await s.stop('SIGKILL');
  const attemptsBefore = dls.received.length;
  await start(yaml); // the same data on a new instance; the cleanup stops it
  // The new instance took over and found the sink still failing before it recovers.
  await waitFor(() => dls.received.length > attemptsBefore, 'a dead-letter attempt by the restarted instance', 60_000);
  sinkUp = true;
  await waitFor(() => deadLettered.size === 50, 'every event accepted by the recovered dead-letter sink', 30_000);
  assert.deepEqual([...deadLettered].sort(), [...ids].sort());
  const sample = dls.received.find((r) => deadLettered.has(String(r.event?.attributes['id'])) && r.event?.attributes['knativeerrorcode'] !== undefined)!;
  assert.equal(sample.event!.attributes['knativeerrorcode'], '500');
  assert.equal(sample.event!.attributes['knativeerrordest'], failing.url);
  assert.equal(failing.received.length >= 100, true, 'each event had its two subscriber attempts first');
});

test('ordered delivery keeps the order of each partitionkey, retries included', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `ord-${randomUUID().slice(0, 6)}`;
  const order = new Map<string, number[]>();
  let calls = 0;
  const sub = await startSubscriber((r) => {
    calls++;
    if (calls % 13 === 0) return { status: 503 }; // some deliveries fail and are retried in place
    const key = String(r.event?.attributes['partitionkey']);
    const list = order.get(key) ?? [];
    list.push(Number(r.event?.attributes['seq']));
    order.set(key, list);
    return { status: 202 };
  });
  cleanup.add(() => sub.close());
  const yaml = kafkaYaml(
    servers,
    broker,
    [trigger(`ordered-${broker}`, { broker, subscriber: sub.url, delivery: { retry: 5, backoffDelay: 'PT0.02S' } }, { annotations: { 'kafka.eventing.knative.dev/delivery.order': 'ordered' } })],
    4,
  );
  const s = await start(yaml);
  const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
  // Each key's events are sent in sequence (the next after the 202 of the previous), keys concurrently.
  await Promise.all(
    keys.map(async (k) => {
      for (let n = 0; n < 40; n++) assert.ok(await send(`${s.url}/default/${broker}`, `${k}-${n}`, { partitionkey: k, seq: String(n) }));
    }),
  );
  await waitFor(() => [...order.values()].reduce((a, l) => a + l.length, 0) >= 240, 'all ordered deliveries', 30_000);
  for (const k of keys)
    assert.deepEqual(
      order.get(k),
      Array.from({ length: 40 }, (_, i) => i),
      `order of ${k}`,
    );
});

test('a Kafka-class broker keeps exhausted events in the dead-letter store; sluice dlq lists and replays them', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `dlq-${randomUUID().slice(0, 6)}`;
  let up = false;
  const sub = await startSubscriber(() => ({ status: up ? 202 : 400 }));
  cleanup.add(() => sub.close());
  const sluice = await start(kafkaYaml(servers, broker, [trigger(broker, { broker, subscriber: sub.url })], 3));
  const ids = Array.from({ length: 20 }, (_, i) => `k-${i}`);
  for (const id of ids) {
    const res = await request(`${sluice.url}/default/${broker}`, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/kafka-dlq', 'ce-type': 'e2e', 'content-type': 'text/plain' },
      body: id,
    });
    await res.body.dump();
    assert.equal(res.statusCode, 202);
  }
  interface Listed {
    trigger: string;
    reason: string;
    event: { attributes: Record<string, unknown> };
  }
  let letters: Listed[] = [];
  await waitFor(
    async () => {
      const r = await runCli(['dlq', 'list', `broker:${broker}`, '-o', 'json', '--server', sluice.adminUrl]);
      letters = r.code === 0 ? (JSON.parse(r.stdout) as { items: Listed[] }).items : [];
      return letters.length === ids.length;
    },
    () => `${ids.length} dead letters (have ${letters.length})`,
    60_000,
  );
  assert.deepEqual(letters.map((l) => String(l.event.attributes['id'])).sort(), [...ids].sort());
  for (const l of letters) assert.deepEqual([l.trigger, l.reason], [`default/${broker}`, 'HTTP 400']);
  up = true;
  const before = sub.received.length;
  const replay = await adminCli(sluice)('dlq', 'replay', `broker:${broker}`, '--all');
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, /replayed 20, failed again 0/);
  assert.deepEqual(
    sub.received
      .slice(before)
      .map((r) => String(r.event!.attributes['id']))
      .sort(),
    [...ids].sort(),
  );
});

test("a Kafka-class broker's dead letters are shared: one instance makes them, another lists, replays and purges them, and a purge holds across restarts", async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `shdl-${randomUUID().slice(0, 6)}`;
  let up = false;
  const sub = await startSubscriber(() => ({ status: up ? 202 : 400 }));
  cleanup.add(() => sub.close());
  const yaml = kafkaYaml(servers, broker, [trigger(broker, { broker, subscriber: sub.url })], 1);
  const dirA = tempDir('sluice-kafka-shdl-a-');
  const dirB = tempDir('sluice-kafka-shdl-b-');
  cleanup.add(
    () => dirA.remove(),
    () => dirB.remove(),
  );
  let a = await startSluice({ yaml, dataDir: dirA.path });
  cleanup.add(async () => a.stop('SIGKILL'));
  // One partition: instance A owns the trigger's only partition, so A alone makes the dead letters.
  await waitForGroup(servers, `knative-trigger-default-${broker}`, 1);
  let b = await startSluice({ yaml, dataDir: dirB.path });
  cleanup.add(async () => b.stop('SIGKILL'));
  const ids = Array.from({ length: 6 }, (_, i) => `x-${i}`);
  for (const id of ids) assert.ok(await send(`${a.url}/default/${broker}`, id));
  interface Listed {
    id: number;
    trigger: string;
    event: { attributes: Record<string, unknown> };
  }
  const list = async (p: SluiceProcess): Promise<Listed[]> => {
    const r = await runCli(['dlq', 'list', `broker:${broker}`, '-o', 'json', '--server', p.adminUrl]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { items: Listed[] }).items : [];
  };
  let onB: Listed[] = [];
  await waitFor(
    async () => (onB = await list(b)).length === ids.length,
    () => `${ids.length} dead letters listed by instance B (have ${onB.length})`,
    60_000,
  );
  assert.deepEqual(onB.map((l) => String(l.event.attributes['id'])).sort(), [...ids].sort());
  // The same ids on both instances.
  assert.deepEqual(
    (await list(a)).map((l) => l.id),
    onB.map((l) => l.id),
  );

  // B purges two of them; A sees the purge.
  const purged = onB.slice(0, 2);
  const purge = await runCli(['dlq', 'purge', `broker:${broker}`, ...purged.map((l) => String(l.id)), '--server', b.adminUrl, '--token', b.adminToken]);
  assert.equal(purge.code, 0, purge.stderr);
  assert.equal((await list(b)).length, 4, 'B reads its own purge at once');
  await waitFor(async () => (await list(a)).length === 4, 'A sees the purge', 20_000);

  // Both restart: the purge holds (the topic is the truth, read again from its start).
  await a.stop('SIGTERM');
  await b.stop('SIGTERM');
  a = await startSluice({ yaml, dataDir: dirA.path });
  b = await startSluice({ yaml, dataDir: dirB.path });
  const kept = new Set(onB.slice(2).map((l) => l.id));
  for (const p of [a, b]) {
    let now: Listed[] = [];
    await waitFor(
      async () => (now = await list(p)).length === 4,
      () => `4 dead letters after the restart (have ${now.length})`,
      30_000,
    );
    assert.deepEqual(new Set(now.map((l) => l.id)), kept);
  }

  // B replays the rest (A made them all) to the recovered subscriber; A sees them gone.
  up = true;
  const before = sub.received.length;
  const replay = await runCli(['dlq', 'replay', `broker:${broker}`, '--all', '--server', b.adminUrl, '--token', b.adminToken]);
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, /replayed 4, failed again 0/);
  assert.deepEqual(
    sub.received
      .slice(before)
      .map((r) => String(r.event!.attributes['id']))
      .sort(),
    onB
      .slice(2)
      .map((l) => String(l.event.attributes['id']))
      .sort(),
  );
  await waitFor(async () => (await list(a)).length === 0, 'A sees the replayed letters gone', 20_000);
});

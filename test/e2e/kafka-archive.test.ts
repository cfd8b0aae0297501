// @needs kafka
// Archive and replay on the Kafka broker class, end to end through the CLI against a real Kafka: the broker's
// sluice.dev/archive-retention becomes its topic's retention, and `sluice replay broker:NAME --from --to [--trigger]
// [--filter]` re-reads the topic by time (offsets for times, plain fetches, no consumer group) and re-delivers exactly
// the events of the range, in order per partitionkey, marked sluicereplay, while live traffic goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { requireService } from '../services/index.js';
import { cleanupScope, startSluice, startSubscriber, postEvent, waitFor } from './harness.js';
import { documents, kafkaBroker, trigger } from './manifests.js';
import { adminCli, replayCancelledToEveryTrigger, replayToOneTrigger, startTail, type ReplayRange } from './fixtures.js';

// Every cleanup runs even when one fails (an open subscriber would keep the file from ending); the first error fails it.
const cleanup = cleanupScope();

// Time is inherent in a time range: the events outside it are sent more than a second from its ends.
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function topicConfig(servers: string, topic: string, names: string[]): Promise<Record<string, string | undefined>> {
  const kafka = new kafkajs.Kafka({ brokers: servers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: names }] });
    return Object.fromEntries(names.map((n) => [n, r.resources[0]!.configEntries.find((e) => e.configName === n)?.configValue]));
  } finally {
    await admin.disconnect();
  }
}

test('Kafka class: the archive is the topic retention, and sluice replay re-delivers a time range in order per partitionkey while live traffic continues', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `arch-${randomUUID().slice(0, 8)}`;
  const orders = await startSubscriber();
  const all = await startSubscriber();
  cleanup.add(
    () => orders.close(),
    () => all.close(),
  );
  const yaml = documents(
    kafkaBroker(broker, { servers, partitions: 3 }, { annotations: { 'sluice.dev/archive-retention': 'PT2H', 'sluice.dev/archive-max-bytes': '60Mi' } }),
    trigger(`orders-${broker}`, { broker, filter: { type: 'order.created' }, subscriber: orders.url }),
    trigger(`all-${broker}`, { broker, subscriber: all.url }),
  );
  const sluice = await startSluice({ yaml, readyTimeoutMs: 120_000 });
  // A replay that fetched several partitions at once left a kafkajs connection open, and `sluice run` logged "sluice
  // stopped" on SIGTERM but did not exit; its 3 s exit guard would now hide that, so the test asserts the guard never
  // had to act (no "ending the process" line) and fails with the log tail if the process still does not exit.
  cleanup.add(async () => {
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      process.stderr.write(`--- sluice did not exit 30 s after SIGTERM; its log tail ---\n${sluice.output().split('\n').slice(-8).join('\n')}\n`);
      sluice.child.kill('SIGKILL');
    }, 30_000);
    await sluice.stop();
    clearTimeout(timer);
    if (hung) throw new Error('sluice run did not exit within 30 s of SIGTERM after archive replays on a Kafka-class broker');
    assert.doesNotMatch(sluice.output(), /ending the process/, 'nothing held the process open after its drain');
  });
  const topic = `knative-broker-default-${broker}`;
  // 2 h, and 60 MiB spread over the 3 partitions (Kafka's retention.bytes is per partition).
  assert.deepEqual(await topicConfig(servers, topic, ['retention.ms', 'retention.bytes']), { 'retention.ms': '7200000', 'retention.bytes': String(20 * 1024 * 1024) });

  const ingress = `${sluice.url}/default/${broker}`;
  const send = async (id: string, type: string, key: string) => assert.equal((await postEvent(ingress, { id, source: '/shop', type, partitionkey: key }, `{"id":"${id}"}`)).status, 202);
  await send('before-0', 'order.created', 'a');
  await settle(1100);
  const from = new Date().toISOString();
  // Two keys, so the range spans partitions; each key's events must come back in the order they were accepted.
  const inRange = Array.from({ length: 10 }, (_, i) => ({ id: `in-${i}`, key: ['a', 'b', 'c'][i % 3]! }));
  for (const e of inRange) await send(e.id, 'order.created', e.key);
  await send('in-cancel', 'order.cancelled', 'a');
  const to = new Date().toISOString();
  await settle(1100);
  await send('after-0', 'order.created', 'b');
  await orders.waitForCount(12);
  await all.waitForCount(13);

  const listed = async () => ((await (await fetch(`${sluice.adminUrl}/api/v1/archive`)).json()) as { items: Array<{ broker: string; archived: boolean; count: number }> }).items;
  await waitFor(async () => (await listed()).some((b) => b.broker === `default/${broker}` && b.archived && b.count === 13), 'the topic records counted in GET /api/v1/archive', 30_000);

  const range: ReplayRange = { sluice, broker, ordersTrigger: `orders-${broker}`, orders, all, from, to, ordersInRange: 10, sendLive: (id) => send(id, 'order.created', 'c') };
  const replayed = await replayToOneTrigger(range);
  assert.deepEqual(replayed.map((x) => x.event!.attributes['id']).sort(), inRange.map((e) => e.id).sort(), 'exactly the range, each once');
  for (const key of ['a', 'b', 'c']) {
    assert.deepEqual(
      replayed.filter((x) => x.event!.attributes['partitionkey'] === key).map((x) => x.event!.attributes['id']),
      inRange.filter((e) => e.key === key).map((e) => e.id),
      `events of partitionkey ${key} in the order they were accepted`,
    );
  }

  // Every trigger, a CESQL filter: only the trigger whose own filter matches gets the cancelled order.
  // Final without waiting: a replay delivers by itself (not through the triggers) and answers after its last delivery.
  const since = await replayCancelledToEveryTrigger(range);
  assert.deepEqual(
    since
      .all()
      .filter((x) => x.headers['ce-sluicereplay'] === '1')
      .map((x) => x.event!.attributes['id']),
    ['in-cancel'],
  );
  assert.equal(since.orders().filter((x) => x.headers['ce-sluicereplay'] !== undefined).length, 0);

  // A range with nothing in it replays nothing.
  const r3 = await adminCli(sluice)('replay', `broker:${broker}`, '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-02T00:00:00Z');
  assert.equal(r3.code, 0, r3.stderr);
  assert.match(r3.stdout, /events 0, replayed 0, failed 0/);
});

test('Kafka class: turning the archive on for an existing topic changes its retention and keeps its other settings', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `arch-${randomUUID().slice(0, 8)}`;
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  const triggerDoc = trigger(`t-${broker}`, { broker, subscriber: sub.url });
  const data = { 'default.topic.config.retention.ms': '3600000' };
  const topic = `knative-broker-default-${broker}`;
  const first = await startSluice({ yaml: documents(kafkaBroker(broker, { servers, partitions: 3, data }), triggerDoc), readyTimeoutMs: 120_000 });
  await first.stop();
  // A setting made on the topic by an operator, which Kafka's AlterConfigs would reset unless it is sent along.
  const kafka = new kafkajs.Kafka({ brokers: servers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const kadmin = kafka.admin();
  await kadmin.connect();
  await kadmin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [
          { name: 'retention.ms', value: '3600000' },
          { name: 'max.message.bytes', value: '2000000' },
        ],
      },
    ],
  });
  await kadmin.disconnect();
  assert.deepEqual(await topicConfig(servers, topic, ['retention.ms', 'max.message.bytes']), { 'retention.ms': '3600000', 'max.message.bytes': '2000000' });

  const second = await startSluice({
    yaml: documents(kafkaBroker(broker, { servers, partitions: 3, data }, { annotations: { 'sluice.dev/archive-retention': 'PT3H' } }), triggerDoc),
    readyTimeoutMs: 120_000,
  });
  cleanup.add(() => second.stop());
  // The longer of the archive and the ConfigMap's retention; no size bound named, so none set.
  const after = await topicConfig(servers, topic, ['retention.ms', 'max.message.bytes', 'retention.bytes']);
  assert.deepEqual(after, { 'retention.ms': String(3 * 3600_000), 'max.message.bytes': '2000000', 'retention.bytes': '-1' });
  assert.match(second.output(), /archive: topic retention changed/);
});

test('Kafka class: sluice tail --since reads what the topic keeps by time, then follows live', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `tail-${randomUUID().slice(0, 8)}`;
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  const yaml = documents(kafkaBroker(broker, { servers, partitions: 3 }, { annotations: { 'sluice.dev/archive-retention': 'PT1H' } }), trigger(`all-${broker}`, { broker, subscriber: sub.url }));
  const sluice = await startSluice({ yaml, readyTimeoutMs: 120_000 });
  cleanup.add(async () => {
    await sluice.stop();
    assert.doesNotMatch(sluice.output(), /ending the process/, 'nothing held the process open after its drain');
  });
  const ingress = `${sluice.url}/default/${broker}`;
  for (let i = 1; i <= 5; i++) assert.equal((await postEvent(ingress, { id: `old-${i}`, source: '/shop', type: i % 2 === 0 ? 'even' : 'odd', partitionkey: 'k' })).status, 202);
  await sub.waitForCount(5, 30_000);

  const tail = startTail(cleanup, [`broker:${broker}`, '--since', '1h', '--filter', "type = 'odd'"], sluice.adminUrl);
  const ids = (): string[] => tail.lines().map((l) => l.split(/ {2}/)[3]!);
  // What the topic keeps first (one partitionkey: in the order accepted), filtered, then live.
  await waitFor(
    () => ids().length >= 3,
    () => `the kept events (stdout ${JSON.stringify(tail.lines())}, stderr ${JSON.stringify(tail.stderr())})`,
    60_000,
  );
  assert.doesNotMatch(tail.stderr(), /keeps no archive/);
  await waitFor(() => /live|following/.test(tail.stderr()), 'the tail to follow', 30_000);
  assert.equal((await postEvent(ingress, { id: 'live-1', source: '/shop', type: 'odd', partitionkey: 'k' })).status, 202);
  await waitFor(
    () => ids().length >= 4,
    () => `the live event (stdout ${JSON.stringify(tail.lines())})`,
    30_000,
  );
  assert.deepEqual(ids(), ['old-1', 'old-3', 'old-5', 'live-1']);
  tail.child.kill('SIGTERM');
  assert.equal(await tail.exited, 0);
});

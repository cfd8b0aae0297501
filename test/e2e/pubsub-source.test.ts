// @needs pubsub
// End-to-end: the real `sluice` CLI (built output) runs a CloudPubSubSource against the REAL Google Cloud Pub/Sub
// emulator (deploy/local-services), into a Broker + Trigger or straight to a real HTTP subscriber. Build first:
// `npx tsc -b`. The emulator address reaches the CLI through PUBSUB_EMULATOR_HOST, as it would for a user.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { requireService } from '../services/index.js';
import { runCli, startSluice, tempDir, waitFor, type Received, type Reply } from './harness.js';
import { applySinkBrokerLater, subscriberAndDir } from './fixtures.js';
import { broker, documents, trigger } from './manifests.js';

const PROJECT = 'sluice-e2e';

async function pubsubTopic(host: string) {
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' });
  const id = `e2e-ps-${randomUUID().slice(0, 8)}`;
  const [topic] = await pubsub.createTopic(id);
  return {
    id,
    pubsub,
    publish: (data: Buffer, attributes?: Record<string, string>) => topic.publishMessage(attributes ? { data, attributes } : { data }),
    close: async () => {
      await topic.delete().catch(() => undefined);
      await pubsub.close();
    },
  };
}

/**
 * What a test against the emulator starts with: a fresh topic, a subscriber (answering with `respond`) and a data
 * directory, all removed after the test; undefined when the emulator is not there (the test is skipped).
 */
async function emulatorTest(t: TestContext, respond?: (received: Received) => Reply) {
  const host = requireService(t, 'pubsub');
  if (!host) return undefined;
  const topic = await pubsubTopic(host);
  t.after(topic.close);
  return { host, topic, ...(await subscriberAndDir(t, respond)) };
}

/**
 * Messages a fresh listener on `subscription` gets within `ms` (acked). Time is inherent here: the emulator reports no
 * count of unacked messages, so only listening for a while shows none is left.
 */
async function leftover(pubsub: PubSub, subscription: string, ms: number): Promise<string[]> {
  const sub = pubsub.subscription(subscription);
  const got: string[] = [];
  sub.on('message', (m: Message) => {
    got.push(m.id);
    m.ack();
  });
  await new Promise((r) => setTimeout(r, ms));
  await sub.close();
  return got;
}

interface Envelope {
  subscription: string;
  message: { messageId: string; data: string | null; attributes?: Record<string, string>; publishTime: string };
}

test('messages arrive through a Broker and Trigger as messagePublished events with the push envelope', async (t) => {
  const setup = await emulatorTest(t);
  if (!setup) return;
  const { host, topic, sub, dir } = setup;
  const sluice = await startSluice({
    dataDir: dir.path,
    env: { PUBSUB_EMULATOR_HOST: host },
    yaml: documents(
      broker('default', { namespace: 'shop' }),
      trigger('all', { broker: 'default', filter: { type: 'google.cloud.pubsub.topic.v1.messagePublished' }, subscriber: sub.url }, { namespace: 'shop' }),
      `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: orders, namespace: shop}
spec:
  project: ${PROJECT}
  topic: ${topic.id}
  ackDeadline: 20s
  serviceAccountName: ignored-outside-kubernetes
  ceOverrides: {extensions: {team: payments}}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
`,
    ),
  });
  t.after(() => sluice.stop('SIGKILL'));
  const withAttributes = await topic.publish(Buffer.from('{"order":1}'), { origin: 'shop', 'x-key': 'v1' });
  const plain = await topic.publish(Buffer.from('plain text'));
  const binary = await topic.publish(Buffer.from([0, 1, 2, 254, 255]), { kind: 'bytes' });
  await sub.waitForCount(3, 30_000);
  const byId = (id: string): Received => sub.received.find((r) => r.event?.attributes['id'] === id)!;

  for (const [id, payload, attributes] of [
    [withAttributes, Buffer.from('{"order":1}'), { origin: 'shop', 'x-key': 'v1' }],
    [plain, Buffer.from('plain text'), undefined],
    [binary, Buffer.from([0, 1, 2, 254, 255]), { kind: 'bytes' }],
  ] as const) {
    const r = byId(id);
    assert.ok(r, `message ${id} delivered`);
    const { knativearrivaltime: _arrival, time, ...rest } = r.event!.attributes;
    assert.deepEqual(rest, {
      specversion: '1.0',
      id,
      source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/${topic.id}`,
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      dataschema: 'https://raw.githubusercontent.com/googleapis/google-cloudevents/master/proto/google/events/cloud/pubsub/v1/data.proto',
      datacontenttype: 'application/json',
      team: 'payments',
    });
    const env = JSON.parse(r.body.toString()) as Envelope;
    assert.deepEqual(Object.keys(env), ['subscription', 'message']);
    assert.equal(env.subscription, 'sluice_shop_orders');
    assert.deepEqual(Object.keys(env.message), attributes ? ['messageId', 'data', 'attributes', 'publishTime'] : ['messageId', 'data', 'publishTime']);
    assert.equal(env.message.messageId, id);
    assert.deepEqual(Buffer.from(env.message.data!, 'base64'), payload);
    assert.deepEqual(env.message.attributes, attributes);
    assert.equal(env.message.publishTime, time);
    assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  }
  const [meta] = await topic.pubsub.subscription('sluice_shop_orders').getMetadata();
  assert.equal(meta.ackDeadlineSeconds, 20);
  assert.equal(meta.topic, `projects/${PROJECT}/topics/${topic.id}`);
});

test('a sink that answers 503 and then recovers receives every message; nothing is acked before it is delivered', async (t) => {
  let up = false;
  const statuses = new WeakMap<Received, number>();
  const setup = await emulatorTest(t, (r) => {
    statuses.set(r, up ? 202 : 503);
    return { status: statuses.get(r)! };
  });
  if (!setup) return;
  const { host, topic, sub, dir } = setup;
  const yaml = `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: flaky}
spec:
  project: ${PROJECT}
  topic: ${topic.id}
  sink: {uri: "${sub.url}"}
`;
  const sluice = await startSluice({ dataDir: dir.path, yaml, env: { PUBSUB_EMULATOR_HOST: host } });
  t.after(() => sluice.stop('SIGKILL'));
  const ids = new Set<string>();
  for (let i = 0; i < 50; i++) ids.add(await topic.publish(Buffer.from(`m${i}`)));
  await waitFor(() => sub.received.length >= 60, 'refused deliveries', 30_000);
  up = true;
  const accepted = (): Set<string> => new Set(sub.received.filter((r) => statuses.get(r) === 202).map((r) => String(r.event?.attributes['id'])));
  await waitFor(() => [...ids].every((id) => accepted().has(id)), 'every message accepted after the sink recovered', 60_000);
  assert.equal(await sluice.stop('SIGTERM'), 0);
  assert.deepEqual(await leftover(topic.pubsub, 'sluice_default_flaky', 2000), [], 'every message was acked once delivered');
});

test('kill -9 mid-stream and restart: every published message is delivered (duplicates allowed)', async (t) => {
  const setup = await emulatorTest(t);
  if (!setup) return;
  const { host, topic, sub, dir } = setup;
  const yaml = `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: durable}
spec:
  project: ${PROJECT}
  topic: ${topic.id}
  ackDeadline: 10s
  sink: {uri: "${sub.url}"}
`;
  const env = { PUBSUB_EMULATOR_HOST: host };
  const first = await startSluice({ dataDir: dir.path, yaml, env });
  const published = new Set<string>();
  const publish = async (n: number): Promise<void> => {
    const ids = await Promise.all(Array.from({ length: n }, (_, i) => topic.publish(Buffer.from(`batch-${published.size}-${i}`))));
    for (const id of ids) published.add(id);
  };
  for (let i = 0; i < 10; i++) await publish(1000);
  await waitFor(() => sub.received.length >= 1000, '1000 messages delivered', 60_000);
  assert.equal(await first.stop('SIGKILL'), null, 'killed');
  const seen = new Set<string>();
  let scanned = 0;
  const delivered = (): Set<string> => {
    for (; scanned < sub.received.length; scanned++) seen.add(String(sub.received[scanned]!.event?.attributes['id']));
    return seen;
  };
  assert.ok(delivered().size < published.size, `killed mid-stream (${delivered().size}/${published.size})`);
  await publish(500); // while Sluice is down
  const second = await startSluice({ dataDir: dir.path, yaml, env });
  t.after(() => second.stop('SIGKILL'));
  await publish(500); // after the restart
  await waitFor(
    () => {
      const got = delivered();
      return got.size >= published.size && [...published].every((id) => got.has(id));
    },
    `all ${published.size} messages delivered`,
    120_000,
  );
  t.diagnostic(`${published.size} messages, ${sub.received.length} deliveries, ${sub.received.length - delivered().size} duplicates`);
});

test('sluice validate reports CloudPubSubSource mistakes as file:line:col', async (t) => {
  const dir = tempDir();
  t.after(dir.remove);
  const file = `${dir.path}/bad.yaml`;
  writeFileSync(
    file,
    `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: bad}
spec:
  project: my-project
  topic: orders
  ackDeadline: 30
  sink: {uri: "http://127.0.0.1:9/"}
---
apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: late}
spec:
  project: my-project
  topic: orders
  ackDeadline: 11m
  sink: {uri: "http://127.0.0.1:9/"}
`,
  );
  const r = await runCli(['validate', '-f', file]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trim().split('\n').slice(0, -1), [
    `${file}:7:16: CloudPubSubSource/bad: spec.ackDeadline: must be string`,
    `${file}:16:16: CloudPubSubSource/late: spec.ackDeadline: "11m" is out of range: Pub/Sub accepts 0 (its default, 10s) or 10s to 10m`,
  ]);
});

test('a sink Broker applied later: messages are not acked while it does not exist, and every one arrives once it does', async (t) => {
  const setup = await emulatorTest(t);
  if (!setup) return;
  const { host, topic, sub, dir } = setup;
  const yaml = `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata: {name: early}
spec:
  project: ${PROJECT}
  topic: ${topic.id}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: later}
`;
  const sluice = await startSluice({ dataDir: dir.path, yaml, env: { PUBSUB_EMULATOR_HOST: host } });
  t.after(() => sluice.stop('SIGKILL'));
  const ids = new Set<string>();
  for (let i = 0; i < 10; i++) ids.add(await topic.publish(Buffer.from(`m${i}`)));
  // The broker does not exist (404): the messages are nacked, to come back.
  await waitFor(() => /"status":404.*sink did not accept the event/.test(sluice.output()), 'a delivery refused with 404, kept', 30_000);
  await applySinkBrokerLater(sluice, dir.path, { broker: 'later', trigger: 'all' }, sub.url);
  const got = (): Set<string> => new Set(sub.received.map((x) => String(x.event?.attributes['id'])));
  await waitFor(() => [...ids].every((id) => got().has(id)), 'every message through the broker once it exists', 60_000);
  assert.equal(await sluice.stop('SIGTERM'), 0);
  assert.deepEqual(await leftover(topic.pubsub, 'sluice_default_early', 2000), [], 'every message was acked once delivered');
});

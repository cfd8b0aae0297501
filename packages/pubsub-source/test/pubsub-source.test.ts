// @needs pubsub
// CloudPubSubSourceComponent against the REAL Pub/Sub emulator (deploy/local-services) and real HTTP sinks on
// loopback: the subscription is created or reused, messages become messagePublished events, and a message is acked
// only once the sink took it.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { UndiciSender } from '@sluice/delivery';
import { componentContext, requireService, startSubscriber, waitFor, type Received, type Subscriber } from '@sluice/testing';
import { CloudPubSubSourceComponent } from '../src/pubsub-source.js';
import type { CloudPubSubSource } from '../src/pubsub-source-types.js';

const sender = new UndiciSender();
after(() => sender.close());
const ctx = componentContext(sender);
const PROJECT = 'sluice-it';

function source(name: string, topic: string, sinkUrl: string, extra: Partial<CloudPubSubSource['spec']> = {}): CloudPubSubSource {
  return { apiVersion: 'events.cloud.google.com/v1', kind: 'CloudPubSubSource', metadata: { name }, spec: { project: PROJECT, topic, sink: { uri: sinkUrl }, ...extra } };
}

/** The emulator's address, a client (closed after the test) and a fresh topic; undefined when there is no emulator (the test is skipped). */
async function setup(t: TestContext) {
  const host = requireService(t, 'pubsub');
  if (!host) return undefined;
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' });
  t.after(() => pubsub.close());
  const run = randomUUID().slice(0, 8);
  const [topic] = await pubsub.createTopic(`ps-it-${run}`);
  return { host, pubsub, topic, name: `src-${run}` };
}

/** A recording sink that answers each request with the status `respond` gives, closed after the test. */
async function sinkAnswering(t: TestContext, respond: (h: Received) => number): Promise<Subscriber> {
  const s = await startSubscriber((h) => ({ status: respond(h) }));
  t.after(() => s.close());
  return s;
}

/** Messages a fresh listener gets from `subscription` within `ms` (acked, so they count once). */
async function drain(pubsub: PubSub, subscription: string, ms: number): Promise<string[]> {
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

test('creates its subscription, sends messagePublished events, acks what the sink took', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const { host } = p;
  const s = await sinkAnswering(t, () => 202);
  const c = new CloudPubSubSourceComponent(
    source(p.name, p.topic.name.split('/').pop()!, s.url, { ackDeadline: '20s', retainAckedMessages: true, retentionDuration: '1h', ceOverrides: { extensions: { team: 'a' } } }),
    { env: { PUBSUB_EMULATOR_HOST: host } },
  );
  await c.start(ctx);
  assert.equal(c.subscriptionId, `sluice_default_${p.name}`);
  const [meta] = await p.pubsub.subscription(c.subscriptionId).getMetadata();
  assert.equal(meta.ackDeadlineSeconds, 20);
  assert.equal(meta.retainAckedMessages, true);
  assert.equal(Number(meta.messageRetentionDuration?.seconds), 3600);
  const ids = [];
  for (let i = 0; i < 10; i++) ids.push(await p.topic.publishMessage({ data: Buffer.from(`m${i}`), attributes: { n: String(i) } }));
  await waitFor(() => s.received.length >= 10, '10 deliveries', 30_000);
  await c.stop();
  const h = s.received[0]!;
  assert.equal(h.headers['ce-type'], 'google.cloud.pubsub.topic.v1.messagePublished');
  assert.equal(h.headers['ce-source'], `//pubsub.googleapis.com/projects/${PROJECT}/topics/${p.topic.name.split('/').pop()}`);
  assert.equal(h.headers['ce-team'], 'a');
  assert.equal(h.headers['content-type'], 'application/json');
  const body = JSON.parse(h.body.toString()) as { subscription: string; message: { messageId: string; data: string; attributes: Record<string, string>; publishTime: string } };
  assert.equal(body.subscription, c.subscriptionId);
  assert.equal(body.message.messageId, h.headers['ce-id']);
  assert.equal(body.message.publishTime, h.headers['ce-time']);
  assert.equal(Buffer.from(body.message.data, 'base64').toString(), `m${body.message.attributes['n']}`);
  assert.deepEqual(new Set(s.received.map((x) => x.headers['ce-id'])), new Set(ids));
  assert.deepEqual(await drain(p.pubsub, c.subscriptionId, 1500), [], 'everything was acked');
});

test('a sink that refuses, then recovers: messages are nacked and redelivered, none acked before delivery', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const { host } = p;
  let up = false;
  const s = await sinkAnswering(t, () => (up ? 202 : 503));
  const c = new CloudPubSubSourceComponent(source(p.name, p.topic.name.split('/').pop()!, s.url), { env: { PUBSUB_EMULATOR_HOST: host }, nackDelayMs: { initial: 50, max: 200 }, maxMessages: 5 });
  await c.start(ctx);
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) ids.add(await p.topic.publishMessage({ data: Buffer.from(`m${i}`) }));
  await waitFor(() => s.received.length >= 15, 'several refusals', 30_000);
  up = true;
  const accepted = (): Set<string> => new Set(s.received.filter((h) => h.status === 202).map((h) => String(h.headers['ce-id'])));
  await waitFor(() => [...ids].every((id) => accepted().has(id)), 'all 20 delivered after recovery', 30_000);
  await c.stop();
  assert.deepEqual(await drain(p.pubsub, c.subscriptionId, 1500), [], 'everything was acked after delivery');
});

test('a restarted source reuses its subscription: messages published while it was down arrive', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const { host } = p;
  const s = await sinkAnswering(t, () => 202);
  const topicId = p.topic.name.split('/').pop()!;
  const first = new CloudPubSubSourceComponent(source(p.name, topicId, s.url), { env: { PUBSUB_EMULATOR_HOST: host } });
  await first.start(ctx);
  await first.stop();
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) ids.add(await p.topic.publishMessage({ data: Buffer.from(`while-down-${i}`) }));
  const second = new CloudPubSubSourceComponent(source(p.name, topicId, s.url, { ackDeadline: '45s' }), { env: { PUBSUB_EMULATOR_HOST: host } });
  await second.start(ctx);
  await waitFor(() => ids.size === new Set(s.received.map((h) => String(h.headers['ce-id']))).size, 'the 5 messages', 30_000);
  const [meta] = await p.pubsub.subscription(second.subscriptionId).getMetadata();
  assert.equal(meta.ackDeadlineSeconds, 45, 'settings follow the spec');
  await second.stop();
});

// @needs pubsub
// Smoke test against the REAL Google Cloud Pub/Sub emulator with @google-cloud/pubsub: topic and
// subscription admin, publish with attributes, streaming pull, ack, and redelivery after a nack.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { PubSub } from '@google-cloud/pubsub';
import type { Message, Subscription } from '@google-cloud/pubsub';
import { requireService } from './index.js';

interface Delivery {
  id: string;
  data: string;
  attributes: Record<string, string>;
}

/** Listens on `sub` with `onMessage` until `done()` is true or `timeoutMs` passes, then closes it. */
async function listen(sub: Subscription, onMessage: (m: Message) => void, done: () => boolean, timeoutMs: number): Promise<void> {
  const errors: Error[] = [];
  sub.on('message', onMessage);
  sub.on('error', (err: Error) => errors.push(err));
  const deadline = Date.now() + timeoutMs;
  try {
    while (!done() && Date.now() < deadline && errors.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await sub.close();
    sub.removeAllListeners();
  }
  if (errors.length > 0) throw errors[0]!;
}

test('pubsub emulator: create topic + subscription, publish with attributes, receive, ack, nack redelivers', async (t) => {
  const host = requireService(t, 'pubsub');
  if (!host) return;

  const pubsub = new PubSub({
    projectId: 'sluice-test',
    apiEndpoint: host,
    emulatorMode: true,
    // Known up front, so google-auth never probes for credentials (no GCE metadata-server lookups).
    universeDomain: 'googleapis.com',
  });
  const run = randomUUID().slice(0, 8);
  const [topic] = await pubsub.createTopic(`sluice-smoke-${run}`);
  const [subscription] = await topic.createSubscription(`sluice-smoke-${run}-sub`, { ackDeadlineSeconds: 10 });
  t.after(async () => {
    await subscription.delete().catch(() => {});
    await topic.delete().catch(() => {});
    await pubsub.close().catch(() => {});
  });

  const [topics] = await pubsub.getTopics();
  assert.ok(
    topics.some((x) => x.name === topic.name),
    'topic listed',
  );
  const [subExists] = await subscription.exists();
  assert.equal(subExists, true);

  // --- publish with attributes
  const sent = new Map<string, Delivery>();
  for (let i = 0; i < 5; i++) {
    const attributes = { 'ce-id': `id-${i}`, 'ce-type': 'dev.sluice.smoke', nack: i === 2 ? 'once' : 'no' };
    const data = JSON.stringify({ n: i });
    const id = await topic.publishMessage({ data: Buffer.from(data), attributes });
    assert.match(id, /\S/);
    sent.set(id, { id, data, attributes });
  }
  assert.equal(sent.size, 5, 'distinct message ids');

  // --- receive: ack everything except the first delivery of the message marked nack=once
  const deliveries: Delivery[] = [];
  const acked = new Set<string>();
  const sub = pubsub.subscription(subscription.name, { flowControl: { maxMessages: 10 } });
  await listen(
    sub,
    (m) => {
      deliveries.push({ id: m.id, data: m.data.toString(), attributes: { ...m.attributes } });
      if (m.attributes.nack === 'once' && !deliveries.slice(0, -1).some((d) => d.id === m.id)) {
        m.nack(); // immediate redelivery requested
        return;
      }
      m.ack();
      acked.add(m.id);
    },
    () => acked.size === sent.size,
    30_000,
  );

  assert.equal(acked.size, sent.size, `all messages acked (got ${deliveries.length} deliveries)`);
  for (const d of deliveries) {
    const s = sent.get(d.id);
    assert.ok(s, `delivered id ${d.id} was published`);
    assert.equal(d.data, s.data);
    assert.deepEqual(d.attributes, s.attributes);
  }
  const count = (id: string) => deliveries.filter((d) => d.id === id).length;
  const nacked = [...sent.values()].find((s) => s.attributes.nack === 'once');
  assert.ok(nacked);
  assert.equal(count(nacked.id), 2, 'the nacked message was delivered again');
  for (const s of sent.values()) if (s !== nacked) assert.equal(count(s.id), 1, `${s.id} delivered once`);

  // --- acked messages stay acked: a fresh subscriber receives nothing
  const again: string[] = [];
  await listen(
    pubsub.subscription(subscription.name),
    (m) => {
      again.push(m.id);
      m.ack();
    },
    () => false,
    2_000,
  );
  assert.deepEqual(again, [], 'no redelivery of acked messages');
});

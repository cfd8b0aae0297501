// @needs kafka
// EventPolicy and token requirements on a KafkaSink (docs/security.md "Who may send: EventPolicy"), with a real Kafka:
// with --authentication-oidc enabled a producer needs a token for the sink's audience (401), the policy decides who
// may write to the topic (403), and nothing refused reaches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { requireService } from '../services/index.js';
import { postEvent, startSluice } from './harness.js';
import { startIssuer } from './oidc-issuer.js';

const { Kafka, logLevel } = kafkajs;

test('a KafkaSink requires a token and applies its EventPolicies before writing to the topic', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const issuer = await startIssuer();
  const topic = `policy-${randomUUID()}`;
  const yaml = `apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata:
  name: orders
spec:
  topic: ${topic}
  bootstrapServers: ["${servers}"]
  numPartitions: 1
  replicationFactor: 1
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: producers
spec:
  to:
    - ref:
        apiVersion: eventing.knative.dev/v1alpha1
        kind: KafkaSink
        name: orders
  from:
    - sub: system:serviceaccount:shop:producer-*
`;
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled', '--oidc-issuer', issuer.url] });
  try {
    const url = `${sluice.url}/kafkasinks/default/orders`;
    const token = async (sub: string) => ({ authorization: `Bearer ${await issuer.sign({ sub, aud: 'eventing.knative.dev/kafkasink/default/orders' })}` });
    const send = async (id: string, headers: Record<string, string> = {}) => postEvent(url, { id, source: '/t', type: 't' }, '{}', headers);
    assert.equal((await send('ok', await token('system:serviceaccount:shop:producer-1'))).status, 202);
    const other = await send('no-1', await token('system:serviceaccount:shop:intruder'));
    assert.equal(other.status, 403);
    assert.match(other.body, /not allowed by the EventPolicies of kafkasink default\/orders \(producers\)/);
    assert.equal((await send('no-2')).status, 401);

    const status = (await (await fetch(`${sluice.adminUrl}/api/v1/kafkasinks/default/orders`)).json()) as {
      status: { conditions: { type: string; status: string }[]; policies?: unknown; address: { audience?: string } };
    };
    assert.equal(status.status.conditions.find((c) => c.type === 'EventPoliciesReady')?.status, 'True');
    assert.deepEqual(status.status.policies, [{ name: 'producers', apiVersion: 'eventing.knative.dev/v1alpha1' }]);
    assert.equal(status.status.address.audience, 'eventing.knative.dev/kafkasink/default/orders');

    // The topic holds the accepted event only (read after a second one that marks the end).
    assert.equal((await send('end', await token('system:serviceaccount:shop:producer-2'))).status, 202);
    const consumer = new Kafka({ brokers: servers.split(','), logLevel: logLevel.NOTHING }).consumer({ groupId: `e2e-${randomUUID()}` });
    const ids: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void ids.push(String(message.headers?.['ce_id'] ?? '')) });
      const deadline = Date.now() + 30_000;
      while (!ids.includes('end') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(ids, ['ok', 'end']);
  } finally {
    await sluice.stop();
    issuer.close();
  }
});

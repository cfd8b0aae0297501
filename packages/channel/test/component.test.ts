// The channel component in-process: real HTTP on loopback, the SQLite store in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, startSubscriber, waitFor } from '@sluice/testing';
import { post, runYaml } from './helpers.js';

const cleanup = cleanupScope();

const imc = (name: string) => `apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: ${name}
---
`;

const sub = (name: string, channel: string, body: string) => `apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: ${name}
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: ${channel}
${body}---
`;

test('a subscription delivers the event unchanged; its reply goes to spec.reply', async () => {
  const replies = await startSubscriber();
  const subscriber = await startSubscriber((hit) => ({
    status: 200,
    headers: { 'ce-specversion': '1.0', 'ce-id': `re-${String(hit.event?.attributes['id'])}`, 'ce-source': '/transformer', 'ce-type': 'transformed', 'content-type': 'text/plain' },
    body: 'TRANSFORMED',
  }));
  const { runtime, stop } = await runYaml(imc('c') + sub('s', 'c', `  subscriber:\n    uri: ${subscriber.url}\n  reply:\n    uri: ${replies.url}\n`));
  cleanup.add(stop, replies.close, subscriber.close);
  assert.equal(await post(`${runtime.url}/channels/default/c`, 'e1', '{"a":1}', { 'ce-traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }), 202);
  await waitFor(() => replies.received.length === 1, 'the reply', 5000);
  const got = subscriber.received[0]!;
  assert.deepEqual(got.event!.attributes, {
    specversion: '1.0',
    id: 'e1',
    source: '/test',
    type: 'test.event',
    datacontenttype: 'application/json',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(got.event!.data!.toString(), '{"a":1}');
  assert.equal(got.headers['prefer'], 'reply');
  assert.equal(replies.received[0]!.event!.attributes['id'], 're-e1');
  assert.equal(replies.received[0]!.event!.data!.toString(), 'TRANSFORMED');
});

test('a failing reply destination fails the delivery: retried, then dead-lettered naming the reply URL', async () => {
  const replies = await startSubscriber(() => ({ status: 503, body: 'reply store down' }));
  const dls = await startSubscriber();
  const subscriber = await startSubscriber(() => ({ status: 200, headers: { 'ce-specversion': '1.0', 'ce-id': 'r', 'ce-source': '/s', 'ce-type': 't' } }));
  const { runtime, stop } = await runYaml(
    imc('c') +
      sub('s', 'c', `  subscriber:\n    uri: ${subscriber.url}\n  reply:\n    uri: ${replies.url}\n  delivery:\n    retry: 1\n    backoffDelay: PT0.01S\n    deadLetterSink:\n      uri: ${dls.url}\n`),
  );
  cleanup.add(stop, replies.close, dls.close, subscriber.close);
  await post(`${runtime.url}/channels/default/c`, 'e1');
  await waitFor(() => dls.received.length === 1, 'the dead-letter event', 5000);
  assert.equal(subscriber.received.length, 2, 'the original delivery is retried');
  const e = dls.received[0]!.event!;
  assert.equal(e.attributes['id'], 'e1');
  assert.equal(e.attributes['knativeerrordest'], replies.url);
  assert.equal(e.attributes['knativeerrorcode'], '503');
  assert.match(Buffer.from(String(e.attributes['knativeerrordata']), 'base64').toString(), /reply store down/);
});

test('a subscription without subscriber forwards to its reply; a Trigger can deliver to a channel by ref', async () => {
  const out = await startSubscriber();
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: b
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-channel
spec:
  broker: b
  subscriber:
    ref:
      apiVersion: messaging.knative.dev/v1
      kind: InMemoryChannel
      name: c
---
${imc('c')}${sub('forward', 'c', `  reply:\n    uri: ${out.url}\n`)}`;
  const { runtime, stop } = await runYaml(yaml);
  cleanup.add(stop, out.close);
  assert.equal(await post(`${runtime.url}/default/b`, 'e1'), 202);
  await waitFor(() => out.received.length === 1, 'the forwarded event', 5000);
  assert.equal(out.received[0]!.event!.attributes['id'], 'e1');
  assert.equal(out.received[0]!.event!.attributes['knativebrokerttl'], undefined, 'the broker hop budget never leaves the broker');
});

test('unknown channel 404, bad path 400, GET 405; a channel without subscriptions accepts and drops', async () => {
  const { runtime, stop } = await runYaml(imc('lonely'));
  cleanup.add(stop);
  assert.equal(await post(`${runtime.url}/channels/default/lonely`, 'e1'), 202);
  const missing = await fetch(`${runtime.url}/channels/default/nope`, { method: 'POST' });
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'SLUICE_CHANNEL_NOT_FOUND');
  assert.equal((await fetch(`${runtime.url}/channels/default/lonely/extra`, { method: 'POST' })).status, 400);
  assert.equal((await fetch(`${runtime.url}/channels/default/lonely`)).status, 405);
});

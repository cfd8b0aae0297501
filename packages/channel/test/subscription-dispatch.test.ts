import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noopLogger, type CloudEvent } from '@sluice/core';
import { DestinationResolver } from '@sluice/plugin';
import type { AttemptResponse, EventSender } from '@sluice/delivery';
import { buildTopology, partitionOf, resolveSubscription, subscriptionDispatcher, type ResourceInput } from '../src/index.js';

const resolver = new DestinationResolver({ ingressBaseUrl: 'http://sluice' });
resolver.register('InMemoryChannel', (ns, name) => `http://sluice/channels/${ns}/${name}`);

const res = (kind: string, name: string, spec: unknown, namespace = 'default'): ResourceInput => ({ kind, value: { kind, metadata: { name, namespace }, spec } });

function resolved(subDelivery: unknown, channelDelivery: unknown, extra: Record<string, unknown> = {}) {
  const t = buildTopology([
    res('InMemoryChannel', 'c', { delivery: channelDelivery }),
    res('Subscription', 's', { channel: { kind: 'InMemoryChannel', name: 'c' }, subscriber: { uri: 'http://sub/' }, delivery: subDelivery, ...extra }),
  ]);
  return resolveSubscription(t.subscriptions[0]!, t.channels.get('default/c')!, resolver);
}

test('delivery precedence: any subscription option replaces the channel options as a whole; the DLS falls back to the channel', () => {
  const inherit = resolved(undefined, { retry: 4, backoffPolicy: 'linear', deadLetterSink: { uri: 'http://channel-dls/' } });
  assert.equal(inherit.target.delivery.policy.retry, 4);
  assert.equal(inherit.target.delivery.policy.backoffPolicy, 'linear');
  assert.equal(inherit.target.deadLetterUrl, 'http://channel-dls/');
  const own = resolved({ timeout: 'PT1S' }, { retry: 4, backoffPolicy: 'linear', deadLetterSink: { uri: 'http://channel-dls/' } });
  assert.equal(own.target.delivery.policy.retry, 0, 'not merged: the channel retry is gone');
  assert.equal(own.target.delivery.policy.timeoutMs, 1000);
  assert.equal(own.target.deadLetterUrl, 'http://channel-dls/');
  const dls = resolved({ deadLetterSink: { ref: { kind: 'InMemoryChannel', name: 'dlq' } } }, { retry: 2 });
  assert.equal(dls.target.delivery.policy.retry, 2, 'a DLS alone is not a delivery option');
  assert.equal(dls.target.deadLetterUrl, 'http://sluice/channels/default/dlq');
});

test('a subscription without subscriber delivers to its reply and drops what that answers', () => {
  const t = buildTopology([res('InMemoryChannel', 'c', {}), res('Subscription', 's', { channel: { kind: 'InMemoryChannel', name: 'c' }, reply: { uri: 'http://next/' } })]);
  const r = resolveSubscription(t.subscriptions[0]!, t.channels.get('default/c')!, resolver);
  assert.equal(r.target.subscriberUrl, 'http://next/');
  assert.equal(r.replyUrl, undefined);
});

function scripted(answers: AttemptResponse[]) {
  const calls: Array<{ url: string; event: CloudEvent }> = [];
  const sender: EventSender = {
    async send(url, event) {
      calls.push({ url, event });
      return answers[Math.min(calls.length - 1, answers.length - 1)]!;
    },
    async close() {},
  };
  return { sender, calls };
}

const ok = (status: number, headers: Record<string, string> = {}, body = ''): AttemptResponse => ({ ok: true, status, headers, body: Buffer.from(body) });
const replyHeaders = { 'ce-specversion': '1.0', 'ce-id': 'r1', 'ce-source': '/s', 'ce-type': 'reply' };
const record = { seq: 1, attempt: 0, event: { attributes: { specversion: '1.0', id: 'e1', source: '/s', type: 't' }, data: undefined } };

test('a reply is sent once to spec.reply; a refused reply fails the original delivery naming the reply URL', async () => {
  const r = resolved({ retry: 1, backoffDelay: 'PT1S' }, undefined, { reply: { uri: 'http://reply/' } });
  const good = scripted([ok(200, replyHeaders, '{}'), ok(202)]);
  const d1 = await subscriptionDispatcher(r, { resolver, sender: good.sender, now: () => 0, logger: noopLogger }).handle(record);
  assert.deepEqual(d1, { kind: 'done' });
  assert.deepEqual(
    good.calls.map((c) => [c.url, c.event.attributes['id']]),
    [
      ['http://sub/', 'e1'],
      ['http://reply/', 'r1'],
    ],
  );
  const bad = scripted([ok(200, replyHeaders, '{}'), ok(500, {}, 'down')]);
  const d2 = await subscriptionDispatcher(r, { resolver, sender: bad.sender, now: () => 0, logger: noopLogger }).handle(record);
  assert.deepEqual(d2, { kind: 'retry', attempt: 1, dueAt: 1000, firstAttemptAt: 0 }, 'the original is retried');
  const last = scripted([ok(200, replyHeaders, '{}'), ok(500, {}, 'down'), ok(202)]);
  const withDls = resolved({ retry: 0, deadLetterSink: { uri: 'http://dls/' } }, undefined, { reply: { uri: 'http://reply/' } });
  await subscriptionDispatcher(withDls, { resolver, sender: last.sender, now: () => 0, logger: noopLogger }).handle(record);
  const dead = last.calls[2]!;
  assert.equal(dead.url, 'http://dls/');
  assert.equal(dead.event.attributes['id'], 'e1');
  assert.equal(dead.event.attributes['knativeerrordest'], 'http://reply/');
  assert.equal(dead.event.attributes['knativeerrorcode'], '500');
});

test('without spec.reply the reply is dropped and the delivery succeeds', async () => {
  const r = resolved(undefined, undefined);
  const { sender, calls } = scripted([ok(200, replyHeaders, '{}')]);
  assert.deepEqual(await subscriptionDispatcher(r, { resolver, sender, now: () => 0, logger: noopLogger }).handle(record), { kind: 'done' });
  assert.equal(calls.length, 1);
});

test('partitionOf: stable per partitionkey, spread over numPartitions, "0" for one partition', () => {
  const e = (key: string): CloudEvent => ({ attributes: { specversion: '1.0', id: key, source: '/s', type: 't', partitionkey: key }, data: undefined });
  assert.equal(partitionOf(e('a'), 1), '0');
  assert.equal(partitionOf(e('a'), 8), partitionOf(e('a'), 8));
  const used = new Set(Array.from({ length: 100 }, (_, i) => partitionOf(e(`k${i}`), 4)));
  assert.deepEqual([...used].sort(), ['0', '1', '2', '3']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type ResourceInput } from '../src/index.js';

const res = (kind: string, name: string, spec: unknown, extra: Record<string, unknown> = {}): ResourceInput => ({
  kind,
  value: { apiVersion: 'x', kind, metadata: { name, ...extra }, spec },
});

test('Sequence: one channel per step; step i replies to channel i+1, the last step to spec.reply', () => {
  const t = buildTopology([
    res('Sequence', 'seq', {
      channelTemplate: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel', spec: { numPartitions: 3, delivery: { retry: 2 } } },
      steps: [{ uri: 'http://a/' }, { uri: 'http://b/', delivery: { retry: 5 } }, { ref: { kind: 'Service', name: 'c' } }],
      reply: { uri: 'http://display/' },
    }),
  ]);
  assert.deepEqual([...t.channels.keys()], ['default/seq-kn-sequence-0', 'default/seq-kn-sequence-1', 'default/seq-kn-sequence-2']);
  const c0 = t.channels.get('default/seq-kn-sequence-0')!;
  assert.equal(c0.kind, 'KafkaChannel');
  assert.equal(c0.kafka?.numPartitions, 3);
  assert.deepEqual(c0.delivery, { retry: 2 }, 'the template spec delivery is each channel delivery');
  assert.deepEqual(
    t.subscriptions.map((s) => [s.name, s.channel, s.subscriber, s.reply, s.delivery]),
    [
      [
        'seq-kn-sequence-0',
        'default/seq-kn-sequence-0',
        { uri: 'http://a/' },
        { ref: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel', name: 'seq-kn-sequence-1', namespace: 'default' } },
        undefined,
      ],
      [
        'seq-kn-sequence-1',
        'default/seq-kn-sequence-1',
        { uri: 'http://b/' },
        { ref: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel', name: 'seq-kn-sequence-2', namespace: 'default' } },
        { retry: 5 },
      ],
      ['seq-kn-sequence-2', 'default/seq-kn-sequence-2', { ref: { kind: 'Service', name: 'c' } }, { uri: 'http://display/' }, undefined],
    ],
  );
});

test('Sequence without reply: the last reply is dropped; the default template is InMemoryChannel', () => {
  const t = buildTopology([res('Sequence', 's', { steps: [{ uri: 'http://a/' }] }, { namespace: 'team' })]);
  assert.equal(t.channels.get('team/s-kn-sequence-0')!.kind, 'InMemoryChannel');
  assert.equal(t.subscriptions[0]!.reply, undefined);
});

test('Parallel: ingress channel, a channel per branch, filter subscriptions and subscriber subscriptions named as Knative names them', () => {
  const t = buildTopology([
    res('Parallel', 'p', {
      branches: [{ filter: { uri: 'http://f0/' }, subscriber: { uri: 'http://s0/' }, reply: { uri: 'http://r0/' }, delivery: { retry: 1 } }, { subscriber: { uri: 'http://s1/' } }],
      reply: { uri: 'http://r/' },
    }),
  ]);
  assert.deepEqual([...t.channels.keys()], ['default/p-kn-parallel', 'default/p-kn-parallel-0', 'default/p-kn-parallel-1']);
  const imc = (name: string) => ({ ref: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name, namespace: 'default' } });
  assert.deepEqual(
    t.subscriptions.map((s) => [s.name, s.channel, s.subscriber, s.reply, s.delivery]),
    [
      // with a filter: the filter subscribes the ingress, its reply (the event it lets through) feeds the branch
      ['p-kn-parallel-filter-0', 'default/p-kn-parallel', { uri: 'http://f0/' }, imc('p-kn-parallel-0'), undefined],
      ['p-kn-parallel-0', 'default/p-kn-parallel-0', { uri: 'http://s0/' }, { uri: 'http://r0/' }, { retry: 1 }],
      // without: the branch channel itself subscribes the ingress
      ['p-kn-parallel-filter-1', 'default/p-kn-parallel', imc('p-kn-parallel-1'), undefined, undefined],
      ['p-kn-parallel-1', 'default/p-kn-parallel-1', { uri: 'http://s1/' }, { uri: 'http://r/' }, undefined],
    ],
  );
});

test('Channel: backed by its template kind; its own delivery wins over the template delivery', () => {
  const t = buildTopology([
    res('Channel', 'c', { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'KafkaChannel', spec: { delivery: { retry: 1 } } }, delivery: { retry: 9 } }),
    res('Channel', 'd', undefined, { annotations: { 'sluice.dev/durability': 'memory' } }),
  ]);
  const c = t.channels.get('default/c')!;
  assert.equal(c.kind, 'Channel');
  assert.equal(c.backing, 'KafkaChannel');
  assert.deepEqual(c.kafka, { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' });
  assert.deepEqual(c.delivery, { retry: 9 });
  const d = t.channels.get('default/d')!;
  assert.equal(d.backing, 'InMemoryChannel');
  assert.equal(d.durability, 'memory');
});

test('Subscription: channel in the subscription namespace; ordering annotation', () => {
  const t = buildTopology([
    res(
      'Subscription',
      's',
      { channel: { kind: 'InMemoryChannel', name: 'c' }, subscriber: { uri: 'http://x/' } },
      { namespace: 'ns', annotations: { 'kafka.eventing.knative.dev/delivery.order': 'ordered' } },
    ),
  ]);
  assert.equal(t.subscriptions[0]!.channel, 'ns/c');
  assert.equal(t.subscriptions[0]!.ordered, true);
});

test('name clashes are collected: channels of every kind share one address space, flows included', () => {
  const t = buildTopology([
    res('Sequence', 'x', { steps: [{ uri: 'http://a/' }] }),
    res('KafkaChannel', 'x-kn-sequence-0', {}),
    res('Subscription', 'x-kn-sequence-0', { channel: { kind: 'KafkaChannel', name: 'x-kn-sequence-0' }, subscriber: { uri: 'http://b/' } }),
  ]);
  assert.deepEqual(
    t.conflicts.map((c) => [c.what, c.key, c.first, c.second]),
    [
      ['channel', 'default/x-kn-sequence-0', 'Sequence default/x', 'KafkaChannel default/x-kn-sequence-0'],
      ['subscription', 'default/x-kn-sequence-0', 'Sequence default/x', 'Subscription default/x-kn-sequence-0'],
    ],
  );
});

// Schemas + channelChecks through the real loader: every mistake is reported at its line and column.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { brokerChecks } from '@sluice/config';
import { configFiles } from '@sluice/testing';
import { channelChecks } from '../src/index.js';

const files = configFiles({ checks: [brokerChecks(), channelChecks()], prefix: 'sluice-channel-checks-' });
after(() => files.remove());

function errorsOf(yaml: string): string[] {
  return files.errors(yaml);
}

test('a valid configuration of every kind loads without errors', () => {
  const errors = errorsOf(`apiVersion: messaging.knative.dev/v1
kind: Channel
metadata:
  name: generic
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec:
      numPartitions: 3
      retentionDuration: P7D
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: imc
  annotations:
    messaging.knative.dev/async-handler: "true"
    sluice.dev/durability: memory
---
apiVersion: messaging.knative.dev/v1
kind: KafkaChannel
metadata:
  name: kc
spec:
  numPartitions: 2
  replicationFactor: 3
  delivery:
    deadLetterSink:
      ref:
        apiVersion: messaging.knative.dev/v1
        kind: InMemoryChannel
        name: imc
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: s
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: Channel
    name: generic
  subscriber:
    ref:
      apiVersion: flows.knative.dev/v1
      kind: Sequence
      name: seq
  reply:
    ref:
      apiVersion: flows.knative.dev/v1
      kind: Parallel
      name: par
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: seq
spec:
  steps:
    - uri: http://127.0.0.1:9001/
      delivery:
        retry: 2
    - ref:
        apiVersion: v1
        kind: Service
        name: second
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: par
spec:
  branches:
    - filter:
        uri: http://127.0.0.1:9002/filter
      subscriber:
        uri: http://127.0.0.1:9002/
    - subscriber:
        ref:
          apiVersion: messaging.knative.dev/v1beta1
          kind: KafkaChannel
          name: kc
`);
  assert.deepEqual(errors, []);
});

test('subscription channel: undeclared, wrong kind, other namespace, not a channel kind', () => {
  const errors = errorsOf(`apiVersion: messaging.knative.dev/v1
kind: Channel
metadata:
  name: generic
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: undeclared
spec:
  channel:
    kind: InMemoryChannel
    name: missing
  subscriber:
    uri: http://127.0.0.1:9/
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: wrong-kind
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: generic
  subscriber:
    uri: http://127.0.0.1:9/
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: elsewhere
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: Channel
    name: generic
    namespace: other
  subscriber:
    uri: http://127.0.0.1:9/
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: broker
spec:
  channel:
    apiVersion: eventing.knative.dev/v1
    kind: Broker
    name: default
  subscriber:
    uri: not-a-url
`);
  assert.deepEqual(errors, [
    // A channel ref without apiVersion is an error, reported with the resource's other errors in the same pass.
    "12:5: Subscription/undeclared: a channel ref needs an apiVersion (Knative rejects a Subscription's channel without one): add apiVersion: messaging.knative.dev/v1",
    '13:11: Subscription/undeclared: InMemoryChannel "default/missing" is not declared in the configuration',
    '24:11: Subscription/wrong-kind: InMemoryChannel "default/generic" is not declared; it is a Channel',
    '38:16: Subscription/elsewhere: a Subscription\'s channel must be in the Subscription\'s namespace "default", not "other"',
    '49:11: Subscription/broker: "Broker" is not a channel kind (supported: Channel, InMemoryChannel, KafkaChannel)',
    '52:10: Subscription/broker: uri must be an absolute http(s) URL, got "not-a-url"',
  ]);
});

test('schema errors: unsupported template kind, controller-managed subscribers, unknown fields, bad durations and partitions', () => {
  const errors = errorsOf(`apiVersion: messaging.knative.dev/v1
kind: Channel
metadata:
  name: c
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1alpha1
    kind: NatssChannel
  subscribers:
    - subscriberUri: http://x/
---
apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata:
  name: k
spec:
  numPartitions: 0
  replicationFactor: 1.5
  retentionDuration: 7d
  partitions: 3
---
apiVersion: messaging.knative.dev/v1alpha1
kind: InMemoryChannel
metadata:
  name: old
`);
  assert.deepEqual(errors, [
    '8:11: Channel/c: spec.channelTemplate.kind: must be one of: "InMemoryChannel", "KafkaChannel"',
    "10:5: Channel/c: spec.subscribers: spec.subscribers is filled in by Knative's controller and cannot be written; declare one Subscription (messaging.knative.dev/v1) per subscriber instead",
    '17:18: KafkaChannel/k: spec.numPartitions: must be >= 1',
    '18:22: KafkaChannel/k: spec.replicationFactor: must be integer',
    '19:22: KafkaChannel/k: spec.retentionDuration: must be an ISO-8601 duration such as PT0.2S, PT10S or PT1M',
    '20:3: KafkaChannel/k: spec.partitions: unknown field "partitions"',
    '22:13: apiVersion "messaging.knative.dev/v1alpha1" of InMemoryChannel is no longer served by Knative: use messaging.knative.dev/v1',
  ]);
});

test('templates, annotations, flow destinations and name clashes', () => {
  const errors = errorsOf(`apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: seq
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1beta1
    kind: InMemoryChannel
    spec:
      numPartitions: 2
  steps:
    - ref:
        apiVersion: messaging.knative.dev/v1
        kind: Channel
        name: nope
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: seq-kn-sequence-0
  annotations:
    sluice.dev/durability: sometimes
---
apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata:
  name: k
  annotations:
    sluice.dev/durability: memory
spec:
  retentionDuration: PT0S
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: p
spec:
  branches:
    - filter:
        ref:
          apiVersion: flows.knative.dev/v1
          kind: Parallel
          name: ghost
      subscriber:
        uri: http://127.0.0.1:9/
  reply:
    uri: /relative
`);
  assert.deepEqual(errors, [
    '7:17: Sequence/seq: channelTemplate: InMemoryChannel uses apiVersion messaging.knative.dev/v1, not "messaging.knative.dev/v1beta1"',
    '10:22: Sequence/seq: channelTemplate: numPartitions applies to KafkaChannel templates only, not InMemoryChannel',
    '15:15: Sequence/seq: Channel "default/nope" is not declared in the configuration',
    '20:9: InMemoryChannel/seq-kn-sequence-0: channel name "default/seq-kn-sequence-0" of InMemoryChannel default/seq-kn-sequence-0 is already used by Sequence default/seq (channels of every kind share the address /channels/default/seq-kn-sequence-0)',
    '22:28: InMemoryChannel/seq-kn-sequence-0: sluice.dev/durability must be "memory" or "durable", not "sometimes"',
    '29:28: KafkaChannel/k: sluice.dev/durability applies to InMemoryChannel (or a Channel backed by one) only',
    '31:22: KafkaChannel/k: retentionDuration must be greater than zero',
    '43:17: Parallel/p: Parallel "default/ghost" is not declared in the configuration',
    '47:10: Parallel/p: uri must be an absolute http(s) URL, got "/relative"',
  ]);
});

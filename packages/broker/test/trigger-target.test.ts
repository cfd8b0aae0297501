import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker, Trigger } from '@sluice/core';
import { EgressGuard } from '@sluice/delivery';
import { DestinationResolver } from '../src/index.js';
import { triggerBroker, triggerFingerprint, triggerTarget } from '../src/trigger-target.js';

const resolver = new DestinationResolver({ ingressBaseUrl: 'http://127.0.0.1:8080' });
const broker: Broker = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name: 'b', namespace: 'infra' },
  spec: { delivery: { deadLetterSink: { uri: 'http://dls.example/' }, retry: 4 } },
};
const trigger = (spec: Partial<Trigger['spec']> = {}): Trigger => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 't', namespace: 'app' },
  spec: { broker: 'b', subscriber: { uri: 'http://sub.example/' }, ...spec },
});

test('triggerBroker: spec.broker in the Trigger namespace, or brokerRef with its own namespace', () => {
  assert.equal(triggerBroker(trigger()), 'app/b');
  assert.equal(triggerBroker({ ...trigger(), spec: { brokerRef: { name: 'x', namespace: 'other' }, subscriber: { uri: 'http://s/' } } } as Trigger), 'other/x');
});

test('triggerTarget resolves the subscriber and inherits the broker delivery (dead-letter sink and retries)', () => {
  const t = triggerTarget(broker, trigger(), resolver, { deadLetterStore: 'exhausted', egress: undefined });
  assert.equal(t.key, 'app/t');
  assert.equal(t.subscriberUrl, 'http://sub.example/');
  assert.equal(t.deadLetterUrl, 'http://dls.example/');
  assert.equal(t.delivery.policy.retry, 4);
  assert.deepEqual(t.labels, { broker: 'b', kind: 'Trigger' });
});

test('triggerTarget refuses a destination the egress rules deny', () => {
  const egress = new EgressGuard({});
  assert.throws(() => triggerTarget(broker, trigger({ subscriber: { uri: 'http://169.254.169.254/latest' } }), resolver, { deadLetterStore: 'exhausted', egress }));
});

test('triggerFingerprint changes with the spec and the resolved subscriber, not with the order of keys', () => {
  const a = trigger();
  const target = triggerTarget(broker, a, resolver, { deadLetterStore: 'exhausted', egress: undefined });
  const same = { ...a, spec: { subscriber: a.spec.subscriber, broker: 'b' } };
  assert.equal(triggerFingerprint(a, broker, target), triggerFingerprint(same, broker, target));
  assert.notEqual(triggerFingerprint(a, broker, target), triggerFingerprint(trigger({ filter: { attributes: { type: 'x' } } }), broker, target));
  assert.notEqual(triggerFingerprint(a, broker, target), triggerFingerprint(a, broker, { ...target, subscriberUrl: 'http://other/' }));
});

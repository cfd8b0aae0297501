import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker, Condition, Destination } from '@sluice/core';
import { DestinationResolver } from '../src/index.js';
import { brokerStatus, deadLetterCondition } from '../src/resource-status.js';

const resolver = new DestinationResolver({ ingressBaseUrl: 'http://127.0.0.1:8080' });
const broker = (deadLetterSink?: Destination): Broker => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name: 'b', namespace: 'ns' },
  ...(deadLetterSink ? { spec: { delivery: { deadLetterSink } } } : {}),
});
const condition = (conditions: readonly Condition[], type: string): Condition | undefined => conditions.find((c) => c.type === type);

test('a broker without a dead-letter sink: DeadLetterSinkResolved True, reason DeadLetterSinkNotConfigured', () => {
  const s = brokerStatus(broker(), 'http://127.0.0.1:8080/ns/b', resolver, undefined);
  assert.deepEqual(condition(s.conditions, 'DeadLetterSinkResolved'), deadLetterCondition(undefined));
  assert.deepEqual(s.fields, { address: { url: 'http://127.0.0.1:8080/ns/b' } });
  assert.deepEqual(
    s.conditions.map((c) => c.type),
    ['IngressReady', 'FilterReady', 'Addressable', 'DeadLetterSinkResolved'],
  );
});

test('a broker whose dead-letter sink resolves reports its URI; one that does not is False, Unresolvable', () => {
  const ok = brokerStatus(broker({ uri: 'http://dls.example/x' }), 'u', resolver, undefined);
  assert.equal(ok.fields['deadLetterSinkUri'], 'http://dls.example/x');
  assert.equal(condition(ok.conditions, 'DeadLetterSinkResolved')?.status, 'True');
  const bad = brokerStatus(broker({ ref: { apiVersion: 'example.dev/v1', kind: 'Unknown', name: 'x' } }), 'u', resolver, undefined);
  assert.equal(bad.fields['deadLetterSinkUri'], undefined);
  assert.deepEqual({ ...condition(bad.conditions, 'DeadLetterSinkResolved'), message: undefined }, { type: 'DeadLetterSinkResolved', status: 'False', reason: 'Unresolvable', message: undefined });
});

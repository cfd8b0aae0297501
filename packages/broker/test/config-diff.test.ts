import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffResources } from '../src/index.js';
import { fingerprint } from '../src/config-diff.js';
import { configOf as config } from './config-fixture.js';

const broker = (name: string, spec: Record<string, unknown> = {}, apiVersion = 'eventing.knative.dev/v1') => ({ apiVersion, kind: 'Broker', metadata: { name }, spec });

test('fingerprint does not depend on the order of object keys, but on values and array order', () => {
  assert.equal(fingerprint({ a: 1, b: { c: [1, 2], d: 'x' } }), fingerprint({ b: { d: 'x', c: [1, 2] }, a: 1 }));
  assert.notEqual(fingerprint({ a: 1 }), fingerprint({ a: 2 }));
  assert.notEqual(fingerprint([1, 2]), fingerprint([2, 1]));
  assert.notEqual(fingerprint(undefined), fingerprint(null));
});

test('diffResources reports created, configured, unchanged and deleted resources', () => {
  const prev = config(broker('kept'), broker('changed', { delivery: { retry: 1 } }), broker('gone'));
  const next = config(broker('kept'), broker('changed', { delivery: { retry: 2 } }), broker('added'));
  const byName = Object.fromEntries(diffResources(prev, next).map((c) => [c.name, c.change]));
  assert.deepEqual(byName, { kept: 'unchanged', changed: 'configured', added: 'created', gone: 'deleted' });
});

test('diffResources compares by API group, not version: a new version of the same resource is configured in place', () => {
  const prev = config(broker('b', {}, 'eventing.knative.dev/v1beta1'));
  const next = config(broker('b', { x: 1 }, 'eventing.knative.dev/v1'));
  assert.deepEqual(diffResources(prev, next), [{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace: 'default', name: 'b', change: 'configured' }]);
});

test('diffResources keeps the same name in another namespace or kind apart', () => {
  const prev = config({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } });
  const next = config(broker('b'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'other' } });
  const changes = diffResources(prev, next).map((c) => `${c.kind}/${c.namespace}/${c.name}:${c.change}`);
  assert.deepEqual(changes, ['Broker/default/b:created', 'ConfigMap/other/b:created', 'ConfigMap/default/b:deleted']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEvent } from '@sluice/core';
import type { LoadedResource, SluiceConfig } from '@sluice/config';
import { EventPolicies, selectorMatches, subjectAllowed } from '../src/index.js';

/** A configuration of plain resources (the engine reads kind, names and value). */
function config(...values: Record<string, unknown>[]): SluiceConfig {
  const resources = values.map((v) => {
    const meta = v['metadata'] as { name: string; namespace?: string };
    const namespace = meta.namespace ?? 'default';
    return { apiVersion: v['apiVersion'], kind: v['kind'], name: meta.name, namespace, key: `${namespace}/${meta.name}`, value: v, file: 'x.yaml', position: () => ({ line: 1, col: 1 }) } as unknown as LoadedResource;
  });
  return { resources, brokers: [], triggers: [] };
}
const policy = (name: string, spec: Record<string, unknown>, namespace = 'default') => ({ apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'EventPolicy', metadata: { name, namespace }, spec });
const ev = (type: string): CloudEvent => ({ attributes: { specversion: '1.0', id: '1', source: '/s', type }, data: undefined });

test('subjects match exactly (case-insensitive) or by the prefix before a trailing *', () => {
  assert.ok(subjectAllowed('system:serviceaccount:ns:a', ['system:serviceaccount:ns:*']));
  assert.ok(subjectAllowed('System:ServiceAccount:ns:A', ['system:serviceaccount:ns:a']));
  assert.ok(!subjectAllowed('system:serviceaccount:ns2:a', ['system:serviceaccount:ns:*']));
  assert.ok(!subjectAllowed('x', []));
});

test('label selectors: matchLabels and the four operators', () => {
  const labels = { team: 'orders', tier: 'gold' };
  assert.ok(selectorMatches({ apiVersion: 'v', kind: 'k' }, labels));
  assert.ok(selectorMatches({ apiVersion: 'v', kind: 'k', matchLabels: { team: 'orders' } }, labels));
  assert.ok(!selectorMatches({ apiVersion: 'v', kind: 'k', matchLabels: { team: 'billing' } }, labels));
  assert.ok(selectorMatches({ apiVersion: 'v', kind: 'k', matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }, labels));
  assert.ok(!selectorMatches({ apiVersion: 'v', kind: 'k', matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, labels));
  assert.ok(selectorMatches({ apiVersion: 'v', kind: 'k', matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels));
  assert.ok(!selectorMatches({ apiVersion: 'v', kind: 'k', matchExpressions: [{ key: 'env', operator: 'Exists' }] }, labels));
});

test('a broker with policies accepts a subject one of them names, when that policy\'s filters match the event', () => {
  const p = new EventPolicies(
    config(
      policy('a', { to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' } }], from: [{ sub: 'alice' }], filters: [{ prefix: { type: 'order.' } }] }),
      policy('c', { to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' } }], from: [{ sub: 'carol' }] }),
    ),
    'allow-all',
  );
  const alice = p.authorizer('default', 'b', {}, 'alice');
  assert.ok(alice);
  assert.equal(alice([ev('order.new')]), undefined);
  assert.match(alice([ev('order.new'), ev('invoice.new')]) ?? '', /does not pass the filters/);
  assert.equal(p.authorizer('default', 'b', {}, 'carol')?.([ev('anything')]), undefined);
  assert.match(p.authorizer('default', 'b', {}, 'mallory')?.([ev('order.new')]) ?? '', /not allowed by the EventPolicies of broker default\/b \(a, c\)/);
  // Another broker of the namespace has no policy: the default mode decides.
  assert.equal(p.authorizer('default', 'other', {}, 'mallory'), undefined);
  // A policy of another namespace does not apply.
  assert.equal(p.authorizer('shop', 'b', {}, 'mallory'), undefined);
});

test('default modes, an empty `to`, and a policy whose subjects do not resolve (NotReady: it does not apply)', () => {
  const same = new EventPolicies(config(), 'allow-same-namespace');
  assert.equal(same.authorizer('default', 'b', {}, 'system:serviceaccount:default:x'), undefined);
  assert.match(same.authorizer('default', 'b', {}, 'system:serviceaccount:other:x')?.([]) ?? '', /allow-same-namespace/);
  assert.match(new EventPolicies(config(), 'deny-all').authorizer('default', 'b', {}, 'system:serviceaccount:default:x')?.([]) ?? '', /deny-all/);
  const everyBroker = new EventPolicies(config(policy('all', { from: [{ sub: 'bob' }] })), 'allow-all');
  assert.ok(everyBroker.authorizer('default', 'any', {}, 'eve'), 'an empty to applies to every broker of the namespace');
  const unresolved = new EventPolicies(config(policy('p', { from: [{ ref: { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', name: 'gone' } }] })), 'allow-all');
  assert.equal(unresolved.authorizer('default', 'b', {}, 'eve'), undefined);
  const [status] = unresolved.policyStatuses();
  assert.equal(status!.conditions.find((c) => c.type === 'SubjectsResolved')?.status, 'False');
  assert.equal(unresolved.brokerStatus('default', 'b', {}).condition.reason, 'EventPoliciesNotReady');
});

test('from.ref resolves to the Knative subject of a resource in the configuration', () => {
  const p = new EventPolicies(
    config(
      { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', metadata: { name: 'tick' } },
      policy('p', { from: [{ ref: { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', name: 'tick' } }] }),
    ),
    'deny-all',
  );
  assert.deepEqual(p.policyStatuses()[0]!.from, ['system:serviceaccount:default:tick-oidc-sources.knative.dev-pingsource']);
  assert.equal(p.authorizer('default', 'b', {}, 'system:serviceaccount:default:tick-oidc-sources.knative.dev-pingsource')?.([ev('x')]), undefined);
});

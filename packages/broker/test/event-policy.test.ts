import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEvent } from '@sluice/core';
import { EventPolicies, brokerTarget, selectorMatches, subjectAllowed, type PolicyTarget } from '../src/index.js';
import { configOf as config } from './config-fixture.js';

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

test("a broker with policies accepts a subject one of them names, when that policy's filters match the event", () => {
  const p = new EventPolicies(
    config(
      policy('a', { to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' } }], from: [{ sub: 'alice' }], filters: [{ prefix: { type: 'order.' } }] }),
      policy('c', { to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' } }], from: [{ sub: 'carol' }] }),
    ),
    'allow-all',
  );
  const alice = p.authorizer(brokerTarget('default', 'b'), 'alice');
  assert.ok(alice);
  assert.equal(alice([ev('order.new')]), undefined);
  assert.match(alice([ev('order.new'), ev('invoice.new')]) ?? '', /does not pass the filters/);
  assert.equal(p.authorizer(brokerTarget('default', 'b'), 'carol')?.([ev('anything')]), undefined);
  assert.match(p.authorizer(brokerTarget('default', 'b'), 'mallory')?.([ev('order.new')]) ?? '', /not allowed by the EventPolicies of broker default\/b \(a, c\)/);
  // Another broker of the namespace has no policy: the default mode decides.
  assert.equal(p.authorizer(brokerTarget('default', 'other'), 'mallory'), undefined);
  // A policy of another namespace does not apply.
  assert.equal(p.authorizer(brokerTarget('shop', 'b'), 'mallory'), undefined);
});

test('default modes, an empty `to`, and a policy whose subjects do not resolve (NotReady: it does not apply)', () => {
  const same = new EventPolicies(config(), 'allow-same-namespace');
  assert.equal(same.authorizer(brokerTarget('default', 'b'), 'system:serviceaccount:default:x'), undefined);
  assert.match(same.authorizer(brokerTarget('default', 'b'), 'system:serviceaccount:other:x')?.([]) ?? '', /allow-same-namespace/);
  assert.match(new EventPolicies(config(), 'deny-all').authorizer(brokerTarget('default', 'b'), 'system:serviceaccount:default:x')?.([]) ?? '', /deny-all/);
  const everyBroker = new EventPolicies(config(policy('all', { from: [{ sub: 'bob' }] })), 'allow-all');
  assert.ok(everyBroker.authorizer(brokerTarget('default', 'any'), 'eve'), 'an empty to applies to every broker of the namespace');
  const unresolved = new EventPolicies(config(policy('p', { from: [{ ref: { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', name: 'gone' } }] })), 'allow-all');
  assert.equal(unresolved.authorizer(brokerTarget('default', 'b'), 'eve'), undefined);
  const [status] = unresolved.policyStatuses();
  assert.equal(status!.conditions.find((c) => c.type === 'SubjectsResolved')?.status, 'False');
  assert.equal(unresolved.targetStatus(brokerTarget('default', 'b')).condition.reason, 'EventPoliciesNotReady');
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
  assert.equal(p.authorizer(brokerTarget('default', 'b'), 'system:serviceaccount:default:tick-oidc-sources.knative.dev-pingsource')?.([ev('x')]), undefined);
});

test('policies name channels and flows by kind (a Channel also by its backing kind) and select them by label', () => {
  const ch = (kind: string, name: string, labels: Record<string, string> = {}, backing?: string): PolicyTarget => ({
    kinds: [{ group: kind === 'Sequence' ? 'flows.knative.dev' : 'messaging.knative.dev', kind }, ...(backing ? [{ group: 'messaging.knative.dev', kind: backing }] : [])],
    namespace: 'default',
    name,
    labels,
  });
  const p = new EventPolicies(
    config(
      policy('imc', { to: [{ ref: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'orders' } }], from: [{ sub: 'alice' }] }),
      policy('team', { to: [{ selector: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', matchLabels: { team: 'a' } } }], from: [{ sub: 'bob' }] }),
      policy('seq', { to: [{ ref: { apiVersion: 'flows.knative.dev/v1', kind: 'Sequence', name: 'orders' } }], from: [{ sub: 'carol' }] }),
    ),
    'allow-all',
  );
  assert.equal(p.authorizer(ch('InMemoryChannel', 'orders'), 'alice')?.([ev('x')]), undefined, 'alice is named by imc');
  assert.match(p.authorizer(ch('InMemoryChannel', 'orders'), 'bob')?.([]) ?? '', /not allowed by the EventPolicies of inmemorychannel default\/orders \(imc\)/);
  // A Channel backed by an InMemoryChannel of that name is named by both policies' kinds.
  assert.deepEqual(
    p.targetStatus(ch('Channel', 'orders', { team: 'a' }, 'InMemoryChannel')).policies.map((x) => x.name),
    ['imc', 'team'],
  );
  // Same name, another kind: the Broker `orders` and the Sequence `orders` have their own policies.
  assert.equal(p.authorizer(brokerTarget('default', 'orders'), 'mallory'), undefined, 'no policy names the broker: allow-all');
  assert.match(p.authorizer(ch('Sequence', 'orders'), 'alice')?.([]) ?? '', /\(seq\)/);
  assert.equal(p.targetStatus(ch('KafkaChannel', 'orders')).condition.reason, 'DefaultAuthorizationMode');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiGroup, oidcAudience, oidcServiceAccountName, oidcSubject } from '../src/index.js';

test('OIDC service accounts are named as Knative names them: <name>-oidc-<group>-<kind>, lower case', () => {
  assert.equal(oidcServiceAccountName('group', 'kind', 'name'), 'name-oidc-group-kind');
  assert.equal(oidcServiceAccountName('eventing.knative.dev', 'Broker', 'my-Broker'), 'my-broker-oidc-eventing.knative.dev-broker');
  assert.equal(oidcSubject('eventing.knative.dev', 'Trigger', 'shop', 'orders'), 'system:serviceaccount:shop:orders-oidc-eventing.knative.dev-trigger');
  assert.equal(oidcSubject('sources.knative.dev', 'PingSource', 'default', 'tick'), 'system:serviceaccount:default:tick-oidc-sources.knative.dev-pingsource');
});

test('a name too long for a DNS label is cut and made unique with an MD5 digest, as Knative does', () => {
  // The value Knative's own tests give for this broker name.
  const sa = oidcServiceAccountName('eventing.knative.dev', 'Broker', 'my-loooooooooooooooooooooooooooooooooooooog-Broker');
  assert.equal(sa, 'my-looooooooooooooooooooooooooo2dfc2a3825b8d82077b0f25518b36884');
  assert.equal(sa.length, 63);
  // A suffix that leaves room: the start of the parent, the parent's digest, then the suffix.
  const parent = 'a-very-long-name-'.repeat(3) + 'end';
  const medium = oidcServiceAccountName('x.dev', 'Kind', parent);
  assert.equal(medium.length, 63);
  assert.ok(medium.startsWith(parent.slice(0, 31 - '-oidc-x.dev-kind'.length)) && medium.endsWith('-oidc-x.dev-kind'), medium);
  assert.notEqual(medium, oidcServiceAccountName('x.dev', 'Kind', `${parent}2`));
});

test('audiences are <group>/<kind>/<namespace>/<name> in lower case', () => {
  assert.equal(oidcAudience('eventing.knative.dev', 'Broker', 'default', 'Front'), 'eventing.knative.dev/broker/default/front');
  assert.equal(apiGroup('messaging.knative.dev/v1'), 'messaging.knative.dev');
  assert.equal(apiGroup('v1'), '');
});

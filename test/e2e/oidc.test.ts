// OIDC sender identity on ingress (docs/security.md "OIDC"): bearer JWTs from configured issuers, for the broker's
// audience, verified against the issuer's JWKS with a bounded clock skew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postEvent, startSluice, startSubscriber, waitFor } from './harness.js';
import { startIssuer } from './oidc-issuer.js';

test('with --oidc-issuer, brokers take only valid tokens for their audience; keys are cached; own sends pass', async () => {
  const issuer = await startIssuer();
  const other = await startIssuer();
  const sub = await startSubscriber();
  const sluice = await startSluice({
    args: ['--oidc-issuer', issuer.url],
    yaml: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: front
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: back
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: forward
spec:
  broker: front
  subscriber:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: back
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: out
spec:
  broker: back
  subscriber:
    uri: ${sub.url}
`,
  });
  try {
    const front = `${sluice.url}/default/front`;
    const aud = 'eventing.knative.dev/broker/default/front';
    const send = async (id: string, token?: string) => (await postEvent(front, { id, source: '/t', type: 't' }, '', token ? { authorization: `Bearer ${token}` } : {})).status;
    assert.equal(await send('none'), 401);
    assert.equal(await send('garbage', 'not-a-jwt'), 401);
    assert.equal(await send('wrong-aud', await issuer.sign({ sub: 'svc', aud: 'eventing.knative.dev/broker/default/back' })), 401);
    assert.equal(await send('expired', await issuer.sign({ sub: 'svc', aud }, { expSeconds: -3600 })), 401);
    assert.equal(await send('untrusted-issuer', await other.sign({ sub: 'svc', aud })), 401);
    assert.equal(await send('forged-iss', await other.sign({ sub: 'svc', aud, iss: issuer.url })), 401, 'signed by a key the issuer does not publish');
    const res = await postEvent(front, { id: 'x', source: '/t', type: 't' });
    assert.match(res.body, /SLUICE_UNAUTHORIZED/);
    assert.equal(await send('good-1', await issuer.sign({ sub: 'svc', aud })), 202);
    assert.equal(await send('good-2', await issuer.sign({ sub: 'svc', aud })), 202);
    assert.equal(await send('skewed', await issuer.sign({ sub: 'svc', aud }, { expSeconds: -30 })), 202, 'within the 60 s clock skew');
    await waitFor(() => ['good-1', 'good-2', 'skewed'].every((id) => sub.ids().includes(id)), 'the accepted events, forwarded by Sluice itself into the other broker');
    assert.ok(!sub.ids().some((id) => ['none', 'garbage', 'wrong-aud', 'expired', 'untrusted-issuer', 'forged-iss'].includes(id)));
    assert.equal(issuer.jwksHits(), 1, 'the JWKS is fetched once and cached');
  } finally {
    await sluice.stop();
    await sub.close();
    issuer.close();
    other.close();
  }
});

test('with --oidc-issuer, channels and EventTransforms take only valid tokens for their audience too; own sends pass', async () => {
  const issuer = await startIssuer();
  const sub = await startSubscriber();
  const sluice = await startSluice({
    args: ['--oidc-issuer', issuer.url],
    yaml: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: front
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-channel
spec:
  broker: front
  subscriber:
    ref:
      apiVersion: messaging.knative.dev/v1
      kind: InMemoryChannel
      name: c
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: c
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: out
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: c
  subscriber:
    uri: ${sub.url}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventTransform
metadata:
  name: shape
spec:
  jsonata:
    expression: '$merge([$, {"type": "shaped"}])'
`,
  });
  try {
    const post = async (path: string, id: string, aud?: string) =>
      (await postEvent(`${sluice.url}${path}`, { id, source: '/t', type: 't' }, '{}', aud ? { authorization: `Bearer ${await issuer.sign({ sub: 'svc', aud })}` } : {})).status;
    const channelAud = 'messaging.knative.dev/inmemorychannel/default/c';
    assert.equal(await post('/channels/default/c', 'none'), 401);
    assert.equal(await post('/channels/default/c', 'wrong-aud', 'eventing.knative.dev/broker/default/front'), 401);
    assert.equal(await post('/channels/default/c', 'direct', channelAud), 202);
    assert.equal(await post('/transforms/default/shape', 'none'), 401);
    assert.equal(await post('/transforms/default/shape', 'shaped', 'eventing.knative.dev/eventtransform/default/shape'), 200);
    // The Trigger's send to the channel is one of Sluice's own: it passes without a token of the issuer.
    assert.equal(await post('/default/front', 'via-trigger', 'eventing.knative.dev/broker/default/front'), 202);
    await sub.waitForCount(2);
    assert.deepEqual(sub.ids().sort(), ['direct', 'via-trigger']);
  } finally {
    await sluice.stop();
    await sub.close();
    issuer.close();
  }
});

// OIDC sender identity on ingress (docs/security.md "OIDC"): bearer JWTs from configured issuers, for the broker's
// audience, verified against the issuer's JWKS with a bounded clock skew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postEvent, startSluice, startSubscriber, waitFor } from './harness.js';
import { broker, channel, channelRef, documents, eventTransform, subscription, trigger } from './manifests.js';
import { startIssuer } from './oidc-issuer.js';
import { brokerAudience, channelAudience, forwardingBrokers, sendEvent } from './trust-fixtures.js';

test('with --oidc-issuer, brokers take only valid tokens for their audience; keys are cached; own sends pass', async () => {
  const issuer = await startIssuer();
  const other = await startIssuer();
  const sub = await startSubscriber();
  const sluice = await startSluice({
    args: ['--oidc-issuer', issuer.url],
    yaml: forwardingBrokers('front', 'back', sub.url),
  });
  try {
    const front = `${sluice.url}/default/front`;
    const aud = brokerAudience('front');
    const send = async (id: string, token?: string) => (await sendEvent(front, id, token ? { authorization: `Bearer ${token}` } : {})).status;
    assert.equal(await send('none'), 401);
    assert.equal(await send('garbage', 'not-a-jwt'), 401);
    assert.equal(await send('wrong-aud', await issuer.sign({ sub: 'svc', aud: brokerAudience('back') })), 401);
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
    yaml: documents(
      broker('front'),
      trigger('to-channel', { broker: 'front', subscriber: channelRef('c') }),
      channel('c'),
      subscription('out', { channel: channelRef('c'), subscriber: sub.url }),
      eventTransform('shape', { expression: '$merge([$, {"type": "shaped"}])' }),
    ),
  });
  try {
    const post = async (path: string, id: string, aud?: string) => (await sendEvent(`${sluice.url}${path}`, id, aud ? await issuer.bearer('svc', aud) : {})).status;
    const channelAud = channelAudience('c');
    assert.equal(await post('/channels/default/c', 'none'), 401);
    assert.equal(await post('/channels/default/c', 'wrong-aud', brokerAudience('front')), 401);
    assert.equal(await post('/channels/default/c', 'direct', channelAud), 202);
    assert.equal(await post('/transforms/default/shape', 'none'), 401);
    assert.equal(await post('/transforms/default/shape', 'shaped', 'eventing.knative.dev/eventtransform/default/shape'), 200);
    // The Trigger's send to the channel is one of Sluice's own: it passes without a token of the issuer.
    assert.equal(await post('/default/front', 'via-trigger', brokerAudience('front')), 202);
    await sub.waitForCount(2);
    assert.deepEqual(sub.ids().sort(), ['direct', 'via-trigger']);
  } finally {
    await sluice.stop();
    await sub.close();
    issuer.close();
  }
});

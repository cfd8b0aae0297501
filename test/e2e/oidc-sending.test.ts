// OIDC on the sending side (docs/security.md "OIDC tokens on deliveries"): with --authentication-oidc enabled, each
// delivery to a destination with an `audience` carries a JWT signed by Sluice's own issuer, which real subscribers
// verify with `jose` against the discovery document and JWKS fetched over HTTP from Sluice's ingress port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { postEvent, runCli, startSluice, startSubscriber, tempDir, waitFor, type Subscriber } from './harness.js';
import { broker, channel, channelRef, documents, subscription, trigger } from './manifests.js';
import { startIssuer } from './oidc-issuer.js';
import { brokerAudience, channelAudience } from './trust-fixtures.js';

const config = (sub: Subscriber, dls: Subscriber, plain: Subscriber, chan: Subscriber): string =>
  documents(
    broker('default'),
    trigger('orders', {
      broker: 'default',
      filter: { type: 'order' },
      subscriber: { uri: sub.url, audience: 'orders-service' },
      delivery: { retry: 0, deadLetterSink: { uri: dls.url, audience: 'dead-letters' } },
    }),
    trigger('plain', { broker: 'default', subscriber: plain.url }),
    channel('c'),
    subscription('to-chan-sub', { channel: channelRef('c'), subscriber: { uri: chan.url, audience: 'channel-subscriber' } }),
  );

const bearer = (s: Subscriber, i: number): string => {
  const h = s.received[i]?.headers.authorization;
  assert.ok(typeof h === 'string' && h.startsWith('Bearer '), `request ${i} to ${s.url} has no bearer token: ${String(h)}`);
  return h.slice(7);
};

test("with --authentication-oidc enabled, deliveries to an audience carry a token subscribers verify against Sluice's JWKS", async () => {
  const sub = await startSubscriber((r) => (r.event?.attributes['id'] === 'fail' ? { status: 500 } : {}));
  const dls = await startSubscriber();
  const plain = await startSubscriber();
  const chan = await startSubscriber();
  const dir = tempDir('sluice-oidc-send-');
  // With the feature on, brokers take only OIDC tokens: the producer has one from its own issuer.
  const producer = await startIssuer();
  const auth = await producer.bearer('system:serviceaccount:default:producer', brokerAudience('default'));
  const args = ['--authentication-oidc', 'enabled', '--oidc-issuer', producer.url];
  try {
    let sluice = await startSluice({ yaml: config(sub, dls, plain, chan), dataDir: dir.path, args });
    let issuerUrl = sluice.url;
    try {
      for (const id of ['a', 'b', 'fail']) assert.equal((await postEvent(`${sluice.url}/default/default`, { id, source: '/t', type: 'order' }, '', auth)).status, 202);
      // Channels take only tokens too, for their own audience.
      const chanAuth = await producer.bearer('system:serviceaccount:default:producer', channelAudience('c'));
      assert.equal((await postEvent(`${sluice.url}/channels/default/c`, { id: 'c1', source: '/t', type: 'x' }, '', chanAuth)).status, 202);
      await sub.waitForCount(3);
      await dls.waitForCount(1);
      await chan.waitForCount(1);
      await plain.waitForCount(3);

      // The discovery document and JWKS, over HTTP from the ingress port, as any verifier fetches them.
      const discovery = (await (await fetch(`${sluice.url}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
      assert.equal(discovery.issuer, issuerUrl);
      const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
      const triggerSubject = 'system:serviceaccount:default:orders-oidc-eventing.knative.dev-trigger';
      const v1 = await jwtVerify(bearer(sub, 0), jwks, { issuer: discovery.issuer, audience: 'orders-service' });
      assert.equal(v1.payload.sub, triggerSubject);
      assert.equal(v1.protectedHeader.alg, 'ES256');
      assert.ok(v1.payload.exp! - v1.payload.iat! <= 3600, 'short-lived');
      // Reused while valid: the same token for the same audience and sender.
      assert.equal(bearer(sub, 1), bearer(sub, 0));
      const vd = await jwtVerify(bearer(dls, 0), jwks, { issuer: discovery.issuer, audience: 'dead-letters' });
      assert.equal(vd.payload.sub, triggerSubject);
      const vc = await jwtVerify(bearer(chan, 0), jwks, { issuer: discovery.issuer, audience: 'channel-subscriber' });
      assert.equal(vc.payload.sub, 'system:serviceaccount:default:to-chan-sub-oidc-messaging.knative.dev-subscription');
      // A token for one audience is refused for another.
      await assert.rejects(jwtVerify(bearer(sub, 0), jwks, { issuer: discovery.issuer, audience: 'dead-letters' }));
      // A destination without an audience gets no token.
      assert.equal(plain.received[0]!.headers.authorization, undefined);

      const keyFile = join(dir.path, 'store', 'oidc-signing-keys.json');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    } finally {
      await sluice.stop();
    }

    // After a restart the same key signs, so a token issued before it still verifies against the new JWKS.
    const before = bearer(sub, 0);
    sluice = await startSluice({ yaml: config(sub, dls, plain, chan), dataDir: dir.path, args });
    issuerUrl = sluice.url;
    try {
      const jwks = createRemoteJWKSet(new URL(`${sluice.url}/openid/v1/jwks`));
      const { payload } = await jwtVerify(before, jwks, { audience: 'orders-service' });
      assert.equal(payload.sub, 'system:serviceaccount:default:orders-oidc-eventing.knative.dev-trigger');
      assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'after', source: '/t', type: 'order' }, '', auth)).status, 202);
      await sub.waitForCount(4);
      const after = await jwtVerify(bearer(sub, 3), jwks, { issuer: issuerUrl, audience: 'orders-service' });
      assert.equal(after.protectedHeader.kid, decodeProtectedHeader(before).kid);
    } finally {
      await sluice.stop();
    }
  } finally {
    dir.remove();
    producer.close();
    await Promise.all([sub.close(), dls.close(), plain.close(), chan.close()]);
  }
});

test('off by default: an audience is reported once at start as unused, and no token is sent', async () => {
  const sub = await startSubscriber();
  const dls = await startSubscriber();
  const plain = await startSubscriber();
  const chan = await startSubscriber();
  const sluice = await startSluice({ yaml: config(sub, dls, plain, chan) });
  try {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'a', source: '/t', type: 'order' })).status, 202);
    await sub.waitForCount(1);
    assert.equal(sub.received[0]!.headers.authorization, undefined);
    const lines = sluice
      .output()
      .split('\n')
      .filter((l) => l.includes('OIDC audience'));
    assert.equal(lines.length, 1, sluice.output());
    assert.match(lines[0]!, /3 destinations set an OIDC audience, which is not used/);
    assert.equal((await fetch(`${sluice.url}/.well-known/openid-configuration`)).status, 400);

    // A live change that adds an audience says so too, naming only the new destination.
    const dir = tempDir('sluice-oidc-off-');
    try {
      const added = join(dir.path, 'added.yaml');
      writeFileSync(added, trigger('late', { broker: 'default', subscriber: { uri: plain.url, audience: 'late-service' } }));
      const applied = await runCli(['apply', '-f', added, '--server', sluice.adminUrl, '--token', sluice.adminToken]);
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      const later = await waitFor(() => {
        const l = sluice
          .output()
          .split('\n')
          .filter((x) => x.includes('OIDC audience'));
        return l.length === 2 ? l : undefined;
      }, 'a second audience warning');
      assert.match(later[1]!, /1 destination sets an OIDC audience, which is not used/);
      assert.match(later[1]!, /Trigger default\/late: spec\.subscriber/);
    } finally {
      dir.remove();
    }
  } finally {
    await sluice.stop();
    await Promise.all([sub.close(), dls.close(), plain.close(), chan.close()]);
  }
});

test('--authentication-oidc takes enabled or disabled, and the issuer flag needs it', async () => {
  const bad = await runCli(['run', '-f', 'examples/quickstart', '--authentication-oidc', 'on']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /enabled, disabled/);
  const lonely = await runCli(['run', '-f', 'examples/quickstart', '--authentication-oidc-issuer', 'https://x.example']);
  assert.equal(lonely.code, 2);
  assert.match(lonely.stderr, /--authentication-oidc-issuer needs --authentication-oidc enabled/);
});

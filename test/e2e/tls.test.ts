// HTTPS ingress and HTTPS deliveries (docs/security.md "TLS"): --tls-cert/--tls-key, reload without a restart,
// Sluice's own sends trusting its certificate, and a destination's CACerts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { startSluice, startSubscriber, tempDir, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';
import { forwardingBrokers, issueCert, makeCa, type CertFiles, needsOpenssl, peerFingerprint, postOverTls, replaceCert, selfSigned } from './trust-fixtures.js';

test('HTTPS ingress: addresses are https, own sends trust the certificate, CACerts are honoured, and a new certificate is picked up without a restart', needsOpenssl, async () => {
  const dir = tempDir();
  const ingressPair = selfSigned(dir.path, 'ingress');
  const subPair = selfSigned(dir.path, 'subscriber');
  const plain = await startSubscriber();
  const secureGot: string[] = [];
  const secure = createHttpsServer({ cert: readFileSync(subPair.cert), key: readFileSync(subPair.key) }, (req, res) => {
    req.resume();
    secureGot.push(String(req.headers['ce-id']));
    res.writeHead(202).end();
  });
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  const secureUrl = `https://127.0.0.1:${(secure.address() as AddressInfo).port}/`;
  const subCa = readFileSync(subPair.cert, 'utf8');
  const dls = await startSubscriber();
  const sluice = await startSluice({
    args: ['--tls-cert', ingressPair.cert, '--tls-key', ingressPair.key],
    yaml: documents(
      forwardingBrokers('front', 'back', plain.url),
      trigger('to-secure-trusted', { broker: 'front', filter: { type: 'secure' }, subscriber: { uri: `${secureUrl}trusted`, CACerts: subCa } }),
      broker('other'),
      trigger('to-secure-untrusted', {
        broker: 'other',
        subscriber: `https://localhost:${(secure.address() as AddressInfo).port}/untrusted`,
        delivery: { retry: 0, deadLetterSink: dls.url },
      }),
    ),
  });
  try {
    assert.match(sluice.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(sluice.url).port);
    const ca = readFileSync(ingressPair.cert, 'utf8');
    const post = (to: string, id: string, type: string, caPem: string) => postOverTls(`${sluice.url}/default/${to}`, id, type, { ca: caPem });
    assert.equal(await post('front', 'e1', 'plain', ca), 202);
    assert.equal(await post('front', 's1', 'secure', ca), 202);
    assert.equal(await post('other', 'u1', 'secure', ca), 202);
    await waitFor(() => plain.ids().includes('e1'), 'the event forwarded over HTTPS to the other broker and delivered');
    await waitFor(() => secureGot.includes('s1'), 'the delivery to the https subscriber whose CACerts are given');
    await dls.waitForCount(1);
    assert.equal(dls.received[0]!.event?.attributes['id'], 'u1', 'an https subscriber that is not trusted gets nothing');
    assert.ok(!secureGot.includes('u1'));
    // Plain HTTP on the HTTPS port gets nothing.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/default/front`, { method: 'POST' }));
    // Replace the certificate: new connections get the new one, without a restart.
    const before = await peerFingerprint(port, ca, false);
    const next = selfSigned(dir.path, 'ingress2');
    replaceCert(ingressPair, next);
    await waitFor(async () => (await peerFingerprint(port, ca, false)) !== before, 'the new certificate to be served', 10_000);
    assert.equal(await post('front', 'e2', 'plain', readFileSync(next.cert, 'utf8')), 202);
    await waitFor(() => plain.ids().includes('e2'), 'own sends trust the reloaded certificate too');
  } finally {
    await sluice.stop();
    await plain.close();
    await dls.close();
    secure.close();
    dir.remove();
  }
});

test('mTLS per broker: sluice.dev/client-cert: required takes only clients with a certificate from --tls-client-ca', needsOpenssl, async () => {
  const dir = tempDir();
  const server = selfSigned(dir.path, 'ingress');
  const clientCa = makeCa(dir.path, 'client-ca');
  const client = issueCert(dir.path, clientCa, 'client', 'clientAuth');
  const stranger = selfSigned(dir.path, 'stranger');
  const sub = await startSubscriber();
  const sluice = await startSluice({
    args: ['--tls-cert', server.cert, '--tls-key', server.key, '--tls-client-ca', clientCa.cert],
    yaml: forwardingBrokers('open', 'mtls', sub.url, { annotations: { 'sluice.dev/client-cert': 'required' } }),
  });
  try {
    const ca = readFileSync(server.cert, 'utf8');
    const post = (to: string, id: string, identity?: CertFiles) =>
      postOverTls(`${sluice.url}/default/${to}`, id, 't', identity ? { ca, cert: readFileSync(identity.cert), key: readFileSync(identity.key) } : { ca });
    assert.equal(await post('mtls', 'no-cert'), 401);
    assert.equal(await post('mtls', 'stranger', stranger), 401);
    assert.equal(await post('mtls', 'with-cert', client), 202);
    assert.equal(await post('open', 'via-open'), 202, 'a broker without the annotation needs no certificate');
    await waitFor(() => ['with-cert', 'via-open'].every((id) => sub.ids().includes(id)), 'the accepted events, one forwarded by Sluice itself');
    assert.ok(!sub.ids().includes('no-cert') && !sub.ids().includes('stranger'));
  } finally {
    await sluice.stop();
    await sub.close();
    dir.remove();
  }
});

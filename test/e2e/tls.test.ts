// HTTPS ingress and HTTPS deliveries (docs/security.md "TLS"): --tls-cert/--tls-key, reload without a restart,
// Sluice's own sends trusting its certificate, and a destination's CACerts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { startSluice, startSubscriber, tempDir, waitFor } from './harness.js';

/** A self-signed certificate for 127.0.0.1 made with openssl; returns the PEM file paths. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

function peerFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('HTTPS ingress: addresses are https, own sends trust the certificate, CACerts are honoured, and a new certificate is picked up without a restart', { skip: hasOpenssl || process.env['CI'] === 'true' ? false : 'openssl is not installed' }, async () => {
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
  name: to-plain
spec:
  broker: back
  subscriber:
    uri: ${plain.url}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-secure-trusted
spec:
  broker: front
  filter:
    attributes:
      type: secure
  subscriber:
    uri: ${secureUrl}trusted
    CACerts: |
${subCa
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: other
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-secure-untrusted
spec:
  broker: other
  subscriber:
    uri: https://localhost:${(secure.address() as AddressInfo).port}/untrusted
  delivery:
    retry: 0
    deadLetterSink:
      uri: ${dls.url}
`,
  });
  try {
    assert.match(sluice.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(sluice.url).port);
    const ca = readFileSync(ingressPair.cert, 'utf8');
    const post = async (broker: string, id: string, type: string, caPem: string): Promise<number> => {
      const res = await request(`${sluice.url}/default/${broker}`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/t', 'ce-type': type },
        body: '',
        dispatcher: new Agent({ connect: { ca: caPem } }),
      });
      await res.body.dump();
      return res.statusCode;
    };
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
    const before = await peerFingerprint(port, ca);
    const next = selfSigned(dir.path, 'ingress2');
    writeFileSync(ingressPair.key, readFileSync(next.key));
    writeFileSync(ingressPair.cert, readFileSync(next.cert));
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await peerFingerprint(port, ca);
    }
    assert.notEqual(after, before, 'the new certificate is served');
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

/** A CA and a client certificate it signed; returns PEM file paths. */
function clientPki(dir: string): { ca: string; cert: string; key: string } {
  const ca = selfSigned(dir, 'client-ca');
  const key = join(dir, 'client.key');
  const csr = join(dir, 'client.csr');
  const cert = join(dir, 'client.crt');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=producer', '-keyout', key, '-out', csr], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-out', cert], { stdio: 'ignore' });
  return { ca: ca.cert, cert, key };
}

test('mTLS per broker: sluice.dev/client-cert: required takes only clients with a certificate from --tls-client-ca', { skip: hasOpenssl || process.env['CI'] === 'true' ? false : 'openssl is not installed' }, async () => {
  const dir = tempDir();
  const server = selfSigned(dir.path, 'ingress');
  const client = clientPki(dir.path);
  const stranger = selfSigned(dir.path, 'stranger');
  const sub = await startSubscriber();
  const sluice = await startSluice({
    args: ['--tls-cert', server.cert, '--tls-key', server.key, '--tls-client-ca', client.ca],
    yaml: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: open
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: mtls
  annotations:
    sluice.dev/client-cert: required
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: forward
spec:
  broker: open
  subscriber:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: mtls
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: out
spec:
  broker: mtls
  subscriber:
    uri: ${sub.url}
`,
  });
  try {
    const ca = readFileSync(server.cert, 'utf8');
    const post = async (broker: string, id: string, identity?: { cert: string; key: string }): Promise<number> => {
      const connect = identity ? { ca, cert: readFileSync(identity.cert), key: readFileSync(identity.key) } : { ca };
      const res = await request(`${sluice.url}/default/${broker}`, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/t', 'ce-type': 't' }, body: '', dispatcher: new Agent({ connect }) });
      await res.body.dump();
      return res.statusCode;
    };
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

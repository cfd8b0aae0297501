// What the YAML may make Sluice send where (docs/security.md "What the YAML may do"): the egress guard, refs with a
// uri, and credentials in subscriber URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postEvent, startSluice, startSubscriber, waitFor } from './harness.js';
import { broker, brokerRef, documents, trigger, type Delivery, type Destination } from './manifests.js';

const triggerYaml = (subscriber: Destination, delivery?: Delivery): string => documents(broker('default'), trigger('t', { broker: 'default', subscriber, delivery }));

test('link-local and cloud metadata destinations are refused at start, in every spelling of the address', async () => {
  // Every spelling is in the unit tests of the guard (packages/delivery/test/egress-guard.test.ts); here, through the CLI.
  for (const uri of ['http://2852039166/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/']) {
    await assert.rejects(startSluice({ yaml: triggerYaml(uri) }), (err: Error) => /SLUICE_DESTINATION_FORBIDDEN|refused: (address|host) .* is denied by the egress rules/.test(err.message), uri);
  }
  // A dead-letter sink is a destination too.
  await assert.rejects(startSluice({ yaml: triggerYaml('http://127.0.0.1:9/', { deadLetterSink: 'http://169.254.170.2/creds' }) }), /is denied by the egress rules/);
});

test('--egress-allow exempts an address; --egress-deny adds one, also when a host name resolves to it', async () => {
  // Allowed explicitly: starts (nothing listens there; the point is that the guard lets it through).
  const allowed = await startSluice({ yaml: triggerYaml('http://169.254.10.1:9/'), args: ['--egress-allow', '169.254.10.0/24'] });
  await allowed.stop();
  // localhost resolves to a denied address: the delivery fails with the reason, and goes to the dead-letter sink.
  const sub = await startSubscriber();
  const dls = await new Promise<{ url: string; got: IncomingHttpHeaders[]; close: () => void }>((resolve) => {
    const got: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      req.resume();
      got.push(req.headers);
      res.writeHead(202).end();
    });
    server.listen(0, '127.0.0.2', () => resolve({ url: `http://127.0.0.2:${(server.address() as AddressInfo).port}/`, got, close: () => server.close() }));
  });
  const port = new URL(sub.url).port;
  const sluice = await startSluice({
    yaml: triggerYaml(`http://localhost:${port}/`, { retry: 0, deadLetterSink: dls.url }),
    args: ['--egress-deny', '127.0.0.1,::1'],
  });
  try {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' })).status, 202);
    await waitFor(() => dls.got.length === 1, 'the dead-lettered event');
    assert.equal(sub.received.length, 0, 'nothing reached the denied address');
    assert.match(Buffer.from(String(dls.got[0]!['ce-knativeerrordata']), 'base64').toString(), /resolves to (127\.0\.0\.1|::1).*denied by the egress rules/);
  } finally {
    await sluice.stop();
    await sub.close();
    dls.close();
  }
});

test('a ref with a protocol-relative or absolute uri cannot send to another host', async () => {
  for (const [uri, message] of [
    ['//evil.example/steal', /config\.yaml:\d+:\d+: Trigger\/t: a protocol-relative uri \(\/\/host\/…\) is not allowed when ref is present/],
    ['http://evil.example/steal', /an absolute uri is not allowed when ref is present/],
  ] as const) {
    await assert.rejects(startSluice({ yaml: triggerYaml({ ref: brokerRef('default'), uri }) }), message, uri);
  }
});

test('credentials in a subscriber URL are sent as basic auth and never logged in clear', async () => {
  const sub = await startSubscriber();
  const url = new URL(sub.url);
  const sluice = await startSluice({ yaml: triggerYaml(`http://alice:s3cr%40t@127.0.0.1:${url.port}/`), env: { SLUICE_LOG_LEVEL: 'info' } });
  try {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'auth-1', source: '/t', type: 't' })).status, 202);
    await sub.waitForCount(1);
    assert.equal(sub.received[0]!.headers['authorization'], `Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`);
    await waitFor(() => /trigger ready/.test(sluice.output()), 'the trigger log line');
    assert.match(sluice.output(), /alice:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(sluice.output(), /s3cr/);
  } finally {
    await sluice.stop();
    await sub.close();
  }
});

test('a dead-lettered event names the failed subscriber without its password (knativeerrordest): the dead-letter sink is another party', async () => {
  const failing = await startSubscriber(() => ({ status: 500 }));
  const dls = await startSubscriber();
  const port = new URL(failing.url).port;
  const sluice = await startSluice({
    yaml: triggerYaml(`http://alice:s3cr3t@127.0.0.1:${port}/`, { retry: 0, deadLetterSink: dls.url }),
  });
  try {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'dl-1', source: '/t', type: 't' })).status, 202);
    await dls.waitForCount(1);
    assert.equal(failing.received[0]!.headers['authorization'], `Basic ${Buffer.from('alice:s3cr3t').toString('base64')}`);
    assert.equal(dls.received[0]!.event?.attributes['knativeerrordest'], `http://alice:***@127.0.0.1:${port}/`);
    assert.doesNotMatch(sluice.output(), /s3cr3t/);
  } finally {
    await sluice.stop();
    await failing.close();
    await dls.close();
  }
});

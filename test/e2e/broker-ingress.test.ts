// Ingress contract (Knative's broker ingress: status codes and headers, see docs/broker.md): every status code,
// every bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { postEvent, startSluice, startSubscriber, tempDir, type SluiceProcess, type Subscriber, waitForIdle } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

let sluice: SluiceProcess;
let sub: Subscriber;
let dir: { path: string; remove: () => void };
let ingress: string;

before(async () => {
  sub = await startSubscriber();
  dir = tempDir();
  sluice = await startSluice({
    dataDir: dir.path,
    args: ['--max-body-bytes', '65536'],
    yaml: documents(broker('default'), trigger('all', { broker: 'default', subscriber: sub.url })),
  });
  ingress = `${sluice.url}/default/default`;
});

after(async () => {
  await sluice.stop();
  await sub.close();
  dir.remove();
});

const errorBody = (text: string): { code: string; message: string } => (JSON.parse(text) as { error: { code: string; message: string } }).error;

test('202 for binary, structured and batched events; 0.3 accepted unchanged', async () => {
  assert.equal((await postEvent(ingress, { id: 'b1', source: '/t', type: 't' }, '<x/>', { 'content-type': 'application/xml' })).status, 202);
  const structured = await fetch(ingress, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', id: 's1', source: '/t', type: 't', data: { a: 1 } }),
  });
  assert.equal(structured.status, 202);
  const batch = await fetch(ingress, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([1, 2, 3].map((i) => ({ specversion: '1.0', id: `batch${i}`, source: '/t', type: 't' }))),
  });
  assert.equal(batch.status, 202);
  assert.equal((await postEvent(ingress, { id: 'v03', source: '/t', type: 't' }, '', { 'ce-specversion': '0.3' })).status, 202);
  await sub.waitForCount(6);
  const ids = sub.ids();
  for (const id of ['b1', 's1', 'batch1', 'batch2', 'batch3', 'v03']) assert.ok(ids.includes(id), `${id} delivered`);
  const v03 = sub.received.find((r) => r.event?.attributes['id'] === 'v03')!;
  assert.equal(v03.event!.attributes['specversion'], '0.3', 'specversion is never upgraded');
  const xml = sub.received.find((r) => r.event?.attributes['id'] === 'b1')!;
  assert.equal(xml.headers['content-type'], 'application/xml');
  assert.equal(xml.body.toString(), '<x/>');
});

test('400 with a JSON error for invalid events, and nothing is stored', async () => {
  const before = sub.received.length;
  const cases: Array<[Record<string, string>, Record<string, string>, string | undefined]> = [
    [{ source: '/t', type: 't' }, {}, 'missing required attribute "id"'],
    [{ id: '1', type: 't' }, {}, 'missing required attribute "source"'],
    [{ id: '1', source: '/t' }, {}, 'missing required attribute "type"'],
    [{ id: '1', source: '/t', type: 't' }, { 'ce-specversion': '19.0' }, 'unsupported specversion'],
    [{ id: '1', source: '/t', type: 't', time: 'noon' }, {}, 'RFC 3339'],
  ];
  for (const [attrs, headers, message] of cases) {
    const res = await postEvent(ingress, attrs, '', headers);
    assert.equal(res.status, 400, JSON.stringify(attrs));
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.ok(errorBody(res.body).message.includes(message!), errorBody(res.body).message);
    assert.equal(errorBody(res.body).code, 'SLUICE_EVENT_INVALID');
  }
  const noSpec = await fetch(ingress, { method: 'POST', headers: { 'ce-id': '1', 'ce-source': '/t', 'ce-type': 't' } });
  assert.equal(noSpec.status, 400);
  const badJson = await fetch(ingress, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{"specversion":' });
  assert.equal(badJson.status, 400);
  assert.equal(errorBody(await badJson.text()).code, 'SLUICE_EVENT_MALFORMED');
  const badBatch = await fetch(ingress, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([
      { specversion: '1.0', id: 'ok', source: '/t', type: 't' },
      { specversion: '1.0', source: '/t', type: 't' },
    ]),
  });
  assert.equal(badBatch.status, 400, 'a batch is all or nothing');
  assert.match(errorBody(await badBatch.text()).message, /batch entry 1/);
  await waitForIdle(sluice);
  assert.equal(sub.received.length, before, 'no invalid event and no part of a bad batch was delivered');
});

test('404 unknown broker, 400 bad path, 405 other methods, OPTIONS handshake', async () => {
  const unknown = await postEvent(`${sluice.url}/default/nope`, { id: '1', source: '/t', type: 't' });
  assert.equal(unknown.status, 404);
  assert.equal(errorBody(unknown.body).code, 'SLUICE_BROKER_NOT_FOUND');
  assert.equal((await postEvent(`${sluice.url}/Default/x`, { id: '1', source: '/t', type: 't' })).status, 400);
  assert.equal((await postEvent(`${sluice.url}/a/b/c`, { id: '1', source: '/t', type: 't' })).status, 400);
  assert.equal((await fetch(`${sluice.url}/`, { method: 'POST' })).status, 404);
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    const res = await fetch(ingress, { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
  }
  const options = await fetch(ingress, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'producer.example.com' } });
  assert.equal(options.status, 200);
  assert.equal(options.headers.get('allow'), 'POST, OPTIONS');
  assert.equal(options.headers.get('webhook-allowed-origin'), 'producer.example.com');
  assert.equal(options.headers.get('webhook-allowed-rate'), '*');
});

test('413 for a body over the limit, by Content-Length and by streaming', async () => {
  const big = 'x'.repeat(70_000);
  const res = await postEvent(ingress, { id: 'big', source: '/t', type: 't' }, big);
  assert.equal(res.status, 413);
  assert.equal(errorBody(res.body).code, 'SLUICE_BODY_TOO_LARGE');
  // Chunked upload without Content-Length.
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('y'.repeat(10_000)));
      c.close();
    },
  });
  const chunked = await fetch(ingress, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': 'big2', 'ce-source': '/t', 'ce-type': 't' },
    body: stream,
    duplex: 'half',
  });
  assert.equal(chunked.status, 413);
  assert.equal((await postEvent(ingress, { id: 'fits', source: '/t', type: 't' }, 'x'.repeat(60_000))).status, 202);
});

test('health endpoints', async () => {
  assert.equal((await fetch(`${sluice.url}/livez`)).status, 200);
  assert.equal((await fetch(`${sluice.url}/readyz`)).status, 200);
  assert.equal((await fetch(`${sluice.url}/healthz`)).status, 200);
});

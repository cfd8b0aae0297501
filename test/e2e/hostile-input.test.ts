// Hostile input and connection abuse (docs/security.md "Limits"): every case is sent as an attacker on loopback would,
// gets a clean, explained refusal, and stores nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { postEvent, startSluice, startSubscriber, tempDir, waitFor, type SluiceProcess, type Subscriber } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

let sluice: SluiceProcess;
let sub: Subscriber;
let dir: { path: string; remove: () => void };
let ingress: string;
let port: number;

before(async () => {
  sub = await startSubscriber();
  dir = tempDir();
  sluice = await startSluice({
    dataDir: dir.path,
    args: ['--max-connections-per-client', '8', '--max-connections', '12', '--headers-timeout', '1s'],
    yaml: documents(broker('default'), trigger('all', { broker: 'default', subscriber: sub.url })),
  });
  ingress = `${sluice.url}/default/default`;
  port = Number(new URL(sluice.url).port);
});

after(async () => {
  await sluice.stop();
  await sub.close();
  dir.remove();
});

/** Sends raw bytes on a new connection; resolves with everything the server wrote before it closed. */
function raw(bytes: Buffer | string, from = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => s.write(bytes));
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (/\r\n\r\n/.test(out) && /content-length: (\d+)/i.test(out)) {
        const len = Number(/content-length: (\d+)/i.exec(out)![1]);
        if (Buffer.byteLength(out.slice(out.indexOf('\r\n\r\n') + 4), 'latin1') >= len) s.end();
      }
    });
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

function binaryRequest(headerLines: string[], body = ''): Buffer {
  const head = ['POST /default/default HTTP/1.1', 'host: x', `content-length: ${Buffer.byteLength(body)}`, 'connection: close', ...headerLines].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from('\r\n\r\n'), Buffer.from(body)]);
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1]);
const errorCode = (response: string): string => (JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code;
const CE = ['ce-specversion: 1.0', 'ce-id: h1', 'ce-type: t'];

test('attribute bytes that are not UTF-8 get 400; raw UTF-8 is decoded, not stored as mojibake', async () => {
  const bad = binaryRequest([...CE, 'ce-source: /x'.replace('/x', '/\xff\xfe')]);
  const res = await raw(bad);
  assert.equal(statusOf(res), 400, res);
  assert.equal(errorCode(res), 'SLUICE_EVENT_INVALID');
  const structured = Buffer.concat([Buffer.from('{"specversion":"1.0","id":"h2","source":"/s","type":"t","subject":"'), Buffer.from([0xff]), Buffer.from('"}')]);
  const res2 = await fetch(ingress, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: structured });
  assert.equal(res2.status, 400);
  assert.match(await res2.text(), /not valid UTF-8/);
  const good = await raw(binaryRequest(['ce-specversion: 1.0', 'ce-id: utf8-ok', 'ce-type: t', Buffer.from('ce-source: /café', 'utf8').toString('latin1')]));
  assert.equal(statusOf(good), 202, good);
  await waitFor(() => sub.ids().includes('utf8-ok'), 'the UTF-8 event');
  assert.equal(sub.received.find((r) => r.event?.attributes['id'] === 'utf8-ok')!.event!.attributes['source'], '/café');
});

test('an impossible ce-time and a source that is not a URI-reference get 400', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ id: 't1', source: '/x', type: 't', time: '2024-02-30T10:00:00Z' }, /real instant/],
    [{ id: 't2', source: '/x', type: 't', time: '2023-02-29T10:00:00Z' }, /real instant/],
    [{ id: 't3', source: '/x', type: 't', time: '2024-01-01T24:00:00Z' }, /real instant/],
    [{ id: 't4', source: '/x', type: 't', time: '2024-13-01T10:00:00+01:00' }, /real instant/],
    [{ id: 's1', source: 'a b', type: 't' }, /URI-reference/],
    [{ id: 's2', source: '1x:y', type: 't' }, /URI-reference/],
    [{ id: 's3', source: '/x<script>', type: 't' }, /URI-reference/],
  ];
  for (const [attrs, message] of cases) {
    const res = await postEvent(ingress, attrs);
    assert.equal(res.status, 400, JSON.stringify(attrs));
    assert.match(res.body, message);
  }
  // Leap years, leap seconds and offsets that exist are accepted.
  assert.equal((await postEvent(ingress, { id: 'leap', source: 'urn:x:y', type: 't', time: '2024-02-29T23:59:60+05:30' })).status, 202);
});

test('names over 63 characters get 400', async () => {
  const long = 'a'.repeat(64);
  for (const path of [`/default/${long}`, `/${long}/default`]) {
    const res = await postEvent(`${sluice.url}${path}`, { id: 'n1', source: '/x', type: 't' });
    assert.equal(res.status, 400, path);
    assert.match(res.body, /at most 63 characters/);
  }
});

test('JSON data nested too deeply gets 400, not 500', async () => {
  const depth = 200_000; // 400 KB of brackets, under the default 1 MiB body limit
  const body = `{"specversion":"1.0","id":"deep","source":"/s","type":"t","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const res2 = await fetch(ingress, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body });
  assert.equal(res2.status, 400);
  assert.equal(((await res2.json()) as { error: { code: string } }).error.code, 'SLUICE_EVENT_MALFORMED');
});

test('a request with more header fields than are kept is refused with 431, not accepted with extensions dropped', async () => {
  const many = Array.from({ length: 1100 }, (_, i) => `ce-x${i}: 1`);
  const res = await raw(binaryRequest([...CE, 'ce-source: /x', ...many]));
  assert.equal(statusOf(res), 431, res.slice(0, 200));
  assert.equal(errorCode(res), 'SLUICE_TOO_MANY_HEADERS');
  const fewer = Array.from({ length: 300 }, (_, i) => `ce-y${i}: 1`);
  const ok = await raw(binaryRequest(['ce-specversion: 1.0', 'ce-id: many-ext', 'ce-type: t', 'ce-source: /x', ...fewer]));
  assert.equal(statusOf(ok), 202);
  await waitFor(() => sub.ids().includes('many-ext'), 'the event with 300 extensions');
  const got = sub.received.find((r) => r.event?.attributes['id'] === 'many-ext')!.event!;
  assert.equal(got.attributes['ce-y299'.slice(3)], '1', 'every extension kept');
});

test('a client that connects and sends nothing is closed after the header timeout', async () => {
  const started = Date.now();
  const res = await raw('');
  assert.equal(statusOf(res), 408, res);
  assert.ok(Date.now() - started >= 900, 'not closed before the timeout');
});

test('connections over the per-client and global caps get a clear 503 with Retry-After, and the server recovers', async () => {
  const idle: Socket[] = [];
  const open = (from: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
      s.on('error', reject);
    });
  for (let i = 0; i < 8; i++) idle.push(await open('127.0.0.1'));
  const refused = await raw('', '127.0.0.1');
  assert.equal(statusOf(refused), 503, refused);
  assert.match(refused, /retry-after: 1/i);
  assert.equal(errorCode(refused), 'SLUICE_TOO_MANY_CONNECTIONS');
  assert.match(refused, /client 127\.0\.0\.1 has 8 connections open \(limit 8\)/);
  // Another client address (the sockets' local address) still gets in, up to the global cap of 12.
  for (let i = 0; i < 4; i++) idle.push(await open('127.0.0.2'));
  const global = await raw('', '127.0.0.3');
  assert.equal(statusOf(global), 503);
  assert.match(global, /the server has 12 connections open \(limit 12\)/);
  for (const s of idle) s.destroy();
  // Once the idle sockets are gone (the server sees the close a moment later), requests are served again.
  let status = 0;
  for (let i = 0; i < 50 && status !== 202; i++) {
    status = (await postEvent(ingress, { id: `after-${i}`, source: '/x', type: 't' }).catch(() => ({ status: 0 }))).status;
    if (status !== 202) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(status, 202);
  assert.match(sluice.output(), /connections refused/);
});

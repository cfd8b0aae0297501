import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UndiciSender } from '../src/index.js';

const event = { attributes: { specversion: '1.0', id: 'e-1', source: '/test', type: 'dev.sluice.test', datacontenttype: 'text/plain' }, data: Buffer.from('hello') };

/** A loopback server answering each request with `answer`; resolves with its URL and a way to stop it. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(Object.assign(req, { body: Buffer.concat(chunks) }), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/path?q=1`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('send posts the event in binary mode and reads the status, the headers and the body', async () => {
  let seen: { url?: string | undefined; id?: string | string[] | undefined; body?: string } = {};
  const server = await serve((req, res) => {
    seen = { url: req.url, id: req.headers['ce-id'], body: (req as IncomingMessage & { body: Buffer }).body.toString() };
    res.writeHead(200, [
      ['Content-Type', 'text/plain'],
      ['X-Twice', 'a'],
      ['X-Twice', 'b'],
    ]);
    res.end('reply body');
  });
  const sender = new UndiciSender();
  try {
    const res = await sender.send(server.url, event, { timeoutMs: 5_000 });
    assert.ok(res.ok);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.deepEqual(res.headers['x-twice'], ['a', 'b'], "repeated headers as an array, as undici's request() gives them");
    assert.equal(res.body.toString(), 'reply body');
    assert.equal(res.overLimit, undefined);
    assert.deepEqual(seen, { url: '/path?q=1', id: 'e-1', body: 'hello' });
    const empty = await sender.send(server.url, event, { timeoutMs: 5_000, maxResponseBytes: 100 });
    assert.ok(empty.ok);
  } finally {
    await sender.close();
    await server.close();
  }
});

test('a 202 without a body gives an empty body; an informational 103 before it is skipped', async () => {
  const server = await serve((_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload' });
    res.writeHead(202, { 'content-length': '0' });
    res.end();
  });
  const sender = new UndiciSender();
  try {
    const res = await sender.send(server.url, event, { timeoutMs: 5_000 });
    assert.ok(res.ok);
    assert.equal(res.status, 202);
    assert.equal(res.body.length, 0);
  } finally {
    await sender.close();
    await server.close();
  }
});

test('a body over the limit is cut at the limit and flagged, and its connection is closed', async () => {
  let closed = false;
  const server = await serve((req, res) => {
    req.socket.once('close', () => (closed = true));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(64 * 1024, 1));
    // never ends: an endless body must not hold the delivery
  });
  const sender = new UndiciSender(undefined, { maxResponseBytes: 1000 });
  try {
    const res = await sender.send(server.url, event, { timeoutMs: 5_000 });
    assert.ok(res.ok);
    assert.equal(res.overLimit, 1000);
    assert.equal(res.body.length, 1000);
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed, 'the connection of a cut response is closed');
  } finally {
    await sender.close();
    await server.close();
  }
});

test('a subscriber that does not answer in time is a failed attempt naming the timeout; a refused connection too', async () => {
  const server = await serve(() => undefined); // reads the request, never answers
  const sender = new UndiciSender();
  try {
    const res = await sender.send(server.url, event, { timeoutMs: 200 });
    assert.equal(res.ok, false);
    assert.match(res.ok ? '' : res.error.message, /timed out after 200 ms/);
  } finally {
    await server.close();
  }
  try {
    const res = await sender.send(server.url, event, { timeoutMs: 1_000 }); // the server is gone
    assert.equal(res.ok, false);
    assert.match(res.ok ? '' : String((res.error as Error & { code?: string }).code ?? res.error.message), /ECONNREFUSED|UND_ERR_SOCKET|other side closed/);
  } finally {
    await sender.close();
  }
});

test('an event is encoded once per format and a copy of it is encoded afresh', async () => {
  const seen: Array<{ id: unknown; type: unknown }> = [];
  const server = await serve((req, res) => {
    const body = (req as IncomingMessage & { body: Buffer }).body.toString();
    seen.push(req.headers['ce-id'] !== undefined ? { id: req.headers['ce-id'], type: 'binary' } : { id: (JSON.parse(body) as { id: string }).id, type: 'json' });
    res.writeHead(202).end();
  });
  const sender = new UndiciSender();
  try {
    const original = { attributes: { ...event.attributes }, data: event.data };
    await sender.send(server.url, original, { timeoutMs: 5_000 });
    await sender.send(server.url, original, { timeoutMs: 5_000, format: 'json' });
    assert.deepEqual(Object.keys(original), ['attributes', 'data'], 'the cached encodings are not enumerable properties');
    // A spread or Object.assign of a sent event is another event: it must not reuse the first one's encoding.
    await sender.send(server.url, { ...original, attributes: { ...original.attributes, id: 'e-2' } }, { timeoutMs: 5_000 });
    await sender.send(server.url, Object.assign({}, original, { attributes: { ...original.attributes, id: 'e-3' } }), { timeoutMs: 5_000, format: 'json' });
    await sender.send(server.url, original, { timeoutMs: 5_000 });
    await sender.send(server.url, Object.freeze({ attributes: { ...original.attributes, id: 'e-4' }, data: original.data }), { timeoutMs: 5_000 });
    assert.deepEqual(seen, [
      { id: 'e-1', type: 'binary' },
      { id: 'e-1', type: 'json' },
      { id: 'e-2', type: 'binary' },
      { id: 'e-3', type: 'json' },
      { id: 'e-1', type: 'binary' },
      { id: 'e-4', type: 'binary' },
    ]);
  } finally {
    await sender.close();
    await server.close();
  }
});

// EventTransform end to end through the real CLI: the shipped example (reply re-ingested by the broker, and a sink),
// failures that reach the caller's dead-letter sink with the reason, a transform as a Subscription's subscriber with a
// reply expression, and the transform's own HTTP contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanupScope, postEvent, replyHeaders, startSubscriber, type SluiceProcess } from './harness.js';
import { startSluiceIn } from './fixtures.js';
import { broker, channel, channelRef, documents, eventTransform, pingSource, subscription, transformRef, trigger } from './manifests.js';

const cleanup = cleanupScope();

const start = (yaml: string): Promise<SluiceProcess> => startSluiceIn(cleanup, { yaml }, 'SIGKILL');

const ORDER = {
  id: 'o-1',
  customer: { name: 'Ada' },
  items: [
    { price: 2.5, quantity: 2 },
    { price: 1, quantity: 3 },
  ],
};

test('the example: the summary comes back through the broker as a reply, the audit copy goes to the sink', async () => {
  const display = await startSubscriber();
  cleanup.add(() => display.close());
  const yaml = readFileSync(join(ROOT, 'examples/event-transform/transform.yaml'), 'utf8').replaceAll('http://127.0.0.1:8081/', display.url);
  const s = await start(yaml);
  const r = await postEvent(`${s.url}/default/default`, { id: 'e-1', source: '/shop', type: 'dev.example.order.created' }, JSON.stringify(ORDER));
  assert.equal(r.status, 202);
  await display.waitForCount(2);
  const byType = new Map(display.received.map((x) => [String(x.event?.attributes['type']), x]));
  const summary = byType.get('dev.example.order.summary');
  assert.ok(summary, 'summary delivered');
  assert.equal(summary.event!.attributes['id'], 'summary-e-1');
  assert.equal(summary.event!.attributes['source'], '/transforms/order-summary');
  assert.deepEqual(JSON.parse(summary.event!.data!.toString()), { order: 'o-1', customer: 'Ada', total: 8 });
  const audit = byType.get('dev.example.audit');
  assert.ok(audit, 'audit copy delivered to the sink');
  assert.equal(audit.event!.attributes['id'], 'e-1');
  assert.equal(audit.headers['content-type'], 'application/cloudevents+json; charset=utf-8', 'sent to the sink in structured mode');
  assert.deepEqual(JSON.parse(audit.event!.data!.toString()), ORDER);
});

test('an expression that fails, or yields no valid CloudEvent, is a failed delivery: the dead-letter sink gets why', async () => {
  const dls = await startSubscriber();
  cleanup.add(() => dls.close());
  const transform = (name: string, expression: string): string =>
    documents(
      eventTransform(name, { expression }),
      trigger(`via-${name}`, { broker: 'default', filter: { type: name }, subscriber: transformRef(name), delivery: { retry: 1, backoffDelay: 'PT0.01S', deadLetterSink: dls.url } }),
    );
  const yaml = documents(
    broker('default'),
    transform('throws', '$number(data.amount)'),
    transform('no-id', '{"specversion": "1.0", "type": "x", "source": "/y"}'),
    transform('nothing', 'data.missing'),
  );
  const s = await start(yaml);
  for (const type of ['throws', 'no-id', 'nothing']) {
    assert.equal((await postEvent(`${s.url}/default/default`, { id: `e-${type}`, source: '/t', type }, '{"amount":"ten"}')).status, 202);
  }
  await dls.waitForCount(3);
  const reasons = new Map(
    dls.received.map((x) => [
      String(x.event!.attributes['type']),
      { code: x.event!.attributes['knativeerrorcode'], data: Buffer.from(String(x.event!.attributes['knativeerrordata']), 'base64').toString() },
    ]),
  );
  assert.equal(reasons.get('throws')?.code, '500');
  assert.match(reasons.get('throws')!.data, /SLUICE_TRANSFORM_FAILED.*Unable to cast value to a number/);
  assert.match(reasons.get('no-id')!.data, /SLUICE_TRANSFORM_INVALID_EVENT.*missing required attribute \\"id\\"/);
  assert.match(reasons.get('nothing')!.data, /SLUICE_TRANSFORM_INVALID_EVENT.*produced nothing/);
  // The dead-letter sink receives the original event, unchanged.
  assert.deepEqual(JSON.parse(dls.received[0]!.event!.data!.toString()), { amount: 'ten' });
});

test("as a Subscription subscriber with a sink: the sink's reply goes through reply.jsonata to the Subscription's reply", async () => {
  const sink = await startSubscriber((r) => ({
    status: 200,
    headers: replyHeaders({ id: `ack-${String(r.event?.attributes['id'])}`, source: '/sink', type: 'dev.example.ack' }),
    body: JSON.stringify({ accepted: true }),
  }));
  const replies = await startSubscriber();
  cleanup.add(
    () => sink.close(),
    () => replies.close(),
  );
  const yaml = documents(
    channel('orders'),
    eventTransform('stamp', {
      sink: sink.url,
      expression: '$merge([$, {"type": "dev.example.stamped"}])',
      replyExpression: '$merge([$, {"type": "dev.example.ack.transformed", "data": {"ok": data.accepted}}])',
    }),
    subscription('stamp-orders', { channel: channelRef('orders'), subscriber: transformRef('stamp'), reply: replies.url }),
  );
  const s = await start(yaml);
  assert.equal((await postEvent(`${s.url}/channels/default/orders`, { id: 'c-1', source: '/t', type: 'dev.example.order' }, '{"n":1}')).status, 202);
  await replies.waitForCount(1);
  assert.equal(sink.received[0]!.event!.attributes['type'], 'dev.example.stamped');
  const reply = replies.received[0]!.event!;
  assert.equal(reply.attributes['id'], 'ack-c-1');
  assert.equal(reply.attributes['type'], 'dev.example.ack.transformed');
  assert.deepEqual(JSON.parse(reply.data!.toString()), { ok: true });
});

test("the transform's own address: 200 with the structured result, 400/404/405 with JSON errors", async () => {
  const s = await start(eventTransform('upper', { expression: '$merge([$, {"data": $uppercase(data)}])' }, { namespace: 'team' }));
  const url = `${s.url}/transforms/team/upper`;
  const ok = await postEvent(url, { id: '1', source: '/t', type: 't' }, 'hello', { 'content-type': 'text/plain' });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^application\/cloudevents\+json/);
  assert.deepEqual(JSON.parse(ok.body), { specversion: '1.0', id: '1', source: '/t', type: 't', datacontenttype: 'text/plain', data: 'HELLO' });
  const bad = await postEvent(url, { id: '1', source: '/t' }, '{}');
  assert.equal(bad.status, 400);
  assert.match(bad.body, /SLUICE_EVENT_INVALID.*type/);
  assert.equal((await postEvent(`${s.url}/transforms/team/nope`, { id: '1', source: '/t', type: 't' })).status, 404);
  assert.equal((await fetch(url)).status, 405);
});

test("as a dead-letter sink and as a source's sink, the transform receives, reshapes and forwards", async () => {
  const failing = await startSubscriber(() => ({ status: 500 }));
  const dls = await startSubscriber();
  const pings = await startSubscriber();
  cleanup.add(
    () => failing.close(),
    () => dls.close(),
    () => pings.close(),
  );
  const s = await start(
    documents(
      broker('default'),
      eventTransform('mark-dead', { sink: dls.url, expression: '$merge([$, {"type": "dev.example.deadletter"}])' }),
      trigger('doomed', { broker: 'default', subscriber: failing.url, delivery: { retry: 0, deadLetterSink: transformRef('mark-dead') } }),
      eventTransform('ping-shape', { sink: pings.url, expression: '$merge([$, {"type": "dev.example.tick", "subject": "from-ping"}])' }),
      pingSource('ticker', { schedule: '* * * * * *', data: '{"tick": true}', sink: transformRef('ping-shape') }),
    ),
  );
  assert.equal((await postEvent(`${s.url}/default/default`, { id: 'x-1', source: '/t', type: 'dev.example.any' }, '{"v":1}')).status, 202);
  await dls.waitForCount(1);
  const dead = dls.received[0]!.event!;
  assert.equal(dead.attributes['type'], 'dev.example.deadletter');
  assert.equal(dead.attributes['id'], 'x-1');
  assert.equal(dead.attributes['knativeerrorcode'], '500');
  await pings.waitForCount(1);
  const tick = pings.received[0]!.event!;
  assert.equal(tick.attributes['type'], 'dev.example.tick');
  assert.equal(tick.attributes['subject'], 'from-ping');
  assert.deepEqual(JSON.parse(tick.data!.toString()), { tick: true });
});

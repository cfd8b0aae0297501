// A trace followed through a broker, a reply and a dead-letter sink into a real OTLP/HTTP receiver run by the test:
// the standard OTEL_* variables point `sluice run` at it, and the test decodes what the exporter sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postEvent, replyHeaders, startSluice, startSubscriber, tempDir, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number };
}

/** An OTLP/HTTP receiver: records every export request (JSON decoded; protobuf kept raw). */
async function startOtlpReceiver() {
  const requests: Array<{ path: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      if (String(req.headers['content-type']).startsWith('application/json')) {
        const doc = JSON.parse(body.toString()) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') }).end(String(req.headers['content-type']).startsWith('application/json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    spans,
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

const yaml = (orders: string, confirmations: string, dls: string) =>
  documents(
    broker('default'),
    trigger('orders', { broker: 'default', filter: { type: 'com.example.order' }, subscriber: orders }),
    trigger('confirmations', {
      broker: 'default',
      filter: { type: 'com.example.confirmed' },
      subscriber: confirmations,
      delivery: { retry: 0, deadLetterSink: dls },
    }),
  );

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';

test('one trace: producer → ingress → delivery → reply → delivery → dead-letter sink, exported over OTLP/HTTP', async (t) => {
  const receiver = await startOtlpReceiver();
  const dir = tempDir();
  // The first subscriber answers with a reply event; the second always fails, so the reply goes to the DLS.
  const orders = await startSubscriber(() => ({ status: 200, headers: replyHeaders({ id: 'reply-1', source: '/orders', type: 'com.example.confirmed' }), body: '{}' }));
  const confirmations = await startSubscriber(() => ({ status: 500, body: 'nope' }));
  const dls = await startSubscriber();
  const sluice = await startSluice({
    yaml: yaml(orders.url, confirmations.url, dls.url),
    dataDir: dir.path,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'sluice-e2e' },
  });
  t.after(async () => {
    await sluice.stop();
    await Promise.all([orders.close(), confirmations.close(), dls.close(), receiver.close()]);
    dir.remove();
  });

  const res = await postEvent(`${sluice.url}/default/default`, { id: 'order-1', source: '/shop', type: 'com.example.order' }, '{}', {
    traceparent: `00-${TRACE_ID}-${PRODUCER_SPAN}-01`,
    tracestate: 'shop=1',
  });
  assert.equal(res.status, 202);
  await dls.waitForCount(1);
  await waitFor(() => receiver.spans.some((s) => s.name.startsWith('dead-letter')), 'the dead-letter span at the receiver', 20_000);

  assert.ok(
    receiver.requests.every((r) => r.path === '/v1/traces'),
    'OTLP/HTTP traces path',
  );
  const byName = (prefix: string): OtlpSpan => {
    const found = receiver.spans.filter((s) => s.name.startsWith(prefix));
    assert.equal(found.length, 1, `one ${prefix} span, got ${receiver.spans.map((s) => s.name).join(', ')}`);
    return found[0]!;
  };
  const ingress = byName('ingress default/default');
  const deliverOrders = byName('deliver default/orders');
  const reply = byName('reply default/orders');
  const deliverConfirmations = byName('deliver default/confirmations');
  const deadLetter = byName('dead-letter default/confirmations');
  for (const s of [ingress, deliverOrders, reply, deliverConfirmations, deadLetter]) assert.equal(s.traceId.toLowerCase(), TRACE_ID, `${s.name} is in the producer's trace`);

  // Parent links: producer → ingress → delivery → reply → next delivery → dead-letter.
  assert.equal(ingress.parentSpanId, PRODUCER_SPAN);
  assert.equal(deliverOrders.parentSpanId, ingress.spanId);
  assert.equal(reply.parentSpanId, deliverOrders.spanId);
  assert.equal(deliverConfirmations.parentSpanId, reply.spanId);
  assert.equal(deadLetter.parentSpanId, reply.spanId);
  assert.equal(ingress.kind, 2, 'SERVER');
  assert.equal(deliverOrders.kind, 3, 'CLIENT');
  assert.equal(reply.kind, 4, 'PRODUCER');
  assert.equal(attr(deliverOrders, 'cloudevents.event_id'), 'order-1');
  assert.equal(attr(deliverOrders, 'http.response.status_code'), 200);
  assert.equal(attr(deliverConfirmations, 'http.response.status_code'), 500);
  assert.equal(deliverConfirmations.status?.code, 2, 'a failed attempt is an error span');
  assert.equal(attr(reply, 'cloudevents.event_id'), 'reply-1');

  // Every hop got the context of the span that sent it, as the traceparent header.
  assert.equal(orders.received[0]!.headers['traceparent'], `00-${TRACE_ID}-${deliverOrders.spanId}-01`);
  assert.equal(confirmations.received[0]!.headers['traceparent'], `00-${TRACE_ID}-${deliverConfirmations.spanId}-01`);
  assert.equal(dls.received[0]!.headers['traceparent'], `00-${TRACE_ID}-${deadLetter.spanId}-01`);
  // The distributed-tracing extension carries the context the event started with in the broker.
  assert.equal(orders.received[0]!.event?.attributes['traceparent'], `00-${TRACE_ID}-${ingress.spanId}-01`);
  assert.equal(dls.received[0]!.event?.attributes['traceparent'], `00-${TRACE_ID}-${reply.spanId}-01`);
  assert.equal(dls.received[0]!.event?.attributes['knativeerrorcode'], '500');
});

test("tracing off (the default): no export, and the producer's context still reaches the subscriber unchanged", async (t) => {
  const receiver = await startOtlpReceiver();
  const dir = tempDir();
  const orders = await startSubscriber();
  const sluice = await startSluice({ yaml: yaml(orders.url, orders.url, orders.url), dataDir: dir.path, env: { OTEL_BSP_SCHEDULE_DELAY: '100' } });
  t.after(async () => {
    await Promise.all([orders.close(), receiver.close()]);
    dir.remove();
  });
  const traceparent = `00-${TRACE_ID}-${PRODUCER_SPAN}-01`;
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'o', source: '/shop', type: 'com.example.order' }, '{}', { traceparent })).status, 202);
  await orders.waitForCount(1);
  assert.equal(orders.received[0]!.headers['traceparent'], traceparent);
  assert.equal(orders.received[0]!.event?.attributes['traceparent'], traceparent);
  assert.equal(await sluice.stop(), 0);
  assert.equal(receiver.requests.length, 0);
});

test('the default OTLP protocol is http/protobuf; unsupported OTEL settings are a one-line error, exit 2', async (t) => {
  const receiver = await startOtlpReceiver();
  const dir = tempDir();
  const orders = await startSubscriber();
  const sluice = await startSluice({
    yaml: yaml(orders.url, orders.url, orders.url),
    dataDir: dir.path,
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  t.after(async () => {
    await Promise.all([orders.close(), receiver.close()]);
    dir.remove();
  });
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'o', source: '/shop', type: 'com.example.order' }, '{}', { traceparent: `00-${TRACE_ID}-${PRODUCER_SPAN}-01` })).status, 202);
  await orders.waitForCount(1);
  assert.equal(await sluice.stop(), 0, 'spans are flushed on shutdown');
  assert.ok(receiver.requests.length > 0);
  assert.equal(receiver.requests[0]!.headers['content-type'], 'application/x-protobuf');
  assert.ok(
    receiver.requests.some((r) => r.body.includes(Buffer.from(TRACE_ID, 'hex'))),
    'the trace id is in the protobuf export',
  );

  const bad = tempDir();
  t.after(() => bad.remove());
  await assert.rejects(
    startSluice({ yaml: yaml(orders.url, orders.url, orders.url), dataDir: bad.path, env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } }),
    /exited with 2[\s\S]*OTLP protocol "grpc" is not supported; set OTEL_EXPORTER_OTLP_PROTOCOL to http\/protobuf/,
  );
});

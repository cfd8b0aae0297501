import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDelivery, type CloudEvent, type DispatchMetrics, type Logger, type Metrics, type SpanAttributes, type Tracer } from '@sluice/core';
import type { AttemptResponse, EventSender, SendOptions } from '@sluice/delivery';
import { SubscriberHealth, DeliveryDispatcher, admitEvent, type SubscriptionTarget } from '../src/index.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function scripted(answers: AttemptResponse[]) {
  const calls: Array<{ url: string; event: CloudEvent; options: SendOptions }> = [];
  const sender: EventSender = {
    async send(url, event, options) {
      calls.push({ url, event, options });
      return answers[Math.min(calls.length - 1, answers.length - 1)]!;
    },
    async close() {},
  };
  return { sender, calls };
}
const ok = (status = 202, headers: Record<string, string> = {}): AttemptResponse => ({ ok: true, status, headers, body: Buffer.alloc(0) });

function target(retry: number, dls: boolean): SubscriptionTarget {
  return {
    key: 'default/orders',
    namespace: 'default',
    subscriberUrl: 'http://sub/',
    deadLetterUrl: dls ? 'http://dls/' : undefined,
    delivery: resolveDelivery({ retry, backoffDelay: 'PT1S' }, undefined),
    filter: () => true,
    labels: { broker: 'default', kind: 'Trigger' },
  };
}

function recordingMetrics() {
  const calls: string[] = [];
  const d: DispatchMetrics = {
    attempt: (type, status) => calls.push(`attempt ${type} ${status}`),
    processing: () => calls.push('processing'),
    deadLetterAttempt: (status) => calls.push(`dls ${status}`),
    dropped: (reason) => calls.push(`dropped ${reason}`),
  };
  let labels: unknown;
  const metrics: Metrics = {
    ingress: () => ({ event() {} }),
    dispatch: (l) => ((labels = l), d),
    store: { write() {}, groupCommit() {}, checkpoint() {} },
  };
  return { metrics, calls, labels: () => labels };
}

function recordingLogger() {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug: (obj, msg) => lines.push({ level: 'debug', msg: msg ?? '', obj: obj as Record<string, unknown> }),
    info: (obj, msg) => lines.push({ level: 'info', msg: msg ?? '', obj: obj as Record<string, unknown> }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg: msg ?? '', obj: obj as Record<string, unknown> }),
    error: (obj, msg) => lines.push({ level: 'error', msg: msg ?? '', obj: obj as Record<string, unknown> }),
    child: () => logger,
  };
  return { logger, lines };
}

const stored = (attrs: Record<string, string> = {}): CloudEvent =>
  admitEvent({ attributes: { specversion: '1.0', id: 'e1', source: '/s', type: 'com.example', ...attrs }, data: Buffer.from('{}') }, Date.now() - 5);

test('metrics: attempts by type and status, processing latency once, drops without a dead-letter sink', async () => {
  const { sender } = scripted([ok(503)]);
  const { metrics, calls, labels } = recordingMetrics();
  const { logger } = recordingLogger();
  const d = new DeliveryDispatcher({ ...target(1, false), deadLetterStore: 'off' }, { sender, handleReply: async () => {}, now: Date.now, logger, metrics });
  assert.deepEqual(labels(), { namespace: 'default', broker: 'default', trigger: 'orders', kind: 'Trigger' });
  const first = await d.handle({ seq: 1, attempt: 0, event: stored() });
  assert.equal(first.kind, 'retry');
  assert.deepEqual(d.figures(), { inFlight: 0, retrying: 1 });
  assert.deepEqual(await d.handle({ seq: 1, attempt: 1, event: stored() }), { kind: 'done' });
  assert.deepEqual(d.figures(), { inFlight: 0, retrying: 0 });
  assert.deepEqual(calls, ['processing', 'attempt com.example 503', 'attempt com.example 503', 'dropped no_dead_letter_sink']);
});

test('trace context: the stored traceparent goes to the subscriber and the dead-letter sink as headers when tracing is off', async () => {
  const { sender, calls } = scripted([ok(500), ok(202)]);
  const { logger } = recordingLogger();
  const d = new DeliveryDispatcher(target(0, true), { sender, handleReply: async () => {}, now: Date.now, logger });
  const event = admitEvent({ attributes: { specversion: '1.0', id: 'e1', source: '/s', type: 't' }, data: undefined }, Date.now(), undefined, { traceparent: TP, tracestate: 'k=v' });
  assert.equal(event.attributes['traceparent'], TP, 'stored as the distributed-tracing extension');
  await d.handle({ seq: 1, attempt: 0, event });
  assert.equal(calls[0]!.options.headers!['traceparent'], TP);
  assert.equal(calls[0]!.options.headers!['tracestate'], 'k=v');
  assert.equal(calls[1]!.url, 'http://dls/');
  assert.equal(calls[1]!.options.headers!['traceparent'], TP);
  assert.equal(calls[1]!.event.attributes['traceparent'], TP, 'the dead-letter event keeps the extension');
  // An event that carries its own context keeps it.
  const own = admitEvent({ attributes: { specversion: '1.0', id: 'e2', source: '/s', type: 't', traceparent: TP }, data: undefined }, Date.now(), undefined, {
    traceparent: TP.replace('b7ad', 'aaaa'),
  });
  assert.equal(own.attributes['traceparent'], TP);
});

test('tracing on: one client span per attempt (child of the event context), a reply span, the reply carries its context', async () => {
  const spans: Array<{ name: string; kind: string; parent: string | undefined; attributes: SpanAttributes; error?: string | undefined; id: string }> = [];
  let n = 0;
  const tracer: Tracer = {
    enabled: true,
    startSpan(name, kind, parent, attributes) {
      const id = (++n).toString(16).padStart(16, '0');
      const span = { name, kind, parent: parent?.traceparent, attributes: { ...attributes }, id, error: undefined as string | undefined };
      spans.push(span);
      return {
        context: { traceparent: `00-0af7651916cd43dd8448eb211c80319c-${id}-01` },
        setAttributes: (a) => Object.assign(span.attributes, a),
        end: (error) => void (span.error = error),
      };
    },
  };
  const replyHeaders = { 'ce-specversion': '1.0', 'ce-id': 'r1', 'ce-source': '/sub', 'ce-type': 'reply', 'content-type': 'application/json' };
  const { sender, calls } = scripted([ok(200, replyHeaders)]);
  const replies: CloudEvent[] = [];
  const { logger } = recordingLogger();
  const d = new DeliveryDispatcher(target(0, false), { sender, handleReply: async (r) => void replies.push(r), now: Date.now, logger, tracer });
  await d.handle({ seq: 1, attempt: 0, event: stored({ traceparent: TP }) });
  assert.equal(spans.length, 2);
  assert.deepEqual([spans[0]!.name, spans[0]!.kind, spans[0]!.parent], ['deliver default/orders', 'client', TP]);
  assert.equal(spans[0]!.attributes['cloudevents.event_id'], 'e1');
  assert.equal(spans[0]!.attributes['http.response.status_code'], 200);
  assert.equal(calls[0]!.options.headers!['traceparent'], `00-0af7651916cd43dd8448eb211c80319c-${spans[0]!.id}-01`, 'the subscriber sees the attempt span');
  assert.deepEqual([spans[1]!.name, spans[1]!.kind, spans[1]!.parent], ['reply default/orders', 'producer', `00-0af7651916cd43dd8448eb211c80319c-${spans[0]!.id}-01`]);
  assert.equal(replies[0]!.attributes['traceparent'], `00-0af7651916cd43dd8448eb211c80319c-${spans[1]!.id}-01`);
});

test('a failing subscriber: warn at the first failure, a summary at most every interval, one line on recovery', () => {
  const { logger, lines } = recordingLogger();
  let now = 0;
  const h = new SubscriberHealth(
    logger,
    { trigger: 'default/orders', subscriber: 'http://sub/' },
    () => now,
    () => 50,
    30_000,
  );
  h.failed({ status: 503, reason: 'HTTP 503' });
  for (let t = 1000; t < 30_000; t += 1000) {
    now = t;
    h.failed({ status: 503, reason: 'HTTP 503' });
  }
  assert.deepEqual(
    lines.map((l) => l.level),
    ['warn'],
  );
  assert.match(lines[0]!.msg, /^subscriber http:\/\/sub\/ failing: 503$/);
  now = 30_000;
  h.failed({ status: undefined, reason: 'connect ECONNREFUSED' });
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.msg, 'subscriber http://sub/ failing for 30 s, 50 events retrying, last connect ECONNREFUSED');
  now = 31_000;
  h.failed({ status: 503, reason: 'HTTP 503' });
  assert.equal(lines.length, 2, 'rate-limited');
  now = 45_000;
  h.succeeded();
  h.succeeded();
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.level, 'info');
  assert.match(lines[2]!.msg, /recovered after 45 s and 32 failed attempts/);
  assert.equal(lines[2]!.obj['trigger'], 'default/orders');
});

test('a failing dead-letter sink: one error line per streak (each refusal only at debug), one line when it accepts again', async () => {
  const { sender } = scripted([ok(500), ok(503), ok(503), ok(202)]);
  const { logger, lines } = recordingLogger();
  const d = new DeliveryDispatcher(target(0, true), { sender, handleReply: async () => {}, now: Date.now, logger });
  const first = await d.handle({ seq: 1, attempt: 0, event: stored() }); // subscriber 500, then the DLS refuses (503)
  assert.equal(first.kind, 'retry');
  const again = await d.handle({ seq: 1, attempt: (first as { attempt: number }).attempt, event: (first as { event: CloudEvent }).event }); // DLS 503
  assert.equal(again.kind, 'retry');
  assert.deepEqual(await d.handle({ seq: 1, attempt: (again as { attempt: number }).attempt, event: (again as { event: CloudEvent }).event }), { kind: 'done' });
  const dls = lines.filter((l) => l.msg.startsWith('dead-letter sink http') && l.level !== 'debug');
  assert.deepEqual(
    dls.map((l) => [l.level, l.msg]),
    [
      ['error', 'dead-letter sink http://dls/ failing: 503'],
      ['info', 'dead-letter sink http://dls/ recovered after 0 s and 2 failed attempts'],
    ],
  );
  assert.equal(lines.filter((l) => l.msg === 'dead-letter sink refused the event; will retry').length, 2, 'each refusal at debug');
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { toDeliveryPolicy, type CloudEvent, type SourceMetrics } from '@sluice/core';
import { UndiciSender } from '@sluice/delivery';
import { startSubscriber, type Reply, type Subscriber } from '@sluice/testing';
import { SinkDelivery, type DeadLetterTarget, type SinkDeliveryOptions } from '../src/sink-delivery.js';
import { captureLogger } from './helpers.js';

const EVENT: CloudEvent = {
  attributes: { specversion: '1.0', id: 'e-1', source: '/src', type: 'com.example.t' },
  data: Buffer.from('{}'),
};

/** Counts what the source metrics were told, in order. */
function recordingMetrics(): SourceMetrics & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    sent: (_s, _t, status) => calls.push(`sent ${status}`),
    retried: (_s, _t, status) => calls.push(`retried ${status}`),
    deadLettered: () => calls.push('dead-lettered'),
  };
}

async function subscriber(t: TestContext, respond: (index: number) => Reply): Promise<Subscriber> {
  const s = await startSubscriber((_r, i) => respond(i));
  t.after(() => s.close());
  return s;
}

type TestOptions = Pick<SinkDeliveryOptions, 'logger' | 'metrics'> & ({ readonly undelivered: 'answer' } | { readonly undelivered: 'keep'; readonly deadLetter?: DeadLetterTarget });

/** A delivery to `url` in namespace team-a on a sender closed after the test: two attempts per event (one retry), no waiting between them. */
function sinkDelivery(t: TestContext, url: string, options: TestOptions): SinkDelivery {
  const sender = new UndiciSender();
  t.after(() => sender.close());
  return new SinkDelivery({
    namespace: 'team-a',
    policy: toDeliveryPolicy({ retry: 1 }),
    sleep: async () => {},
    sender,
    url,
    ...options,
  });
}

test("answer: the sink's last answer comes back as a value, with the attempts counted in the source metrics", async (t) => {
  const sink = await subscriber(t, (i) => (i === 0 ? { status: 503 } : { status: 202 }));
  const metrics = recordingMetrics();
  const delivery = sinkDelivery(t, sink.url, { undelivered: 'answer', metrics });
  assert.deepEqual(await delivery.deliver(EVENT), { kind: 'accepted', status: 202, attempts: 2 });
  assert.deepEqual(metrics.calls, ['retried 503', 'sent 202']);
  assert.equal(sink.received[1]!.headers['kn-namespace'], 'team-a');
});

test('answer: a refusal is one warn line with status, body excerpt and event id; a caller that keeps trying counts it as a retry', async (t) => {
  const sink = await subscriber(t, () => ({
    status: 400,
    headers: { 'content-type': 'text/plain' },
    body: 'no\nthanks',
  }));
  const logger = captureLogger();
  const metrics = recordingMetrics();
  const delivery = sinkDelivery(t, sink.url, { undelivered: 'answer', logger, metrics });
  const outcome = await delivery.deliver(EVENT, { keepTrying: true });
  assert.deepEqual(outcome, {
    kind: 'undelivered',
    status: 400,
    retryable: false,
    reason: 'HTTP 400',
    excerpt: 'no thanks',
    attempts: 1,
  });
  assert.deepEqual(metrics.calls, ['sent 400'], 'a refusal is final: an outcome, not a retry');
  assert.deepEqual(
    logger.lines.map((l) => `${l.level} ${l.msg}`),
    ['warn sink refused event e-1: HTTP 400 after 1 attempt: no thanks'],
  );

  const down = await subscriber(t, () => ({ status: 503 }));
  const retrying = sinkDelivery(t, down.url, { undelivered: 'answer', metrics });
  metrics.calls.length = 0;
  assert.equal((await retrying.deliver(EVENT, { keepTrying: true })).kind, 'undelivered');
  assert.deepEqual(metrics.calls, ['retried 503', 'retried 503']);
});

test('keep: without a dead-letter sink, an event the sink refused for good is kept (undelivered), not dropped', async (t) => {
  const sink = await subscriber(t, () => ({ status: 400 }));
  const logger = captureLogger();
  const delivery = sinkDelivery(t, sink.url, { undelivered: 'keep', logger });
  const outcome = await delivery.deliver(EVENT);
  assert.equal(outcome.kind, 'undelivered');
  assert.equal(sink.received.length, 1);
  assert.deepEqual(
    logger.lines.map((l) => `${l.level} ${l.msg}`),
    ['warn sink did not accept the event and there is no dead-letter sink: keeping it to retry later'],
  );
});

test('keep: the dead-letter sink gets the event with the error attributes; if it fails too, the event is kept', async (t) => {
  const sink = await subscriber(t, () => ({ status: 500, body: 'boom' }));
  const dls = await subscriber(t, (i) => (i < 2 ? { status: 503 } : { status: 202 }));
  const metrics = recordingMetrics();
  const logger = captureLogger();
  const delivery = sinkDelivery(t, sink.url, { undelivered: 'keep', deadLetter: { url: dls.url }, logger, metrics });

  const first = await delivery.deliver(EVENT);
  assert.equal(first.kind, 'undelivered', 'both dead-letter attempts answered 503');
  assert.equal(logger.lines.at(-1)!.msg, 'dead-letter sink did not accept the event either: keeping it to retry later');

  const second = await delivery.deliver(EVENT);
  assert.deepEqual(second, {
    kind: 'dead-lettered',
    status: 500,
    retryable: true,
    reason: 'HTTP 500',
    excerpt: 'boom',
    attempts: 2,
  });
  const letter = dls.received[2]!.event!;
  assert.equal(letter.attributes['knativeerrorcode'], '500');
  assert.equal(letter.attributes['knativeerrordest'], sink.url);
  assert.equal(Buffer.from(String(letter.attributes['knativeerrordata']), 'base64').toString(), 'boom');
  assert.equal(logger.lines.at(-1)!.msg, 'event dead-lettered');
  // The sink's sends are metered, the dead-letter sink's are not; the dead-lettering is.
  assert.deepEqual(metrics.calls, ['retried 500', 'sent 500', 'retried 500', 'sent 500', 'dead-lettered']);
});

test('keep: a stopped source keeps the event without trying the dead-letter sink', async (t) => {
  const sink = await subscriber(t, () => ({ status: 503 }));
  const dls = await subscriber(t, () => ({ status: 202 }));
  const logger = captureLogger();
  const delivery = sinkDelivery(t, sink.url, { undelivered: 'keep', deadLetter: { url: dls.url }, logger });
  const stop = new AbortController();
  stop.abort();
  const outcome = await delivery.deliver(EVENT, { signal: stop.signal });
  assert.equal(outcome.kind, 'undelivered');
  assert.equal(sink.received.length, 1, 'no retry once stopped');
  assert.equal(dls.received.length, 0);
  assert.deepEqual(logger.lines, []);
});

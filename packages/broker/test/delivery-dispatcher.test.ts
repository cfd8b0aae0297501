import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noopLogger, resolveDelivery, type CloudEvent } from '@sluice/core';
import type { AttemptResponse, EventSender, SendOptions } from '@sluice/delivery';
import { DeliveryDispatcher, type DispatcherDeps, type SubscriptionTarget } from '../src/index.js';

/** A scripted sender: answers each call from the list, recording what was sent where. */
function scripted(answers: Array<AttemptResponse | ((url: string) => AttemptResponse)>) {
  const calls: Array<{ url: string; event: CloudEvent; options: SendOptions }> = [];
  const sender: EventSender = {
    async send(url, event, options) {
      calls.push({ url, event, options });
      const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
      return typeof a === 'function' ? a(url) : a;
    },
    async close() {},
  };
  return { sender, calls };
}

const ok = (status = 202, headers = {}, body = ''): AttemptResponse => ({ ok: true, status, headers, body: Buffer.from(body) });
const event: CloudEvent = { attributes: { specversion: '1.0', id: 'e1', source: '/s', type: 't', knativebrokerttl: 10 }, data: Buffer.from('{}') };
const record = (attempt = 0, e = event) => ({ seq: 1, attempt, event: e });

function target(delivery: Parameters<typeof resolveDelivery>[0], dls = true): SubscriptionTarget {
  return {
    key: 'default/t',
    namespace: 'default',
    subscriberUrl: 'http://sub/',
    deadLetterUrl: dls ? 'http://dls/' : undefined,
    delivery: resolveDelivery(delivery, undefined),
    filter: () => true,
  };
}

const deps = (sender: EventSender, handleReply: DispatcherDeps['handleReply'] = async () => {}): DispatcherDeps => ({ sender, handleReply, now: () => 1000, logger: noopLogger });

test('success: the subscriber gets the event without the TTL, with Prefer: reply and Kn-Namespace', async () => {
  const { sender, calls } = scripted([ok()]);
  const d = await new DeliveryDispatcher(target({ retry: 2 }), deps(sender)).handle(record());
  assert.deepEqual(d, { kind: 'done' });
  assert.equal(calls[0]!.event.attributes['knativebrokerttl'], undefined);
  assert.deepEqual(calls[0]!.options.headers, { prefer: 'reply', 'kn-namespace': 'default' });
});

test('a retryable failure schedules the next attempt at now + backoff', async () => {
  const { sender } = scripted([ok(503)]);
  const d = await new DeliveryDispatcher(target({ retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT1S' }), deps(sender)).handle(record(1));
  assert.deepEqual(d, { kind: 'retry', attempt: 2, dueAt: 1000 + 2000 });
});

test('exhausted retries go to the dead-letter sink with the error extensions, at once', async () => {
  const { sender, calls } = scripted([ok(500, {}, 'boom'), ok(202)]);
  const d = await new DeliveryDispatcher(target({ retry: 1 }), deps(sender)).handle(record(1));
  assert.deepEqual(d, { kind: 'done' });
  assert.equal(calls[1]!.url, 'http://dls/');
  assert.equal(calls[1]!.event.attributes['knativeerrorcode'], '500');
  assert.equal(calls[1]!.event.attributes['knativeerrordest'], 'http://sub/');
  assert.equal(Buffer.from(String(calls[1]!.event.attributes['knativeerrordata']), 'base64').toString(), 'boom');
  assert.deepEqual(calls[1]!.options.headers, { 'kn-namespace': 'default' }, 'no Prefer: reply to the dead-letter sink');
});

test('a refusing dead-letter sink is retried with the dead-letter event kept, never dropped', async () => {
  const { sender } = scripted([ok(400), ok(503)]);
  const d = await new DeliveryDispatcher(target({ retry: 0, backoffDelay: 'PT1S' }), deps(sender)).handle(record(0));
  assert.equal(d.kind, 'retry');
  if (d.kind !== 'retry') return;
  assert.equal(d.attempt, 2);
  assert.equal(d.event?.attributes['knativeerrorcode'], '400');
  // The stored dead-letter form is what the next attempt sends, to the dead-letter sink only.
  const second = scripted([ok(202)]);
  const d2 = await new DeliveryDispatcher(target({ retry: 0 }), deps(second.sender)).handle(record(d.attempt, d.event));
  assert.deepEqual(d2, { kind: 'done' });
  assert.equal(second.calls[0]!.url, 'http://dls/');
});

test('without a dead-letter sink an exhausted event is kept in the dead-letter store with its error and times', async () => {
  const { sender, calls } = scripted([ok(500, {}, 'boom')]);
  const d = await new DeliveryDispatcher(target({ retry: 1 }, false), deps(sender)).handle({ ...record(1), firstAttemptAt: 500 });
  assert.equal(calls.length, 1);
  assert.equal(d.kind, 'dead-letter');
  if (d.kind !== 'dead-letter') return;
  assert.deepEqual([d.reason, d.attempts, d.firstAttemptAt, d.lastAttemptAt], ['HTTP 500', 2, 500, 1000]);
  assert.equal(d.event.attributes['knativeerrorcode'], '500');
  assert.equal(d.event.attributes['knativeerrordest'], 'http://sub/');
  assert.equal(Buffer.from(String(d.event.attributes['knativeerrordata']), 'base64').toString(), 'boom');
});

test('with the dead-letter store off an exhausted event is dropped, as Knative does', async () => {
  const { sender, calls } = scripted([ok(500)]);
  assert.deepEqual(await new DeliveryDispatcher({ ...target({ retry: 0 }, false), deadLetterStore: 'off' }, deps(sender)).handle(record()), { kind: 'done' });
  assert.equal(calls.length, 1);
});

test('with the dead-letter store set to always, what the dead-letter sink accepted is kept too', async () => {
  const { sender, calls } = scripted([ok(500), ok(202)]);
  const d = await new DeliveryDispatcher({ ...target({ retry: 0 }), deadLetterStore: 'always' }, deps(sender)).handle(record());
  assert.deepEqual(
    calls.map((c) => c.url),
    ['http://sub/', 'http://dls/'],
  );
  assert.equal(d.kind, 'dead-letter');
  if (d.kind === 'dead-letter') assert.equal(d.reason, 'HTTP 500; the dead-letter sink accepted it');
});

test('a reply is handed over with the remaining TTL; a failing hand-over fails the delivery', async () => {
  const reply = ok(200, { 'ce-specversion': '1.0', 'ce-id': 'r', 'ce-source': '/r', 'ce-type': 'reply' }, 'x');
  const got: CloudEvent[] = [];
  const { sender } = scripted([reply]);
  await new DeliveryDispatcher(
    target({ retry: 1 }),
    deps(sender, async (e) => void got.push(e)),
  ).handle(record());
  assert.equal(got[0]!.attributes['id'], 'r');
  assert.equal(got[0]!.attributes['knativebrokerttl'], 10);
  const failing = scripted([reply]);
  const d = await new DeliveryDispatcher(
    target({ retry: 1, backoffDelay: 'PT1S' }),
    deps(failing.sender, async () => Promise.reject(new Error('disk full'))),
  ).handle(record());
  assert.deepEqual(d, { kind: 'retry', attempt: 1, dueAt: 2000, firstAttemptAt: 1000 });
});

test('circuit breaker: after N failures records wait without an attempt, then one probe; a success releases the rest', async () => {
  let now = 1000;
  const timers: Array<{ at: number; fn: () => void }> = [];
  const breakerTimers = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => timers.push({ at: now + ms, fn }),
    clearTimeout: () => undefined,
  };
  let healthy = false;
  const { sender, calls } = scripted([(url) => (healthy ? ok(202) : { ok: false, error: new Error(`connect ECONNREFUSED ${url}`) })]);
  const t = { ...target({ retry: 3, backoffDelay: 'PT1S' }, false), circuitBreaker: { failures: 2, backoffMs: 5000, maxBackoffMs: 5000 } };
  const circuitChanges: string[] = [];
  const d = new DeliveryDispatcher(t, { ...deps(sender), now: () => now, breakerTimers, onCircuitChange: (c) => circuitChanges.push(`${c.role}:${c.state}`) });
  // Two failures spend one attempt each and open the circuit.
  assert.deepEqual(((await d.handle(record(0))) as { attempt: number }).attempt, 1);
  assert.deepEqual(((await d.handle(record(1))) as { attempt: number }).attempt, 2);
  assert.equal(d.circuits()[0]!.state, 'open');
  // While open, records (new ones and retries alike) wait: no attempt is made.
  const waiting = [d.handle(record(0)), d.handle(record(2)), d.handle(record(3))];
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.length, 2);
  assert.equal(d.circuits()[0]!.waiting, 3);
  // The backoff ends while the subscriber is back: the probe succeeds and everyone goes through.
  healthy = true;
  now += 5000;
  timers.shift()!.fn();
  assert.deepEqual(await Promise.all(waiting), [{ kind: 'done' }, { kind: 'done' }, { kind: 'done' }], 'no waiting record spent its retry budget');
  assert.equal(calls.length, 5);
  assert.deepEqual(circuitChanges, ['subscriber:open', 'subscriber:half-open', 'subscriber:closed']);
});

test('circuit breaker: closing the dispatcher hands waiting records back at their current attempt', async () => {
  const { sender } = scripted([ok(503)]);
  const t = { ...target({ retry: 5 }, false), circuitBreaker: { failures: 1, backoffMs: 60_000, maxBackoffMs: 60_000 } };
  const d = new DeliveryDispatcher(t, deps(sender));
  assert.equal((await d.handle(record(0))).kind, 'retry');
  const waiting = d.handle(record(4));
  d.close();
  assert.deepEqual(await waiting, { kind: 'retry', attempt: 4, dueAt: 1000 });
});

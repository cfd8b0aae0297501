import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { waitFor } from '@sluice/testing';
import { loadKafkajs } from '../src/index.js';

const require = createRequire(import.meta.url);

/** kafkajs' per-connection request queue (kafkajs 2.2), as far as these tests drive it. */
interface RequestQueue {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  readonly pending: readonly unknown[];
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A request queue of kafkajs as loadKafkajs() gives it, one request in flight at most, destroyed after the test. */
function queueFor(t: TestContext): RequestQueue {
  loadKafkajs();
  const RequestQueueClass = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => RequestQueue;
  const queue = new RequestQueueClass({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: '127.0.0.1:1', logger: quiet });
  t.after(() => queue.destroy());
  return queue;
}

/** Pushes request `correlationId`; `sent()` says whether the queue sent it. */
function push(queue: RequestQueue, correlationId: number): { sent: () => boolean } {
  let sent = false;
  const entry = { correlationId, apiKey: 0, apiName: 'Produce', apiVersion: 3, resolve: () => undefined, reject: () => undefined };
  queue.push({ entry, expectResponse: true, sendRequest: () => void (sent = true) });
  return { sent: () => sent };
}

const answer = (queue: RequestQueue, correlationId: number): void => queue.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });

test('an answered request leaves no timer behind when nothing waits and nothing is throttled (kafkajs polled every 1 ms)', (t) => {
  const queue = queueFor(t);
  const one = push(queue, 1);
  assert.ok(one.sent());
  answer(queue, 1);
  assert.equal(queue.throttleCheckTimeoutId, null, 'a check of the held-back requests was scheduled with none held back');
});

test('a request held back by the in-flight limit is sent when the one before it is answered', (t) => {
  const queue = queueFor(t);
  push(queue, 1);
  const two = push(queue, 2);
  assert.equal(two.sent(), false);
  assert.notEqual(queue.throttleCheckTimeoutId, null, 'a held-back request schedules a check');
  answer(queue, 1);
  assert.ok(two.sent());
  answer(queue, 2);
  assert.equal(queue.pending.length, 0);
});

test('a request held back by a broker throttle is sent once the throttle is over', async (t) => {
  const queue = queueFor(t);
  push(queue, 1);
  queue.maybeThrottle(30);
  answer(queue, 1);
  // Throttled with nothing held back: kafkajs' check at the throttle's end is kept.
  assert.notEqual(queue.throttleCheckTimeoutId, null);
  const two = push(queue, 2);
  assert.equal(two.sent(), false, 'held back while throttled');
  await waitFor(() => two.sent(), 'the held-back request sent after the throttle', 5_000);
  answer(queue, 2);
  await waitFor(() => queue.throttleCheckTimeoutId === null, 'no check left once the throttle is over and nothing waits', 5_000);
});

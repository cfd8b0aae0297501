import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, classifyStatus, parseIsoDuration, parseRetryAfter, resolveDelivery, retryDelayMs, toDeliveryPolicy } from '../src/index.js';

test('ISO-8601 durations', () => {
  assert.equal(parseIsoDuration('PT0.2S'), 200);
  assert.equal(parseIsoDuration('PT1M30S'), 90_000);
  assert.equal(parseIsoDuration('P1DT1H'), 90_000_000);
  for (const bad of ['', 'P', 'PT', '1s', 'PT-1S', 'PTS']) assert.throws(() => parseIsoDuration(bad), /invalid ISO-8601 duration/);
});

test('backoff: linear d, 2d, 3d; exponential d, 2d, 4d', () => {
  const lin = toDeliveryPolicy({ retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' });
  const exp = toDeliveryPolicy({ retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT1S' });
  assert.deepEqual(
    [1, 2, 3].map((k) => backoffMs(lin, k)),
    [1000, 2000, 3000],
  );
  assert.deepEqual(
    [1, 2, 3].map((k) => backoffMs(exp, k)),
    [1000, 2000, 4000],
  );
});

test('status classes follow Knative', () => {
  assert.deepEqual([200, 202, 299].map(classifyStatus), ['success', 'success', 'success']);
  assert.deepEqual([404, 408, 409, 429, 500, 503].map(classifyStatus), ['retry', 'retry', 'retry', 'retry', 'retry', 'retry']);
  assert.deepEqual([301, 400, 401, 403, 422].map(classifyStatus), ['final', 'final', 'final', 'final', 'final']);
});

test('Retry-After is honoured on 429/503 only when retryAfterMax is set, and capped by it', () => {
  const p = toDeliveryPolicy({ retry: 2, backoffDelay: 'PT0.1S', retryAfterMax: 'PT5S' });
  assert.equal(retryDelayMs(p, 1, 429, 3000), 3000);
  assert.equal(retryDelayMs(p, 1, 503, 60_000), 5000);
  assert.equal(retryDelayMs(p, 1, 500, 3000), 100);
  assert.equal(retryDelayMs(toDeliveryPolicy({ retry: 2, backoffDelay: 'PT0.1S' }), 1, 429, 3000), 100);
  assert.equal(parseRetryAfter('7', 0), 7000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
});

test('a trigger that sets any option replaces the broker delivery; the dead-letter sink falls back', () => {
  const broker = { retry: 5, backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://dls' } };
  const r1 = resolveDelivery({ retry: 1 }, broker);
  assert.equal(r1.policy.retry, 1);
  assert.equal(r1.policy.backoffDelayMs, 200, 'broker backoffDelay is not merged in');
  assert.deepEqual(r1.deadLetterSink, { uri: 'http://dls' });
  const r2 = resolveDelivery({ deadLetterSink: { uri: 'http://t' } }, broker);
  assert.equal(r2.policy.retry, 5);
  assert.deepEqual(r2.deadLetterSink, { uri: 'http://t' });
});

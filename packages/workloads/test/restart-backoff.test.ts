import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESTART_BACKOFF, RestartBackoff } from '../src/restart-backoff.js';

test('doubles from the initial delay up to the cap', () => {
  const b = new RestartBackoff();
  assert.deepEqual(DEFAULT_RESTART_BACKOFF, { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 });
  const delays = Array.from({ length: 9 }, () => b.next(10));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
});

test('a healthy run resets the backoff', () => {
  const b = new RestartBackoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 5000 });
  assert.deepEqual([b.next(0), b.next(0), b.next(0)], [100, 200, 400]);
  assert.equal(b.next(5000), 100);
  assert.equal(b.next(4999), 200);
});

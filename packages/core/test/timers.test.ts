import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, settleWithin, sleep } from '../src/index.js';

test('Backoff doubles from the first wait up to the cap, and starts over after reset', () => {
  const b = new Backoff(500, 3000);
  assert.equal(b.peek(), 500);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [500, 1000, 2000, 3000, 3000]);
  b.reset();
  assert.equal(b.next(), 500);
  assert.deepEqual([new Backoff().next(), new Backoff().peek()], [1000, 1000]);
});

test('sleep ends early, without an error, when its signal aborts (and at once when it already has)', async () => {
  const abort = new AbortController();
  const long = sleep(60_000, abort.signal);
  abort.abort();
  await long; // resolves instead of keeping the test waiting a minute
  await sleep(60_000, abort.signal);
  await sleep(1);
});

test('settleWithin ends when the work settles (resolved or rejected) and clears its timer; else at its bound', async () => {
  const set: unknown[] = [];
  const cleared: unknown[] = [];
  let fire: (() => void) | undefined;
  const timers = {
    setTimeout(fn: () => void) {
      fire = fn;
      const handle = Symbol('timer');
      set.push(handle);
      return handle;
    },
    clearTimeout(handle: unknown) {
      cleared.push(handle);
    },
  };
  await settleWithin(Promise.resolve('done'), 10_000, timers);
  await settleWithin(Promise.reject(new Error('refused')), 10_000, timers);
  assert.deepEqual(cleared, set, 'each timer is cleared once its work settled');
  let ended = false;
  const waiting = settleWithin(new Promise(() => undefined), 5000, timers).then(() => (ended = true));
  await sleep(1);
  assert.equal(ended, false, 'work that never settles is waited for until the bound');
  fire!();
  await waiting;
  assert.equal(ended, true);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { circuitBreakerProblems, circuitBreakerSettings, CIRCUIT_BREAKER_DEFAULTS } from '@sluice/core';
import { BREAKER_SHUT, CircuitBreaker, attemptVerdict, type BreakerTimers, type CircuitState, type Permit } from '../src/index.js';

/** A manual clock: timers fire only when the test advances time. */
function manualTimers() {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let nextId = 0;
  const t: BreakerTimers & { advance(ms: number): void; pending(): number } = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(h) {
      timers = timers.filter((x) => x.id !== h);
    },
    advance(ms) {
      now += ms;
      for (;;) {
        const due = timers.filter((x) => x.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((x) => x !== due);
        due.fn();
      }
    },
    pending: () => timers.length,
  };
  return t;
}

const settings = { failures: 3, backoffMs: 1000, maxBackoffMs: 4000 };

function breaker(s = settings) {
  const timers = manualTimers();
  const changes: Array<{ from: CircuitState; to: CircuitState }> = [];
  const b = new CircuitBreaker('http://sub/', s, (snap, from) => changes.push({ from, to: snap.state }), timers);
  return { b, timers, changes };
}

const permitNow = (b: CircuitBreaker): Permit => {
  const p = b.acquire();
  assert.ok(!(p instanceof Promise), 'a closed circuit grants a permit at once');
  return p;
};

/** Whether a promise settled within the current macrotask. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let out: { done: boolean; value?: T } = { done: false };
  void p.then((value) => (out = { done: true, value }));
  await new Promise((r) => setImmediate(r));
  return out;
}

test('opens after N consecutive failures; a success in between resets the count', async () => {
  const { b, changes } = breaker();
  for (const v of ['failure', 'failure', 'success', 'failure', 'failure'] as const) b.record(permitNow(b), v);
  assert.equal(b.snapshot().state, 'closed');
  assert.equal(b.snapshot().consecutiveFailures, 2);
  b.record(permitNow(b), 'failure');
  assert.equal(b.snapshot().state, 'open');
  assert.equal(b.snapshot().probeAt, 1000);
  assert.deepEqual(changes, [{ from: 'closed', to: 'open' }]);
});

test('while open callers wait; after the backoff one probe goes; its success closes and releases everyone', async () => {
  const { b, timers, changes } = breaker();
  for (let i = 0; i < 3; i++) b.record(permitNow(b), 'failure');
  const waiting = [b.acquire(), b.acquire(), b.acquire()] as Array<Promise<Permit | typeof BREAKER_SHUT>>;
  assert.ok(waiting.every((w) => w instanceof Promise));
  assert.equal(b.snapshot().waiting, 3);
  for (const w of waiting) assert.equal((await settled(w)).done, false, 'nobody passes an open circuit');
  timers.advance(999);
  assert.equal((await settled(waiting[0]!)).done, false);
  timers.advance(1);
  const probe = await settled(waiting[0]!);
  assert.equal(probe.done, true);
  assert.equal((probe.value as Permit).probe, true);
  assert.equal((await settled(waiting[1]!)).done, false, 'only one probe at a time');
  b.record(probe.value as Permit, 'success');
  assert.equal(b.snapshot().state, 'closed');
  assert.equal((await settled(waiting[1]!)).done, true);
  assert.equal((await settled(waiting[2]!)).done, true);
  assert.deepEqual(
    changes.map((c) => c.to),
    ['open', 'half-open', 'closed'],
  );
});

test('a failed probe reopens for twice as long, capped', async () => {
  const { b, timers } = breaker();
  for (let i = 0; i < 3; i++) b.record(permitNow(b), 'failure');
  const expected = [2000, 4000, 4000];
  for (const backoff of [1000, ...expected.slice(0, -1)]) {
    const w = b.acquire() as Promise<Permit>;
    timers.advance(backoff);
    const p = await w;
    assert.equal(p.probe, true);
    b.record(p, 'failure');
    assert.equal(b.snapshot().state, 'open');
    assert.equal(b.snapshot().probeAt, timers.now() + expected.shift()!);
  }
  assert.equal(b.snapshot().opened, 4);
});

test('results of attempts that started before the circuit opened do not count again', async () => {
  const { b } = breaker();
  const early = Array.from({ length: 10 }, () => permitNow(b));
  for (const p of early) b.record(p, 'failure');
  assert.equal(b.snapshot().opened, 1, 'ten failures in flight open the circuit once');
  assert.equal(b.snapshot().state, 'open');
});

test('half-open with nobody waiting: the next caller is the probe', async () => {
  const { b, timers } = breaker();
  for (let i = 0; i < 3; i++) b.record(permitNow(b), 'failure');
  timers.advance(1000);
  assert.equal(b.snapshot().state, 'half-open');
  const probe = permitNow(b);
  assert.equal(probe.probe, true);
  assert.ok(b.acquire() instanceof Promise, 'the second caller waits for the probe');
  b.record(probe, 'success');
  assert.equal(b.snapshot().state, 'closed');
});

test('shut releases waiters with BREAKER_SHUT and stops the timer', async () => {
  const { b, timers } = breaker();
  for (let i = 0; i < 3; i++) b.record(permitNow(b), 'failure');
  const w = b.acquire() as Promise<unknown>;
  b.shut();
  assert.equal(await w, BREAKER_SHUT);
  assert.equal(timers.pending(), 0);
  assert.equal(await b.acquire(), BREAKER_SHUT);
});

test('failures: 0 turns the breaker off', () => {
  const { b } = breaker({ ...settings, failures: 0 });
  for (let i = 0; i < 100; i++) b.record(permitNow(b), 'failure');
  assert.equal(b.snapshot().state, 'closed');
});

test('verdicts: transport errors, 5xx, 408 and 429 are failures; other answers show the destination alive', () => {
  const fail = (status: number | undefined) => ({ kind: 'retry' as const, status, body: undefined, reason: 'x', retryAfterMs: undefined });
  assert.equal(attemptVerdict({ kind: 'success', status: 202, reply: undefined }), 'success');
  for (const s of [undefined, 500, 503, 408, 429]) assert.equal(attemptVerdict(fail(s)), 'failure', String(s));
  for (const s of [400, 404, 413]) assert.equal(attemptVerdict({ ...fail(s), kind: 'final' }), 'success', String(s));
});

test('settings: Trigger annotations win over the Broker, which wins over the defaults; bad values are reported', () => {
  assert.deepEqual(circuitBreakerSettings(undefined, undefined), CIRCUIT_BREAKER_DEFAULTS);
  assert.deepEqual(circuitBreakerSettings({ 'sluice.dev/circuit-breaker-failures': '2' }, { 'sluice.dev/circuit-breaker-failures': '9', 'sluice.dev/circuit-breaker-backoff': 'PT5S' }), {
    failures: 2,
    backoffMs: 5000,
    maxBackoffMs: 30_000,
  });
  assert.equal(circuitBreakerSettings({ 'sluice.dev/circuit-breaker-backoff': 'PT1M' }, undefined).maxBackoffMs, 60_000, 'the cap is never below the first backoff');
  const problems = circuitBreakerProblems({ 'sluice.dev/circuit-breaker-failures': 'five', 'sluice.dev/circuit-breaker-max-backoff': '30s' });
  assert.deepEqual(
    problems.map((p) => p.annotation),
    ['sluice.dev/circuit-breaker-failures', 'sluice.dev/circuit-breaker-max-backoff'],
  );
  assert.deepEqual(circuitBreakerProblems({ 'sluice.dev/circuit-breaker-failures': '0', 'sluice.dev/circuit-breaker-backoff': 'PT0.5S' }), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronScheduler } from '../src/cron-scheduler.js';
import { isScheduleProblem, parseSchedule, type Schedule } from '../src/cron-schedule.js';
import { ManualTime } from './helpers.js';

function schedule(expr: string): Schedule {
  const s = parseSchedule(expr, 'UTC');
  if (isScheduleProblem(s)) throw new Error(s.message);
  return s;
}

const T0 = Date.parse('2026-03-01T00:00:00.500Z');

test('ticks at each fire time with the injected clock and timers', () => {
  const time = new ManualTime(T0);
  const ticks: number[] = [];
  const sched = new CronScheduler(schedule('*/2 * * * * *'), (t) => ticks.push(t), { now: time.clock, timers: time });
  assert.equal(sched.start(), Date.parse('2026-03-01T00:00:02Z'));
  assert.equal(time.pending()[0]!.ms, 1500);
  time.advanceTo(Date.parse('2026-03-01T00:00:07Z'));
  assert.deepEqual(
    ticks.map((t) => new Date(t).toISOString()),
    ['2026-03-01T00:00:02.000Z', '2026-03-01T00:00:04.000Z', '2026-03-01T00:00:06.000Z'],
  );
  sched.stop();
  time.advanceTo(Date.parse('2026-03-01T00:01:00Z'));
  assert.equal(ticks.length, 3);
  assert.equal(time.pending().length, 0);
});

test('a timer that fires early waits for the rest instead of ticking', () => {
  const time = new ManualTime(T0);
  const ticks: number[] = [];
  const sched = new CronScheduler(schedule('0 * * * * *'), (t) => ticks.push(t), { now: time.clock, timers: time });
  sched.start();
  const first = time.pending()[0]!;
  first.cancelled = true;
  time.now = first.at - 3; // the wall clock lags the timer by 3 ms
  first.fn();
  assert.equal(ticks.length, 0);
  assert.equal(time.pending()[0]!.ms, 3);
  time.advanceTo(first.at);
  assert.equal(ticks.length, 1);
  sched.stop();
});

test('missed fire times are not replayed after a stall', () => {
  const time = new ManualTime(T0);
  const ticks: number[] = [];
  const sched = new CronScheduler(schedule('* * * * * *'), (t) => ticks.push(t), { now: time.clock, timers: time });
  sched.start();
  const first = time.pending()[0]!;
  first.cancelled = true;
  time.now = first.at + 10_000; // the event loop was blocked for 10 s
  first.fn();
  assert.equal(ticks.length, 1);
  assert.equal(time.pending()[0]!.at, first.at + 11_000);
  sched.stop();
});

// The consumer watchdog: kafkajs 2.2.4 can stop consuming without a CRASH event, so GroupConsumer recreates a
// consumer that shows no sign of life, or that gets nothing from a partition that has records. Unit tests with a
// scripted stand-in for kafkajs's consumer and a fake clock (the real-cluster case is in
// test/e2e/kafka-cluster-faults.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '@sluice/core';
import type { StoreTimers } from '@sluice/store';
import type { Kafka } from 'kafkajs';
import { GroupConsumer, type GroupConsumerSettings } from '../src/group-consumer.js';

const EVENTS = {
  GROUP_JOIN: 'consumer.group_join',
  CRASH: 'consumer.crash',
  FETCH: 'consumer.fetch',
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
};

/** A kafkajs consumer that does nothing unless told: the test emits its instrumentation events. */
class ScriptedConsumer {
  readonly events = EVENTS;
  readonly listeners = new Map<string, Array<(e: { payload: unknown }) => void>>();
  running = false;
  disconnected = false;
  on(event: string, fn: (e: { payload: unknown }) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }
  emit(event: string, payload: unknown = {}): void {
    for (const fn of this.listeners.get(event) ?? []) fn({ payload });
  }
  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(): Promise<void> {
    this.running = true;
  }
  pause(): void {}
  resume(): void {}
  async commitOffsets(): Promise<void> {}
  async disconnect(): Promise<void> {
    this.disconnected = true;
    this.running = false;
  }
}

class FakeClock implements StoreTimers {
  #now = 1_000_000;
  #next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time forward, firing due timers in order (and letting promises settle after each). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Logged {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function recordingLogger(into: Logged[]): Logger {
  const log =
    (level: string) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      into.push({ level, obj, msg: msg ?? '' });
    };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

const SETTINGS: GroupConsumerSettings = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
  rebalanceTimeoutMs: 30_000,
  maxWaitTimeMs: 100,
  commitIntervalMs: 50,
  retryWindow: 1000,
  stallTimeoutMs: 60_000,
};

function setup(positions: Map<number, { end: number; committed: number }>) {
  const clock = new FakeClock();
  const consumers: ScriptedConsumer[] = [];
  const logged: Logged[] = [];
  const kafka = {
    consumer: () => {
      const c = new ScriptedConsumer();
      consumers.push(c);
      return c;
    },
  } as unknown as Kafka;
  let positionReads = 0;
  const group = new GroupConsumer({
    kafka,
    groupId: 'g',
    topic: 'log',
    retryTopic: 'g-retry',
    options: { maxInFlight: 10 },
    handler: async () => ({ kind: 'done' }),
    timers: clock,
    logger: recordingLogger(logged),
    settings: SETTINGS,
    firstInit: Promise.resolve(),
    init: async () => undefined,
    produce: async () => undefined,
    readMarkers: async () => new Map(),
    deadLetter: async () => undefined,
    readPositions: async (topic) => {
      positionReads++;
      return topic === 'log' ? positions : new Map();
    },
  });
  return { clock, consumers, logged, group, positionReads: () => positionReads };
}

const stalled = (logged: Logged[]): Logged[] => logged.filter((l) => l.level === 'warn' && l.msg.includes('stalled'));

test('a consumer whose client goes silent is recreated; one that fetches is left alone', async () => {
  const { clock, consumers, logged, group } = setup(new Map([[0, { end: 0, committed: 0 }]]));
  await settle();
  assert.equal(consumers.length, 1);
  assert.ok(consumers[0]!.running);
  consumers[0]!.emit(EVENTS.GROUP_JOIN, { memberAssignment: { log: [0] } });
  // Fetching every 5 s for two minutes: alive, and partition 0 has nothing to read.
  for (let i = 0; i < 24; i++) {
    await clock.advance(5000);
    consumers[0]!.emit(EVENTS.FETCH);
  }
  assert.equal(consumers.length, 1, 'a fetching consumer is not recreated');
  assert.deepEqual(stalled(logged), []);
  // Silent from now on (as a kafkajs runner that ended without a CRASH event).
  await clock.advance(61_000);
  await clock.advance(15_000);
  assert.equal(consumers.length, 2, 'a new consumer was made');
  assert.ok(consumers[0]!.disconnected, 'the stuck one was disconnected');
  assert.ok(consumers[1]!.running, 'the new one runs');
  assert.equal(stalled(logged).length, 1);
  assert.match(String(stalled(logged)[0]!.obj['reason']), /no fetch, heartbeat or group join for (6\d|7[0-5]) s \(last: fetch\)/);
  assert.equal(group.watchdogRestarts, 1);
  // Events of the replaced consumer no longer count; the new one is watched in turn.
  consumers[1]!.emit(EVENTS.GROUP_JOIN, { memberAssignment: { log: [0] } });
  for (let i = 0; i < 24; i++) {
    await clock.advance(5000);
    consumers[1]!.emit(EVENTS.HEARTBEAT);
  }
  assert.equal(consumers.length, 2);
  await group.close(100);
});

test('a partition that has records but gives no batch is recreated, although the client keeps fetching', async () => {
  const positions = new Map([
    [0, { end: 0, committed: 0 }],
    [1, { end: 120, committed: 80 }],
  ]);
  const { clock, consumers, logged, group, positionReads } = setup(positions);
  await settle();
  consumers[0]!.emit(EVENTS.GROUP_JOIN, { memberAssignment: { log: [0, 1] } });
  for (let i = 0; i < 20; i++) {
    await clock.advance(5000);
    consumers[0]!.emit(EVENTS.FETCH);
  }
  assert.ok(positionReads() > 0, 'the positions were read');
  assert.equal(consumers.length, 2, 'recreated');
  const reason = String(stalled(logged)[0]?.obj['reason']);
  assert.match(reason, /log\/1 at 80 of 120/);
  assert.doesNotMatch(reason, /log\/0/, 'an idle partition with nothing to read is not called stuck');
  await group.close(100);
});

test('idle partitions with nothing to read never trigger a restart', async () => {
  const { clock, consumers, logged, group, positionReads } = setup(
    new Map([
      [0, { end: 50, committed: 50 }],
      [1, { end: 7, committed: 7 }],
    ]),
  );
  await settle();
  consumers[0]!.emit(EVENTS.GROUP_JOIN, { memberAssignment: { log: [0, 1] } });
  for (let i = 0; i < 60; i++) {
    await clock.advance(5000);
    consumers[0]!.emit(EVENTS.FETCH);
  }
  assert.ok(positionReads() >= 3, `checked repeatedly (${positionReads()} reads in 5 minutes)`);
  assert.ok(positionReads() <= 10, `but not at every tick (${positionReads()} reads in 5 minutes)`);
  assert.equal(consumers.length, 1);
  assert.deepEqual(stalled(logged), []);
  await group.close(100);
});

test('close stops the watchdog: no timer is left behind', async () => {
  const { clock, consumers, group } = setup(new Map());
  await settle();
  consumers[0]!.emit(EVENTS.GROUP_JOIN, { memberAssignment: { log: [0] } });
  await clock.advance(20_000);
  await group.close(100);
  assert.equal(clock.timers.size, 0, 'no timer left');
  await clock.advance(300_000);
  assert.equal(consumers.length, 1, 'nothing restarted after close');
});

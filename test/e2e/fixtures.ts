// Helpers several end-to-end test files share beyond the test-support package (./harness.js): a subscriber closed
// with the file or test, the CLI pointed at a running sluice's admin API, the sink Broker the "sink applied later"
// source tests add, and the archive replay scenario both broker classes run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  ROOT,
  SLUICE_BIN,
  runCli,
  startSluice,
  startSubscriber,
  tempDir,
  type CleanupScope,
  type Received,
  type Reply,
  type SluiceProcess,
  type StartSluiceOptions,
  type Subscriber,
} from './harness.js';
import { broker, documents, trigger } from './manifests.js';

/** Starts a recording subscriber that `cleanup` closes. */
export async function startSubscriberIn(cleanup: CleanupScope, respond?: (received: Received, index: number) => Reply): Promise<Subscriber> {
  const s = await startSubscriber(respond);
  cleanup.add(() => s.close());
  return s;
}

/**
 * Starts `sluice run` (see startSluice) that `cleanup` stops, with `stopSignal` (SIGKILL where a graceful stop is not
 * what the test is about). A data directory startSluice made is removed then, or if the process never got ready.
 */
export async function startSluiceIn(cleanup: CleanupScope, options: StartSluiceOptions, stopSignal: NodeJS.Signals = 'SIGTERM'): Promise<SluiceProcess> {
  const sluice = await startSluice(options);
  cleanup.add(() => sluice.stop(stopSignal));
  return sluice;
}

/** A recording subscriber and a temporary directory, both removed after test `t`. */
export async function subscriberAndDir(t: TestContext, respond?: (received: Received, index: number) => Reply): Promise<{ sub: Subscriber; dir: { path: string; remove: () => void } }> {
  const sub = await startSubscriber(respond);
  t.after(sub.close);
  const dir = tempDir();
  t.after(dir.remove);
  return { sub, dir };
}

/** The CLI run against `sluice`'s admin API with its token, as `(...args) => result`. */
export function adminCli(sluice: Pick<SluiceProcess, 'adminUrl' | 'adminToken'>, options: { timeoutMs?: number } = {}): (...args: string[]) => ReturnType<typeof runCli> {
  return (...args) => runCli([...args, '--server', sluice.adminUrl, '--token', sluice.adminToken], options);
}

/**
 * Adds, with `sluice apply` to a running sluice, the sink Broker a source was declared with before it existed and a
 * Trigger of it to `uri` (the file is written into `dir`); asserts the apply succeeded.
 */
export async function applySinkBrokerLater(
  sluice: Pick<SluiceProcess, 'adminUrl' | 'adminToken'>,
  dir: string,
  names: { readonly broker: string; readonly trigger: string },
  uri: string,
): Promise<void> {
  const file = join(dir, 'later.yaml');
  writeFileSync(file, documents(broker(names.broker), trigger(names.trigger, { broker: names.broker, subscriber: uri })));
  const r = await adminCli(sluice)('apply', '-f', file);
  assert.equal(r.code, 0, r.stderr);
}

/** A `sluice tail` process: its stdout lines and stderr so far. */
export interface Tail {
  readonly child: ChildProcess;
  lines(): string[];
  stderr(): string;
  readonly exited: Promise<number | null>;
}

/** Spawns `sluice tail ARGS` against the admin API at `admin` as a user runs it; `cleanup` kills it if still running. */
export function startTail(cleanup: CleanupScope, args: readonly string[], admin: string): Tail {
  const child = spawn(process.execPath, [SLUICE_BIN, 'tail', ...args], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_ADMIN: admin },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup.add(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, lines: () => out.split('\n').filter((l) => l !== ''), stderr: () => err, exited };
}

/** The event id of a delivery. */
const idOf = (r: Received): unknown => r.event!.attributes['id'];

/**
 * An archived broker with two triggers, and a time range of it: the order.created events in the range (with one
 * order.cancelled among them) reach `orders` (filtered on type order.created) and `all` (no filter).
 */
export interface ReplayRange {
  readonly sluice: SluiceProcess;
  readonly broker: string;
  /** The name of the trigger whose subscriber is `orders`. */
  readonly ordersTrigger: string;
  readonly orders: Subscriber;
  readonly all: Subscriber;
  readonly from: string;
  readonly to: string;
  /** How many order.created events the range holds. */
  readonly ordersInRange: number;
  /** Sends one live order.created event with this id and asserts it was accepted. */
  sendLive(id: string): Promise<void>;
}

/**
 * `sluice replay --trigger` of the range to the orders trigger while three live events are sent: asserts the
 * summary, that the live events got through unmarked and that the other trigger got no replay. Returns the replayed
 * deliveries (marked sluicereplay), for the caller's order checks.
 */
export async function replayToOneTrigger(range: ReplayRange): Promise<Received[]> {
  const { orders, all, ordersInRange: n } = range;
  const ordersBefore = orders.received.length;
  const allBefore = all.received.length;
  // Live traffic while the replay runs (20 deliveries/s).
  const replay = adminCli(range.sluice)('replay', `broker:${range.broker}`, '--from', range.from, '--to', range.to, '--trigger', range.ordersTrigger, '--rate', '20');
  for (let i = 0; i < 3; i++) await range.sendLive(`live-${i}`);
  const r = await replay;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`events ${n + 1}, replayed ${n}, failed 0`));
  const replayed = orders.received.slice(ordersBefore).filter((x) => x.headers['ce-sluicereplay'] === '1');
  await orders.waitForCount(ordersBefore + n + 3);
  const live = orders.received.slice(ordersBefore).filter((x) => String(idOf(x)).startsWith('live-'));
  assert.equal(live.length, 3, 'live traffic was delivered during the replay');
  for (const x of live) assert.equal(x.headers['ce-sluicereplay'], undefined);
  await all.waitForCount(allBefore + 3);
  assert.equal(all.received.slice(allBefore).filter((x) => x.headers['ce-sluicereplay'] !== undefined).length, 0, 'the other trigger got no replay');
  return replayed;
}

/**
 * `sluice replay --filter "type = 'order.cancelled'"` of the range to every trigger: asserts the summary (one event,
 * replayed once) and returns what each subscriber received from the start of the replay on.
 */
export async function replayCancelledToEveryTrigger(range: ReplayRange): Promise<{ orders: () => Received[]; all: () => Received[] }> {
  const { orders, all } = range;
  const allBefore = all.received.length;
  const ordersBefore = orders.received.length;
  const r = await adminCli(range.sluice)('replay', `broker:${range.broker}`, '--from', range.from, '--to', range.to, '--filter', "type = 'order.cancelled'");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /events 1, replayed 1, failed 0/);
  return { orders: () => orders.received.slice(ordersBefore), all: () => all.received.slice(allBefore) };
}

// The dead-letter store end to end, through the CLI as an operator uses it: events whose delivery is exhausted with
// no dead-letter sink are kept (not dropped), listed and filtered (trigger, type, CESQL), shown with their error,
// replayed to the subscriber (or elsewhere) at a bounded rate with the sluicereplay extension, put back when they fail
// again, and purged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { cleanupScope, runCli, startSluice, startSubscriber, postEvent, tempDir, waitFor } from './harness.js';
import { adminCli } from './fixtures.js';
import { broker, documents, trigger } from './manifests.js';

const cleanup = cleanupScope();

interface ListedLetter {
  id: number;
  trigger: string;
  reason: string;
  attempts: number;
  replays: number;
  event: { attributes: Record<string, unknown>; data?: string };
}

test('dlq list, show, replay and purge through the CLI', async () => {
  let down = true;
  const sub = await startSubscriber(() => (down ? { status: 503, body: 'maintenance' } : { status: 202 }));
  cleanup.add(() => sub.close());
  const other = await startSubscriber();
  cleanup.add(() => other.close());
  // Retries are short and the circuit breaker is off, so the events are exhausted quickly.
  const yaml = documents(
    broker('default'),
    trigger('orders', { broker: 'default', subscriber: sub.url, delivery: { retry: 1, backoffDelay: 'PT0.05S' } }, { annotations: { 'sluice.dev/circuit-breaker-failures': '0' } }),
  );
  const sluice = await startSluice({ yaml });
  cleanup.add(() => sluice.stop());
  const dlq = (...args: string[]) => adminCli(sluice)('dlq', ...args);
  const list = async (...args: string[]): Promise<ListedLetter[]> => {
    const r = await dlq('list', 'broker:default', '-o', 'json', ...args);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items: ListedLetter[] }).items;
  };

  for (let i = 0; i < 5; i++) assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `c-${i}`, source: '/shop', type: 'order.created' }, `{"n":${i}}`)).status, 202);
  for (let i = 0; i < 2; i++) assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `x-${i}`, source: '/shop', type: 'order.cancelled' }, '{}')).status, 202);

  // Kept, not dropped: 2 attempts each (first + 1 retry).
  let letters: ListedLetter[] = [];
  // Polled through the admin API (cheaper than a CLI process per poll); the CLI is checked right after.
  const viaApi = async (): Promise<ListedLetter[]> => ((await (await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default`)).json()) as { items: ListedLetter[] }).items;
  await waitFor(
    async () => (letters = await viaApi()).length === 7,
    () => `7 dead letters (have ${letters.length})`,
  );
  letters = await list();
  assert.deepEqual(letters.map((l) => l.event.attributes['id']).sort(), ['c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'x-0', 'x-1']);
  for (const l of letters) assert.deepEqual([l.trigger, l.reason, l.attempts, l.replays], ['default/orders', 'HTTP 503', 2, 0]);

  const table = await dlq('list', 'broker:default');
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^ID\s+TRIGGER\s+REASON/m);
  assert.match(table.stdout, /default\/orders\s+HTTP 503/);

  // Filters: by type, by CESQL, by trigger; a bad CESQL expression is a clear error.
  assert.equal((await list('--type', 'order.cancelled')).length, 2);
  assert.equal((await list('--filter', "type = 'order.created' AND source = '/shop'")).length, 5);
  assert.equal((await list('--trigger', 'nope')).length, 0);
  const bad = await dlq('list', 'broker:default', '--filter', "type = = 'x'");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /filter: .*SLUICE_CESQL_INVALID, HTTP 400/);

  // One letter with its error.
  const one = letters.find((l) => l.event.attributes['id'] === 'c-0')!;
  const shown = await dlq('show', 'broker:default', String(one.id));
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /Reason:\s+HTTP 503/);
  assert.match(shown.stdout, /Error code:\s+503/);
  assert.match(shown.stdout, /Error body:\s+maintenance/);
  assert.match(shown.stdout, /Failed at:\s+http:\/\/127\.0\.0\.1/);
  assert.match(shown.stdout, /Data:\n {2}\{"n":0\}/);
  const missing = await dlq('show', 'broker:default', '999999');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no dead letter 999999/);

  // Usage errors exit 2 with one line.
  const noSelection = await dlq('replay', 'broker:default');
  assert.equal(noSelection.code, 2);
  assert.match(noSelection.stderr, /name the dead letters/);
  assert.equal((await dlq('replay', 'broker:default', '--all', '--rate', '0')).code, 2);

  // The subscriber is back: replay the created orders. They arrive marked, without the error extensions, and leave
  // the store.
  down = false;
  const before = sub.received.length;
  const replay = await dlq('replay', 'broker:default', '--filter', "type = 'order.created'", '--rate', '50');
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, /replayed 5, failed again 0/);
  const replayed = sub.received.slice(before);
  assert.deepEqual(replayed.map((r) => r.event!.attributes['id']).sort(), ['c-0', 'c-1', 'c-2', 'c-3', 'c-4']);
  for (const r of replayed) {
    assert.equal(r.headers['ce-sluicereplay'], '1');
    assert.equal(r.headers['ce-knativeerrorcode'], undefined);
  }
  assert.deepEqual((await list()).map((l) => l.event.attributes['id']).sort(), ['x-0', 'x-1']);

  // Down again: a replay that fails goes back to the store (once, no loop) with its replay count raised.
  down = true;
  const beforeFail = sub.received.length;
  const failing = await dlq('replay', 'broker:default', '--all');
  assert.equal(failing.code, 1);
  assert.match(failing.stdout, /replayed 0, failed again 2/);
  assert.equal(sub.received.length - beforeFail, 4, 'each tried with the trigger retry policy (1 retry), then put back');
  const back = await list();
  assert.equal(back.length, 2);
  for (const l of back) assert.deepEqual([l.replays, l.attempts, l.reason], [1, 4, 'replay: HTTP 503']);

  // To another destination by id.
  const toOther = await dlq('replay', 'broker:default', String(back[0]!.id), '--to', other.url);
  assert.equal(toOther.code, 0, toOther.stderr);
  assert.equal(other.received.length, 1);
  assert.equal(other.received[0]!.headers['ce-sluicereplay'], '2');

  // Purge what is left.
  const purge = await dlq('purge', 'broker:default', '--all');
  assert.equal(purge.code, 0);
  assert.match(purge.stdout, /purged 1/);
  assert.deepEqual(await list(), []);
  const empty = await dlq('list', 'broker:default');
  assert.match(empty.stdout, /No dead letters in broker default\/default/);
});

test('dlq: a broker that does not exist, and no sluice at the admin URL, are clear errors', async () => {
  const sluice = await startSluice({ yaml: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n' });
  cleanup.add(() => sluice.stop());
  const r = await runCli(['dlq', 'list', 'broker:nope', '--server', sluice.adminUrl]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /broker default\/nope not found/);
  const port = await new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as { port: number };
      s.close(() => resolve(p));
    });
  });
  const down = await runCli(['dlq', 'list', 'broker:default', '--server', `http://127.0.0.1:${port}`]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the Sluice admin API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
});

test('renaming a trigger keeps its pending retries as dead letters ("trigger removed"), replayable elsewhere', async () => {
  const sub = await startSubscriber(() => ({ status: 503 }));
  cleanup.add(() => sub.close());
  const other = await startSubscriber();
  cleanup.add(() => other.close());
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const config = (name: string) =>
    documents(
      broker('default'),
      trigger(name, { broker: 'default', subscriber: sub.url, delivery: { retry: 5, backoffDelay: 'PT60S' } }, { annotations: { 'sluice.dev/circuit-breaker-failures': '0' } }),
    );
  let sluice = await startSluice({ yaml: config('orders'), dataDir: dir.path });
  for (const id of ['a', 'b', 'c']) assert.equal((await postEvent(`${sluice.url}/default/default`, { id, source: '/shop', type: 'order.created' }, '{}')).status, 202);
  await sub.waitForCount(3);
  await sluice.stop();
  // Renamed: the old trigger's three retries (due in a minute) would have been deleted silently.
  sluice = await startSluice({ yaml: config('orders-v2'), dataDir: dir.path });
  cleanup.add(() => sluice.stop());
  const r = await runCli(['dlq', 'list', 'broker:default', '-o', 'json', '--server', sluice.adminUrl]);
  assert.equal(r.code, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: ListedLetter[] }).items;
  assert.deepEqual(items.map((l) => [l.event.attributes['id'], l.trigger, l.reason, l.attempts]).sort(), [
    ['a', 'default/orders', 'trigger removed', 1],
    ['b', 'default/orders', 'trigger removed', 1],
    ['c', 'default/orders', 'trigger removed', 1],
  ]);
  const skipped = await adminCli(sluice)('dlq', 'replay', 'broker:default', '--all');
  assert.equal(skipped.code, 1);
  assert.match(skipped.stdout, /skipped 3 \(trigger no longer exists: use --to\)/);
  const moved = await adminCli(sluice)('dlq', 'replay', 'broker:default', '--all', '--to', other.url);
  assert.equal(moved.code, 0, moved.stderr);
  assert.deepEqual(other.ids().sort(), ['a', 'b', 'c']);
});

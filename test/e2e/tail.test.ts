// `sluice tail` against a running `sluice run`, spawned as a user runs them: the filtered live stream of a broker (and
// of a channel), `--since` from what a broker still keeps (or a plain notice when it keeps no archive), the errors of
// a bad filter and an unknown broker, and the proof that a tail leaves nothing behind (no consumer group in the store,
// no open tail, trigger figures untouched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cleanupScope, postEvent, runCli, startSluice, startSubscriber, waitFor } from './harness.js';
import { startTail, type Tail } from './fixtures.js';
import { broker, channel, documents, trigger } from './manifests.js';

const cleanup = cleanupScope();

const yaml = (subscriber: string) =>
  documents(broker('default', { annotations: { 'sluice.dev/archive-retention': 'PT1H' } }), trigger('all', { broker: 'default', subscriber }), broker('plain'), channel('orders'));

async function following(t: Tail): Promise<void> {
  await waitFor(() => /following/.test(t.stderr()) || t.child.exitCode !== null, 'the tail', 30_000);
  assert.match(t.stderr(), /following/, t.stderr());
}

const ev = (id: string, type: string, subject?: string) => ({ id, source: '/orders', type, ...(subject ? { subject } : {}) });

test('sluice tail: the filtered live stream, --since, errors, and nothing left behind', async () => {
  const sub = await startSubscriber();
  const sluice = await startSluice({ yaml: yaml(sub.url) });
  cleanup.add(
    async () => void (await sluice.stop()),
    () => sub.close(),
  );
  const broker = `${sluice.url}/default/default`;

  // Accepted before any tail: only --since shows them.
  assert.equal((await postEvent(broker, ev('old-1', 'order.created'))).status, 202);
  assert.equal((await postEvent(broker, ev('old-2', 'order.paid'))).status, 202);
  await sub.waitForCount(2);

  const live = startTail(cleanup, ['broker:default', '--filter', "type = 'order.created'", '-o', 'json'], sluice.adminUrl);
  await following(live);
  const open = (await (await fetch(`${sluice.adminUrl}/api/v1/tails`)).json()) as { items: Array<{ target: string; filter?: string }> };
  assert.deepEqual(
    open.items.map((i) => [i.target, i.filter]),
    [['broker:default/default', "type = 'order.created'"]],
  );

  for (const [id, type] of [
    ['n1', 'order.created'],
    ['x1', 'order.paid'],
    ['n2', 'order.created'],
    ['x2', 'order.shipped'],
    ['n3', 'order.created'],
  ] as const) {
    assert.equal((await postEvent(broker, ev(id, type, `s-${id}`), '{"n":1}')).status, 202);
  }
  await sub.waitForCount(7);
  await waitFor(() => live.lines().length >= 3, 'the tail', 30_000);
  // One JSON event per line, only the matching ones, in order; the old ones are not replayed without --since.
  const events = live.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    events.map((e) => e['id']),
    ['n1', 'n2', 'n3'],
  );
  assert.equal(events[0]!['type'], 'order.created');
  assert.equal(events[0]!['subject'], 's-n1');
  assert.deepEqual(events[0]!['data'], { n: 1 }, 'JSON data stays JSON');

  // Ctrl-C ends the tail with exit 0, and it leaves nothing behind.
  live.child.kill('SIGINT');
  assert.equal(await live.exited, 0, live.stderr());
  await waitFor(async () => ((await (await fetch(`${sluice.adminUrl}/api/v1/tails`)).json()) as { items: unknown[] }).items.length === 0, 'the tail', 10_000);
  const db = new Database(join(sluice.dataDir, 'store', 'sluice.db'), { readonly: true, fileMustExist: true });
  const groups = db.prepare('SELECT grp FROM groups ORDER BY grp').all() as Array<{ grp: string }>;
  db.close();
  assert.deepEqual(
    groups.map((g) => g.grp),
    ['trigger:default/all'],
    'no consumer group was made for the tail',
  );
  const trigger = (await (await fetch(`${sluice.adminUrl}/api/v1/triggers/default/all`)).json()) as { status: { figures: { delivered: number; failed: number; backlog: number } } };
  assert.equal(trigger.status.figures.delivered, 7, 'the trigger delivered every event once, the tail took none');
  assert.equal(trigger.status.figures.backlog, 0);

  // --since: what the broker still keeps first (its archive and its log), then live; the text format.
  const since = startTail(cleanup, ['default', '--since', '1h'], sluice.adminUrl);
  await following(since);
  await waitFor(() => since.lines().length >= 7, 'the tail', 30_000);
  assert.equal((await postEvent(broker, ev('after', 'order.created', 'late'))).status, 202);
  await waitFor(() => since.lines().length >= 8, 'the tail', 30_000);
  const lines = since.lines();
  assert.deepEqual(
    lines.map((l) => l.split(/ {2}/)[3]),
    ['old-1', 'old-2', 'n1', 'x1', 'n2', 'x2', 'n3', 'after'],
    lines.join('\n'),
  );
  // time, type, source, id, subject; no colour when stdout is not a terminal.
  assert.match(lines[7]!, /^\d{4}-\d{2}-\d{2}T\S+Z {2}order\.created {2}\/orders {2}after {2}late$/);
  assert.doesNotMatch(lines.join('\n'), /\u001b\[/);
  since.child.kill('SIGTERM');
  assert.equal(await since.exited, 0);

  // A broker without an archive: --since says so plainly and shows live events.
  const plain = startTail(cleanup, ['broker:plain', '--since', '10m'], sluice.adminUrl);
  await following(plain);
  await waitFor(() => /keeps no archive/.test(plain.stderr()), 'the tail', 10_000);
  assert.match(plain.stderr(), /Broker default\/plain keeps no archive .*only live events are shown/);
  assert.equal((await postEvent(`${sluice.url}/default/plain`, ev('p1', 't'))).status, 202);
  await waitFor(() => plain.lines().length >= 1, 'the tail', 30_000);
  plain.child.kill('SIGINT');
  assert.equal(await plain.exited, 0);

  // A channel's tail.
  const ch = startTail(cleanup, ['channel:orders', '-o', 'yaml'], sluice.adminUrl);
  await following(ch);
  assert.equal((await postEvent(`${sluice.url}/channels/default/orders`, ev('c1', 'order.created'))).status, 202);
  await waitFor(() => ch.lines().includes('id: c1'), 'the tail', 30_000);
  assert.equal(ch.lines()[0], '---');
  ch.child.kill('SIGINT');
  assert.equal(await ch.exited, 0);

  // Bad input: a bad filter is a usage error (exit 2, one line with the position); an unknown broker exits 1 naming it.
  const bad = await runCli(['tail', 'broker:default', '--filter', "type = 'x' AND"], { env: { SLUICE_ADMIN: sluice.adminUrl } });
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /^sluice tail: filter: .*position \d+/);
  const res = await fetch(`${sluice.adminUrl}/api/v1/brokers/default/default/events?filter=${encodeURIComponent('type =')}`);
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; details?: { position?: number } } };
  assert.equal(body.error.code, 'SLUICE_CESQL_INVALID');
  assert.equal(typeof body.error.details?.position, 'number');
  const missing = await runCli(['tail', 'broker:nope', '-n', 'team'], { env: { SLUICE_ADMIN: sluice.adminUrl } });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^sluice tail: broker team\/nope not found\n$/);
  const since2 = await runCli(['tail', 'default', '--since', 'yesterday'], { env: { SLUICE_ADMIN: sluice.adminUrl } });
  assert.equal(since2.code, 2);
  assert.match(since2.stderr, /--since must be a duration/);
  const nowhere = await runCli(['tail', 'default'], { env: { SLUICE_ADMIN: 'http://127.0.0.1:9' } });
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /cannot reach the Sluice admin API at http:\/\/127\.0\.0\.1:9 .*SLUICE_ADMIN/);
});

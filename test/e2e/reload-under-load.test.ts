// Live reconfiguration under a steady load, as an operator does it: `sluice run` spawned as a user runs it, events
// sent without pause with a ledger of every accepted id, and meanwhile a trigger's filter changed (sluice apply), a
// trigger added (apply), one deleted with --force while it owes retries, one renamed (delete --force + apply) and one
// pointed at another subscriber by editing the files and sending SIGHUP. Then the ledger is checked against what every
// subscriber received.
//
// Delivery path: the embedded (SQLite) broker, no crash, subscribers that answer 202 at once. On that path delivery
// is exactly once, and so is every assertion below ("exactly once"); after a crash or a subscriber timeout delivery is
// at least once (docs/reliability.md), which this test does not provoke.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupScope, postEvent, startSluice, tempDir, waitFor, waitForIdle } from './harness.js';
import { broker, documents, trigger } from './manifests.js';
import { adminCli, startSubscriberIn } from './fixtures.js';

const cleanup = cleanupScope();

interface Sent {
  readonly id: string;
  readonly type: string;
  readonly sentAt: number;
  readonly acceptedAt: number;
}

/** When a change ran: events accepted before `start` met the old configuration, events sent after `end` the new one. */
interface Window {
  start: number;
  end: number;
}

const counts = (ids: readonly string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
};

test('apply, delete --force, rename and SIGHUP under a steady load: every accepted event reaches every trigger that matched it, exactly once', async (t) => {
  const all = await startSubscriberIn(cleanup);
  const filtered = await startSubscriberIn(cleanup);
  const before = await startSubscriberIn(cleanup);
  const moved = await startSubscriberIn(cleanup);
  const doomed = await startSubscriberIn(cleanup, () => ({ status: 503 }));
  const renamed = await startSubscriberIn(cleanup);
  const added = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const files = (subscriberOfSub: string) =>
    documents(
      broker('default'),
      trigger('all', { broker: 'default', subscriber: all.url }),
      trigger('filtered', { broker: 'default', subscriber: filtered.url }),
      trigger('sub', { broker: 'default', subscriber: subscriberOfSub }),
      trigger('doomed', { broker: 'default', subscriber: doomed.url, delivery: { retry: 5, backoffDelay: 'PT30S' } }),
      trigger('old-name', { broker: 'default', subscriber: renamed.url }),
    );
  const sluice = await startSluice({ yaml: files(before.url), dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));
  const cli = async (...args: string[]): Promise<Window> => {
    const start = Date.now();
    const r = await adminCli(sluice, { timeoutMs: 120_000 })(...args);
    assert.equal(r.code, 0, `sluice ${args.join(' ')}: ${r.stderr}`);
    return { start, end: Date.now() };
  };

  // The load: two senders without pause; the ledger keeps every event that got 202.
  const ledger: Sent[] = [];
  let sending = true;
  let n = 0;
  const sender = async (): Promise<void> => {
    while (sending) {
      const id = `e${n++}`;
      const type = n % 2 === 0 ? 'even' : 'odd';
      const sentAt = Date.now();
      const res = await postEvent(`${sluice.url}/default/default`, { id, source: '/load', type });
      if (res.status === 202) ledger.push({ id, type, sentAt, acceptedAt: Date.now() });
    }
  };
  const senders = [sender(), sender()];
  await waitFor(() => ledger.length > 200, 'some load first');

  // The filter of "filtered" changes from all events to "even" (applied).
  writeFileSync(join(dir.path, 'filtered.yaml'), trigger('filtered', { broker: 'default', filter: { type: 'even' }, subscriber: filtered.url }));
  const filterChange = await cli('apply', '-f', join(dir.path, 'filtered.yaml'));
  await waitFor(() => ledger.length > 600, 'load after the filter change');

  // "doomed" owes retries: deleted with --force.
  const deleted = await cli('delete', 'trigger', 'doomed', '--force');
  await waitFor(() => ledger.length > 1000, 'load after the delete');

  // "old-name" is renamed "new-name": a delete and an add.
  await cli('delete', 'trigger', 'old-name', '--force');
  writeFileSync(join(dir.path, 'new-name.yaml'), trigger('new-name', { broker: 'default', subscriber: renamed.url }));
  const renamedAt = await cli('apply', '-f', join(dir.path, 'new-name.yaml'));
  await waitFor(() => ledger.length > 1400, 'load after the rename');

  // "added" is a new trigger.
  writeFileSync(join(dir.path, 'added.yaml'), trigger('added', { broker: 'default', subscriber: added.url }));
  const addedAt = await cli('apply', '-f', join(dir.path, 'added.yaml'));
  await waitFor(() => ledger.length > 1800, 'load after the add');

  // The files are edited ("sub" gets another subscriber) and SIGHUP applies them; the applied and deleted triggers stay.
  writeFileSync(join(dir.path, 'config.yaml'), files(moved.url));
  const hupStart = Date.now();
  sluice.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP: applied: Trigger default\/sub configured/.test(sluice.output()), 'the SIGHUP record', 60_000);
  const hup: Window = { start: hupStart, end: Date.now() };
  await waitFor(() => ledger.length > 2200, 'load after SIGHUP');

  sending = false;
  await Promise.all(senders);
  const accepted = ledger.length;
  await waitFor(() => all.received.length >= accepted, `all ${accepted} events at the unchanged trigger`, 120_000);
  await waitForIdle(sluice); // what else was still on its way has arrived

  const beforeWindow = (e: Sent, w: Window) => e.acceptedAt < w.start;
  const afterWindow = (e: Sent, w: Window) => e.sentAt > w.end;
  const check = (name: string, got: Map<string, number>, must: Sent[], mustNot: Sent[]) => {
    const missing = must.filter((e) => got.get(e.id) !== 1);
    assert.deepEqual(
      missing.slice(0, 5).map((e) => `${e.id}×${got.get(e.id) ?? 0}`),
      [],
      `${name}: ${missing.length} of ${must.length} events not delivered exactly once`,
    );
    const extra = mustNot.filter((e) => got.has(e.id));
    assert.deepEqual(
      extra.slice(0, 5).map((e) => e.id),
      [],
      `${name}: ${extra.length} events delivered that it must not get`,
    );
    const twice = [...got].filter(([, c]) => c > 1);
    assert.deepEqual(twice.slice(0, 5), [], `${name}: events delivered twice`);
  };

  // The unchanged trigger: every accepted event, exactly once, through five changes of its neighbours.
  check('all', counts(all.ids()), ledger, []);
  // A changed filter applies to what the trigger delivers from the change on (as Knative filters at dispatch): an
  // "even" event matches before and after, so it arrives exactly once whenever it was accepted; an "odd" one sent
  // after the change never arrives.
  check(
    'filtered',
    counts(filtered.ids()),
    ledger.filter((e) => e.type === 'even'),
    ledger.filter((e) => e.type === 'odd' && afterWindow(e, filterChange)),
  );
  // A changed subscriber: every event exactly once, at one of the two; after the change only at the new one.
  const subGot = counts([...before.ids(), ...moved.ids()]);
  check('sub (old or new subscriber)', subGot, ledger, []);
  check(
    'sub (old subscriber)',
    counts(before.ids()),
    [],
    ledger.filter((e) => afterWindow(e, hup)),
  );
  // Deleted: nothing sent after the delete arrives (its retries were kept as dead letters, counted in the log).
  check(
    'doomed',
    counts(doomed.ids()),
    [],
    ledger.filter((e) => afterWindow(e, deleted)),
  );
  // What it owed (retries waiting for their backoff, and unread events) is counted in one line.
  const owed = /Trigger default\/doomed deleted: (\d+) pending retries(?: and (\d+) unread events| kept in the dead-letter store; (\d+) unread)/.exec(sluice.output());
  assert.ok(owed, 'the forced delete logged what it discarded');
  assert.ok(Number(owed[1]) + Number(owed[2] ?? owed[3] ?? 0) > 0, `the deleted trigger owed events: ${owed[0]}`);
  // Renamed: the new name starts at the end of the log; everything after its creation, exactly once, never twice.
  check(
    'new-name',
    counts(renamed.ids()),
    ledger.filter((e) => afterWindow(e, renamedAt)),
    [],
  );
  // Added: everything sent after it was created, exactly once; nothing accepted before.
  check(
    'added',
    counts(added.ids()),
    ledger.filter((e) => afterWindow(e, addedAt)),
    ledger.filter((e) => beforeWindow(e, addedAt)),
  );
  assert.ok(accepted > 2200, `the load ran throughout (${accepted} events accepted)`);
  t.diagnostic(`${accepted} events accepted; at the deleted trigger ${doomed.received.length} attempts; at the renamed one ${renamed.received.length}, the added one ${added.received.length}`);
  assert.equal(await sluice.stop(), 0);
});

const channel = (name: string) => `apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: ${name}
---
`;
const subscription = (name: string, channelName: string, url: string) => `apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: ${name}
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: ${channelName}
  subscriber:
    uri: ${url}
---
`;

test('a Subscription changed under a steady load restarts only that subscription: every accepted event once, at the old or the new subscriber; the other channel untouched', async () => {
  const first = await startSubscriberIn(cleanup);
  const second = await startSubscriberIn(cleanup);
  const other = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const sluice = await startSluice({ yaml: channel('a') + channel('b') + subscription('sa', 'a', first.url) + subscription('sb', 'b', other.url), dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));

  const ledger: Array<Sent & { readonly channel: string }> = [];
  let sending = true;
  let n = 0;
  const sender = async (name: string): Promise<void> => {
    while (sending) {
      const id = `${name}${n++}`;
      const sentAt = Date.now();
      const res = await postEvent(`${sluice.url}/channels/default/${name}`, { id, source: '/load', type: 't' });
      if (res.status === 202) ledger.push({ id, type: 't', channel: name, sentAt, acceptedAt: Date.now() });
    }
  };
  const senders = [sender('a'), sender('b')];
  await waitFor(() => ledger.length > 300, 'some load first');
  writeFileSync(join(dir.path, 'sa.yaml'), subscription('sa', 'a', second.url));
  const start = Date.now();
  const applied = await adminCli(sluice, { timeoutMs: 120_000 })('apply', '-f', join(dir.path, 'sa.yaml'));
  const change: Window = { start, end: Date.now() };
  assert.equal(applied.stdout, 'subscription.messaging.knative.dev/sa configured\n', applied.stderr);
  await waitFor(() => ledger.length > 900, 'load after the change');
  sending = false;
  await Promise.all(senders);
  const toA = ledger.filter((e) => e.channel === 'a');
  const toB = ledger.filter((e) => e.channel === 'b');
  await waitFor(() => first.received.length + second.received.length >= toA.length && other.received.length >= toB.length, 'every accepted event delivered', 120_000);
  await waitForIdle(sluice); // what else was still on its way has arrived

  const once = (name: string, ids: readonly string[], must: readonly Sent[], mustNot: readonly Sent[]) => {
    const got = counts(ids);
    const missing = must.filter((e) => got.get(e.id) !== 1);
    assert.deepEqual(
      missing.slice(0, 5).map((e) => `${e.id}×${got.get(e.id) ?? 0}`),
      [],
      `${name}: ${missing.length} of ${must.length} events not delivered exactly once`,
    );
    assert.deepEqual(
      mustNot
        .filter((e) => got.has(e.id))
        .slice(0, 5)
        .map((e) => e.id),
      [],
      `${name}: events it must not get`,
    );
  };
  once('sa (old or new subscriber)', [...first.ids(), ...second.ids()], toA, toB);
  once(
    'sa (old subscriber)',
    first.ids(),
    [],
    toA.filter((e) => e.sentAt > change.end),
  );
  once('sb', other.ids(), toB, toA);
  // Only the changed subscription restarted: the other one was made ready once, at start.
  assert.match(sluice.output(), /channels: restarted Subscription default\/sa \(configuration changed\)/);
  assert.equal(sluice.output().match(/"subscription":"default\/sb"[^\n]*"msg":"subscription ready"/g)?.length, 1, 'sb was not restarted');
  assert.equal(sluice.output().match(/"subscription":"default\/sa"[^\n]*"msg":"subscription ready"/g)?.length, 2, 'sa was restarted once');
  assert.equal(await sluice.stop(), 0);
});

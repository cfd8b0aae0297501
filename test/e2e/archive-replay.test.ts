// Archive and replay end to end through the CLI: a broker with sluice.dev/archive-retention keeps delivered events;
// `sluice replay broker:NAME --from T --to T [--trigger X] [--filter CESQL]` re-delivers exactly the events accepted
// in the range, to the trigger(s) whose filter matches, in order per partitionkey, marked sluicereplay, while live
// traffic goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, startSluice, startSubscriber, postEvent, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';
import { adminCli, replayCancelledToEveryTrigger, replayToOneTrigger, type ReplayRange } from './fixtures.js';

const cleanup = cleanupScope();

// Time is inherent in a time range: the events outside it are sent more than a second from its ends.
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('sluice replay re-delivers archived events of a time range to the matching triggers, in order, while live traffic continues', async () => {
  const orders = await startSubscriber();
  const all = await startSubscriber();
  cleanup.add(
    () => orders.close(),
    () => all.close(),
  );
  const yaml = documents(
    broker('default', { annotations: { 'sluice.dev/archive-retention': 'PT1H' } }),
    trigger('orders', { broker: 'default', filter: { type: 'order.created' }, subscriber: orders.url }),
    trigger('all', { broker: 'default', subscriber: all.url }),
  );
  const sluice = await startSluice({ yaml });
  cleanup.add(() => sluice.stop());
  const ingress = `${sluice.url}/default/default`;
  const send = async (id: string, type: string) => assert.equal((await postEvent(ingress, { id, source: '/shop', type, partitionkey: 'k' }, `{"id":"${id}"}`)).status, 202);

  await send('before-0', 'order.created');
  await settle(1100);
  const from = new Date().toISOString();
  const inRange = Array.from({ length: 8 }, (_, i) => `in-${i}`);
  for (const id of inRange) await send(id, 'order.created');
  await send('in-cancel', 'order.cancelled');
  const to = new Date().toISOString();
  await settle(1100);
  await send('after-0', 'order.created');

  await orders.waitForCount(10);
  await all.waitForCount(11);
  const archived = async () => ((await (await fetch(`${sluice.adminUrl}/api/v1/archive`)).json()) as { items: Array<{ count: number }> }).items[0]!.count;
  await waitFor(async () => (await archived()) === 11, 'the delivered events in the archive', 20_000);

  const range: ReplayRange = { sluice, broker: 'default', ordersTrigger: 'orders', orders, all, from, to, ordersInRange: 8, sendLive: (id) => send(id, 'order.created') };
  // One trigger, one range: exactly the order.created events of the range, in order, marked.
  const replayed = await replayToOneTrigger(range);
  assert.deepEqual(
    replayed.map((x) => x.event!.attributes['id']),
    inRange,
    'in the order they were accepted',
  );

  // Every trigger, a CESQL filter: only the trigger whose own filter matches gets the cancelled order.
  const since = await replayCancelledToEveryTrigger(range);
  assert.deepEqual(
    since.all().map((x) => x.event!.attributes['id']),
    ['in-cancel'],
  );
  assert.equal(since.orders().length, 0);

  // Errors: a bad range or CESQL expression, a missing flag.
  const cli = adminCli(sluice);
  const bad = await cli('replay', 'broker:default', '--from', from, '--to', to, '--filter', 'type = = 1');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /SLUICE_CESQL_INVALID/);
  const usage = await cli('replay', 'broker:default', '--from', from);
  assert.equal(usage.code, 2);
  const unknownTrigger = await cli('replay', 'broker:default', '--from', from, '--to', to, '--trigger', 'nope');
  assert.equal(unknownTrigger.code, 1);
  assert.match(unknownTrigger.stderr, /trigger default\/nope of broker default\/default not found/);
});

test('sluice replay on a broker without an archive says how to turn it on', async () => {
  const sluice = await startSluice({ yaml: broker('default') });
  cleanup.add(() => sluice.stop());
  const r = await adminCli(sluice)('replay', 'broker:default', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /keeps no archive \(set the sluice.dev\/archive-retention annotation\)/);
});

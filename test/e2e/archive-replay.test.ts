// Archive and replay end to end through the CLI: a broker with sluice.dev/archive-retention keeps delivered events;
// `sluice replay broker:NAME --from T --to T [--trigger X] [--filter CESQL]` re-delivers exactly the events accepted
// in the range, to the trigger(s) whose filter matches, in order per partitionkey, marked sluicereplay, while live
// traffic goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, runCli, startSluice, startSubscriber, postEvent, waitFor } from './harness.js';

const cleanup = cleanupScope();

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('sluice replay re-delivers archived events of a time range to the matching triggers, in order, while live traffic continues', async () => {
  const orders = await startSubscriber();
  const all = await startSubscriber();
  cleanup.add(() => orders.close(), () => all.close());
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  annotations:
    sluice.dev/archive-retention: PT1H
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders
spec:
  broker: default
  filter:
    attributes:
      type: order.created
  subscriber:
    uri: ${orders.url}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: all
spec:
  broker: default
  subscriber:
    uri: ${all.url}
`;
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

  // One trigger, one range: exactly the order.created events of the range, in order, marked.
  const ordersBefore = orders.received.length;
  const allBefore = all.received.length;
  const admin = ['--server', sluice.adminUrl, '--token', sluice.adminToken];
  // Live traffic while the replay runs (20 deliveries/s: it takes about 0.4 s).
  const replay = runCli(['replay', 'broker:default', '--from', from, '--to', to, '--trigger', 'orders', '--rate', '20', ...admin]);
  for (let i = 0; i < 3; i++) await send(`live-${i}`, 'order.created');
  const r = await replay;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /events 9, replayed 8, failed 0/);
  const replayed = orders.received.slice(ordersBefore).filter((x) => x.headers['ce-sluicereplay'] === '1');
  assert.deepEqual(replayed.map((x) => x.event!.attributes['id']), inRange, 'in the order they were accepted');
  await orders.waitForCount(ordersBefore + 8 + 3);
  const live = orders.received.slice(ordersBefore).filter((x) => String(x.event!.attributes['id']).startsWith('live-'));
  assert.equal(live.length, 3, 'live traffic was delivered during the replay');
  for (const x of live) assert.equal(x.headers['ce-sluicereplay'], undefined);
  await all.waitForCount(allBefore + 3);
  assert.equal(all.received.slice(allBefore).filter((x) => x.headers['ce-sluicereplay'] !== undefined).length, 0, 'the other trigger got no replay');

  // Every trigger, a CESQL filter: only the trigger whose own filter matches gets the cancelled order.
  const allBefore2 = all.received.length;
  const ordersBefore2 = orders.received.length;
  const r2 = await runCli(['replay', 'broker:default', '--from', from, '--to', to, '--filter', "type = 'order.cancelled'", ...admin]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /events 1, replayed 1, failed 0/);
  assert.deepEqual(all.received.slice(allBefore2).map((x) => x.event!.attributes['id']), ['in-cancel']);
  assert.equal(orders.received.length, ordersBefore2);

  // Errors: a bad range or CESQL expression, a missing flag.
  const bad = await runCli(['replay', 'broker:default', '--from', from, '--to', to, '--filter', 'type = = 1', ...admin]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /SLUICE_CESQL_INVALID/);
  const usage = await runCli(['replay', 'broker:default', '--from', from, ...admin]);
  assert.equal(usage.code, 2);
  const unknownTrigger = await runCli(['replay', 'broker:default', '--from', from, '--to', to, '--trigger', 'nope', ...admin]);
  assert.equal(unknownTrigger.code, 1);
  assert.match(unknownTrigger.stderr, /trigger default\/nope of broker default\/default not found/);
});

test('sluice replay on a broker without an archive says how to turn it on', async () => {
  const sluice = await startSluice({ yaml: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n' });
  cleanup.add(() => sluice.stop());
  const r = await runCli(['replay', 'broker:default', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--server', sluice.adminUrl, '--token', sluice.adminToken]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /keeps no archive \(set the sluice.dev\/archive-retention annotation\)/);
});

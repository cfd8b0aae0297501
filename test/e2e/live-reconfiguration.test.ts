// Live reconfiguration of a running runtime (SluiceRuntime.apply): brokers, triggers and components change without a
// restart; unchanged triggers keep running, changed ones continue their consumer group, deletions that would drop
// events need force. In process, with the real SQLite store in a temporary directory and real HTTP subscribers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SluiceRuntime } from '@sluice/broker';
import { brokerChecks } from '@sluice/config';
import { channelChecks, channelComponents } from '@sluice/channel';
import { sourceChecks, sourceComponents } from '@sluice/sources';
import { errorStatus, isSluiceError } from '@sluice/core';
import { SqliteEventStore, type EventStore, type LogStats } from '@sluice/store';
import { cleanupScope, postEvent, tempDir, waitFor, waitForIdle } from './harness.js';
import { configLoader } from './in-process-config.js';
import { startSubscriberIn } from './fixtures.js';
import * as manifests from './manifests.js';

const cleanup = cleanupScope();

const dir = tempDir('sluice-reload-');
cleanup.add(() => dir.remove());
const config = configLoader(dir.path, [brokerChecks(), channelChecks(), sourceChecks()]);
/** Names the stores of the runtimes this file starts. */
let n = 0;

/** A document and the separator after it: this file's configurations are sums of them. */
const doc = (yaml: string) => `${yaml}---\n`;
const broker = (name: string, meta?: manifests.Meta) => doc(manifests.broker(name, meta));
const trigger = (name: string, url: string, type?: string, brokerName = 'default', delivery?: manifests.Delivery) =>
  doc(manifests.trigger(name, { broker: brokerName, subscriber: url, ...(type ? { filter: { type } } : {}), ...(delivery ? { delivery } : {}) }));
const kafkaClass = broker('k', { annotations: { 'eventing.knative.dev/broker.class': 'Kafka' } });

async function start(yaml: string): Promise<SluiceRuntime> {
  const runtime = await SluiceRuntime.start(config(yaml), { port: 0, dataDir: join(dir.path, `store-${n++}`), components: [channelComponents, sourceComponents] });
  cleanup.add(() => runtime.stop(2000));
  return runtime;
}

const send = (runtime: SluiceRuntime, brokerName: string, id: string, type: string) => postEvent(`${runtime.url}/default/${brokerName}`, { id, source: '/reload', type });
const changes = (report: { resources: Array<{ kind: string; name: string; change: string }> }) =>
  report.resources
    .filter((r) => r.change !== 'unchanged')
    .map((r) => `${r.kind}/${r.name} ${r.change}`)
    .sort();

test('apply: an unchanged trigger keeps running, a changed filter continues the group, an added trigger and broker serve at once', async () => {
  const a = await startSubscriberIn(cleanup);
  const b = await startSubscriberIn(cleanup);
  const c = await startSubscriberIn(cleanup);
  const runtime = await start(broker('default') + trigger('ta', a.url, 'one') + trigger('tb', b.url));
  const readyAt = runtime.status('Trigger', 'default', 'tb')!.conditions.find((x) => x.type === 'Ready')!.lastTransitionTime;
  assert.equal((await send(runtime, 'default', 'e1', 'one')).status, 202);
  assert.equal((await send(runtime, 'default', 'e2', 'two')).status, 202);
  await a.waitForCount(1);
  await b.waitForCount(2);
  assert.equal((await send(runtime, 'other', 'x', 'one')).status, 404, 'no broker "other" yet');

  const report = await runtime.apply(config(broker('default') + broker('other') + trigger('ta', a.url, 'two') + trigger('tb', b.url) + trigger('tc', c.url, undefined, 'other')));
  assert.deepEqual(changes(report), ['Broker/other created', 'Trigger/ta configured', 'Trigger/tc created']);
  assert.equal(runtime.status('Trigger', 'default', 'tb')!.conditions.find((x) => x.type === 'Ready')!.lastTransitionTime, readyAt, 'tb was not touched');
  assert.equal((await send(runtime, 'default', 'e3', 'one')).status, 202);
  assert.equal((await send(runtime, 'default', 'e4', 'two')).status, 202);
  assert.equal((await send(runtime, 'other', 'o1', 'any')).status, 202, 'the added broker takes events at once');
  await a.waitForCount(2);
  await b.waitForCount(4);
  await c.waitForCount(1);
  await waitForIdle(() => ({ ta: runtime.figures('Trigger', 'default', 'ta'), tb: runtime.figures('Trigger', 'default', 'tb'), tc: runtime.figures('Trigger', 'default', 'tc') }));
  assert.deepEqual(a.ids(), ['e1', 'e4'], 'the new filter applies from the change on; nothing twice');
  assert.deepEqual(b.ids().sort(), ['e1', 'e2', 'e3', 'e4'], 'the unchanged trigger got everything once');
  assert.deepEqual(c.ids(), ['o1']);
});

test('apply: deleting a trigger that owes events needs force; force keeps them as dead letters and counts them; a refused change changes nothing', async () => {
  const failing = await startSubscriberIn(cleanup, () => ({ status: 503 }));
  const ok = await startSubscriberIn(cleanup);
  const slow = { retry: 5, backoffDelay: 'PT30S' };
  const runtime = await start(broker('default') + trigger('stuck', failing.url, undefined, 'default', slow) + trigger('fine', ok.url));
  for (const id of ['r1', 'r2']) await send(runtime, 'default', id, 't');
  await failing.waitForCount(2);
  await waitFor(() => runtime.figures('Trigger', 'default', 'stuck')?.retrying === 2, 'two pending retries');

  const without = config(broker('default') + trigger('fine', ok.url));
  await assert.rejects(runtime.apply(without), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_FORCE_REQUIRED'), String(err));
    assert.equal(errorStatus(err.code), 409);
    assert.match(err.message, /trigger default\/stuck has 2 events pending \(backlog 0, retrying 2\); delete --force moves them to the dead-letter store/);
    return true;
  });
  assert.ok(runtime.status('Trigger', 'default', 'stuck'), 'refused: the trigger still runs');
  assert.equal(runtime.figures('Trigger', 'default', 'stuck')?.retrying, 2);

  // Every problem of a change is reported at once, and nothing changes.
  const bad = config(doc(manifests.resource('eventing.knative.dev/v1', 'Broker', 'default', { delivery: { retry: 1 } })) + trigger('fine', ok.url, undefined, 'elsewhere') + broker('elsewhere'));
  await assert.rejects(
    runtime.apply(bad),
    (err: unknown) => isSluiceError(err, 'SLUICE_CONFIG_INVALID') && /trigger default\/fine: spec\.broker cannot change/.test(err.message) && /default\/stuck has 2 events pending/.test(err.message),
  );
  assert.equal((await send(runtime, 'elsewhere', 'x', 't')).status, 404, 'nothing of the refused change was applied');

  const report = await runtime.apply(without, { force: true });
  assert.deepEqual(changes(report), ['Trigger/stuck deleted']);
  assert.deepEqual(
    report.discarded.map((d) => [d.resource, d.retries, d.backlog, d.outcome]),
    [['Trigger default/stuck', 2, 0, 'dead-letters']],
  );
  assert.equal(runtime.status('Trigger', 'default', 'stuck'), undefined, 'its status is gone');
  const letters = runtime.kept.deadLetters!.listDeadLetters('broker:default/default', { limit: 10 });
  assert.deepEqual(letters.map((l) => [l.group, l.reason]).sort(), [
    ['trigger:default/stuck', 'trigger removed'],
    ['trigger:default/stuck', 'trigger removed'],
  ]);
  await send(runtime, 'default', 'after', 't');
  await ok.waitForCount(3);
  // The deleted trigger's consumer closed when the apply returned (its deliveries finished); "after" went past it.
  await waitForIdle(() => ({ fine: runtime.figures('Trigger', 'default', 'fine') }));
  assert.equal(runtime.figures('Trigger', 'default', 'stuck'), undefined, 'its consumer is gone');
  assert.equal(failing.received.length, 2, 'the deleted trigger delivers nothing more');
});

test('apply: a retry being attempted right now is owed too: deleting its trigger needs force', async () => {
  // The first attempt fails; the retry is held 3 s by the subscriber, so while it runs the store counts the event in
  // flight, not retrying (seen by an operator in `sluice delete` succeeding without --force).
  const flaky = await startSubscriberIn(cleanup, (_r, i) => (i === 0 ? { status: 503 } : { status: 202, delayMs: 3000 }));
  const ok = await startSubscriberIn(cleanup);
  const fast = { retry: 5, backoffDelay: 'PT0.05S' };
  const runtime = await start(broker('default') + trigger('flaky', flaky.url, undefined, 'default', fast) + trigger('fine', ok.url));
  await send(runtime, 'default', 'f1', 't');
  await flaky.waitForCount(2);
  const figures = runtime.figures('Trigger', 'default', 'flaky');
  assert.deepEqual([figures?.backlog, figures?.retrying], [0, 0], 'the store sees no backlog and no stored retry');
  await assert.rejects(runtime.apply(config(broker('default') + trigger('fine', ok.url))), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_FORCE_REQUIRED'), String(err));
    assert.match(err.message, /trigger default\/flaky has 1 events pending \(backlog 0, retrying 1\)/);
    return true;
  });
  assert.ok(runtime.status('Trigger', 'default', 'flaky'), 'refused: the trigger still runs');
  await waitFor(() => flaky.received[1]?.status === 202, 'the retry answered');
});

test('apply: a store whose figures are refreshed in the background (Kafka) is asked for exact ones before a delete', async () => {
  // The real SQLite store, seen as the Kafka class's store is: stats() answers from a background refresh, zeros at
  // first; exactStats() reads the figures now. A delete decided on stats() would drop the pending retries unasked.
  const sqlite = new SqliteEventStore({ path: join(dir.path, `background-${n++}.db`) });
  const exactCalls: string[] = [];
  let unreachable = false;
  const background: EventStore = {
    append: (log, events) => sqlite.append(log, events),
    consume: (log, group, options, handler) => sqlite.consume(log, group, options, handler),
    stats: (): LogStats => ({ backlog: 0, retrying: 0, groups: {} }),
    exactStats: (log) => {
      exactCalls.push(log);
      return unreachable ? Promise.reject(new Error('Kafka unreachable')) : Promise.resolve(sqlite.stats(log));
    },
    ready: (log) => sqlite.ready(log),
    groups: (log) => sqlite.groups(log),
    forgetGroups: (log, groups, options) => sqlite.forgetGroups(log, groups, options),
    close: () => sqlite.close(),
  };
  const failing = await startSubscriberIn(cleanup, () => ({ status: 503 }));
  const slow = { retry: 5, backoffDelay: 'PT30S' };
  const runtime = await SluiceRuntime.start(config(kafkaClass + trigger('stuck', failing.url, undefined, 'k', slow)), {
    port: 0,
    dataDir: join(dir.path, `store-${n++}`),
    brokerClasses: { Kafka: { open: () => background } },
  });
  cleanup.add(() => runtime.stop(2000));
  await send(runtime, 'k', 'r1', 't');
  await failing.waitForCount(1);
  await waitFor(() => sqlite.stats('broker:default/k').groups['trigger:default/stuck']?.retrying === 1, 'the retry stored');
  await assert.rejects(runtime.apply(config(kafkaClass)), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_FORCE_REQUIRED'), String(err));
    assert.match(err.message, /trigger default\/stuck has 1 events pending \(backlog 0, retrying 1\); delete --force discards them/);
    return true;
  });
  // Figures that cannot be read now do not count as none.
  unreachable = true;
  await assert.rejects(
    runtime.apply(config(kafkaClass)),
    (err: unknown) =>
      isSluiceError(err, 'SLUICE_FORCE_REQUIRED') && /trigger default\/stuck: cannot read how many events it still owes \(Kafka unreachable\); delete --force discards them/.test(err.message),
  );
  assert.deepEqual(exactCalls, ['broker:default/k', 'broker:default/k']);
  const report = await runtime.apply(config(kafkaClass), { force: true });
  assert.deepEqual(changes(report), ['Trigger/stuck deleted']);
  assert.deepEqual(exactCalls.length, 2, 'forced: the figures are counted when discarded, not asked first');
});

test('apply: a trigger waiting for its broker turns Ready when the broker appears; removing an idle broker makes its ingress 404', async () => {
  const sub = await startSubscriberIn(cleanup);
  const runtime = await start(broker('default') + trigger('late', sub.url, undefined, 'later'));
  assert.equal(runtime.status('Trigger', 'default', 'late')!.conditions.find((x) => x.type === 'BrokerReady')?.reason, 'BrokerDoesNotExist');
  await runtime.apply(config(broker('default') + broker('later') + trigger('late', sub.url, undefined, 'later')));
  assert.equal(runtime.status('Trigger', 'default', 'late')!.conditions.find((x) => x.type === 'Ready')?.status, 'True');
  await send(runtime, 'later', 'l1', 't');
  await sub.waitForCount(1);
  await runtime.apply(config(broker('later') + trigger('late', sub.url, undefined, 'later')));
  assert.equal((await send(runtime, 'default', 'gone', 't')).status, 404);
  assert.equal(runtime.status('Broker', 'default', 'default'), undefined);
  // The broker goes away while its trigger stays: NotReady again, as in Knative.
  await runtime.apply(config(trigger('late', sub.url, undefined, 'later')), { force: true });
  assert.equal(runtime.status('Trigger', 'default', 'late')!.conditions.find((x) => x.type === 'BrokerReady')?.reason, 'BrokerDoesNotExist');
  assert.equal((await send(runtime, 'later', 'l2', 't')).status, 404);
});

test('apply: components are replaced only when their resources change, and a stopped component releases its route', async () => {
  const sub = await startSubscriberIn(cleanup);
  const channel = doc(manifests.channel('ch')) + doc(manifests.subscription('s', { channel: manifests.channelRef('ch'), subscriber: sub.url }));
  const runtime = await start(broker('default') + channel);
  assert.equal((await postEvent(`${runtime.url}/channels/default/ch`, { id: 'c1', source: '/s', type: 't' })).status, 202);
  await sub.waitForCount(1);
  const unchanged = await runtime.apply(config(broker('default') + broker('more') + channel));
  assert.deepEqual(unchanged.restarted, [], 'a broker change does not touch the channel component');
  const removed = await runtime.apply(config(broker('default')));
  assert.deepEqual(changes(removed), ['Broker/more deleted', 'InMemoryChannel/ch deleted', 'Subscription/s deleted']);
  // The path is no longer served: it answers as any path that is not /{namespace}/{broker} does.
  assert.equal((await postEvent(`${runtime.url}/channels/default/ch`, { id: 'c2', source: '/s', type: 't' })).status, 400, 'the route was released');
  assert.equal(runtime.status('InMemoryChannel', 'default', 'ch'), undefined);
  await runtime.apply(config(broker('default') + channel));
  assert.equal((await postEvent(`${runtime.url}/channels/default/ch`, { id: 'c3', source: '/s', type: 't' })).status, 202, 'the route can be taken again');
  await sub.waitForCount(2);
  assert.deepEqual(sub.ids(), ['c1', 'c3']);
});

test('apply: a new broker whose store cannot open refuses the whole change', async () => {
  const sub = await startSubscriberIn(cleanup);
  const runtime = await start(broker('default'));
  await assert.rejects(
    runtime.apply(config(broker('default') + kafkaClass + trigger('t', sub.url))),
    (err: unknown) => isSluiceError(err, 'SLUICE_CONFIG_INVALID') && /class "Kafka" is not available/.test(err.message),
  );
  assert.equal(runtime.status('Trigger', 'default', 't'), undefined, 'nothing of the change was applied');
  assert.equal((await send(runtime, 'k', 'x', 't')).status, 404);
});

test('apply: a changed PingSource is replaced, an unchanged one keeps running', async () => {
  const sub = await startSubscriberIn(cleanup);
  const ping = (name: string, data: string) => `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: ${name}
spec:
  schedule: "*/1 * * * * *"
  data: '${data}'
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
---
`;
  const runtime = await start(broker('default') + trigger('all', sub.url) + ping('steady', 'same') + ping('moving', 'before'));
  await waitFor(() => sub.received.some((r) => r.body.toString() === 'before'), 'the first pings', 15_000);
  const report = await runtime.apply(config(broker('default') + trigger('all', sub.url) + ping('steady', 'same') + ping('moving', 'after')));
  assert.deepEqual(report.restarted, ['PingSource default/moving']);
  assert.deepEqual(changes(report), ['PingSource/moving configured']);
  // A ping of the old source already in the broker when it stopped may still arrive; none is sent after that.
  const settled = Date.now() + 1000;
  await waitFor(() => sub.received.some((r) => r.at > settled + 2000), 'two more seconds of pings', 15_000);
  const after = sub.received.filter((r) => r.at > settled).map((r) => r.body.toString());
  assert.ok(after.includes('after') && after.includes('same'), `both sources send after the change: ${after.join(',')}`);
  assert.ok(!after.includes('before'), 'the replaced source no longer sends');
});

test('apply: a Subscription waiting for its channel turns Ready when the channel is applied, and NotReady when it goes', async () => {
  const sub = await startSubscriberIn(cleanup);
  const subscription = doc(manifests.subscription('s', { channel: manifests.channelRef('later'), subscriber: sub.url }));
  const channel = doc(manifests.channel('later'));
  const runtime = await start(broker('default') + subscription);
  const reason = () => runtime.status('Subscription', 'default', 's')?.conditions.find((c) => c.status !== 'True')?.reason;
  assert.equal(reason(), 'ChannelReferenceFailed');
  await runtime.apply(config(broker('default') + subscription + channel));
  assert.equal(runtime.status('Subscription', 'default', 's')?.conditions.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal((await postEvent(`${runtime.url}/channels/default/later`, { id: 'c1', source: '/s', type: 't' })).status, 202);
  await sub.waitForCount(1);
  await runtime.apply(config(broker('default') + subscription));
  assert.equal(reason(), 'ChannelReferenceFailed');
});

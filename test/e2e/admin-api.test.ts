// The admin API of a running `sluice run`: its own port, resources with Knative-style conditions, readiness, JSON
// errors, and the flags/environment variables that place it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { cleanupScope, runCli, startSluice, startSubscriber, tempDir } from './harness.js';
import { startSluiceIn, startSubscriberIn } from './fixtures.js';
import { broker, channel, channelRef, documents, subscription, trigger } from './manifests.js';

const cleanup = cleanupScope();

const yaml = (subscriber: string, dls: string): string =>
  documents(
    broker('default'),
    trigger('display', { broker: 'default', subscriber }),
    trigger('with-dls', { broker: 'default', subscriber, delivery: { deadLetterSink: dls } }, { namespace: 'default' }),
  );

async function getJson(url: string): Promise<{ status: number; body: any }> /* eslint-disable-line @typescript-eslint/no-explicit-any -- tests read the JSON they check */ {
  const res = await fetch(url);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, `${url} answers JSON`);
  return { status: res.status, body: await res.json() };
}

async function start() {
  const sub = await startSubscriberIn(cleanup);
  const sluice = await startSluiceIn(cleanup, { yaml: yaml(sub.url, 'http://127.0.0.1:9/dls') });
  return { sluice, sub };
}

test('the admin API runs on its own port, and the ingress port does not serve it', async () => {
  const { sluice } = await start();
  assert.notEqual(new URL(sluice.adminUrl).port, new URL(sluice.url).port);
  assert.equal((await getJson(`${sluice.adminUrl}/api/v1/brokers`)).status, 200);
  const onIngress = await fetch(`${sluice.url}/api/v1/brokers`);
  assert.notEqual(onIngress.status, 200, 'the ingress port must not expose the admin API');
});

test('list and get every resource with spec and Knative conditions', async () => {
  const { sluice, sub } = await start();
  const brokers = (await getJson(`${sluice.adminUrl}/api/v1/brokers`)).body;
  assert.equal(brokers.kind, 'BrokerList');
  assert.equal(brokers.items.length, 1);
  const broker = brokers.items[0];
  assert.equal(broker.metadata.name, 'default');
  assert.equal(broker.metadata.namespace, 'default');
  assert.equal(broker.status.address.url, `${sluice.url}/default/default`);
  const types = broker.status.conditions.map((c: { type: string }) => c.type).sort();
  assert.deepEqual(types, ['Addressable', 'DeadLetterSinkResolved', 'FilterReady', 'IngressReady', 'Ready']);
  for (const c of broker.status.conditions) {
    assert.equal(c.status, 'True', `${c.type} is True`);
    assert.ok(!Number.isNaN(Date.parse(c.lastTransitionTime)), 'lastTransitionTime is an ISO time');
  }

  for (const path of ['triggers', 'trigger', 'Trigger', 'triggers.eventing.knative.dev']) {
    assert.equal((await getJson(`${sluice.adminUrl}/api/v1/${path}`)).body.items.length, 2, `GET /api/v1/${path}`);
  }
  const t = (await getJson(`${sluice.adminUrl}/api/v1/triggers/default/with-dls`)).body;
  assert.equal(t.kind, 'Trigger');
  assert.equal(t.spec.subscriber.uri, sub.url);
  assert.equal(t.status.subscriberUri, sub.url);
  assert.equal(t.status.deadLetterSinkUri, 'http://127.0.0.1:9/dls');
  const byType = Object.fromEntries(t.status.conditions.map((c: { type: string }) => [c.type, c]));
  for (const type of ['Ready', 'BrokerReady', 'SubscriberResolved', 'SubscriptionReady', 'DependencyReady', 'DeadLetterSinkResolved']) {
    assert.equal(byType[type]?.status, 'True', `${type} is True`);
  }
  const noDls = (await getJson(`${sluice.adminUrl}/api/v1/triggers/default/display`)).body;
  const dlsCondition = noDls.status.conditions.find((c: { type: string }) => c.type === 'DeadLetterSinkResolved');
  assert.equal(dlsCondition.reason, 'DeadLetterSinkNotConfigured');

  const kinds = (await getJson(`${sluice.adminUrl}/api/v1/kinds`)).body.kinds.map((k: { kind: string }) => k.kind);
  assert.ok(kinds.includes('Subscription') && kinds.includes('PingSource'));
});

test('errors are JSON with a stable code and the right status', async () => {
  const { sluice } = await start();
  const missing = await getJson(`${sluice.adminUrl}/api/v1/triggers/default/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'SLUICE_NOT_FOUND');
  assert.match(missing.body.error.message, /Trigger default\/nope not found/);
  const kind = await getJson(`${sluice.adminUrl}/api/v1/widgets`);
  assert.equal(kind.status, 404);
  assert.equal(kind.body.error.code, 'SLUICE_UNKNOWN_KIND');
  const route = await getJson(`${sluice.adminUrl}/nothing/here`);
  assert.equal(route.status, 404);
  assert.equal(route.body.error.code, 'SLUICE_NOT_FOUND');
});

test('/readyz and /livez on the admin port', async () => {
  const { sluice } = await start();
  const ready = await getJson(`${sluice.adminUrl}/readyz`);
  assert.deepEqual(ready, { status: 200, body: { ready: true, reasons: [] } });
  assert.equal((await fetch(`${sluice.adminUrl}/livez`)).status, 200);
});

test('SLUICE_ADMIN_PORT/SLUICE_ADMIN_HOST place the admin API; a taken port is a clear error', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const taken = (blocker.address() as AddressInfo).port;
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${dir.path}/b.yaml`, 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n');
  const r = await runCli(['run', '-f', `${dir.path}/b.yaml`, '--port', '0', '--data-dir', `${dir.path}/store`], {
    env: { SLUICE_ADMIN_PORT: String(taken), SLUICE_ADMIN_HOST: '127.0.0.1' },
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot serve the admin API on 127\\.0\\.0\\.1:${taken}: the port is in use`));
  assert.match(r.stderr, /--admin-port/);

  const bad = await runCli(['run', '-f', `${dir.path}/b.yaml`, '--admin-port', '70000']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--admin-port must be a port number from 0 to 65535, got "70000"/);
});

test('live figures per Trigger and Subscription: delivered, failed, retrying, in flight, last error, oldest pending age', async () => {
  const good = await startSubscriber();
  const failing = await startSubscriber(() => ({ status: 503, body: 'subscriber busy' }));
  const hanging = await startSubscriber(() => ({ hang: true }));
  const dir = tempDir();
  const config = documents(
    broker('default'),
    trigger('good', { broker: 'default', subscriber: good.url }),
    trigger('failing', { broker: 'default', subscriber: failing.url, delivery: { retry: 5, backoffDelay: 'PT30S' } }),
    trigger('hanging', { broker: 'default', subscriber: hanging.url, delivery: { timeout: 'PT60S' } }),
    channel('pipe'),
    subscription('to-good', { channel: channelRef('pipe'), subscriber: good.url }),
  );
  const sluice = await startSluice({ yaml: config, dataDir: dir.path });
  cleanup.add(
    () => dir.remove(),
    async () => void (await sluice.stop()),
    () => good.close(),
    () => failing.close(),
    () => hanging.close(),
  );
  const { postEvent } = await import('./harness.js');
  const sentAt = Date.now();
  for (const id of ['a', 'b', 'c']) assert.equal((await postEvent(`${sluice.url}/default/default`, { id, source: '/t', type: 't' })).status, 202);
  assert.equal((await postEvent(`${sluice.url}/channels/default/pipe`, { id: 'ch1', source: '/t', type: 't' })).status, 202);
  await good.waitForCount(4);
  await failing.waitForCount(3);
  await hanging.waitForCount(3);
  const figuresOf = async (path: string) => (await getJson(`${sluice.adminUrl}/api/v1/${path}`)).body.status.figures;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read the JSON they check
  const waitFigures = async (path: string, ok: (f: any) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const f = await figuresOf(path);
      if (ok(f)) return f;
      await new Promise((r) => setTimeout(r, 25));
    }
    return figuresOf(path);
  };

  const g = await waitFigures('triggers/default/good', (f) => f.delivered === 3);
  assert.equal(g.delivered, 3);
  assert.equal(g.failed, 0);
  assert.equal(g.backlog, 0);
  assert.equal(g.inFlight, 0);
  assert.equal(g.retrying, 0);
  assert.equal(g.oldestPendingAgeMs, null);
  assert.ok(Date.parse(g.lastSuccess) >= sentAt - 1000, 'lastSuccess is a recent ISO time');
  assert.equal(g.lastError, null);
  assert.ok(g.deliveredPerSecond > 0);

  const f = await waitFigures('triggers/default/failing', (x) => x.retrying === 3);
  assert.equal(f.delivered, 0);
  assert.equal(f.failed, 3);
  assert.equal(f.retrying, 3);
  assert.equal(f.inFlight, 0);
  assert.equal(f.lastError.status, 503);
  assert.equal(f.lastError.body, 'subscriber busy');
  assert.ok(Date.parse(f.lastError.time) >= sentAt - 1000);
  assert.ok(f.oldestPendingAgeMs >= 0 && f.oldestPendingAgeMs <= Date.now() - sentAt + 1000, 'age of the oldest pending event');

  const h = await waitFigures('triggers/default/hanging', (x) => x.inFlight === 3);
  assert.equal(h.inFlight, 3);
  assert.equal(h.backlog, 0);

  const s = await waitFigures('subscriptions/default/to-good', (x) => x.delivered === 1);
  assert.equal(s.delivered, 1);
  const sub = (await getJson(`${sluice.adminUrl}/api/v1/subscriptions/default/to-good`)).body;
  assert.equal(sub.status.physicalSubscription.subscriberUri, good.url);
  assert.deepEqual(sub.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`).sort(), [
    'AddedToChannel=True',
    'ChannelReady=True',
    'Ready=True',
    'ReferencesResolved=True',
  ]);
  const imc = (await getJson(`${sluice.adminUrl}/api/v1/imc/default/pipe`)).body;
  assert.equal(imc.status.address.url, `${sluice.url}/channels/default/pipe`);
});

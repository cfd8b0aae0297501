// The admin server on a real loopback port, with a fake control plane: mounting routes from other packages, JSON
// errors, readiness before and after the control plane is connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { AdminServer, adminError, resolveKind, type ControlPlane } from '@sluice/admin';

const plane = (ready: boolean): ControlPlane => ({
  kinds: () => ['Broker', 'Trigger', 'InMemoryChannel'],
  resources: () => [{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b', namespace: 'default' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }],
  readiness: () => ({ ready, reasons: ready ? [] : ['Broker default/b: NotReady'] }),
});

test('routes mounted by other packages are served, before the JSON 404', async () => {
  const admin = await AdminServer.start({ port: 0, plane: plane(true) });
  try {
    admin.mount('/metrics', (_req, res) => void res.type('text/plain').send('x_total 1\n'));
    const router = express.Router();
    router.get('/items', (_req, res) => void res.json({ items: [1] }));
    router.get('/boom', () => {
      throw adminError('SLUICE_ARCHIVE_OFF', 'busy');
    });
    admin.mount('/api/v1/extra', router);
    assert.equal(await (await fetch(`${admin.url}/metrics`)).text(), 'x_total 1\n');
    assert.deepEqual(await (await fetch(`${admin.url}/api/v1/extra/items`)).json(), { items: [1] });
    const boom = await fetch(`${admin.url}/api/v1/extra/boom`);
    assert.equal(boom.status, 409);
    assert.deepEqual(await boom.json(), { error: { code: 'SLUICE_ARCHIVE_OFF', message: 'busy' } });
    const missing = await fetch(`${admin.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'SLUICE_NOT_FOUND');
  } finally {
    await admin.close();
  }
});

test('a malformed JSON body is a 400 JSON error', async () => {
  const admin = await AdminServer.start({ port: 0, plane: plane(true) });
  try {
    admin.mount('/echo', (req, res) => void res.json(req.body));
    const res = await fetch(`${admin.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SLUICE_BAD_REQUEST');
  } finally {
    await admin.close();
  }
});

test('readiness is 503 until a control plane is connected, then follows it', async () => {
  const admin = await AdminServer.start({ port: 0 });
  try {
    const starting = await fetch(`${admin.url}/readyz`);
    assert.equal(starting.status, 503);
    assert.deepEqual(await starting.json(), { ready: false, reasons: ['starting'] });
    assert.equal((await fetch(`${admin.url}/api/v1/brokers`)).status, 503);
    admin.setControlPlane(plane(false));
    const notReady = await fetch(`${admin.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), { ready: false, reasons: ['Broker default/b: NotReady'] });
    admin.setControlPlane(plane(true));
    assert.equal((await fetch(`${admin.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${admin.url}/livez`)).status, 200);
  } finally {
    await admin.close();
  }
});

test('kind names resolve as kubectl resolves them', () => {
  const kinds = ['Broker', 'Trigger', 'InMemoryChannel', 'Parallel'];
  assert.equal(resolveKind('triggers', kinds), 'Trigger');
  assert.equal(resolveKind('Trigger', kinds), 'Trigger');
  assert.equal(resolveKind('trigger', kinds), 'Trigger');
  assert.equal(resolveKind('triggers.eventing.knative.dev', kinds), 'Trigger');
  assert.equal(resolveKind('imc', kinds), 'InMemoryChannel');
  assert.equal(resolveKind('parallels', kinds), 'Parallel');
  assert.equal(resolveKind('widgets', kinds), undefined);
});

test('a Knative Service is ksvc, the core Service is services or svc, as kubectl lists them', async () => {
  const both: ControlPlane = {
    kinds: () => ['Broker', 'Service', 'Service'],
    resources: () => [
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'display', namespace: 'default' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cashier', namespace: 'default' } },
    ],
    readiness: () => ({ ready: true, reasons: [] }),
  };
  const admin = await AdminServer.start({ port: 0, plane: both });
  try {
    const names = async (kind: string): Promise<string[]> =>
      ((await (await fetch(`${admin.url}/api/v1/${kind}`)).json()) as { items: { metadata: { name: string } }[] }).items.map((r) => r.metadata.name);
    assert.deepEqual(await names('ksvc'), ['display']);
    assert.deepEqual(await names('services.serving.knative.dev'), ['display']);
    assert.deepEqual(await names('services'), ['cashier']);
    assert.deepEqual(await names('svc'), ['cashier']);
    assert.equal((await fetch(`${admin.url}/api/v1/ksvc/default/display`)).status, 200);
    assert.equal((await fetch(`${admin.url}/api/v1/service/default/display`)).status, 404);
    const kinds = ((await (await fetch(`${admin.url}/api/v1/kinds`)).json()) as { kinds: { plural: string }[] }).kinds.map((k) => k.plural);
    assert.deepEqual(kinds, ['brokers', 'services', 'ksvc']);
  } finally {
    await admin.close();
  }
});

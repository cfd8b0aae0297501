// EventType end to end through the real CLI: declared EventTypes (v1beta3 and v1beta2) are listed by the admin API;
// with eventtype-auto-create, the types seen at a broker's and a channel's ingress are recorded with first/last seen
// and count, listed beside them, and still there after a restart on the same data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanupScope, postEvent, startSluice, tempDir, waitFor } from './harness.js';

const cleanup = cleanupScope();

interface Listed {
  apiVersion: string;
  metadata: { name: string; namespace: string };
  spec: { reference?: { kind: string; name: string }; attributes?: Array<{ name: string; value?: string }>; type?: string };
  status?: { count?: number; firstSeen?: string; lastSeen?: string };
  source?: string;
}

async function list(adminUrl: string): Promise<Listed[]> {
  const res = await fetch(`${adminUrl}/api/v1/eventtypes`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: Listed[] }).items;
}

const attr = (e: Listed, name: string) => e.spec.attributes?.find((a) => a.name === name)?.value;

test('declared EventTypes are listed; auto-created ones are recorded, counted and survive a restart', async () => {
  const dir = tempDir('sluice-eventtypes-e2e-');
  cleanup.add(() => dir.remove());
  const yaml =
    readFileSync(join(ROOT, 'examples/eventtypes/eventtypes.yaml'), 'utf8') +
    '---\napiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata:\n  name: orders\n---\napiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: s\nspec:\n  channel:\n    apiVersion: messaging.knative.dev/v1\n    kind: InMemoryChannel\n    name: orders\n  subscriber:\n    uri: http://127.0.0.1:9/\n';
  let s = await startSluice({ yaml, dataDir: dir.path });
  cleanup.add(async () => s.stop('SIGKILL'));
  const declared = await list(s.adminUrl);
  assert.deepEqual(declared.map((e) => e.metadata.name).sort(), ['order-created', 'order-shipped']);

  for (const [i, type] of ['dev.example.order.created', 'dev.example.order.created', 'dev.example.order.paid'].entries()) {
    assert.equal((await postEvent(`${s.url}/default/default`, { id: `b-${i}`, source: '/shop', type }, '{}')).status, 202);
  }
  assert.equal((await postEvent(`${s.url}/channels/default/orders`, { id: 'c-1', source: '/shop', type: 'dev.example.order.created', dataschema: 'https://example.com/o.json' }, '{}')).status, 202);
  let auto: Listed[] = [];
  // Each poll's request ends before the next check: a request left in flight failed the test once it outlived the stop.
  await waitFor(
    async () => {
      auto = (await list(s.adminUrl)).filter((e) => e.source === 'auto-created');
      return auto.length === 3 && auto.some((e) => e.status?.count === 2);
    },
    'three auto-created EventTypes, one seen twice',
    15_000,
  );
  const created = auto.find((e) => e.spec.reference?.kind === 'Broker' && attr(e, 'type') === 'dev.example.order.created')!;
  assert.equal(created.apiVersion, 'eventing.knative.dev/v1beta3');
  assert.match(created.metadata.name, /^et-default-[0-9a-f]{32}$/);
  assert.equal(attr(created, 'source'), '/shop');
  assert.equal(created.status?.count, 2);
  const viaChannel = auto.find((e) => e.spec.reference?.kind === 'InMemoryChannel')!;
  assert.equal(viaChannel.spec.reference?.name, 'orders');
  assert.equal(attr(viaChannel, 'schemadata'), 'https://example.com/o.json');

  // A graceful stop writes what is pending; a new process on the same data directory lists the same types.
  assert.equal(await s.stop('SIGTERM'), 0);
  s = await startSluice({ yaml, dataDir: dir.path });
  const again = (await list(s.adminUrl)).filter((e) => e.source === 'auto-created');
  assert.deepEqual(again.map((e) => `${e.metadata.name}:${e.status?.count}`).sort(), auto.map((e) => `${e.metadata.name}:${e.status?.count}`).sort());
});

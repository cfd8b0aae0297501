// Triggers with `cesql` filters route exactly the matching events; an expression that errors on an event does not
// match it and does not break the trigger (issue 3), through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, postEvent, startSluice, startSubscriber, tempDir, waitForIdle } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const cleanup = cleanupScope();

test('cesql triggers route exactly the matching events, and evaluation errors only mean "no match"', async () => {
  const orders = await startSubscriber();
  const big = await startSubscriber();
  const combined = await startSubscriber();
  const dir = tempDir();
  cleanup.add(
    () => dir.remove(),
    () => orders.close(),
    () => big.close(),
    () => combined.close(),
  );
  const cesql = (name: string, url: string, expression: string) => trigger(name, { broker: 'default', filters: [{ cesql: expression }], subscriber: url });
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: documents(
      broker('default'),
      cesql('orders', orders.url, "source LIKE '%commerce%' AND type IN ('order.created', 'order.updated')"),
      // INT(amount) fails (cast error) when amount is not a number, and EXISTS guards nothing here on purpose.
      cesql('big', big.url, 'INT(amount) > 100'),
      cesql('combined', combined.url, "LOWER(region) = 'eu' OR (EXISTS priority AND priority = 'high')"),
    ),
  });
  cleanup.add(async () => void (await sluice.stop()));
  const send = (id: string, attrs: Record<string, string>) => postEvent(`${sluice.url}/default/default`, { id, ...attrs });
  const events: Array<[string, Record<string, string>]> = [
    ['o1', { source: '/shop/commerce', type: 'order.created', amount: '150', region: 'EU' }],
    ['o2', { source: '/shop/commerce', type: 'order.deleted', amount: '50' }],
    ['o3', { source: '/crm', type: 'order.updated', amount: 'lots', priority: 'high' }],
    ['o4', { source: 'https://x/commerce/y', type: 'order.updated' }],
    ['o5', { source: '/a', type: 'b', amount: '101', region: 'us' }],
  ];
  for (const [id, attrs] of events) assert.equal((await send(id, attrs)).status, 202);
  await orders.waitForCount(2);
  await big.waitForCount(2);
  await combined.waitForCount(1);
  // A trigger whose expression failed on earlier events keeps working on later ones.
  assert.equal((await send('o6', { source: '/z', type: 'z', amount: '999' })).status, 202);
  await big.waitForCount(3);
  await waitForIdle(sluice);
  assert.deepEqual(orders.ids().sort(), ['o1', 'o4']);
  assert.deepEqual(big.ids().sort(), ['o1', 'o5', 'o6'], 'o3 (amount "lots": cast error) and events without amount (missing attribute) do not match');
  // o3 has no region: LOWER(region) is a missing-attribute error, and an expression that errors never matches, even
  // when the other side of the OR would be true (CESQL's error model; Knative's cesql filter fails on any error).
  assert.deepEqual(combined.ids().sort(), ['o1']);
});

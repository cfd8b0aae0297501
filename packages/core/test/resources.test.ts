import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKindName } from '../src/index.js';

test("parseKindName reads kn's KIND:NAME[:NAMESPACE] for the kinds given, a bare NAME only with a default kind", () => {
  assert.deepEqual(parseKindName('broker:orders', ['broker']), { kind: 'broker', name: 'orders', namespace: undefined });
  assert.deepEqual(parseKindName('channel:c-1:shop', ['broker', 'channel']), { kind: 'channel', name: 'c-1', namespace: 'shop' });
  assert.deepEqual(parseKindName('orders:shop', ['broker'], 'broker'), { kind: 'broker', name: 'orders', namespace: 'shop' });
  assert.equal(parseKindName('orders', ['broker']), undefined, 'no kind and no default');
  assert.equal(parseKindName('channel:x', ['broker']), undefined, 'a kind not offered');
  assert.equal(parseKindName('broker:Orders', ['broker']), undefined, 'not a DNS label');
  assert.equal(parseKindName('broker:-x', ['broker']), undefined);
  assert.equal(parseKindName(`broker:${'a'.repeat(64)}`, ['broker']), undefined, 'over 63 characters');
  assert.equal(parseKindName('broker:a:b:c', ['broker']), undefined);
});

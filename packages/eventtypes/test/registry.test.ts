// Unit tests of the auto-created EventType registry: Knative's names, counting, the bound, and persistence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypeRegistry, eventTypeName } from '../src/index.js';

const ref = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace: 'default', name: 'default' };
const ev = (type: string, source = '/s', dataschema?: string) => ({ attributes: { specversion: '1.0', id: '1', type, source, ...(dataschema ? { dataschema } : {}) }, data: undefined });

test("names are Knative's: et-<addressable>-md5(type+source+namespace+name)", () => {
  // md5("t/sdefaultdefault")
  assert.equal(eventTypeName('default', 'default', 't', '/s'), 'et-default-fec59b77a655e3513ee11cb95b4e70e0');
  assert.match(eventTypeName('My_Broker', 'ns', 't', '/s'), /^et-mybroker-[0-9a-f]{32}$/);
});

test('counts, first/last seen, the bound and persistence across reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-et-'));
  try {
    let now = 1000;
    const path = join(dir, 'et.db');
    const r = new EventTypeRegistry({ path, maxTypes: 3, now: () => now });
    assert.equal(r.record(ref, [ev('a'), ev('a'), ev('b', '/s', 'https://x/s.json')]).length, 2);
    now = 2000;
    r.record(ref, [ev('a')]);
    assert.equal(r.record(ref, [ev('c'), ev('d'), ev('e')]).length, 1, 'only one more fits');
    assert.equal(r.overflow, 2);
    const a = r.list().find((t) => t.type === 'a')!;
    assert.deepEqual([a.count, a.firstSeen, a.lastSeen], [3, 1000, 2000]);
    assert.equal(r.list().find((t) => t.type === 'b')!.schema, 'https://x/s.json');
    r.close();
    const again = new EventTypeRegistry({ path, maxTypes: 3 });
    assert.deepEqual(
      again
        .list()
        .map((t) => `${t.type}:${t.count}`)
        .sort(),
      ['a:3', 'b:1', 'c:1'],
    );
    assert.equal(again.record(ref, [ev('f')]).length, 0, 'the bound holds after a restart');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

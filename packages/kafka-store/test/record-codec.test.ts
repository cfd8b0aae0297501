// The Kafka protocol binding (binary mode) of stored records (no Kafka needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeRecord } from '../src/index.js';
import { ATTEMPT_HEADER, DUE_HEADER } from '../src/record-codec.js';

test('binary mode: ce_ headers as strings, content-type, data as the value, partitionkey as the key', () => {
  const m = encodeRecord({
    attributes: { specversion: '1.0', id: 'a', source: '/s', type: 't', datacontenttype: 'text/plain; charset=utf-8', partitionkey: 'k', knativebrokerttl: 254, flag: true, ünicode: 'x' },
    data: Buffer.from('héllo'),
  });
  assert.equal(m.key, 'k');
  assert.deepEqual(m.value, Buffer.from('héllo'));
  assert.equal(m.headers!['ce_id'], 'a');
  assert.equal(m.headers!['content-type'], 'text/plain; charset=utf-8');
  assert.equal(m.headers!['ce_datacontenttype'], undefined);
  assert.equal(m.headers!['ce_knativebrokerttl'], '254');
  assert.equal(m.headers!['sluice_types'], 'knativebrokerttl=integer;flag=boolean');
});

test('decoding restores every attribute with its type, and the data bytes', () => {
  const original = { attributes: { specversion: '1.0', id: 'a', source: '/s', type: 't', subject: 'é ∑', seq: 7, ok: false }, data: Buffer.from([0, 1, 2, 255]) };
  const m = encodeRecord(original, { [ATTEMPT_HEADER]: '3', [DUE_HEADER]: '1234' });
  // kafkajs hands headers back as Buffers.
  const headers = Object.fromEntries(Object.entries(m.headers!).map(([k, v]) => [k, Buffer.from(String(v))]));
  const d = decodeRecord(headers, m.value as Buffer);
  assert.deepEqual(d.event, original);
  assert.equal(d.attempt, 3);
  assert.equal(d.dueAt, 1234);
  assert.equal(encodeRecord({ attributes: { specversion: '1.0', id: 'b', source: '/s', type: 't' }, data: undefined }).key, null);
  assert.equal(decodeRecord({ ce_id: Buffer.from('b') }, null).event.data, undefined);
});

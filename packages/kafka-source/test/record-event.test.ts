import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserializeKey, headerExtensionName, javaFloatingString, recordToEvent, type KafkaRecord } from '../src/record-event.js';
import { applyCeOverrides } from '@sluice/sources';

const opts = { namespace: 'team-a', name: 'orders' };

function record(overrides: Partial<KafkaRecord> = {}): KafkaRecord {
  return { topic: 'orders', partition: 2, offset: '41', timestamp: '1714557600123', key: null, value: Buffer.from('{"n":1}'), headers: {}, ...overrides };
}

test('a plain record is wrapped exactly as Knative wraps it', () => {
  const m = recordToEvent(
    record({
      key: Buffer.from('customer-7'),
      headers: { 'content-type': Buffer.from('Application/JSON'), 'X-Trace_ID': Buffer.from('abc'), tenant: 'acme' },
    }),
    opts,
  );
  assert.equal(m.shape, 'wrapped');
  assert.equal(m.invalid, undefined);
  assert.deepEqual(m.event.attributes, {
    specversion: '1.0',
    id: 'partition:2/offset:41',
    source: '/apis/v1/namespaces/team-a/kafkasources/orders#orders',
    type: 'dev.knative.kafka.event',
    subject: 'partition:2#41',
    time: '2024-05-01T10:00:00.123Z',
    key: 'customer-7',
    partitionkey: 'customer-7',
    kafkaheaderxtraceid: 'abc',
    kafkaheadertenant: 'acme',
    datacontenttype: 'application/json',
  });
  assert.equal(m.event.data?.toString(), '{"n":1}');
});

test('wrapping: no key, no headers, no value; repeated headers keep the last value', () => {
  const m = recordToEvent(record({ value: null, key: Buffer.alloc(0), headers: { h: [Buffer.from('first'), Buffer.from('last')], skipped: undefined } }), opts);
  assert.equal(m.event.data, undefined);
  assert.equal(m.event.attributes['key'], undefined);
  assert.equal(m.event.attributes['partitionkey'], undefined);
  assert.equal(m.event.attributes['datacontenttype'], undefined);
  assert.equal(m.event.attributes['kafkaheaderh'], 'last');
  assert.equal('kafkaheaderskipped' in m.event.attributes, false);
});

test('a timestamp out of JavaScript range leaves time unset instead of failing the record', () => {
  const m = recordToEvent(record({ timestamp: '9999999999999999' }), opts);
  assert.equal(m.event.attributes['time'], undefined);
  assert.equal(m.event.attributes['id'], 'partition:2/offset:41');
});

test('header names: lower-cased, only [a-z0-9] kept', () => {
  assert.equal(headerExtensionName('X-Request-ID'), 'kafkaheaderxrequestid');
  assert.equal(headerExtensionName('traceparent'), 'kafkaheadertraceparent');
  assert.equal(headerExtensionName('My.Header_2'), 'kafkaheadermyheader2');
  assert.equal(headerExtensionName('Ünïcödé'), 'kafkaheaderncd');
  assert.equal(headerExtensionName('---'), 'kafkaheader');
});

test('a binary-mode CloudEvent (ce_ headers) is forwarded unchanged', () => {
  const m = recordToEvent(
    record({
      key: Buffer.from('k'),
      value: Buffer.from('hello'),
      headers: {
        ce_specversion: Buffer.from('1.0'),
        ce_id: Buffer.from('evt-1'),
        ce_source: Buffer.from('/producer'),
        ce_type: Buffer.from('com.example.created'),
        ce_time: Buffer.from('2024-05-01T10:00:00Z'),
        ce_myext: Buffer.from('x y'),
        'content-type': Buffer.from('text/plain'),
        other: Buffer.from('not an attribute'),
      },
    }),
    opts,
  );
  assert.equal(m.shape, 'binary');
  assert.deepEqual(m.event.attributes, {
    specversion: '1.0',
    id: 'evt-1',
    source: '/producer',
    type: 'com.example.created',
    time: '2024-05-01T10:00:00Z',
    myext: 'x y',
    datacontenttype: 'text/plain',
  });
  assert.equal(m.event.data?.toString(), 'hello');
});

test('a structured-mode CloudEvent is forwarded unchanged', () => {
  const json = { specversion: '1.0', id: 's-1', source: 'urn:src', type: 't.structured', datacontenttype: 'application/json', data: { a: [1, 2] }, ext1: 'v' };
  const m = recordToEvent(record({ headers: { 'content-type': Buffer.from('application/cloudevents+json; charset=UTF-8') }, value: Buffer.from(JSON.stringify(json)) }), opts);
  assert.equal(m.shape, 'structured');
  assert.deepEqual(m.event.attributes, { specversion: '1.0', id: 's-1', source: 'urn:src', type: 't.structured', datacontenttype: 'application/json', ext1: 'v' });
  assert.deepEqual(JSON.parse(m.event.data!.toString()), { a: [1, 2] });
  const b64 = recordToEvent(
    record({ headers: { 'content-type': 'application/cloudevents+json' }, value: Buffer.from(JSON.stringify({ specversion: '1.0', id: 'b', source: 's', type: 't', data_base64: 'AAEC' })) }),
    opts,
  );
  assert.deepEqual([...b64.event.data!], [0, 1, 2]);
});

test('a record that looks like a CloudEvent but is not a valid one is wrapped, with the reason', () => {
  const missingType = recordToEvent(record({ headers: { ce_specversion: '1.0', ce_id: 'x', ce_source: '/s' } }), opts);
  assert.equal(missingType.shape, 'wrapped');
  assert.match(missingType.invalid!, /type/);
  assert.equal(missingType.event.attributes['kafkaheaderceid'], 'x');
  const badJson = recordToEvent(record({ headers: { 'content-type': 'application/cloudevents+json' }, value: Buffer.from('{nope') }), opts);
  assert.equal(badJson.shape, 'wrapped');
  assert.match(badJson.invalid!, /JSON/);
  assert.equal(badJson.event.attributes['datacontenttype'], 'application/cloudevents+json');
  const batch = recordToEvent(record({ headers: { 'content-type': 'application/cloudevents-batch+json' }, value: Buffer.from('[]') }), opts);
  assert.equal(batch.shape, 'wrapped');
  const badTime = recordToEvent(record({ headers: { ce_specversion: '1.0', ce_id: 'x', ce_source: '/s', ce_type: 't', ce_time: 'yesterday' } }), opts);
  assert.equal(badTime.shape, 'wrapped');
});

test('key types follow the key-type label, as Knative KeyDeserializer does', () => {
  const int = Buffer.alloc(4);
  int.writeInt32BE(-42);
  assert.equal(deserializeKey(int, 'int'), -42);
  assert.equal(deserializeKey(Buffer.from('12345'), 'int'), '12345'); // not 4 bytes: a string
  const f = Buffer.alloc(4);
  f.writeFloatBE(1.5);
  assert.equal(deserializeKey(f, 'float'), '1.5');
  const d = Buffer.alloc(8);
  d.writeDoubleBE(0.1);
  assert.equal(deserializeKey(d, 'float'), '0.1');
  assert.equal(deserializeKey(Buffer.from('abc'), 'float'), 'abc');
  assert.equal(deserializeKey(Buffer.from([0, 255, 16]), 'byte-array'), 'AP8Q');
  assert.equal(deserializeKey(Buffer.from('héllo'), 'string'), 'héllo');
  assert.equal(deserializeKey(Buffer.from('héllo')), 'héllo');
  assert.equal(deserializeKey(null, 'int'), undefined);
  assert.equal(deserializeKey(Buffer.alloc(0), 'byte-array'), undefined);
  const m = recordToEvent(record({ key: int }), { ...opts, keyType: 'int' });
  assert.equal(m.event.attributes['key'], -42);
  assert.equal(m.event.attributes['partitionkey'], -42);
});

test('floating keys print as Java prints them', () => {
  const f = (v: number): string => javaFloatingString(Math.fround(v), true);
  assert.equal(f(1), '1.0');
  assert.equal(f(0.1), '0.1');
  assert.equal(f(100), '100.0');
  assert.equal(f(123456.7), '123456.7');
  assert.equal(f(1e10), '1.0E10');
  assert.equal(f(1e-5), '1.0E-5');
  assert.equal(f(0.001), '0.001');
  assert.equal(f(-2.5), '-2.5');
  assert.equal(javaFloatingString(1e7, false), '1.0E7');
  assert.equal(javaFloatingString(12345678.9, false), '1.23456789E7');
  assert.equal(javaFloatingString(9999999, false), '9999999.0');
  assert.equal(javaFloatingString(Number.NaN, true), 'NaN');
  assert.equal(javaFloatingString(-Infinity, false), '-Infinity');
  assert.equal(javaFloatingString(-0, false), '-0.0');
});

test('ceOverrides add extensions to wrapped and forwarded events alike', () => {
  const m = recordToEvent(record(), opts);
  const e = applyCeOverrides(m.event, { extensions: { Team: 'a', env: 'prod' } });
  assert.equal(e.attributes['team'], 'a');
  assert.equal(e.attributes['env'], 'prod');
  assert.equal(e.attributes['type'], 'dev.knative.kafka.event');
});

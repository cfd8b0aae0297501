import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARRIVAL_TIME_EXTENSION, TTL_EXTENSION, admitEvent, withoutTtl } from '../src/index.js';

const arrival = (ms: number): unknown => admitEvent({ attributes: { specversion: '1.0', id: 'e', source: '/s', type: 't' }, data: undefined }, ms).attributes[ARRIVAL_TIME_EXTENSION];

test('knativearrivaltime is the ISO time of admission, in every millisecond, second and year the clock may give', () => {
  const times = [0, 1, 999, 1000, 1001, -1, -999, -1000, -1001, 1765036855000, 1765036855007, 1765036855070, 1765036855700, 1765036855999, 1765036856000, 1765036855123.5];
  for (let i = 0; i < 2000; i++) times.push(1765036855000 + Math.floor(i * 7.3)); // runs within and across seconds
  for (let i = 0; i < 200; i++) times.push(Math.floor((Math.random() - 0.3) * 4e12));
  times.push(253402300799999, 253402300800000, -62167219200001); // the last ms of year 9999, +010000, -000001
  for (const ms of times) assert.equal(arrival(ms), new Date(ms).toISOString(), `at ${ms}`);
  for (const ms of [...times].reverse()) assert.equal(arrival(ms), new Date(ms).toISOString(), `at ${ms}, going back`);
});

test('withoutTtl: the delivered copy lacks the hop budget, is made once per stored event, and is never carried to a copy of the event', () => {
  const stored = { attributes: { specversion: '1.0', id: 'e', source: '/s', type: 't', [TTL_EXTENSION]: 254 }, data: Buffer.from('x') };
  const first = withoutTtl(stored);
  assert.equal(first.ttl, 254);
  assert.deepEqual(first.event.attributes, { specversion: '1.0', id: 'e', source: '/s', type: 't' });
  assert.equal(first.event.data, stored.data);
  assert.equal(withoutTtl(stored).event, first.event, 'every trigger shares one copy');
  assert.deepEqual(Object.keys(stored), ['attributes', 'data'], 'the cache is not an enumerable property');
  // A spread makes another event (here with another TTL): it gets a copy of its own, not the first event's.
  const other = { ...stored, attributes: { ...stored.attributes, id: 'other', [TTL_EXTENSION]: 3 } };
  const copied = withoutTtl(other);
  assert.notEqual(copied.event, first.event);
  assert.equal(copied.event.attributes['id'], 'other');
  assert.equal(copied.ttl, 3);
  const merged = Object.assign({}, stored);
  assert.notEqual(withoutTtl(merged).event, first.event, 'Object.assign does not carry it either');
  const plain = { attributes: { specversion: '1.0', id: 'p', source: '/s', type: 't' }, data: undefined };
  assert.equal(withoutTtl(plain).event, plain, 'an event without a hop budget is delivered as it is');
  const frozen = Object.freeze({ attributes: { specversion: '1.0', id: 'f', source: '/s', type: 't', [TTL_EXTENSION]: 9 }, data: undefined });
  assert.deepEqual(withoutTtl(frozen).event.attributes, { specversion: '1.0', id: 'f', source: '/s', type: 't' }, 'a frozen event is stripped too');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARRIVAL_TIME_EXTENSION, admitEvent } from '../src/index.js';

const arrival = (ms: number): unknown => admitEvent({ attributes: { specversion: '1.0', id: 'e', source: '/s', type: 't' }, data: undefined }, ms).attributes[ARRIVAL_TIME_EXTENSION];

test('knativearrivaltime is the ISO time of admission, in every millisecond, second and year the clock may give', () => {
  const times = [0, 1, 999, 1000, 1001, -1, -999, -1000, -1001, 1765036855000, 1765036855007, 1765036855070, 1765036855700, 1765036855999, 1765036856000, 1765036855123.5];
  for (let i = 0; i < 2000; i++) times.push(1765036855000 + Math.floor(i * 7.3)); // runs within and across seconds
  for (let i = 0; i < 200; i++) times.push(Math.floor((Math.random() - 0.3) * 4e12));
  times.push(253402300799999, 253402300800000, -62167219200001); // the last ms of year 9999, +010000, -000001
  for (const ms of times) assert.equal(arrival(ms), new Date(ms).toISOString(), `at ${ms}`);
  for (const ms of [...times].reverse()) assert.equal(arrival(ms), new Date(ms).toISOString(), `at ${ms}, going back`);
});

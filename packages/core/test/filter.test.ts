import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSubscriptionsFilter, compileTriggerFilter, type CloudEvent } from '../src/index.js';

const ev = (attrs: Record<string, string | number | boolean>): CloudEvent => ({ attributes: { specversion: '1.0', id: '1', source: '/s', ...attrs }, data: undefined });

test('legacy attribute filter: exact values, "" means present and non-empty', () => {
  const f = compileTriggerFilter({ filter: { attributes: { type: 'a', ext: '' } } });
  assert.equal(f(ev({ type: 'a', ext: 'x' })), true);
  assert.equal(f(ev({ type: 'a', ext: '' })), false);
  assert.equal(f(ev({ type: 'a' })), false);
  assert.equal(f(ev({ type: 'b', ext: 'x' })), false);
  assert.equal(compileTriggerFilter({})(ev({ type: 'z' })), true);
});

test('dialects exact, prefix, suffix, all, any, not', () => {
  assert.equal(compileSubscriptionsFilter({ prefix: { type: 'com.' } })(ev({ type: 'com.x' })), true);
  assert.equal(compileSubscriptionsFilter({ suffix: { type: '.created' } })(ev({ type: 'order.created' })), true);
  assert.equal(compileSubscriptionsFilter({ exact: { myint: '5' } })(ev({ myint: 5 })), true, 'non-string values compare as strings');
  const any = compileSubscriptionsFilter({ any: [{ exact: { type: 'a' } }, { exact: { type: 'b' } }] });
  assert.deepEqual(
    ['a', 'b', 'c'].map((t) => any(ev({ type: t }))),
    [true, true, false],
  );
  const not = compileSubscriptionsFilter({ not: { exact: { type: 'a' } } });
  assert.deepEqual(
    ['a', 'b'].map((t) => not(ev({ type: t }))),
    [false, true],
  );
  const all = compileSubscriptionsFilter({ all: [{ prefix: { type: 'a' } }, { suffix: { type: 'z' } }] });
  assert.deepEqual(
    ['az', 'ab', 'bz'].map((t) => all(ev({ type: t }))),
    [true, false, false],
  );
  assert.equal(compileSubscriptionsFilter({ exact: { missing: 'x' } })(ev({ type: 'a' })), false, 'a missing attribute never matches');
});

test('non-empty filters override filter; an entry with two dialects is rejected', () => {
  const f = compileTriggerFilter({ filter: { attributes: { type: 'a' } }, filters: [{ exact: { type: 'b' } }] });
  assert.equal(f(ev({ type: 'b' })), true);
  assert.equal(f(ev({ type: 'a' })), false);
  assert.equal(compileTriggerFilter({ filter: { attributes: { type: 'a' } }, filters: [] })(ev({ type: 'a' })), true);
  assert.throws(() => compileSubscriptionsFilter({ exact: { type: 'a' }, suffix: { type: 'b' } }), /multiple dialects found/);
});

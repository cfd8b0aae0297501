import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCeOverrides, checkOverrideKey, encodeCeOverrides, parseCeOverrideArgs } from '../src/ce-overrides.js';
import { isSluiceError } from '@sluice/core';

test('applyCeOverrides sets extensions and leaves the rest alone', () => {
  const e = { attributes: { specversion: '1.0', id: '1', type: 't', source: 's' }, data: Buffer.from('x') };
  const out = applyCeOverrides(e, { extensions: { Team: 'a', env: 'prod' } });
  assert.deepEqual(out.attributes, { specversion: '1.0', id: '1', type: 't', source: 's', team: 'a', env: 'prod' });
  assert.equal(out.data, e.data);
  assert.equal(applyCeOverrides(e, undefined), e);
  assert.deepEqual(e.attributes, { specversion: '1.0', id: '1', type: 't', source: 's' }, 'input not mutated');
});

test('K_CE_OVERRIDES is {"extensions":{…}}', () => {
  assert.equal(encodeCeOverrides({ extensions: { a: 'b' } }), '{"extensions":{"a":"b"}}');
  assert.equal(encodeCeOverrides({}), '{"extensions":{}}');
});

test('override keys: letters and digits, never a core attribute', () => {
  assert.equal(checkOverrideKey('team1'), undefined);
  assert.match(checkOverrideKey('my-key')!, /letters and digits/);
  assert.match(checkOverrideKey('')!, /letters and digits/);
  assert.match(checkOverrideKey('Source')!, /core attribute/);
  assert.match(checkOverrideKey('time')!, /core attribute/);
});

test('--ce-override key=value pairs', () => {
  assert.deepEqual(parseCeOverrideArgs(['a=1', 'b=x=y', 'c=']), { extensions: { a: '1', b: 'x=y', c: '' } });
  assert.equal(parseCeOverrideArgs([]), undefined);
  assert.throws(
    () => parseCeOverrideArgs(['novalue']),
    (e) => isSluiceError(e, 'SLUICE_SOURCE_OVERRIDE_INVALID'),
  );
  assert.throws(() => parseCeOverrideArgs(['id=3']), /core attribute/);
});

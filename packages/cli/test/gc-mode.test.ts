import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gcState, requestedGcMode, wantsSingleThreadedGc } from '../src/gc-mode.js';

test('the mode: --gc among the arguments, else SLUICE_GC, else auto; auto is single-threaded on two CPUs or fewer', () => {
  assert.equal(requestedGcMode(['-f', 'x.yaml', '--gc', 'parallel'], { SLUICE_GC: 'single' }), 'parallel');
  assert.equal(requestedGcMode(['--gc=single'], {}), 'single');
  assert.equal(requestedGcMode(['-f', 'x.yaml'], { SLUICE_GC: 'single' }), 'single');
  assert.equal(requestedGcMode(['-f', 'x.yaml'], {}), 'auto');
  assert.equal(requestedGcMode(['--', '--gc', 'single'], {}), 'auto');
  assert.deepEqual(
    [1, 2, 3, 8].map((cpus) => wantsSingleThreadedGc('auto', cpus)),
    [true, true, false, false],
  );
  assert.equal(wantsSingleThreadedGc('single', 64), true);
  assert.equal(wantsSingleThreadedGc('parallel', 1), false);
  assert.equal(wantsSingleThreadedGc('bogus', 1), undefined);
  assert.deepEqual(gcState('auto', ['--single-threaded-gc'], 8), { singleThreaded: true, missing: false });
  assert.deepEqual(gcState('auto', [], 2), { singleThreaded: false, missing: true });
  assert.deepEqual(gcState('parallel', [], 2), { singleThreaded: false, missing: false });
});

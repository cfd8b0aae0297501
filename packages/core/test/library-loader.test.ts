import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError, lazyLibrary, lazyLibrarySync } from '../src/index.js';

test('a library is loaded on the first call only, and shared by later calls', async () => {
  let loads = 0;
  const lib = lazyLibrary('answer', async () => {
    loads++;
    return { value: 42 };
  });
  assert.equal(loads, 0);
  const [a, b] = await Promise.all([lib('KafkaSource default/a'), lib('KafkaSource default/b')]);
  assert.equal(a.value, 42);
  assert.equal(a, b);
  assert.equal(loads, 1);
});

test('a library that cannot be loaded is a SLUICE_LIBRARY_UNAVAILABLE error naming the user and the library, tried again next time', async () => {
  // A specifier in a variable: the type checker does not resolve it, the loader fails as for an uninstalled package.
  let specifier = 'sluice-no-such-library';
  const lib = lazyLibrary('sluice-no-such-library', () => import(specifier) as Promise<{ readonly ok: true }>);
  await assert.rejects(lib('KafkaSource default/orders'), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_LIBRARY_UNAVAILABLE'));
    assert.match(err.message, /^KafkaSource default\/orders needs sluice-no-such-library, which could not be loaded .*Cannot find package 'sluice-no-such-library'/);
    assert.deepEqual(err.details, { library: 'sluice-no-such-library', user: 'KafkaSource default/orders' });
    return true;
  });
  specifier = 'node:os';
  assert.equal(typeof ((await lib('KafkaSource default/orders')) as unknown as typeof import('node:os')).cpus, 'function');
});

test('the synchronous loader loads once, and names the user and the library when the load fails', () => {
  let loads = 0;
  const lib = lazyLibrarySync('answer', () => {
    loads++;
    if (loads === 1) throw new Error("Cannot find module 'answer'\nRequire stack: …");
    return { value: 42 };
  });
  assert.throws(
    () => lib('EventTransform default/reshape'),
    (err: unknown) => isSluiceError(err, 'SLUICE_LIBRARY_UNAVAILABLE') && /^EventTransform default\/reshape needs answer, which could not be loaded .*Cannot find module 'answer'$/.test(err.message),
  );
  assert.equal(lib('EventTransform default/reshape').value, 42);
  assert.equal(lib('EventTransform default/other').value, 42);
  assert.equal(loads, 2);
});

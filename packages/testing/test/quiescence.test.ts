// waitForIdle's rule, on figures given by a function (as an in-process runtime gives them): idle means nothing in a
// backlog, in flight or retrying, in two readings in a row with no delivery finished between them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForIdle, type IdleFigures } from '../src/index.js';

const figures = (over: Partial<IdleFigures> = {}): IdleFigures => ({ backlog: 0, inFlight: 0, retrying: 0, delivered: 0, failed: 0, deadLettered: 0, dropped: 0, ...over });

test('resolves on the second of two idle readings with the same counts, not on the first', async () => {
  let reads = 0;
  await waitForIdle(() => {
    reads++;
    return { 'Trigger default/t': figures({ delivered: 3 }) };
  });
  assert.equal(reads, 2);
});

test('an idle reading whose delivered count moved since the last one does not count: one more reading is needed', async () => {
  const delivered = [1, 2, 2];
  let reads = 0;
  await waitForIdle(() => ({ 'Trigger default/t': figures({ delivered: delivered[Math.min(reads++, delivered.length - 1)]! }) }));
  assert.equal(reads, 3);
});

test('times out while a consumer has a retry waiting, an event in flight, a backlog, or no figures at all', async () => {
  for (const owed of [{ retrying: 1 }, { inFlight: 1 }, { backlog: 1 }]) {
    await assert.rejects(
      waitForIdle(() => ({ 'Trigger default/t': figures(owed) }), { timeoutMs: 100 }),
      /timed out after 100 ms waiting for every trigger and subscription to be idle/,
    );
  }
  await assert.rejects(
    waitForIdle(() => ({ 'Trigger default/t': undefined }), { timeoutMs: 100 }),
    /timed out/,
  );
  await assert.rejects(
    waitForIdle(() => ({}), { timeoutMs: 100 }),
    /timed out/,
    'no consumer read never passes for idle',
  );
});

// The runtime's dead-letter router: a broker whose store shares its dead letters (the Kafka class) is served by that
// store, every other broker by the instance's embedded store. Real SQLite stores stand in for both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteEventStore, type DeadLetterStore, type EventStore } from '@sluice/store';
import { DeadLetterRouter } from '../src/dead-letter-router.js';

const letter = (id: string) => ({ event: { attributes: { specversion: '1.0', id, source: '/s', type: 't' }, data: undefined }, reason: 'HTTP 503', attempts: 1, firstAttemptAt: 1, lastAttemptAt: 2 });

test('dead letters of a broker whose store shares them go to that store; the rest to the local one', async () => {
  const local = new SqliteEventStore({ path: ':memory:' });
  const shared = new SqliteEventStore({ path: ':memory:' });
  // A broker store that keeps the dead letters of its log itself (as KafkaEventStore does).
  const kafkaLike = Object.assign(new SqliteEventStore({ path: ':memory:' }), {
    sharedDeadLetters: (log: string): DeadLetterStore | undefined => (log === 'broker:default/k' ? shared : undefined),
  });
  const stores = new Map<string, EventStore>([
    ['default/k', kafkaLike],
    ['default/e', local],
  ]);
  const router = new DeadLetterRouter(local, (log) => stores.get(log.replace(/^broker:/, '')));
  await router.putDeadLetters('broker:default/k', 'trigger:default/t', [letter('to-shared')]);
  await router.putDeadLetters('broker:default/e', 'trigger:default/t', [letter('to-local')]);
  assert.deepEqual(
    shared.listDeadLetters('broker:default/k', { limit: 10 }).map((l) => l.event.attributes['id']),
    ['to-shared'],
  );
  assert.deepEqual(local.listDeadLetters('broker:default/k', { limit: 10 }), []);
  assert.deepEqual(
    router.listDeadLetters('broker:default/e', { limit: 10 }).map((l) => l.event.attributes['id']),
    ['to-local'],
  );
  const [s] = router.listDeadLetters('broker:default/k', { limit: 10 });
  assert.equal(router.getDeadLetter('broker:default/k', s!.id)?.event.attributes['id'], 'to-shared');
  assert.equal(router.deadLetterStats('broker:default/k').count, 1);
  assert.equal(await router.removeDeadLetters('broker:default/k', [s!.id]), 1);
  assert.equal(shared.deadLetterStats('broker:default/k').count, 0);
  // A broker that is not running (or not known) is served by the local store.
  assert.equal(router.deadLetterStats('broker:default/gone').count, 0);
  await Promise.all([local.close(), shared.close(), kafkaLike.close()]);
});

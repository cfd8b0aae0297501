// @needs kafka
// kill -9 while a Kafka-class broker dead-letters events. Its dead letters are kept in the broker's dead-letter topic
// (every instance reads it into its --data-dir), written before the event's offset is committed: after a restart
// every accepted event is there, and the duplicates the crash causes (dead letters written whose
// offset was not committed yet are written again) are counted and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireService } from '../services/index.js';
import { cleanupScope, startLoad, startSluice, startSubscriber, tempDir, waitFor, type SluiceProcess } from './harness.js';
import { documents, kafkaBroker, trigger } from './manifests.js';

const cleanup = cleanupScope();

const yaml = (servers: string, broker: string, uri: string) =>
  documents(kafkaBroker(broker, { servers, partitions: 4 }), trigger(`orders-${broker}`, { broker, subscriber: uri, delivery: { retry: 0 } }));

interface Listed {
  id: number;
  event: { attributes: Record<string, unknown> };
}

async function deadLetters(sluice: SluiceProcess, broker: string): Promise<Listed[]> {
  const items: Listed[] = [];
  for (let after: number | undefined; ;) {
    const res = await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/${broker}?limit=1000${after === undefined ? '' : `&after=${after}`}`);
    const page = (await res.json()) as { items: Listed[]; next?: number };
    items.push(...page.items);
    if (page.next === undefined) return items;
    after = page.next;
  }
}

test('Kafka class: kill -9 while events are being dead-lettered: every accepted event is in the dead-letter store after a restart', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `dlc-${randomUUID().slice(0, 8)}`;
  // 400 is final: each event is dead-lettered at its first attempt, and the circuit breaker stays closed.
  const sub = await startSubscriber(() => ({ status: 400, body: 'rejected' }));
  const dir = tempDir();
  cleanup.add(
    () => dir.remove(),
    () => sub.close(),
  );
  let sluice = await startSluice({ yaml: yaml(servers, broker, sub.url), dataDir: dir.path, readyTimeoutMs: 120_000 });
  // A bounded load (the dead-letter store writes slower than Kafka accepts): the kill comes while most of it is still
  // being dead-lettered, and the test's length does not depend on the machine's speed.
  const load = startLoad(`${sluice.url}/default/${broker}`, { idPrefix: 'kdl', workers: 8, connections: 16, type: 'order', maxAccepted: 1500 });
  const accepted = load.accepted;
  await waitFor(async () => (await deadLetters(sluice, broker)).length >= 200, 'dead-lettering under way', 60_000);
  sluice.child.kill('SIGKILL');
  await sluice.stop();
  await load.stop();

  sluice = await startSluice({ yaml: yaml(servers, broker, sub.url), dataDir: dir.path, readyTimeoutMs: 120_000 });
  cleanup.add(() => sluice.stop());
  let letters: Listed[] = [];
  const ids = () => new Set(letters.map((l) => String(l.event.attributes['id'])));
  await waitFor(
    async () => {
      letters = await deadLetters(sluice, broker);
      const kept = ids();
      return [...accepted].every((id) => kept.has(id));
    },
    () => `every accepted event in the dead-letter store (${ids().size} of ${accepted.size})`,
    120_000,
  );
  assert.deepEqual(
    [...accepted].filter((id) => !ids().has(id)),
    [],
  );
  assert.ok(accepted.size >= 200);
  const duplicates = letters.length - ids().size;
  t.diagnostic(`accepted ${accepted.size}, dead letters ${letters.length}, duplicate dead letters ${duplicates} (written before the kill, offset not yet committed)`);
});

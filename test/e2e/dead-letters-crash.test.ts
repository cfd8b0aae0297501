// kill -9 while events are being dead-lettered, and while dead letters are being replayed: after a restart on the same
// data dir nothing accepted is lost (every event is either in the dead-letter store or was delivered), and the
// duplicates a crash may cause are counted and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, startLoad, startSluice, startSubscriber, tempDir, waitFor, type SluiceProcess } from './harness.js';
import { adminCli } from './fixtures.js';
import { broker, documents, trigger } from './manifests.js';

const cleanup = cleanupScope();

const yaml = (url: string) => documents(broker('default'), trigger('orders', { broker: 'default', subscriber: url, delivery: { retry: 0 } }));

interface Listed {
  id: number;
  event: { attributes: Record<string, unknown> };
}

async function deadLetters(sluice: SluiceProcess): Promise<Listed[]> {
  const res = await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default?limit=10000`);
  return ((await res.json()) as { items: Listed[] }).items;
}

test('kill -9 while events are being dead-lettered: every accepted event ends in the dead-letter store, once', async (t) => {
  // 400 is final: each event is dead-lettered at its first attempt, and the circuit breaker stays closed.
  const sub = await startSubscriber(() => ({ status: 400, body: 'rejected' }));
  const dir = tempDir();
  cleanup.add(
    () => dir.remove(),
    () => sub.close(),
  );
  let sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  const traffic = startLoad(`${sluice.url}/default/default`, { idPrefix: 'dl', type: 'order' });
  await waitFor(async () => (await deadLetters(sluice)).length >= 200, 'dead-lettering under way', 30_000);
  sluice.child.kill('SIGKILL');
  await sluice.stop();
  await traffic.stop();
  sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  cleanup.add(() => sluice.stop());
  let letters: Listed[] = [];
  const ids = () => new Set(letters.map((l) => String(l.event.attributes['id'])));
  await waitFor(
    async () => {
      letters = await deadLetters(sluice);
      const kept = ids();
      return [...traffic.accepted].every((id) => kept.has(id));
    },
    () => `every accepted event in the dead-letter store (${ids().size} of ${traffic.accepted.size})`,
    60_000,
  );
  const lost = [...traffic.accepted].filter((id) => !ids().has(id));
  assert.deepEqual(lost, []);
  const duplicates = letters.length - ids().size;
  const redelivered = sub.received.length - new Set(sub.ids()).size;
  t.diagnostic(`accepted ${traffic.accepted.size}, dead letters ${letters.length}, duplicate dead letters ${duplicates}, subscriber attempts repeated after the crash ${redelivered}`);
  // The embedded store keeps one dead letter per trigger and event, even when the crash made it attempt twice.
  assert.equal(duplicates, 0);
});

test('kill -9 during a replay: nothing is lost, a second replay finishes the job, duplicates are counted', async (t) => {
  let up = false;
  const sub = await startSubscriber(() => (up ? { status: 202 } : { status: 400 }));
  const dir = tempDir();
  cleanup.add(
    () => dir.remove(),
    () => sub.close(),
  );
  let sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  const traffic = startLoad(`${sluice.url}/default/default`, { idPrefix: 'rp', type: 'order' });
  await waitFor(() => traffic.accepted.size >= 400, '400 accepted events', 30_000);
  await traffic.stop();
  const accepted = [...traffic.accepted];
  await waitFor(async () => (await deadLetters(sluice)).length === accepted.length, 'every accepted event dead-lettered', 30_000);
  up = true;
  const firstAttempts = sub.received.length;
  const replayed = () => sub.received.slice(firstAttempts);
  // 200 per second: the replay takes about two seconds; it is killed part way.
  const replay = adminCli(sluice, { timeoutMs: 60_000 })('dlq', 'replay', 'broker:default', '--all', '--rate', '200');
  await waitFor(() => replayed().length >= 100, 'the replay under way', 30_000);
  sluice.child.kill('SIGKILL');
  await sluice.stop();
  const beforeKill = replayed().length;
  const interrupted = await replay;
  assert.equal(interrupted.code, 1, 'the CLI reports the interrupted replay as a failure');
  sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  cleanup.add(() => sluice.stop());
  const left = (await deadLetters(sluice)).length;
  assert.ok(left > 0 && left < accepted.length, `part of the store was replayed before the kill (${left} left)`);
  const second = await adminCli(sluice, { timeoutMs: 60_000 })('dlq', 'replay', 'broker:default', '--all', '--rate', '1000');
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await deadLetters(sluice), [], 'the store is empty');
  const got = new Set(replayed().map((r) => String(r.event!.attributes['id'])));
  const lost = accepted.filter((id) => !got.has(id));
  assert.deepEqual(lost, [], 'every dead letter was delivered by one of the replays');
  for (const r of replayed()) assert.ok(Number(r.headers['ce-sluicereplay']) >= 1, 'replays are marked');
  const duplicates = replayed().length - got.size;
  t.diagnostic(`dead letters ${accepted.length}, delivered by the interrupted replay ${beforeKill}, left ${left}, duplicates after the crash ${duplicates}`);
  // At most the replays in flight at the moment of the kill (one at a time) are delivered twice.
  assert.ok(duplicates <= 1, `duplicates ${duplicates}`);
});

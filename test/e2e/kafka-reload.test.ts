// @needs kafka
// Live reconfiguration of a Kafka-class broker (sluice apply / delete against a running `sluice run`): a trigger whose
// subscriber changes continues its Kafka consumer group where it stopped (every event once, at the old or the new
// subscriber), an added trigger starts at the end of the topic, and a forced delete says what it discarded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '../services/index.js';
import { cleanupScope, postEvent, startSluice, tempDir, waitFor, waitForIdle } from './harness.js';
import { adminCli, startSubscriberIn } from './fixtures.js';
import { documents, kafkaBroker, trigger } from './manifests.js';

const cleanup = cleanupScope();

test('Kafka-class broker: a changed trigger continues its consumer group, an added one starts at the end, a forced delete is counted', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `reload-${randomUUID().slice(0, 8)}`;
  // Trigger names of this run only: a trigger's consumer group is knative-trigger-<namespace>-<name>, and another run
  // against the same Kafka must not join it.
  const [movingTrigger, lateTrigger] = [`moving-${broker}`, `late-${broker}`];
  const first = await startSubscriberIn(cleanup);
  const second = await startSubscriberIn(cleanup);
  const late = await startSubscriberIn(cleanup);
  const dir = tempDir('sluice-kafka-reload-');
  cleanup.add(() => dir.remove());
  const yaml = documents(kafkaBroker(broker, { servers, partitions: 3 }), trigger(movingTrigger, { broker, subscriber: first.url }));
  const sluice = await startSluice({ yaml, dataDir: dir.path, readyTimeoutMs: 120_000 });
  cleanup.add(async () => sluice.stop());
  const cli = adminCli(sluice, { timeoutMs: 120_000 });
  const send = async (id: string) => assert.equal((await postEvent(`${sluice.url}/default/${broker}`, { id, source: '/kafka-reload', type: 't' })).status, 202);

  for (let i = 0; i < 20; i++) await send(`a${i}`);
  writeFileSync(join(dir.path, 'change.yaml'), documents(trigger(movingTrigger, { broker, subscriber: second.url }), trigger(lateTrigger, { broker, subscriber: late.url })));
  const applied = await cli('apply', '-f', join(dir.path, 'change.yaml'));
  assert.equal(applied.stdout, `trigger.eventing.knative.dev/${movingTrigger} configured\ntrigger.eventing.knative.dev/${lateTrigger} created\n`, applied.stderr);
  for (let i = 0; i < 20; i++) await send(`b${i}`);

  const moving = () => [...first.ids(), ...second.ids()];
  await waitFor(() => moving().length >= 40 && late.received.length >= 20, 'every event at the moved trigger, the later ones at the added one', 120_000);
  await waitForIdle(sluice, { exact: true });
  const expected = [...Array.from({ length: 20 }, (_, i) => `a${i}`), ...Array.from({ length: 20 }, (_, i) => `b${i}`)].sort();
  assert.deepEqual(moving().sort(), expected, 'each event once, at the old or the new subscriber');
  assert.ok(!first.ids().some((id) => id.startsWith('b')), 'events sent after the change only reach the new subscriber');
  assert.deepEqual(
    late.ids().sort(),
    expected.filter((id) => id.startsWith('b')),
    'the added trigger starts at the end of the topic',
  );

  const deleted = await cli('delete', 'trigger', lateTrigger, '--force');
  assert.equal(deleted.stdout, `trigger.eventing.knative.dev "${lateTrigger}" deleted\n`, deleted.stderr);
  assert.equal(deleted.code, 0);
  assert.equal((await cli('get', 'trigger', lateTrigger)).code, 1);
  await send('c0');
  await waitFor(() => second.ids().includes('c0'), 'the remaining trigger still delivers', 60_000);
});

test('Kafka-class broker: a forced delete keeps what the trigger owed (pending retries, unread events its filter takes) as dead letters', async (t) => {
  const servers = requireService(t, 'kafka');
  if (!servers) return;
  const broker = `owed-${randomUUID().slice(0, 8)}`;
  const failing = await startSubscriberIn(cleanup, () => ({ status: 503 }));
  const dir = tempDir('sluice-kafka-owed-');
  cleanup.add(() => dir.remove());
  const stuck = `stuck-${broker}`;
  const yaml = documents(
    kafkaBroker(broker, { servers, partitions: 2 }),
    trigger(stuck, { broker, filter: { type: 'keep' }, subscriber: failing.url, delivery: { retry: 5, backoffDelay: 'PT30S' } }, { annotations: { 'sluice.dev/circuit-breaker-failures': '0' } }),
  );
  const sluice = await startSluice({ yaml, dataDir: dir.path, readyTimeoutMs: 120_000 });
  cleanup.add(async () => sluice.stop());
  const cli = adminCli(sluice, { timeoutMs: 120_000 });
  for (let i = 0; i < 3; i++) assert.equal((await postEvent(`${sluice.url}/default/${broker}`, { id: `keep-${i}`, source: '/owed', type: 'keep' })).status, 202);
  for (let i = 0; i < 2; i++) assert.equal((await postEvent(`${sluice.url}/default/${broker}`, { id: `other-${i}`, source: '/owed', type: 'other' })).status, 202);
  // Each kept event failed once and waits 30 s for its next attempt, in the trigger's retry topic.
  await waitFor(() => new Set(failing.ids()).size === 3, 'the first attempts', 60_000);
  let refused = await cli('delete', 'trigger', stuck);
  await waitFor(
    async () => {
      refused = await cli('delete', 'trigger', stuck);
      return /retrying 3/.test(refused.stderr);
    },
    () => `the three pending retries counted (${refused.stderr})`,
    30_000,
  );
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /delete --force moves them to the dead-letter store/);
  const deleted = await cli('delete', 'trigger', stuck, '--force');
  assert.equal(deleted.code, 0, deleted.stderr);
  const listed = await cli('dlq', 'list', `broker:${broker}`, '-o', 'json');
  assert.equal(listed.code, 0, listed.stderr);
  const items = (JSON.parse(listed.stdout) as { items: Array<{ trigger: string; reason: string; attempts: number; event: { attributes: Record<string, unknown> } }> }).items;
  assert.deepEqual(items.map((l) => String(l.event.attributes['id'])).sort(), ['keep-0', 'keep-1', 'keep-2']);
  for (const l of items) assert.deepEqual([l.trigger, l.reason, l.attempts], [`default/${stuck}`, 'trigger removed', 1]);
  assert.match(sluice.output(), /3 pending retries and 0 unread events its filter takes kept as dead letters/);
});

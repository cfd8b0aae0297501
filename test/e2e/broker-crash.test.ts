// Accepted means stored: kill -9 at any moment, restart on the same data dir, and every event that got a 202 is
// delivered. Pending retries survive the restart too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, figuresOf, startLoad, startSluice, startSubscriber, tempDir, waitFor, postEvent } from './harness.js';
import { broker, documents, trigger, type Delivery } from './manifests.js';

const cleanup = cleanupScope();

const yaml = (url: string, delivery: Delivery = { retry: 10, backoffDelay: 'PT0.05S' }) => documents(broker('default'), trigger('all', { broker: 'default', subscriber: url, delivery }));

for (const round of [1, 2, 3]) {
  test(`kill -9 during ingress and delivery loses no accepted event (round ${round})`, async () => {
    // A slow-ish subscriber (20 ms an answer) so that deliveries are in flight when the process dies.
    const sub = await startSubscriber(() => ({ delayMs: 20 }));
    const dir = tempDir();
    cleanup.add(
      () => dir.remove(),
      () => sub.close(),
    );
    let sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
    const load = startLoad(`${sluice.url}/default/default`, { idPrefix: `r${round}` });
    const accepted = load.accepted;
    // Kill at a point that varies by round, while requests and deliveries are in flight.
    await waitFor(() => accepted.size >= 300 * round, `${300 * round} accepted events`, 30_000);
    sluice.child.kill('SIGKILL');
    await sluice.stop();
    await load.stop();
    const acceptedBeforeRestart = accepted.size;
    sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
    cleanup.add(async () => void (await sluice.stop()));
    const received = () => new Set(sub.ids());
    await waitFor(() => [...accepted].every((id) => received().has(id)), 'every accepted event to be delivered', 30_000);
    const got = received();
    const lost = [...accepted].filter((id) => !got.has(id));
    assert.deepEqual(lost, [], `lost ${lost.length} of ${acceptedBeforeRestart} accepted events (sent ${load.sent})`);
    for (const r of sub.received) assert.equal(r.body.toString(), `payload ${String(r.event!.attributes['id'])}`, 'data intact');
  });
}

test('a pending retry survives kill -9 and is delivered after restart', async () => {
  let failing = true;
  const sub = await startSubscriber(() => ({ status: failing ? 503 : 202 }));
  const dir = tempDir();
  cleanup.add(
    () => dir.remove(),
    () => sub.close(),
  );
  const config = yaml(sub.url, { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT2S' });
  let sluice = await startSluice({ yaml: config, dataDir: dir.path });
  const posted = Date.now();
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'retry-me', source: '/t', type: 't' })).status, 202);
  await sub.waitForCount(1);
  await waitFor(async () => (await figuresOf(sluice, 'triggers', 'default', 'all')).retrying === 1, 'the retry to be scheduled');
  // Time is inherent here: the store writes a scheduled retry with its next batch of bookkeeping (within ~20 ms) and
  // no figure says when that write is done.
  await new Promise((r) => setTimeout(r, 200));
  sluice.child.kill('SIGKILL');
  await sluice.stop();
  failing = false;
  sluice = await startSluice({ yaml: config, dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));
  await sub.waitForCount(2, 10_000);
  const second = sub.received[1]!;
  assert.equal(second.event!.attributes['id'], 'retry-me');
  assert.ok(second.at - posted >= 2000, 'the retry kept its schedule (2 s backoff)');
});

test('SIGTERM drains: readyz flips, in-flight deliveries finish, exit code 0', async () => {
  // Each answer takes 1.5 s, so all five deliveries are in flight when the signal arrives and the drain waits for them.
  const sub = await startSubscriber(() => ({ delayMs: 1500 }));
  const dir = tempDir();
  cleanup.add(
    () => dir.remove(),
    () => sub.close(),
  );
  const sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  for (let i = 0; i < 5; i++) assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `d${i}`, source: '/t', type: 't' })).status, 202);
  await sub.waitForCount(5);
  assert.equal((await fetch(`${sluice.adminUrl}/readyz`)).status, 200);
  // One signal only (a second one ends the process without waiting).
  const exited = new Promise<number | null>((resolve) => sluice.child.once('exit', (code) => resolve(code)));
  sluice.child.kill('SIGTERM');
  // readyz (on the admin port, which stays up until the drain is over; the ingress port stops taking connections)
  // flips while the deliveries are still running: none has been answered yet.
  await waitFor(async () => (await fetch(`${sluice.adminUrl}/readyz`)).status === 503, 'readyz to answer 503 while draining');
  assert.ok(
    sub.received.every((r) => r.status === undefined),
    'the deliveries were still in flight when readyz flipped',
  );
  assert.equal(await exited, 0);
  assert.equal(await sluice.stop(), 0);
  assert.match(sluice.output(), /SIGTERM received: draining[\s\S]*sluice stopped/);
  assert.deepEqual(
    sub.received.map((r) => r.status),
    [202, 202, 202, 202, 202],
    'every delivery in flight was answered before the exit',
  );

  // They finished as deliveries, not just as requests: after a restart on the same data the trigger owes nothing, so
  // nothing is sent again (the figures say the consumer is idle before the count is read).
  const again = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  cleanup.add(async () => void (await again.stop()));
  const figures = async () =>
    (
      (await (await fetch(`${again.adminUrl}/api/v1/triggers/default/all`, { headers: again.adminHeaders })).json()) as {
        status: { figures: { backlog: number; inFlight: number; retrying: number; delivered: number } };
      }
    ).status.figures;
  await waitFor(async () => {
    const f = await figures();
    return f.backlog === 0 && f.inFlight === 0 && f.retrying === 0;
  }, 'the restarted trigger to be idle');
  assert.equal((await figures()).delivered, 0, 'no event was delivered again after the restart');
  assert.equal(sub.received.length, 5);
});

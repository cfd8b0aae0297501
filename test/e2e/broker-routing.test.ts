// Knative broker conformance scenarios (eventing's test/rekt broker features) re-expressed against the real CLI:
// routing, many triggers, reply routing, Prefer header, long messages, TTL loop guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, postEvent, replyHeaders, startSluice, startSubscriber, tempDir, waitFor, waitForIdle, type Subscriber } from './harness.js';
import { broker, documents, trigger, type TriggerSpec } from './manifests.js';

const cleanup = cleanupScope();

async function setup(yaml: (subs: Subscriber[]) => string, subscribers: Subscriber[]) {
  const dir = tempDir();
  const sluice = await startSluice({ yaml: yaml(subscribers), dataDir: dir.path });
  cleanup.add(
    () => dir.remove(),
    async () => void (await sluice.stop()),
    ...subscribers.map((s) => () => s.close()),
  );
  return sluice;
}

/** A Trigger of the default broker. */
const to = (name: string, url: string, spec: Omit<TriggerSpec, 'broker' | 'subscriber'> = {}) => trigger(name, { broker: 'default', subscriber: url, ...spec });

test('routing: unfiltered, matching, non-matching and duplicate triggers (routing-test-N)', async () => {
  const subs = await Promise.all([0, 1, 2, 3].map(() => startSubscriber()));
  const sluice = await setup(
    ([all, typed, other, typed2]) =>
      documents(
        broker('default'),
        to('all', all!.url),
        to('typed', typed!.url, { filter: { type: 'com.example.FullEvent' } }),
        to('other', other!.url, { filter: { type: 'mytype' } }),
        to('typed2', typed2!.url, { filters: [{ exact: { type: 'com.example.FullEvent' } }] }),
      ),
    subs,
  );
  const res = await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/test', type: 'com.example.FullEvent' }, '{"x":1}');
  assert.equal(res.status, 202);
  await subs[0]!.waitForCount(1);
  await subs[1]!.waitForCount(1);
  await subs[3]!.waitForCount(1);
  await waitForIdle(sluice);
  assert.equal(subs[2]!.received.length, 0, 'non-matching trigger must not receive');
  for (const s of [subs[0]!, subs[1]!, subs[3]!]) {
    assert.equal(s.received.length, 1, 'exactly one delivery per trigger');
    const e = s.received[0]!.event!;
    assert.equal(e.attributes['id'], 'e1');
    assert.equal(e.attributes['type'], 'com.example.FullEvent');
    assert.ok(typeof e.attributes['knativearrivaltime'] === 'string', 'knativearrivaltime is set');
    assert.equal(e.attributes['knativebrokerttl'], undefined, 'the hop budget is internal');
    assert.equal(e.data!.toString(), '{"x":1}');
    assert.equal(s.received[0]!.headers['prefer'], 'reply', 'subscribers get Prefer: reply');
    assert.equal(s.received[0]!.headers['kn-namespace'], 'default');
  }
});

test('many triggers: each receives exactly the events its attribute filter selects (ManyTriggers)', async () => {
  const filters: Array<Record<string, string>> = [{}, { type: 't1' }, { source: 's1' }, { type: 't1', source: 's1' }, { extname1: '' }, { type: 't2', extname1: 'v1' }];
  const subs = await Promise.all(filters.map(() => startSubscriber()));
  const sluice = await setup((ss) => documents(broker('default'), ...filters.map((f, i) => to(`t${i}`, ss[i]!.url, Object.keys(f).length === 0 ? {} : { filter: f }))), subs);
  const events: Array<Record<string, string>> = [];
  for (const type of ['t1', 't2']) for (const source of ['s1', 's2']) for (const ext of [undefined, 'v1']) events.push({ type, source, ...(ext ? { extname1: ext } : {}) });
  for (const [i, e] of events.entries()) {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `e${i}`, ...e })).status, 202);
  }
  const expected = filters.map((f) =>
    events
      .map((e, i) => [e, `e${i}`] as const)
      .filter(([e]) => Object.entries(f).every(([k, v]) => (v === '' ? (e[k] ?? '') !== '' : e[k] === v)))
      .map(([, id]) => id),
  );
  for (const [i, s] of subs.entries()) await s.waitForCount(expected[i]!.length);
  await waitForIdle(sluice);
  for (const [i, s] of subs.entries()) assert.deepEqual(s.ids().sort(), expected[i]!.sort(), `trigger t${i} with filter ${JSON.stringify(filters[i])}`);
});

test('a reply from one trigger is routed through the broker to another trigger; long bodies intact', async () => {
  const longReply = 'r'.repeat(36_000);
  const replier = await startSubscriber((r) =>
    r.event?.attributes['type'] === 'com.example.FullEvent'
      ? { status: 200, headers: replyHeaders({ id: 'reply-1', source: '/replier', type: 'com.example.ReplyEvent' }, 'text/plain'), body: longReply }
      : {},
  );
  const replySink = await startSubscriber();
  const sluice = await setup(
    ([a, b]) => documents(broker('default'), to('t1', a!.url, { filter: { type: 'com.example.FullEvent' } }), to('t2', b!.url, { filter: { type: 'com.example.ReplyEvent' } })),
    [replier, replySink],
  );
  const longBody = 'x'.repeat(36_864);
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'orig', source: '/test', type: 'com.example.FullEvent' }, longBody, { 'content-type': 'text/plain' })).status, 202);
  await replySink.waitForCount(1);
  await waitForIdle(sluice);
  assert.equal(replier.received.length, 1);
  assert.equal(replier.received[0]!.body.length, 36_864, 'long message delivered whole');
  assert.equal(replySink.received.length, 1, 'reply delivered exactly once');
  const reply = replySink.received[0]!.event!;
  assert.equal(reply.attributes['id'], 'reply-1');
  assert.equal(reply.data!.toString(), longReply);
});

test('the TTL guard stops a reply loop', async () => {
  let n = 0;
  const looper = await startSubscriber(() => ({ status: 200, headers: replyHeaders({ id: `loop-${n++}`, source: '/loop', type: 'loop' }), body: '{}' }));
  const sluice = await setup(([s]) => documents(broker('default'), to('loop', s!.url, { filter: { type: 'loop' } })), [looper]);
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'start', source: '/t', type: 'loop', knativebrokerttl: '3' })).status, 202);
  await looper.waitForCount(2);
  await waitForIdle(sluice);
  // ttl 3 → stored with 2 → reply carries 2 → stored with 1 → reply carries 1 → exhausted and dropped.
  assert.equal(looper.received.length, 2);
});

test('a dead subscriber does not slow down other triggers', async () => {
  const dead = await startSubscriber(() => ({ hang: true }));
  const fast = await startSubscriber();
  const sluice = await setup(([d, f]) => documents(broker('default'), to('dead', d!.url, { delivery: { retry: 0, timeout: 'PT30S' } }), to('fast', f!.url)), [dead, fast]);
  const started = Date.now();
  const posts = [];
  for (let i = 0; i < 300; i++) posts.push(postEvent(`${sluice.url}/default/default`, { id: `e${i}`, source: '/t', type: 't' }));
  assert.ok((await Promise.all(posts)).every((r) => r.status === 202));
  await fast.waitForCount(300, 15_000);
  assert.ok(Date.now() - started < 15_000);
  assert.ok(dead.received.length <= 100, `the dead trigger holds at most its in-flight bound (${dead.received.length})`);
  await waitFor(() => dead.received.length > 0, 'the dead subscriber to be tried');
});

// Knative's channel conformance (eventing's channel data-plane contract and test/rekt channel_test.go) re-expressed against the real
// `sluice` CLI with real HTTP subscribers: the ingress contract on /channels/..., SingleEventWithEncoding, ChannelChain,
// DeadLetterSink (subscription, channel, a channel as the sink), EventTransformation, ChannelPreferHeaderCheck,
// ChannelDeadLetterSinkExtensions; plus KafkaChannel ordering, validation and kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, postEvent, replyHeaders, runCli, startLoad, startSluice, startSubscriber, tempDir, waitFor, waitForIdle, type SluiceProcess, type Subscriber } from './harness.js';
import { startSluiceIn } from './fixtures.js';
import { broker, brokerRef, channel, channelRef, documents, subscription, trigger } from './manifests.js';

const cleanup = cleanupScope();

/** Runs `yaml`; the subscribers it sends to are closed after it stops, at the end of the file. */
function run(yaml: string, subscribers: Subscriber[] = [], env: NodeJS.ProcessEnv = {}): Promise<SluiceProcess> {
  cleanup.add(...subscribers.map((s) => () => s.close()));
  return startSluiceIn(cleanup, { yaml, env });
}

const errorCode = (text: string): string => (JSON.parse(text) as { error: { code: string } }).error.code;

test('channel ingress contract: 202, 400 malformed, 404 unknown channel, 405 GET, OPTIONS, 413, bad path', async () => {
  const sub = await startSubscriber();
  const sluice = await run(documents(channel('c'), subscription('s', { channel: channelRef('c'), subscriber: sub.url })), [sub]);
  const address = `${sluice.url}/channels/default/c`;
  const ok = await postEvent(address, { id: 'e1', source: '/t', type: 't' }, '{}');
  assert.equal(ok.status, 202);
  assert.equal(ok.body, '');
  const v03 = await postEvent(address, { id: 'e03', source: '/t', type: 't' }, '', { 'ce-specversion': '0.3' });
  assert.equal(v03.status, 202, 'specversion 0.3 accepted');
  const missingId = await postEvent(address, { source: '/t', type: 't' });
  assert.equal(missingId.status, 400);
  assert.equal(errorCode(missingId.body), 'SLUICE_EVENT_INVALID');
  assert.equal((await postEvent(address, { id: 'x', source: '/t', type: 't' }, '', { 'ce-specversion': '19.0' })).status, 400, 'specversion 19.0 rejected');
  const malformed = await fetch(address, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{"specversion": "1.0", "id": ' });
  assert.equal(malformed.status, 400);
  const unknown = await postEvent(`${sluice.url}/channels/default/nope`, { id: 'x', source: '/t', type: 't' });
  assert.equal(unknown.status, 404);
  assert.equal(errorCode(unknown.body), 'SLUICE_CHANNEL_NOT_FOUND');
  const get = await fetch(address);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST, OPTIONS');
  const options = await fetch(address, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'example.com' } });
  assert.equal(options.status, 200);
  assert.equal(options.headers.get('webhook-allowed-origin'), 'example.com');
  const big = await postEvent(address, { id: 'big', source: '/t', type: 't' }, 'x'.repeat(1024 * 1024 + 1), { 'content-type': 'text/plain' });
  assert.equal(big.status, 413);
  const badPath = await postEvent(`${sluice.url}/channels/default/c/extra`, { id: 'x', source: '/t', type: 't' });
  assert.equal(badPath.status, 400);
  assert.equal(errorCode(badPath.body), 'SLUICE_BAD_PATH');
  await sub.waitForCount(2);
  await waitForIdle(sluice);
  assert.deepEqual(sub.ids().sort(), ['e03', 'e1'], 'only accepted events are delivered, each once');
  assert.equal(sub.received.find((r) => r.event?.attributes['id'] === 'e03')!.event!.attributes['specversion'], '0.3', 'never upgraded');
});

test('SingleEventWithEncoding: binary and structured events arrive with identical attributes and data; traceparent passes; Prefer: reply', async () => {
  const sub = await startSubscriber();
  const sluice = await run(documents(channel('c'), subscription('s', { channel: channelRef('c'), subscriber: sub.url })), [sub]);
  const address = `${sluice.url}/channels/default/c`;
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const binary = { id: 'bin', source: '/conformance', type: 'dev.knative.test', subject: 'sub', time: '2026-01-02T03:04:05Z', dataschema: 'https://example.com/schema', myext: 'v1', traceparent };
  assert.equal((await postEvent(address, binary, '{"msg":"binary"}')).status, 202);
  const structured = {
    specversion: '1.0',
    id: 'str',
    source: '/conformance',
    type: 'dev.knative.test',
    datacontenttype: 'text/plain',
    myext: 'v2',
    traceparent,
    tracestate: 'congo=t61rcWkgMzE',
    data: 'structured payload',
  };
  const res = await fetch(address, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(structured) });
  assert.equal(res.status, 202);
  await sub.waitForCount(2);
  const byId = new Map(sub.received.map((r) => [String(r.event!.attributes['id']), r]));
  const b = byId.get('bin')!;
  assert.deepEqual(b.event!.attributes, { specversion: '1.0', datacontenttype: 'application/json', ...binary }, 'binary: every attribute identical, nothing added');
  assert.equal(b.event!.data!.toString(), '{"msg":"binary"}');
  assert.equal(b.headers['ce-traceparent'], traceparent);
  const s = byId.get('str')!;
  const { data, ...attributes } = structured;
  assert.deepEqual(s.event!.attributes, attributes, 'structured: every attribute identical, nothing added');
  assert.equal(s.event!.data!.toString(), data);
  for (const r of sub.received) {
    assert.equal(r.headers['prefer'], 'reply', 'ChannelPreferHeaderCheck');
    assert.equal(r.headers['kn-namespace'], 'default');
  }
});

test('ChannelChain(10): ten channels chained by subscriptions whose subscriber is the next channel', async () => {
  const final = await startSubscriber();
  const yaml = documents(
    ...Array.from({ length: 10 }, (_, i) =>
      documents(
        channel(`chain-${i}`, {}, 'Channel'),
        subscription(`link-${i}`, { channel: channelRef(`chain-${i}`, 'Channel'), subscriber: i < 9 ? channelRef(`chain-${i + 1}`, 'Channel') : final.url }),
      ),
    ),
  );
  const sluice = await run(yaml, [final]);
  assert.equal((await postEvent(`${sluice.url}/channels/default/chain-0`, { id: 'chained', source: '/chain', type: 't' }, '{"hops":10}')).status, 202);
  await final.waitForCount(1);
  await waitForIdle(sluice);
  assert.equal(final.received.length, 1, 'delivered exactly once');
  const e = final.received[0]!.event!;
  assert.deepEqual(e.attributes, { specversion: '1.0', id: 'chained', source: '/chain', type: 't', datacontenttype: 'application/json' });
  assert.equal(e.data!.toString(), '{"hops":10}');
});

test('DeadLetterSink: the subscription DLS wins; without one the channel DLS is used; delivery options replace the channel ones', async () => {
  const failing = await startSubscriber(() => ({ status: 500, body: 'nope' }));
  const channelDls = await startSubscriber();
  const subDls = await startSubscriber();
  const c = channelRef('c');
  const yaml = documents(
    channel('c', {}, 'InMemoryChannel', { delivery: { retry: 2, backoffDelay: 'PT0.02S', deadLetterSink: channelDls.url } }),
    // inherits retry 2 and the channel DLS
    subscription('inherits', { channel: c, subscriber: `${failing.url}inherits` }),
    // its own DLS, the channel's retry
    subscription('own-dls', { channel: c, subscriber: `${failing.url}own-dls`, delivery: { deadLetterSink: subDls.url } }),
    // its own retry (replaces the channel's as a whole), the channel's DLS
    subscription('own-retry', { channel: c, subscriber: `${failing.url}own-retry`, delivery: { retry: 0 } }),
  );
  const sluice = await run(yaml, [failing, channelDls, subDls]);
  assert.equal((await postEvent(`${sluice.url}/channels/default/c`, { id: 'e1', source: '/t', type: 't' })).status, 202);
  await channelDls.waitForCount(2);
  await subDls.waitForCount(1);
  await waitForIdle(sluice);
  assert.equal(failing.received.length, 3 + 3 + 1, 'inherits: 1+2 attempts, own-dls: 1+2, own-retry: 1');
  assert.deepEqual(channelDls.received.map((r) => r.event!.attributes['knativeerrordest']).sort(), [`${failing.url}inherits`, `${failing.url}own-retry`]);
  assert.equal(subDls.received.length, 1);
  assert.equal(subDls.received[0]!.event!.attributes['knativeerrordest'], `${failing.url}own-dls`);
  assert.equal(subDls.received[0]!.event!.attributes['knativeerrorcode'], '500');
});

test('DeadLetterSink: a subscriber that drops the first attempt — no retry: dead-lettered; with a retry: delivered once', async () => {
  const drops: Record<string, number> = {};
  const flaky = await startSubscriber((r) => {
    const key = String(r.event?.attributes['id']);
    drops[key] = (drops[key] ?? 0) + 1;
    return { status: drops[key] === 1 ? 503 : 202 };
  });
  const dls = await startSubscriber();
  const sluice = await run(
    documents(
      channel('no-retry', {}, 'InMemoryChannel', { delivery: { deadLetterSink: dls.url } }),
      channel('with-retry', {}, 'InMemoryChannel', { delivery: { retry: 1, backoffDelay: 'PT0.05S', deadLetterSink: dls.url } }),
      subscription('a', { channel: channelRef('no-retry'), subscriber: flaky.url }),
      subscription('b', { channel: channelRef('with-retry'), subscriber: flaky.url }),
    ),
    [flaky, dls],
  );
  await postEvent(`${sluice.url}/channels/default/no-retry`, { id: 'first', source: '/t', type: 't' });
  await postEvent(`${sluice.url}/channels/default/with-retry`, { id: 'second', source: '/t', type: 't' });
  await dls.waitForCount(1);
  await waitFor(() => drops['second'] === 2, 'the retry of "second"');
  await waitForIdle(sluice);
  assert.deepEqual(dls.ids(), ['first']);
  assert.equal(drops['first'], 1);
  assert.equal(drops['second'], 2);
});

test('AsDeadLetterSink: a channel is the dead-letter sink; its subscription gets the event with the knativeerror* extensions', async () => {
  const failing = await startSubscriber(() => ({ status: 422, body: 'unprocessable' }));
  const dlq = await startSubscriber();
  const sluice = await run(
    documents(
      channel('main'),
      channel('dead-letters'),
      subscription('work', { channel: channelRef('main'), subscriber: failing.url, delivery: { deadLetterSink: channelRef('dead-letters') } }),
      subscription('dlq-reader', { channel: channelRef('dead-letters'), subscriber: dlq.url }),
    ),
    [failing, dlq],
  );
  await postEvent(`${sluice.url}/channels/default/main`, { id: 'doomed', source: '/t', type: 't' }, '{"x":1}');
  await dlq.waitForCount(1);
  const e = dlq.received[0]!.event!;
  assert.equal(e.attributes['id'], 'doomed');
  assert.equal(e.attributes['knativeerrordest'], failing.url);
  assert.equal(e.attributes['knativeerrorcode'], '422');
  assert.equal(Buffer.from(String(e.attributes['knativeerrordata']), 'base64').toString(), 'unprocessable');
  assert.equal(e.data!.toString(), '{"x":1}');
});

test('ChannelDeadLetterSinkExtensions: unreachable subscriber, error without data, error with data', async () => {
  const noBody = await startSubscriber(() => ({ status: 422 }));
  const withBody = await startSubscriber(() => ({ status: 422, body: 'bad things' }));
  const dls = await startSubscriber();
  const sluice = await run(
    documents(
      channel('c', {}, 'InMemoryChannel', { delivery: { deadLetterSink: dls.url } }),
      subscription('unreachable', { channel: channelRef('c'), subscriber: 'http://127.0.0.1:9/' }),
      subscription('no-body', { channel: channelRef('c'), subscriber: noBody.url }),
      subscription('with-body', { channel: channelRef('c'), subscriber: withBody.url }),
    ),
    [noBody, withBody, dls],
  );
  await postEvent(`${sluice.url}/channels/default/c`, { id: 'e1', source: '/t', type: 't' });
  await dls.waitForCount(3);
  const byDest = new Map(dls.received.map((r) => [String(r.event!.attributes['knativeerrordest']), r.event!.attributes]));
  const unreachable = byDest.get('http://127.0.0.1:9/')!;
  assert.equal(unreachable['knativeerrorcode'], '500');
  assert.match(Buffer.from(String(unreachable['knativeerrordata']), 'base64').toString(), /dispatch error/);
  assert.equal(byDest.get(noBody.url)!['knativeerrorcode'], '422');
  assert.equal(byDest.get(noBody.url)!['knativeerrordata'], undefined);
  assert.equal(Buffer.from(String(byDest.get(withBody.url)!['knativeerrordata']), 'base64').toString(), 'bad things');
  for (const r of dls.received) assert.equal(r.headers['kn-namespace'], 'default');
});

test('EventTransformation: a reply goes to spec.reply; without reply it is dropped; one delivery per subscription on a shared subscriber', async () => {
  const transformer = await startSubscriber((r) => ({
    status: 200,
    headers: replyHeaders({ id: `${String(r.event!.attributes['id'])}-transformed`, source: '/transformer', type: 'transformed' }),
    body: JSON.stringify({ upper: String(r.event!.data).toUpperCase() }),
  }));
  const final = await startSubscriber();
  const sluice = await run(
    documents(
      channel('in'),
      channel('out'),
      subscription('transform', { channel: channelRef('in'), subscriber: transformer.url, reply: channelRef('out') }),
      subscription('transform-no-reply', { channel: channelRef('in'), subscriber: transformer.url }),
      subscription('display', { channel: channelRef('out'), subscriber: final.url }),
    ),
    [transformer, final],
  );
  await postEvent(`${sluice.url}/channels/default/in`, { id: 'e1', source: '/t', type: 'original' }, 'hello');
  await final.waitForCount(1);
  await transformer.waitForCount(2);
  await waitForIdle(sluice);
  assert.equal(transformer.received.length, 2, 'each subscription delivers once, though they share the subscriber');
  assert.equal(final.received.length, 1, 'the reply of the subscription without reply is dropped');
  const e = final.received[0]!.event!;
  assert.equal(e.attributes['id'], 'e1-transformed');
  assert.equal(e.attributes['type'], 'transformed');
  assert.equal(e.data!.toString(), '{"upper":"HELLO"}');
});

test('a failing reply destination fails the delivery: retried, then the original is dead-lettered with knativeerrordest = reply URL', async () => {
  const transformer = await startSubscriber(() => ({ status: 200, headers: replyHeaders({ id: 'r1', source: '/x', type: 'reply' }), body: '{}' }));
  const replyTo = await startSubscriber(() => ({ status: 500, body: 'reply sink broken' }));
  const dls = await startSubscriber();
  const sluice = await run(
    documents(
      channel('c'),
      subscription('s', {
        channel: channelRef('c'),
        subscriber: transformer.url,
        reply: `${replyTo.url}replies`,
        delivery: { retry: 2, backoffDelay: 'PT0.02S', deadLetterSink: dls.url },
      }),
    ),
    [transformer, replyTo, dls],
  );
  await postEvent(`${sluice.url}/channels/default/c`, { id: 'original', source: '/t', type: 't' }, '{"o":1}');
  await dls.waitForCount(1);
  await waitForIdle(sluice);
  assert.equal(transformer.received.length, 3, 'the original delivery was retried (1 + retry 2)');
  assert.equal(replyTo.received.length, 3);
  const e = dls.received[0]!.event!;
  assert.equal(e.attributes['id'], 'original', 'the original event is dead-lettered, not the reply');
  assert.equal(e.attributes['knativeerrordest'], `${replyTo.url}replies`);
  assert.equal(e.attributes['knativeerrorcode'], '500');
  assert.match(Buffer.from(String(e.attributes['knativeerrordata']), 'base64').toString(), /reply sink broken/);
});

test('Trigger → Channel by ref, Subscription reply → Broker by ref: destinations resolve across both models', async () => {
  const transformer = await startSubscriber(() => ({ status: 200, headers: replyHeaders({ id: 'back', source: '/channel', type: 'from.channel' }), body: '{}' }));
  const final = await startSubscriber();
  const sluice = await run(
    documents(
      broker('default'),
      trigger('to-channel', { broker: 'default', filter: { type: 'to.channel' }, subscriber: channelRef('side', 'Channel') }),
      trigger('back', { broker: 'default', filter: { type: 'from.channel' }, subscriber: final.url }),
      channel('side', {}, 'Channel'),
      subscription('side-sub', { channel: channelRef('side', 'Channel'), subscriber: transformer.url, reply: brokerRef('default') }),
    ),
    [transformer, final],
  );
  await postEvent(`${sluice.url}/default/default`, { id: 'start', source: '/t', type: 'to.channel' });
  await final.waitForCount(1);
  assert.equal(final.received[0]!.event!.attributes['id'], 'back');
  assert.equal(transformer.received[0]!.event!.attributes['knativebrokerttl'], undefined);
});

test('KafkaChannel (v1beta1, embedded-backed) and a Channel backed by one deliver in order per partition', async () => {
  let slow = true;
  const sub = await startSubscriber(() => ({ status: slow ? 503 : 202 }));
  const generic = await startSubscriber();
  const sluice = await run(
    documents(
      channel('k', {}, 'KafkaChannel', { numPartitions: 1, replicationFactor: 3, retentionDuration: 'PT1H', delivery: { retry: 5, backoffDelay: 'PT0.05S' } }),
      subscription('ordered', { channel: channelRef('k', 'KafkaChannel'), subscriber: sub.url }),
      channel('g', {}, 'Channel', { channelTemplate: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel', spec: { numPartitions: 4 } } }),
      subscription('g-sub', { channel: channelRef('g', 'Channel'), subscriber: generic.url }),
    ),
    [sub, generic],
    { SLUICE_LOG_LEVEL: 'info' },
  );
  const ids = Array.from({ length: 20 }, (_, i) => `k${i}`);
  for (const id of ids) assert.equal((await postEvent(`${sluice.url}/channels/default/k`, { id, source: '/t', type: 't' })).status, 202);
  await sub.waitForCount(2);
  slow = false; // the first event was refused: everything behind it waits for its retry
  await waitFor(() => new Set(sub.ids()).size === 20, 'all 20 events');
  // Collapse the retries of one event: what remains must be the send order, each event finished before the next.
  const sequence = sub.ids().filter((id, i, all) => i === 0 || all[i - 1] !== id);
  assert.deepEqual(sequence, ids, 'one partition: delivered in order, the retry blocking the events behind it');
  for (let i = 0; i < 40; i++) {
    await postEvent(`${sluice.url}/channels/default/g`, { id: `g${i}`, source: '/t', type: 't', partitionkey: `key-${i % 4}` });
  }
  await generic.waitForCount(40);
  for (let k = 0; k < 4; k++) {
    const got = generic.ids().filter((id) => Number(id.slice(1)) % 4 === k);
    assert.deepEqual(
      got,
      Array.from({ length: 10 }, (_, i) => `g${i * 4 + k}`),
      `partition key key-${k} in order`,
    );
  }
  assert.match(sluice.output(), /"kafka":\{"numPartitions":1,"replicationFactor":3,"retentionDuration":"PT1H"\}/, 'KafkaChannel settings are reported');
});

test('InMemoryChannel with sluice.dev/durability: memory and the async-handler annotation delivers', async () => {
  const sub = await startSubscriber();
  const sluice = await run(
    documents(
      channel('fast', { annotations: { 'messaging.knative.dev/async-handler': 'true', 'sluice.dev/durability': 'memory' } }),
      subscription('s', { channel: channelRef('fast'), subscriber: sub.url }),
    ),
    [sub],
    { SLUICE_LOG_LEVEL: 'info' },
  );
  for (let i = 0; i < 10; i++) await postEvent(`${sluice.url}/channels/default/fast`, { id: `m${i}`, source: '/t', type: 't' });
  await sub.waitForCount(10);
  assert.match(sluice.output(), /"store":"memory/);
});

test('sluice validate: the example channels and flows are valid; invalid.yaml gives one file:line:col error per mistake', async () => {
  const valid = await runCli(['validate', '-f', 'examples/channels/channels.yaml', '-f', 'examples/channels/sequence.yaml', '-f', 'examples/channels/parallel.yaml']);
  assert.equal(valid.code, 0, valid.stderr);
  const F = 'examples/channels/invalid.yaml';
  const r = await runCli(['validate', '-f', F]);
  assert.equal(r.code, 1);
  const expected = [
    `${F}:9:11: Channel/natss: spec.channelTemplate.kind: must be one of: "InMemoryChannel", "KafkaChannel"`,
    `${F}:17:5: InMemoryChannel/managed: spec.subscribers: spec.subscribers is filled in by Knative's controller`,
    `${F}:25:3: KafkaChannel/typo: spec.partitions: unknown field "partitions"`,
    `${F}:26:22: KafkaChannel/typo: spec.retentionDuration: must be an ISO-8601 duration`,
    // References to undeclared resources are warnings (exit 0 alone; Knative shows them NotReady).
    `${F}:36:11: warning: Subscription/orphan: InMemoryChannel "default/missing" is not declared in the configuration`,
    `${F}:50:15: warning: Sequence/seq: Channel "default/nowhere" is not declared in the configuration`,
  ];
  for (const prefix of expected)
    assert.ok(
      r.stderr.split('\n').some((l) => l.startsWith(prefix)),
      `missing: ${prefix}\n--- got:\n${r.stderr}`,
    );
  assert.match(r.stderr, /4 errors/);
});

for (const round of [1, 2]) {
  test(`kill -9 mid-stream on a channel with a subscription loses no accepted event (round ${round})`, async () => {
    const sub = await startSubscriber();
    const dir = tempDir();
    cleanup.add(
      () => dir.remove(),
      () => sub.close(),
    );
    const yaml = documents(channel('c', {}, 'InMemoryChannel', { delivery: { retry: 10, backoffDelay: 'PT0.05S' } }), subscription('s', { channel: channelRef('c'), subscriber: sub.url }));
    let sluice = await startSluice({ yaml, dataDir: dir.path });
    const load = startLoad(`${sluice.url}/channels/default/c`, { idPrefix: `r${round}` });
    const accepted = load.accepted;
    await waitFor(() => accepted.size >= 400 * round, `${400 * round} accepted events`, 30_000);
    sluice.child.kill('SIGKILL');
    await sluice.stop();
    await load.stop();
    sluice = await startSluice({ yaml, dataDir: dir.path });
    cleanup.add(async () => void (await sluice.stop()));
    await waitFor(
      () => {
        const got = new Set(sub.ids());
        return [...accepted].every((id) => got.has(id));
      },
      'every accepted event to be delivered',
      30_000,
    );
    for (const r of sub.received) assert.equal(r.body.toString(), `payload ${String(r.event!.attributes['id'])}`, 'data intact');
  });
}

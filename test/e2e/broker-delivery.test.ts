// Knative delivery-spec scenarios (its DeliverySpec and the broker conformance tests: dlq-test-N, redelivery,
// dead-letter extensions) against the real CLI and real HTTP subscribers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, postEvent, startSluice, startSubscriber, tempDir, waitForIdle, type Subscriber } from './harness.js';
import { documents, resource, trigger, type Delivery } from './manifests.js';

const cleanup = cleanupScope();

async function run(yaml: string, subscribers: Subscriber[]) {
  const dir = tempDir();
  const sluice = await startSluice({ yaml, dataDir: dir.path });
  cleanup.add(
    () => dir.remove(),
    async () => void (await sluice.stop()),
    ...subscribers.map((s) => () => s.close()),
  );
  return sluice;
}

/** The default broker, with `delivery` (default: no retries) so that a trigger without its own retries fails fast. */
const brokerYaml = (delivery: Delivery = { retry: 0 }) => resource('eventing.knative.dev/v1', 'Broker', 'default', { delivery });
/** Trigger `t` of the default broker to `uri`, with its own `delivery` if given. */
const triggerYaml = (uri: string, delivery?: Delivery) => trigger('t', { broker: 'default', subscriber: uri, ...(delivery ? { delivery } : {}) });

test('dead-letter extensions: 422 with a body is final and dead-lettered at once with code and base64 data', async () => {
  const sub = await startSubscriber(() => ({ status: 422, body: 'no thanks' }));
  const dls = await startSubscriber();
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { retry: 3, backoffDelay: 'PT0.05S', deadLetterSink: dls.url })), [sub, dls]);
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' }, '{"a":1}')).status, 202);
  await dls.waitForCount(1);
  await waitForIdle(sluice);
  assert.equal(sub.received.length, 1, '422 is not retried');
  const e = dls.received[0]!.event!;
  assert.equal(e.attributes['id'], 'e1');
  assert.equal(e.attributes['knativeerrordest'], sub.url);
  assert.equal(e.attributes['knativeerrorcode'], '422');
  assert.equal(Buffer.from(String(e.attributes['knativeerrordata']), 'base64').toString(), 'no thanks');
  assert.equal(e.data!.toString(), '{"a":1}', 'the original data is kept');
  assert.equal(dls.received[0]!.headers['kn-namespace'], 'default');
  assert.equal(dls.received[0]!.headers['prefer'], undefined, 'dead-letter sinks are not asked for replies');
});

test('dead-letter extensions: an unreachable subscriber is retried, then dead-lettered with code 500', async () => {
  const dls = await startSubscriber();
  const sluice = await run(documents(brokerYaml(), triggerYaml('http://127.0.0.1:9/', { retry: 2, backoffDelay: 'PT0.05S', deadLetterSink: dls.url })), [dls]);
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
  await dls.waitForCount(1);
  const e = dls.received[0]!.event!;
  assert.equal(e.attributes['knativeerrordest'], 'http://127.0.0.1:9/');
  assert.equal(e.attributes['knativeerrorcode'], '500');
  assert.match(Buffer.from(String(e.attributes['knativeerrordata']), 'base64').toString(), /dispatch error/);
});

test('knativeerrordata carries at most 1024 bytes of the response body', async () => {
  const sub = await startSubscriber(() => ({ status: 400, body: 'y'.repeat(5000) }));
  const dls = await startSubscriber();
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { deadLetterSink: dls.url })), [sub, dls]);
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
  await dls.waitForCount(1);
  assert.equal(Buffer.from(String(dls.received[0]!.event!.attributes['knativeerrordata']), 'base64').length, 1024);
});

// dlq-test-N: attempts = 1 + retry from the first non-empty of (trigger.delivery, broker.delivery); the dead-letter
// sink is the trigger's if set, else the broker's.
for (const c of [
  { name: 'broker retry and DLS only', broker: { retry: 3, dls: true }, trigger: undefined, attempts: 4, to: 'broker' },
  { name: 'trigger retry overrides broker retry, broker DLS used', broker: { retry: 3, dls: true }, trigger: { retry: 1, dls: false }, attempts: 2, to: 'broker' },
  { name: 'trigger DLS wins over broker DLS', broker: { retry: 1, dls: true }, trigger: { retry: 2, dls: true }, attempts: 3, to: 'trigger' },
  { name: 'trigger with only a DLS keeps the broker retry', broker: { retry: 2, dls: false }, trigger: { retry: undefined, dls: true }, attempts: 3, to: 'trigger' },
] as const) {
  test(`delivery precedence (dlq-test): ${c.name}`, async () => {
    const sub = await startSubscriber(() => ({ status: 500 }));
    const brokerDls = await startSubscriber();
    const triggerDls = await startSubscriber();
    const b: Delivery = { retry: c.broker.retry, backoffPolicy: 'linear', backoffDelay: 'PT0.02S', ...(c.broker.dls ? { deadLetterSink: { uri: brokerDls.url } } : {}) };
    const t: Delivery | undefined = c.trigger && {
      ...(c.trigger.retry !== undefined ? { retry: c.trigger.retry, backoffDelay: 'PT0.02S' } : {}),
      ...(c.trigger.dls ? { deadLetterSink: triggerDls.url } : {}),
    };
    const sluice = await run(documents(brokerYaml(b), triggerYaml(sub.url, t)), [sub, brokerDls, triggerDls]);
    await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
    const target = c.to === 'broker' ? brokerDls : triggerDls;
    await target.waitForCount(1);
    await waitForIdle(sluice);
    assert.equal(sub.received.length, c.attempts, 'attempts at the subscriber');
    assert.equal(target.received.length, 1);
    assert.equal((c.to === 'broker' ? triggerDls : brokerDls).received.length, 0);
  });
}

test('redelivery: a subscriber that fails the first attempts gets the event, once, with backoff between tries', async () => {
  const sub = await startSubscriber((_, i) => ({ status: i < 3 ? 503 : 202 }));
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.1S' })), [sub]);
  const posted = Date.now();
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 'redelivery' }, '{"n":1}');
  await sub.waitForCount(4);
  await waitForIdle(sluice);
  assert.equal(sub.received.length, 4);
  // Exponential from 0.1 s waits 100, 200, 400 ms: retry k cannot arrive before the sum of the waits so far after the
  // event was posted (arrival times of single requests jitter under load, the sums are a sound lower bound).
  for (const [k, min] of [100, 300, 700].entries()) {
    const elapsed = sub.received[k + 1]!.at - posted;
    assert.ok(elapsed >= min, `retry ${k + 1} arrived ${elapsed} ms after posting, expected ≥ ${min}`);
  }
  assert.ok(sub.received.every((r) => r.event!.attributes['id'] === 'e1' && r.event!.data!.toString() === '{"n":1}'));
});

test('Retry-After on 429 is honoured when retryAfterMax is set', async () => {
  const sub = await startSubscriber((_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : {}));
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { retry: 2, backoffDelay: 'PT0.01S', retryAfterMax: 'PT5S' })), [sub]);
  const posted = Date.now();
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
  await sub.waitForCount(2);
  assert.ok(sub.received[1]!.at - posted >= 1000, 'waited for Retry-After');
});

test('per-attempt timeout: a hanging subscriber attempt is abandoned and retried', async () => {
  const sub = await startSubscriber((_, i) => (i === 0 ? { hang: true } : {}));
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { retry: 1, backoffDelay: 'PT0.01S', timeout: 'PT0.3S' })), [sub]);
  const posted = Date.now();
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
  await sub.waitForCount(2, 5000);
  assert.ok(sub.received[1]!.at - posted >= 300, 'the retry comes after the 0.3 s attempt timeout');
});

test('a reply that claims to be a CloudEvent but is invalid fails the delivery', async () => {
  const sub = await startSubscriber(() => ({ status: 200, headers: { 'ce-specversion': '1.0', 'ce-type': 'x' }, body: '' }));
  const dls = await startSubscriber();
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { deadLetterSink: dls.url })), [sub, dls]);
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
  await dls.waitForCount(1);
  assert.equal(dls.received[0]!.event!.attributes['knativeerrorcode'], '502');
});

test('a failing dead-letter sink is retried until it accepts: nothing is dropped', async () => {
  const sub = await startSubscriber(() => ({ status: 500 }));
  const dls = await startSubscriber((_, i) => ({ status: i < 3 ? 503 : 202 }));
  const sluice = await run(documents(brokerYaml(), triggerYaml(sub.url, { retry: 1, backoffDelay: 'PT0.05S', deadLetterSink: dls.url })), [sub, dls]);
  await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/t', type: 't' });
  await dls.waitForCount(4, 10_000);
  await waitForIdle(sluice);
  assert.equal(dls.received.length, 4);
  assert.ok(dls.received.every((r) => r.event!.attributes['knativeerrorcode'] === '500'));
});

// A source whose sink does not exist yet: Knative accepts it (NotReady until the sink exists); its events must not be
// lost meanwhile. Each source's sink is a Broker that is not declared when sluice starts and is added by `sluice
// apply`: a PingSource keeps its events and sends them again; webhook sources answer 503 with Retry-After, so the
// sender's retries get through; a ContainerSource does not start its containers before the sink exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { cleanupScope, startSluice, startSubscriber, tempDir, waitFor } from './harness.js';
import { applySinkBrokerLater } from './fixtures.js';

const cleanup = cleanupScope();

test('a PingSource whose sink Broker is applied later loses no event: they wait and arrive once it exists', async () => {
  const dir = tempDir();
  cleanup.add(dir.remove);
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: tick}
spec:
  schedule: "* * * * * *"
  data: '{"n":1}'
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: later}
`,
  });
  cleanup.add(async () => void (await sluice.stop()));
  // The broker does not exist: the ingress answers 404, and the source keeps its events.
  await waitFor(() => /the sink cannot take ping events yet \(HTTP 404\)/.test(sluice.output()), 'the source to say it keeps its events', 30_000);
  // Time is inherent here: the check below wants an event made more than 1.5 s before the broker existed.
  await new Promise((r) => setTimeout(r, 2000));
  const applied = Date.now();
  await applySinkBrokerLater(sluice, dir.path, { broker: 'later', trigger: 'all' }, sub.url);
  // Events made before the broker existed arrive (the source tried again, 1 s doubling), then the live ones.
  await waitFor(() => sub.received.some((x) => Date.parse(String(x.event?.attributes['time'])) < applied - 1500), 'a ping event from before the broker existed', 60_000);
  await waitFor(() => sub.received.some((x) => Date.parse(String(x.event?.attributes['time'])) > applied), 'a live ping event', 30_000);
  // Each kept event is retried on its own backoff (1 s doubling), so a live one can come before the last kept ones.
  const early = () => sub.received.filter((x) => Date.parse(String(x.event?.attributes['time'])) < applied);
  await waitFor(
    () => early().length >= 2,
    () => `kept events arrived: ${early().length}`,
    60_000,
  );
  // The subscriber can get an event before the source logs that its sink took it: the broker delivers at the commit,
  // and the 202 the source waits for comes after the fdatasync.
  await waitFor(() => /the sink took a ping event it could not take before/.test(sluice.output()), 'the source to say a kept event got through', 30_000);
  assert.doesNotMatch(sluice.output(), /event lost/);
});

test('webhook sources whose sink Broker is applied later answer 503 with Retry-After; a sender that retries gets every event through', async () => {
  const dir = tempDir();
  cleanup.add(dir.remove);
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  const secret = 'a-long-enough-github-secret-token';
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: gh}
stringData: {token: ${secret}}
---
apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: {name: hook}
spec:
  eventType: dev.example.hook
  eventSource: /hook
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: later}
---
apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: {name: repo}
spec:
  eventTypes: [push]
  ownerAndRepository: my-org/my-repo
  secretToken: {secretKeyRef: {name: gh, key: token}}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: later}
`,
  });
  cleanup.add(async () => void (await sluice.stop()));
  // What a webhook sender does: post, and on 503 post the same delivery again after Retry-After.
  const hook = (n: number) => fetch(`${sluice.url}/webhooks/default/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'ce-id': `hook-${n}` }, body: JSON.stringify({ n }) });
  const push = async (n: number) => {
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      compare: `https://github.com/my-org/my-repo/compare/a${n}...b${n}`,
      pusher: { name: 'octocat' },
      repository: { name: 'my-repo', owner: { login: 'my-org' } },
      sender: { login: 'octocat' },
    });
    return fetch(`${sluice.url}/github/default/repo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': `push-${n}`, 'x-hub-signature-256': await sign(secret, body) },
      body,
    });
  };
  const pending: Array<() => Promise<Response>> = [];
  for (let n = 0; n < 3; n++) {
    pending.push(() => hook(n));
    pending.push(() => push(n));
  }
  // The broker does not exist: every request is refused with 503 and Retry-After, never accepted and dropped.
  for (const send of pending) {
    const res = await send();
    assert.equal(res.status, 503, await res.text());
    assert.ok(Number(res.headers.get('retry-after')) >= 1, 'a Retry-After the sender can follow');
  }
  assert.equal(sub.received.length, 0);
  await applySinkBrokerLater(sluice, dir.path, { broker: 'later', trigger: 'all' }, sub.url);
  // The sender's retries now go through: every delivery, once.
  for (const send of pending) {
    await waitFor(
      async () => {
        const res = await send();
        return res.status === 202;
      },
      'a retried webhook to be accepted',
      30_000,
    );
  }
  await sub.waitForCount(6, 30_000);
  assert.deepEqual(sub.ids().sort(), ['hook-0', 'hook-1', 'hook-2', 'push-0', 'push-1', 'push-2']);
});

test('a ContainerSource whose sink Broker is applied later does not start before it exists; then every event it sends arrives', async () => {
  const dir = tempDir();
  cleanup.add(dir.remove);
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  // The program sends three events to K_SINK once, as a source that reads K_SINK at start does, then stays up.
  writeFileSync(
    join(dir.path, 'emit.mjs'),
    `for (let n = 0; n < 3; n++) {
  const res = await fetch(process.env.K_SINK, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': 'c-' + n, 'ce-source': '/emit', 'ce-type': 'dev.example.emit' }, body: '' });
  console.log('sent c-' + n + ': ' + res.status);
}
setInterval(() => {}, 1 << 30);
`,
  );
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: emitter}
spec:
  template:
    spec:
      containers:
        - name: emit
          command: ["${process.execPath}", "${join(dir.path, 'emit.mjs')}"]
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: later}
`,
  });
  cleanup.add(async () => void (await sluice.stop()));
  // NotReady with Knative's reason, in the log and in /readyz; nothing was run, so nothing was sent.
  await waitFor(
    () => /ContainerSource default\/emitter is NotReady \(NotFound\): its sink Broker default\/later does not exist yet/.test(sluice.output()),
    'the source to say it waits for its sink',
    30_000,
  );
  const readyz = (await (await fetch(`${sluice.adminUrl}/readyz`)).json()) as { reasons: string[] };
  assert.ok(
    readyz.reasons.some((l) => l.startsWith('ContainerSource default/emitter: NotFound')),
    JSON.stringify(readyz),
  );
  assert.doesNotMatch(sluice.output(), /sent c-0/);
  await applySinkBrokerLater(sluice, dir.path, { broker: 'later', trigger: 'all' }, sub.url);
  // The sink exists: the source starts, and what it sends is accepted and delivered.
  await sub.waitForCount(3, 30_000);
  assert.deepEqual(sub.ids().sort(), ['c-0', 'c-1', 'c-2']);
  // The program's own line may come after the delivery: wait for it.
  await waitFor(() => /sent c-2: 202/.test(sluice.output()), 'the source to log that the broker took its last event', 10_000);
});

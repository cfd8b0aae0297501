// Real-world-shaped Knative app directories (examples/apps/*) validate with exit 0 and run unchanged through the CLI:
// their workloads start as local processes or through the container engine, and events flow as the apps describe.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN, postEvent, runCli, startSubscriber, tempDir, testEngine, waitFor } from './harness.js';
import { broker, channelRef, documents, subscription, trigger } from './manifests.js';

interface Running {
  url: string;
  output(): string;
  stop(): Promise<number | null>;
}

/** `sluice run -f DIR` on a free port, with info logs (the workloads' output is logged at info). */
async function run(dir: string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const data = tempDir();
  const child = spawn(process.execPath, [SLUICE_BIN, 'run', '-f', dir, '--port', '0', '--admin-port', '0', '--data-dir', join(data.path, 'store'), '--log-level', 'info'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  await waitFor(() => /sluice ready on /.test(out) || code !== undefined, 'sluice to be ready', 60_000);
  assert.equal(code, undefined, `sluice exited:\n${out}`);
  return {
    url: /sluice ready on (http:\/\/\S+)/.exec(out)![1]!,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const c = await exited;
      data.remove();
      return c;
    },
  };
}

for (const app of ['helloworld', 'sequence', 'sinkbinding', 'getting-started', 'channel-subscription', 'event-policy', 'bookstore']) {
  test(`examples/apps/${app} validates with exit 0; plumbing is listed as ignored`, async () => {
    const r = await runCli(['validate', '-f', `examples/apps/${app}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /resources valid/);
    if (app === 'bookstore') assert.match(r.stderr, /^ignored: v1 ConfigMap knative-serving\/config-autoscaler \(Knative Serving's cluster configuration/m);
    else if (app !== 'sequence') assert.match(r.stderr, /^ignored: v1 Namespace \S+ \(cluster plumbing\)$/m);
  });
}

test('helloworld: a Deployment behind a v1 Service gets the broker’s events and its replies reach the event display', async (t) => {
  const s = await run('examples/apps/helloworld');
  t.after(() => s.stop());
  await waitFor(() => /Deployment knative-samples\/helloworld is ready/.test(s.output()), 'the helloworld Deployment', 30_000);
  const r = await postEvent(`${s.url}/knative-samples/default`, { id: 'e2e-1', type: 'dev.sluice.samples.hello', source: '/e2e' }, '{"name":"Ada"}');
  assert.equal(r.status, 202);
  await waitFor(() => s.output().includes('event received: type=dev.sluice.samples.hello source=/e2e id=e2e-1'), 'the app to get the event', 20_000);
  await waitFor(() => s.output().includes('Hello, Ada!') && s.output().includes('type: dev.sluice.samples.hello.reply'), 'the reply at the event display', 20_000);
});

test('sequence: three Knative Services in a Sequence fed by a PingSource, the result at the event display', async (t) => {
  const s = await run('examples/apps/sequence');
  t.after(() => s.stop());
  await waitFor(
    () => s.output().includes('type: dev.sluice.samples.appended') && s.output().includes('Hello from the Sequence - step 1 - step 2 - step 3'),
    'the sequence result at the display',
    30_000,
  );
  for (const name of ['first', 'second', 'third']) assert.match(s.output(), new RegExp(`${name} \\(${name}-00001\\) listening on \\d+`), 'K_SERVICE and K_REVISION follow the runtime contract');
});

test('bookstore: a bound Deployment sends comments to the broker, a Sequence of Knative Services moderates them, and the good ones come back to its Service path', async (t) => {
  const s = await run('examples/apps/bookstore');
  t.after(() => s.stop());
  await waitFor(() => /Deployment default\/node-server is ready/.test(s.output()) && /Service default\/sentiment-analysis-app is ready/.test(s.output()), 'the workloads', 30_000);
  // node-server listens where its container port says (or where Sluice moved it), as the log line tells.
  const server = /Deployment default\/node-server started; waiting for it to listen on (http:\/\/\S+?)"/.exec(s.output())![1]!;
  for (const comment of ['I love this book', 'An awful book']) {
    const res = await fetch(`${server}/add-comment`, { method: 'POST', body: JSON.stringify({ comment }) });
    assert.equal(res.status, 202, 'K_SINK (the SinkBinding) reached the broker');
  }
  // The good comment went through both steps, back to the broker as moderated-comment, then to node-server's /insert.
  await waitFor(() => s.output().includes('stored comment \\"I love this book\\" (sentiment positive)'), 'the moderated comment stored', 30_000);
  await waitFor(() => s.output().includes('bad-word-filter: badwordfilter bad'), 'the bad comment filtered', 30_000);
  await waitFor(() => s.output().includes('badwordfilter: bad') && s.output().includes('type: moderated-comment'), 'every event at the event display', 30_000);
  assert.ok(!s.output().includes('stored comment \\"An awful book'), 'a comment with bad words is not stored');
});

test('sinkbinding: a Deployment selected by label gets K_SINK and K_CE_OVERRIDES', async (t) => {
  const s = await run('examples/apps/sinkbinding');
  t.after(() => s.stop());
  await waitFor(() => s.output().includes('type: dev.sluice.samples.heartbeat') && s.output().includes('origin: sinkbinding'), 'a bound heartbeat at the display', 30_000);
  assert.match(s.output(), /source: examples\/apps\/sinkbinding\/heartbeat/, 'fieldRef metadata.labels resolved');
});

/** What a workload printed on stdout, one log record's message per line (the JSON logs of `sluice run`). */
function printed(output: string, workload: string): string[] {
  const lines: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { workload?: string; stream?: string; msg?: string };
    if (r.workload === workload && r.stream === 'stdout' && r.msg !== undefined) lines.push(r.msg);
  }
  return lines;
}

test('getting-started: two Deployments behind v1 Services get what their Triggers filter (type, source), an event matching both reaches both', async (t) => {
  const s = await run('examples/apps/getting-started');
  t.after(() => s.stop());
  const hello = (): string[] => printed(s.output(), 'Deployment event-example/hello-display');
  const goodbye = (): string[] => printed(s.output(), 'Deployment event-example/goodbye-display');
  // The tutorial's three events, in its order.
  for (const [id, type, source] of [
    ['say-hello', 'greeting', 'not-sendoff'],
    ['say-goodbye', 'not-greeting', 'sendoff'],
    ['say-hello-goodbye', 'greeting', 'sendoff'],
  ] as const) {
    const r = await postEvent(`${s.url}/event-example/default`, { id, type, source }, '{"msg":"Hello Knative!"}');
    assert.equal(r.status, 202);
  }
  await waitFor(() => hello().includes('  id: say-hello') && hello().includes('  id: say-hello-goodbye'), 'hello-display to get its two events', 20_000);
  await waitFor(() => goodbye().includes('  id: say-goodbye') && goodbye().includes('  id: say-hello-goodbye'), 'goodbye-display to get its two events', 20_000);
  assert.ok(!hello().includes('  id: say-goodbye'), 'hello-display filters on type greeting');
  assert.ok(!goodbye().includes('  id: say-hello'), 'goodbye-display filters on source sendoff');
});

test('channel-subscription: a Subscription to a Deployment behind a v1 Service, its reply sent on to a second channel, a refused event at the dead-letter sink', async (t) => {
  const s = await run('examples/apps/channel-subscription');
  t.after(() => s.stop());
  const display = (): string[] => printed(s.output(), 'Service channel-example/event-display');
  const orders = `${s.url}/channels/channel-example/orders`;
  assert.equal((await postEvent(orders, { id: 'order-1', type: 'dev.sluice.samples.order', source: '/shop' }, '{"item":"tea"}')).status, 202);
  assert.equal((await postEvent(orders, { id: 'order-bad', type: 'dev.sluice.samples.order', source: '/shop' }, '{"nothing":1}')).status, 202);
  // The display prints an event's attributes and its data in separate writes: wait for the whole receipt.
  await waitFor(() => display().includes('  orderid: order-1') && display().some((l) => l.startsWith('    "paid"')), 'the receipt (the reply, through the receipts channel) at the display', 20_000);
  assert.ok(display().includes('  type: dev.sluice.samples.receipt'));
  assert.ok(display().includes('    "paid": "3.50 EUR"'), 'the Deployment’s env reached the process');
  await waitFor(() => display().includes('  id: order-bad') && display().includes('  knativeerrorcode: 400'), 'the refused order at the dead-letter sink', 20_000);
});

test('event-policy: with authentication-oidc enabled the broker takes the PingSource its EventPolicy names, refuses another (403) and a request without a token (401)', async (t) => {
  const s = await run('examples/apps/event-policy', { SLUICE_AUTHENTICATION_OIDC: 'enabled' });
  t.after(() => s.stop());
  const display = (): string[] => printed(s.output(), 'Service shop/event-display');
  await waitFor(() => display().includes('  origin: checkout'), 'an event of the allowed PingSource at the display', 30_000);
  await waitFor(() => /"source":"PingSource shop\/stranger".*"status":403/.test(s.output()), 'the other PingSource refused with 403', 30_000);
  const anonymous = await postEvent(`${s.url}/shop/orders`, { id: 'no-token', type: 'dev.knative.sources.ping', source: '/curl' });
  assert.equal(anonymous.status, 401);
  assert.ok(!display().some((l) => l.includes('let me in')), 'nothing of the refused PingSource was stored or delivered');
  assert.ok(!display().includes('  id: no-token'));
});

test('workloads and a ContainerSource without a command run their image through the container engine; one that cannot start is NotReady and the others run', async (t) => {
  const e = await testEngine(t);
  if (!e) return;
  const sub = await startSubscriber();
  const dir = tempDir();
  t.after(async () => {
    await sub.close();
    dir.remove();
  });
  writeFileSync(
    join(dir.path, 'app.yaml'),
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: ce-app }
spec:
  template:
    spec:
      containers:
        - image: ${e.image}
          env: [{ name: GREETING, value: hi }]
          resources: { limits: { memory: 64Mi } }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-ce-app }
spec:
  broker: default
  filter: { attributes: { type: dev.sluice.e2e.to-app } }
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: ce-app }
    uri: /custom-path
---
apiVersion: batch/v1
kind: Job
metadata: { name: sender, labels: { app: sender } }
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: sender
          image: ${e.image}
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: bind-sender }
spec:
  subject: { apiVersion: batch/v1, kind: Job, selector: { matchLabels: { app: sender } } }
  sink: { uri: "${sub.url}" }
  ceOverrides: { extensions: { via: binding } }
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: image-source }
spec:
  template:
    spec:
      containers:
        - image: ${e.image}
          securityContext: { runAsNonRoot: false }
  sink: { uri: "${sub.url}from-source" }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: missing-image }
spec:
  selector: { matchLabels: { app: missing } }
  template:
    metadata: { labels: { app: missing } }
    spec:
      containers:
        - name: c
          image: localhost/sluice-test-does-not-exist:1
          imagePullPolicy: Never
`,
  );
  const s = await run(dir.path, { ...e.env, SLUICE_TEST_SECRET: 'must-not-leak' });
  t.after(() => s.stop());
  // The Job's container got K_SINK from the SinkBinding and posted to the subscriber.
  await sub.waitForCount(1, 30_000);
  const envNames = String(sub.received[0]!.headers['ce-envnames']);
  assert.match(envNames, /ksink/);
  assert.doesNotMatch(envNames, /sluicetestsecret/, 'Sluice’s own environment is not passed on');
  await waitFor(() => /Job default\/sender completed/.test(s.output()), 'the Job to complete', 20_000);
  // The ContainerSource with an image and no command runs through the engine too, bound to its sink.
  await sub.waitForCount(2, 30_000);
  assert.ok(
    sub.received.some((r) => r.headers['ce-source'] === '/ce-app/image-source'),
    'the ContainerSource image posted with NAME=image-source',
  );
  // The Knative Service listens on PORT; a Trigger's ref + relative uri reaches it.
  await waitFor(() => /Service default\/ce-app is ready at/.test(s.output()), 'the Knative Service', 30_000);
  const r = await postEvent(`${s.url}/default/default`, { id: 'to-app-1', type: 'dev.sluice.e2e.to-app', source: '/e2e' }, '{"x":1}');
  assert.equal(r.status, 202);
  await waitFor(() => s.output().includes('received dev.sluice.e2e.to-app /custom-path {\\"x\\":1}'), 'the container to receive the event', 20_000);
  // The workload that cannot start is reported once, with the reason.
  const notReady = s
    .output()
    .split('\n')
    .filter((l) => l.includes('Deployment default/missing-image is NotReady (ImageNotPresent)'));
  assert.equal(notReady.length, 1, s.output());
  const envLine = s
    .output()
    .split('\n')
    .find((l) => l.includes('ce-app env:') && l.includes('K_SERVICE'))!;
  for (const name of ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION', 'GREETING']) assert.match(envLine, new RegExp(`\\b${name}\\b`));
});

/** `sluice run` on a directory holding only `yaml` as `file`; stopped and removed after the test. */
async function runFile(t: TestContext, file: string, yaml: string): Promise<Running & { adminUrl: string }> {
  const dir = tempDir();
  t.after(dir.remove);
  writeFileSync(join(dir.path, file), yaml);
  const s = await run(dir.path);
  t.after(() => s.stop());
  return { ...s, adminUrl: /"adminUrl":"([^"]+)"/.exec(s.output())![1]! };
}

/** A Trigger's conditions from the admin API. */
const triggerConditions = async (adminUrl: string, name: string) =>
  ((await (await fetch(`${adminUrl}/api/v1/triggers/default/${name}`)).json()) as { status: { conditions: { type: string; status: string; reason?: string }[] } }).status.conditions;

test('a Trigger whose subscriber is a channel, in a configuration with no channel yet, runs NotReady instead of failing the start', async (t) => {
  const s = await runFile(t, 'trigger.yaml', documents(broker('default'), trigger('to-channel', { broker: 'default', subscriber: channelRef('not-yet') })));
  const conditions = await triggerConditions(s.adminUrl, 'to-channel');
  assert.equal(conditions.find((c) => c.type === 'SubscriberResolved')?.status, 'False');
  assert.equal(conditions.find((c) => c.type === 'Ready')?.status, 'False');
  assert.equal((await postEvent(`${s.url}/default/default`, { id: 'c-1', type: 't', source: '/e2e' }, '{}')).status, 202, 'the broker runs');
});

test('applied in pieces: a Trigger before its Broker and a Subscription before its Channel run NotReady with Knative’s reasons', async (t) => {
  const s = await runFile(
    t,
    'pieces.yaml',
    documents(
      broker('default'),
      trigger('early', { broker: 'later', subscriber: 'http://127.0.0.1:1/' }),
      trigger('to-cluster', { broker: 'default', subscriber: { apiVersion: 'v1', kind: 'Service', name: 'elsewhere' } }),
      subscription('sub', { channel: channelRef('later'), subscriber: 'http://127.0.0.1:1/' }),
    ),
  );
  assert.match(s.output(), /Trigger default\/early is NotReady \(BrokerDoesNotExist\)/);
  assert.match(s.output(), /Subscription default\/sub is NotReady \(ChannelReferenceFailed\)/);
  // A Service that nothing here runs falls back to cluster DNS: said once, at start.
  assert.equal(
    s
      .output()
      .split('\n')
      .filter((l) => l.includes('Service default/elsewhere is not run here')).length,
    1,
  );
  const ready = (await triggerConditions(s.adminUrl, 'early')).find((c) => c.type === 'Ready')!;
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'BrokerDoesNotExist');
  // The rest runs: the declared broker takes events.
  const r = await postEvent(`${s.url}/default/default`, { id: 'p-1', type: 't', source: '/e2e' }, '{}');
  assert.equal(r.status, 202);
});

// End-to-end: the real `sluice` CLI (built output) runs a Broker, a Trigger and every source that needs no external
// system; a real node:http subscriber receives what the trigger delivers. Nothing is faked: real processes, real
// sockets, the real heartbeat example script. Build first: `npx tsc -b`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli, startSluice, startSubscriber, tempDir, waitFor, waitForIdle, type Received, type SluiceProcess, type Subscriber } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const HEARTBEAT = join(ROOT, 'examples/sources/heartbeat.mjs');
const WEBHOOK_SECRET = 'e2e-webhook-secret';

let subscriber: Subscriber | undefined;
let delivered: Received[] = [];
let sluice: SluiceProcess | undefined;
let sluiceUrl = '';
const tmp = tempDir('sluice-e2e-sources-');

function attr(d: Received, name: string): string | undefined {
  const v = d.headers[`ce-${name}`];
  return Array.isArray(v) ? v[0] : v;
}

/** The request body as text. */
const text = (d: Received): string => d.body.toString('utf8');

/** Describes what a wait was for, with the end of sluice's output. */
const withOutput = (what: string) => (): string => `${what}\n--- sluice output ---\n${(sluice?.output() ?? '').slice(-4000)}`;

before(async () => {
  subscriber = await startSubscriber(() => ({ status: 200 }));
  delivered = subscriber.received;
  const subscriberUrl = subscriber.url;
  const yaml = documents(
    broker('default', { namespace: 'e2e' }),
    trigger('everything', { broker: 'default', subscriber: subscriberUrl }, { namespace: 'e2e' }),
    `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: every-second, namespace: e2e }
spec:
  schedule: "*/1 * * * * *"
  timezone: Europe/Paris
  contentType: application/json
  data: '{"message": "ping"}'
  ceOverrides: { extensions: { origin: ping, team: e2e } }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: heartbeat, namespace: e2e }
spec:
  template:
    spec:
      containers:
        - name: heartbeat
          command: ["${process.execPath}", "${HEARTBEAT}"]
          env:
            - { name: PERIOD, value: "0.2" }
            - { name: LABEL, value: from-e2e }
  ceOverrides: { extensions: { origin: container } }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
---
apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: { name: github, namespace: e2e }
spec:
  eventType: com.github.push
  eventSource: https://github.com/sluice/e2e
  eventExtensionAttributes: { from: [headers] }
  signature: { type: github, secret: { valueFromEnv: E2E_WEBHOOK_SECRET } }
  ceOverrides: { extensions: { origin: webhook } }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
  );
  sluice = await startSluice({ yaml, dataDir: tmp.path, args: ['--log-level', 'info'], env: { E2E_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  sluiceUrl = sluice.url;
});

after(async () => {
  if (sluice) {
    const timer = setTimeout(() => sluice!.child.kill('SIGKILL'), 10_000);
    await sluice.stop('SIGTERM');
    clearTimeout(timer);
  }
  await subscriber?.close();
  tmp.remove();
});

test('PingSource with a seconds schedule delivers Knative ping events through the broker', async () => {
  const ping = await waitFor(() => delivered.find((d) => attr(d, 'type') === 'dev.knative.sources.ping'), withOutput('a ping event'), 8000);
  assert.equal(attr(ping, 'source'), '/apis/v1/namespaces/e2e/pingsources/every-second');
  assert.equal(ping.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(text(ping)), { message: 'ping' });
  assert.equal(attr(ping, 'origin'), 'ping');
  assert.equal(attr(ping, 'team'), 'e2e');
  assert.match(attr(ping, 'id')!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(!Number.isNaN(Date.parse(attr(ping, 'time')!)));
  // It keeps firing, once per second.
  await waitFor(() => (delivered.filter((d) => attr(d, 'type') === 'dev.knative.sources.ping').length >= 2 ? true : undefined), withOutput('a second ping'), 4000);
});

test('ContainerSource runs the heartbeat script with K_SINK and K_CE_OVERRIDES, and restarts it when killed', async () => {
  const beats = (): Received[] => delivered.filter((d) => attr(d, 'type') === 'dev.sluice.samples.heartbeat');
  const first = await waitFor(() => beats()[0], withOutput('a heartbeat'), 8000);
  assert.equal(attr(first, 'origin'), 'container');
  assert.equal(attr(first, 'source'), 'heartbeat/e2e/heartbeat');
  const data = JSON.parse(text(first)) as { label: string; pid: number };
  assert.equal(data.label, 'from-e2e');
  const pid = data.pid;
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const after = await waitFor(() => beats().find((d) => d.at > killedAt && (JSON.parse(text(d)) as { pid: number }).pid !== pid), withOutput('a heartbeat from the restarted process'), 10_000);
  assert.equal(attr(after, 'origin'), 'container');
  assert.match(sluice!.output(), /process killed by SIGKILL; restarting in \d+ ms/);
  // And events keep coming from the new process.
  const newPid = (JSON.parse(text(after)) as { pid: number }).pid;
  await waitFor(() => (beats().filter((d) => (JSON.parse(text(d)) as { pid: number }).pid === newPid).length >= 3 ? true : undefined), withOutput('more heartbeats'), 5000);
});

test('webhook: a bad GitHub signature gets 401 and emits nothing; a good one is 202 and arrives as a CloudEvent', async () => {
  const url = `${sluiceUrl}/webhooks/e2e/github`;
  const body = JSON.stringify({ ref: 'refs/heads/main', commits: 3 });
  const sign = (secret: string): string => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  const bad = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'bad-delivery', 'x-hub-signature-256': sign('not-the-secret') },
    body,
  });
  assert.equal(bad.status, 401);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'SLUICE_WEBHOOK_SIGNATURE_INVALID');
  const good = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'good-delivery', 'x-hub-signature-256': sign(WEBHOOK_SECRET) },
    body,
  });
  assert.equal(good.status, 202);
  const event = await waitFor(() => delivered.find((d) => attr(d, 'id') === 'good-delivery'), withOutput('the webhook event'), 5000);
  assert.equal(attr(event, 'type'), 'com.github.push');
  assert.equal(attr(event, 'source'), 'https://github.com/sluice/e2e');
  assert.equal(attr(event, 'origin'), 'webhook');
  assert.equal(attr(event, 'hxgithubevent'), 'push');
  assert.equal(event.headers['content-type'], 'application/json');
  assert.equal(text(event), body);
  // The good event went through the same broker and trigger; the bad one never did (once the trigger is idle, nothing
  // the broker accepted is still on its way).
  await waitForIdle(sluice!);
  assert.equal(
    delivered.find((d) => attr(d, 'id') === 'bad-delivery'),
    undefined,
  );
  // The CloudEvents webhook handshake.
  const options = await fetch(url, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'github.com' } });
  assert.equal(options.status, 200);
  assert.equal(options.headers.get('webhook-allowed-origin'), 'github.com');
});

test('sluice validate reports bad source YAML as file:line:col errors and exits non-zero', async () => {
  const file = join(tmp.path, 'invalid.yaml');
  writeFileSync(
    file,
    `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: bad-cron }
spec:
  schedule: "*/5 * * * 9"
  sink: { uri: "http://127.0.0.1:1/" }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: bad-tz }
spec:
  timezone: Mars/Olympus_Mons
  sink: { uri: "http://127.0.0.1:1/" }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: both-data }
spec:
  data: hello
  dataBase64: aGVsbG8=
  sink: { uri: "http://127.0.0.1:1/" }
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: no-command, annotations: { sluice.dev/runtime: process } }
spec:
  template:
    spec:
      containers:
        - name: heartbeats
          image: gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats
  sink: { uri: "http://127.0.0.1:1/" }
`,
  );
  const r = await runCli(['validate', '-f', file]);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    `${file}:5:24: PingSource/bad-cron: spec.schedule: invalid schedule: day of week value 9 is out of range 0-6`,
    `${file}:12:13: PingSource/bad-tz: spec.timezone: unknown time zone "Mars/Olympus_Mons" (use an IANA name such as Europe/Paris or UTC)`,
    `${file}:20:15: PingSource/both-data: spec.dataBase64: data and dataBase64 are mutually exclusive: set only one`,
    `${file}:31:18: ContainerSource/no-command: spec.template.spec.containers[0].image: container "heartbeats": missing command (required with sluice.dev/runtime: process)`,
  ]);
  assert.equal(lines[4], '4 errors');
});

test('sluice bind runs a command with K_SINK set; its event reaches the subscriber; exit code 0', async () => {
  const script = `
    const ext = JSON.parse(process.env.K_CE_OVERRIDES).extensions;
    const headers = { 'ce-specversion': '1.0', 'ce-id': 'bound-1', 'ce-type': 'dev.sluice.e2e.bound', 'ce-source': 'e2e/bind', 'content-type': 'text/plain' };
    for (const [k, v] of Object.entries(ext)) headers['ce-' + k] = v;
    fetch(process.env.K_SINK, { method: 'POST', headers, body: 'hello from ' + process.env.NAME })
      .then((r) => process.exit(r.status === 202 ? 0 : 1), () => process.exit(1));
  `;
  const r = await runCli(['bind', '--sink', `${sluiceUrl}/e2e/default`, '--ce-override', 'origin=bind', '--', process.execPath, '-e', script]);
  assert.equal(r.code, 0, r.stderr);
  const event = await waitFor(() => delivered.find((d) => attr(d, 'id') === 'bound-1'), withOutput('the bound event'), 5000);
  assert.equal(attr(event, 'type'), 'dev.sluice.e2e.bound');
  assert.equal(attr(event, 'origin'), 'bind');
  assert.equal(text(event), 'hello from sluice-bind');
  // A failing command's exit code comes back unchanged.
  const failed = await runCli(['bind', '--sink', 'broker:default:e2e', '--server', sluiceUrl, '--', process.execPath, '-e', 'process.exit(5)']);
  assert.equal(failed.code, 5);
});

test('SIGTERM stops sluice cleanly, ContainerSource processes included', async () => {
  const beats = delivered.filter((d) => attr(d, 'type') === 'dev.sluice.samples.heartbeat');
  const pid = (JSON.parse(text(beats[beats.length - 1]!)) as { pid: number }).pid;
  const exited = sluice!.stop('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))]);
  clearTimeout(timer);
  assert.equal(code, 0, sluice!.output().slice(-2000));
  assert.match(sluice!.output(), /sluice stopped/);
  assert.throws(() => process.kill(pid, 0), 'the heartbeat process is gone');
});

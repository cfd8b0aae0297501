// End-to-end: the real `sluice` CLI (built output) runs a Broker, a Trigger and every source that needs no external
// system; a real node:http subscriber receives what the trigger delivers. Nothing is faked: real processes, real
// sockets, the real heartbeat example script. Build first: `npx tsc -b`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/bin.js');
const HEARTBEAT = join(ROOT, 'examples/sources/heartbeat.mjs');
const WEBHOOK_SECRET = 'e2e-webhook-secret';

interface Delivered {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

const delivered: Delivered[] = [];
let subscriber: Server;
let sluice: ChildProcess | undefined;
let sluiceUrl = '';
let sluiceOut = '';
let tmp = '';

function attr(d: Delivered, name: string): string | undefined {
  const v = d.headers[`ce-${name}`];
  return Array.isArray(v) ? v[0] : v;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- sluice output ---\n${sluiceOut.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs a one-shot CLI command; kills it if it outlives `timeoutMs`. */
function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args[0]} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sluice-e2e-sources-'));
  subscriber = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      delivered.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
  const subscriberUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/`;
  const config = join(tmp, 'sources.yaml');
  writeFileSync(
    config,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: e2e }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: everything, namespace: e2e }
spec:
  broker: default
  subscriber: { uri: "${subscriberUrl}" }
---
apiVersion: sources.knative.dev/v1
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
  sluice = spawn(process.execPath, [CLI, 'run', '-f', config, '--port', '0', '--data-dir', join(tmp, 'data'), '--log-level', 'info'], {
    cwd: ROOT,
    env: { ...process.env, E2E_WEBHOOK_SECRET: WEBHOOK_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sluice.stdout!.on('data', (c: Buffer) => (sluiceOut += c.toString()));
  sluice.stderr!.on('data', (c: Buffer) => (sluiceOut += c.toString()));
  sluiceUrl = await waitFor('sluice to be ready', 20_000, () => /sluice ready on (http:\/\/\S+)/.exec(sluiceOut)?.[1]);
});

after(async () => {
  if (sluice && sluice.exitCode === null && sluice.signalCode === null) {
    const exited = new Promise((r) => sluice!.once('exit', r));
    sluice.kill('SIGTERM');
    const timer = setTimeout(() => sluice!.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  subscriber?.closeAllConnections();
  await new Promise((r) => subscriber?.close(r));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('PingSource with a seconds schedule delivers Knative ping events through the broker', async () => {
  const ping = await waitFor('a ping event', 8000, () => delivered.find((d) => attr(d, 'type') === 'dev.knative.sources.ping'));
  assert.equal(attr(ping, 'source'), '/apis/v1/namespaces/e2e/pingsources/every-second');
  assert.equal(ping.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(ping.body), { message: 'ping' });
  assert.equal(attr(ping, 'origin'), 'ping');
  assert.equal(attr(ping, 'team'), 'e2e');
  assert.match(attr(ping, 'id')!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(!Number.isNaN(Date.parse(attr(ping, 'time')!)));
  // It keeps firing, once per second.
  await waitFor('a second ping', 4000, () => (delivered.filter((d) => attr(d, 'type') === 'dev.knative.sources.ping').length >= 2 ? true : undefined));
});

test('ContainerSource runs the heartbeat script with K_SINK and K_CE_OVERRIDES, and restarts it when killed', async () => {
  const beats = (): Delivered[] => delivered.filter((d) => attr(d, 'type') === 'dev.sluice.samples.heartbeat');
  const first = await waitFor('a heartbeat', 8000, () => beats()[0]);
  assert.equal(attr(first, 'origin'), 'container');
  assert.equal(attr(first, 'source'), 'heartbeat/e2e/heartbeat');
  const data = JSON.parse(first.body) as { label: string; pid: number };
  assert.equal(data.label, 'from-e2e');
  const pid = data.pid;
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const after = await waitFor('a heartbeat from the restarted process', 10_000, () =>
    beats().find((d) => d.at > killedAt && (JSON.parse(d.body) as { pid: number }).pid !== pid),
  );
  assert.equal(attr(after, 'origin'), 'container');
  assert.match(sluiceOut, /process killed by SIGKILL; restarting in \d+ ms/);
  // And events keep coming from the new process.
  const newPid = (JSON.parse(after.body) as { pid: number }).pid;
  await waitFor('more heartbeats', 5000, () => (beats().filter((d) => (JSON.parse(d.body) as { pid: number }).pid === newPid).length >= 3 ? true : undefined));
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
  const event = await waitFor('the webhook event', 5000, () => delivered.find((d) => attr(d, 'id') === 'good-delivery'));
  assert.equal(attr(event, 'type'), 'com.github.push');
  assert.equal(attr(event, 'source'), 'https://github.com/sluice/e2e');
  assert.equal(attr(event, 'origin'), 'webhook');
  assert.equal(attr(event, 'hxgithubevent'), 'push');
  assert.equal(event.headers['content-type'], 'application/json');
  assert.equal(event.body, body);
  // The good event went through the same broker and trigger; the bad one never did.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(delivered.find((d) => attr(d, 'id') === 'bad-delivery'), undefined);
  // The CloudEvents webhook handshake.
  const options = await fetch(url, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'github.com' } });
  assert.equal(options.status, 200);
  assert.equal(options.headers.get('webhook-allowed-origin'), 'github.com');
});

test('sluice validate reports bad source YAML as file:line:col errors and exits non-zero', async () => {
  const file = join(tmp, 'invalid.yaml');
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
metadata: { name: no-command }
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
    `${file}:31:18: ContainerSource/no-command: spec.template.spec.containers[0].image: container "heartbeats": missing command. ` +
      'Sluice runs containers as local processes: set command (and args), or run the image with docker/podman by setting the annotation sluice.dev/runtime: container',
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
  const event = await waitFor('the bound event', 5000, () => delivered.find((d) => attr(d, 'id') === 'bound-1'));
  assert.equal(attr(event, 'type'), 'dev.sluice.e2e.bound');
  assert.equal(attr(event, 'origin'), 'bind');
  assert.equal(event.body, 'hello from sluice-bind');
  // A failing command's exit code comes back unchanged.
  const failed = await runCli(['bind', '--sink', 'broker:default:e2e', '--server', sluiceUrl, '--', process.execPath, '-e', 'process.exit(5)']);
  assert.equal(failed.code, 5);
});

test('SIGTERM stops sluice cleanly, ContainerSource processes included', async () => {
  const beats = delivered.filter((d) => attr(d, 'type') === 'dev.sluice.samples.heartbeat');
  const pid = (JSON.parse(beats[beats.length - 1]!.body) as { pid: number }).pid;
  const exited = new Promise<number | null>((r) => sluice!.once('exit', (code) => r(code)));
  sluice!.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))]);
  clearTimeout(timer);
  assert.equal(code, 0, sluiceOut.slice(-2000));
  assert.match(sluiceOut, /sluice stopped/);
  assert.throws(() => process.kill(pid, 0), 'the heartbeat process is gone');
});

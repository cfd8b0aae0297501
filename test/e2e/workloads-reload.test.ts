// Live changes of workloads (SluiceRuntime.apply), with real processes: only the workloads whose resource or resolved
// containers changed restart (on the same port), the others keep running; a change that moves a Service's address
// replaces the whole component. In process, like live-reconfiguration.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceRuntime } from '@sluice/broker';
import { brokerChecks } from '@sluice/config';
import { sinkBindingInjector, sourceChecks, sourceComponents } from '@sluice/sources';
import { workloadChecks, workloadComponents } from '@sluice/workloads';
import { cleanupScope, tempDir, waitFor } from './harness.js';
import { configLoader } from './in-process-config.js';

const cleanup = cleanupScope();
const dir = tempDir('sluice-workloads-reload-');
cleanup.add(() => dir.remove());

// Answers every request with its pid and $FOO ($K_SINK instead when a SinkBinding binds it); listens on PORT when it
// has one, and writes the same "<pid> <FOO>" to <OUT>/<NAME> once it runs.
const APP = `import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const me = process.pid + ' ' + (process.env.K_SINK ?? process.env.FOO);
if (process.env.PORT) createServer((req, res) => res.end(me)).listen(Number(process.env.PORT), '127.0.0.1');
else setInterval(() => {}, 1000);
writeFileSync(join(process.env.OUT, process.env.NAME), me);
`;
writeFileSync(join(dir.path, 'app.mjs'), APP);

/** A Deployment `name` running the app with FOO from `foo` (a literal, or `{configMap: key}`); a v1 Service `name` selecting it when `service`. */
function deployment(name: string, foo: string | { configMap: string }, service: boolean): string {
  const fooEnv = typeof foo === 'string' ? `value: "${foo}"` : `valueFrom: { configMapKeyRef: { name: settings, key: ${foo.configMap} } }`;
  const svc = service
    ? `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
---
`
    : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
      annotations:
        sluice.dev/command: node ${join(dir.path, 'app.mjs')}
    spec:
      containers:
        - name: c
          image: example.com/app:1
          ports: [{ containerPort: 8080 }]
          env:
            - { name: FOO, ${fooEnv} }
            - { name: NAME, value: ${name} }
            - { name: OUT, value: ${dir.path} }
---
${svc}`;
}

const settings = (values: Record<string, string>) => `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data:
${Object.entries(values)
  .map(([k, v]) => `  ${k}: "${v}"`)
  .join('\n')}
---
`;

const config = configLoader(dir.path, [brokerChecks(), workloadChecks(), sourceChecks()]);

/** What a workload's process wrote at its start: "<pid> <FOO>" (waits for it). */
async function started(name: string, other = ''): Promise<string> {
  const file = join(dir.path, name);
  return waitFor(() => (existsSync(file) && readFileSync(file, 'utf8') !== other ? readFileSync(file, 'utf8') : undefined), `${name} to start`, 20_000);
}

/** What the workload behind a Service answers: "<pid> <FOO>". */
async function ask(runtime: SluiceRuntime, service: string): Promise<string> {
  const url = runtime.status('Service', 'default', service)?.['address'] as { url: string } | undefined;
  assert.ok(url, `Service ${service} has an address`);
  try {
    return await (await fetch(url.url)).text();
  } catch (err) {
    // Say which workload did not answer and what Sluice thinks of it.
    throw new Error(
      `Service ${service} at ${url.url}: ${(err as Error).message} (${String((err as Error).cause)}); Deployment status ${JSON.stringify(runtime.status('Deployment', 'default', service))}`,
      { cause: err },
    );
  }
}

test('apply: a changed workload restarts alone on the same port; a change of a ConfigMap restarts only the workload that reads it; moving an address replaces them all', async () => {
  const base = (fooB: string, cm: Record<string, string>, extra = '') => deployment('a', '1', true) + deployment('b', fooB, true) + deployment('c', { configMap: 'c' }, false) + settings(cm) + extra;
  const runtime = await SluiceRuntime.start(config(base('1', { c: 'x' })), { port: 0, dataDir: join(dir.path, 'store'), components: [workloadComponents({ readyWaitMs: 15_000 })] });
  cleanup.add(() => runtime.stop(2000));
  const a0 = await ask(runtime, 'a');
  const b0 = await ask(runtime, 'b');
  const c0 = await started('c');
  assert.match(b0, / 1$/);
  assert.match(c0, / x$/);

  // b's env changes: b restarts, at the same address; a and c keep their processes.
  const bUrl = runtime.status('Service', 'default', 'b')?.['address'];
  const one = await runtime.apply(config(base('2', { c: 'x' })));
  assert.deepEqual(one.restarted, ['Deployment default/b']);
  const b1 = await ask(runtime, 'b');
  assert.match(b1, / 2$/);
  assert.notEqual(b1.split(' ')[0], b0.split(' ')[0], 'b runs in a new process');
  assert.deepEqual(runtime.status('Service', 'default', 'b')?.['address'], bUrl, 'b keeps its address');
  assert.equal(await ask(runtime, 'a'), a0, 'a was not touched');
  assert.equal(readFileSync(join(dir.path, 'c'), 'utf8'), c0, 'c was not touched');

  // The ConfigMap only c reads changes: c restarts with the new value.
  const two = await runtime.apply(config(base('2', { c: 'y' })));
  assert.deepEqual(two.restarted, ['Deployment default/c']);
  const c1 = await started('c', c0);
  assert.match(c1, / y$/);
  assert.equal(await ask(runtime, 'a'), a0);
  assert.equal(await ask(runtime, 'b'), b1);

  // A workload without an address goes and another comes: the rest keep running.
  const three = await runtime.apply(config(deployment('a', '1', true) + deployment('b', '2', true) + deployment('d', '1', false) + settings({ c: 'y' })));
  assert.deepEqual(three.restarted, ['Deployment default/d']);
  await started('d');
  assert.equal(runtime.status('Deployment', 'default', 'c'), undefined, "the removed workload's status goes");
  assert.equal(await ask(runtime, 'a'), a0);

  // A Service now selects d: an address appears that other components may have resolved elsewhere, so the whole
  // component is replaced (every workload restarts).
  const four = await runtime.apply(config(deployment('a', '1', true) + deployment('b', '2', true) + deployment('d', '1', true) + settings({ c: 'y' })));
  assert.deepEqual(four.restarted, ['Workloads']);
  await waitFor(async () => (await ask(runtime, 'a').catch(() => a0)) !== a0, 'a to run in a new process', 20_000);
  assert.match(await ask(runtime, 'd'), / 1$/);
});

test("apply: a SinkBinding's changed sink restarts only the workload it binds", async () => {
  const binding = (path: string) => `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: bind }
spec:
  subject: { apiVersion: apps/v1, kind: Deployment, name: sb }
  sink: { uri: "http://127.0.0.1:9${path}" }
---
`;
  const yaml = (path: string) => deployment('sa', '1', true) + deployment('sb', '1', false) + binding(path);
  const components = [workloadComponents({ readyWaitMs: 15_000, injectors: (c) => [sinkBindingInjector(c)] }), sourceComponents];
  const runtime = await SluiceRuntime.start(config(yaml('/one')), { port: 0, dataDir: join(dir.path, 'store-binding'), components });
  cleanup.add(() => runtime.stop(2000));
  const a0 = await ask(runtime, 'sa');
  const b0 = await started('sb');
  assert.match(b0, / http:\/\/127\.0\.0\.1:9\/one$/, 'sb gets K_SINK');

  const report = await runtime.apply(config(yaml('/two')));
  assert.ok(report.restarted.includes('Deployment default/sb'), report.restarted.join(', '));
  assert.ok(!report.restarted.includes('Workloads') && !report.restarted.includes('Deployment default/sa'), report.restarted.join(', '));
  assert.match(await started('sb', b0), / http:\/\/127\.0\.0\.1:9\/two$/);
  assert.equal(await ask(runtime, 'sa'), a0, 'sa, which the SinkBinding does not bind, was not touched');
});

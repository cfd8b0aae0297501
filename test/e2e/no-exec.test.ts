// `--no-exec` (docs/security.md): untrusted YAML runs without any process or container being started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startSluice, tempDir } from './harness.js';

test('--no-exec refuses a configuration with a ContainerSource or a workload, at its file:line:col, and starts nothing', async () => {
  const dir = tempDir();
  const marker = join(dir.path, 'ran');
  const file = join(dir.path, 'c.yaml');
  writeFileSync(
    file,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata:
  name: touch
spec:
  template:
    spec:
      containers:
        - name: c
          image: local
          command: ["sh", "-c", "touch ${marker}; sleep 30"]
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: { app: app }
  template:
    metadata:
      labels: { app: app }
    spec:
      containers:
        - name: app
          image: local
          command: ["sh", "-c", "touch ${marker}; sleep 30"]
`,
  );
  for (const args of [['--no-exec'], []]) {
    const env = args.length === 0 ? { SLUICE_NO_EXEC: 'true' } : {};
    const r = await runCli(['run', '-f', file, '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'store'), ...args], { env, timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /c\.yaml:6:1: ContainerSource\/touch: would start a process or container, which --no-exec forbids/);
    assert.match(r.stderr, /c\.yaml:\d+:1: Deployment\/app: would start a process or container/);
  }
  assert.equal(existsSync(marker), false, 'no process ran');
  dir.remove();
});

test('--no-exec runs a configuration without processes as usual', async () => {
  const sluice = await startSluice({ yaml: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n', args: ['--no-exec'] });
  await sluice.stop();
});

// Readiness per resource: /readyz answers 503 with one reason per resource that is not Ready, and each workload's
// Ready follows Knative Serving's rules, with real processes: NotReady until its readinessProbe (here an httpGet)
// answers, NotReady with the exit reason when it dies, Ready again once it runs and answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupScope, startSluice, tempDir, waitFor } from './harness.js';

const cleanup = cleanupScope();

// Listens on PORT; /healthz is 200 only while `ready` exists and `down` does not; /exit ends the process with code 3.
const APP = `import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
createServer((req, res) => {
  if (req.url === '/exit') { res.end('bye'); setTimeout(() => process.exit(3), 10); return; }
  if (req.url === '/healthz') { res.statusCode = existsSync('ready') && !existsSync('down') ? 200 : 503; res.end(); return; }
  res.statusCode = 202; res.end();
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const yaml = (dir: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: app
  annotations:
    sluice.dev/command: node ${join(dir, 'app.mjs')}
spec:
  template:
    spec:
      containers:
        - image: example.com/app:1
          workingDir: ${dir}
          readinessProbe:
            httpGet: { path: /healthz }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: crasher }
spec:
  selector: { matchLabels: { app: crasher } }
  template:
    metadata:
      labels: { app: crasher }
      annotations:
        sluice.dev/command: node -e "process.exit(2)"
    spec:
      containers:
        - name: c
          image: example.com/crasher:1
`;

interface Readyz {
  ready: boolean;
  reasons: string[];
}

test('/readyz: a Knative Service is NotReady until its readinessProbe answers, NotReady with the exit reason when it dies, then Ready again; a crashing Deployment stays NotReady', async () => {
  const dir = tempDir();
  cleanup.add(dir.remove);
  writeFileSync(join(dir.path, 'app.mjs'), APP);
  const sluice = await startSluice({ yaml: yaml(dir.path) });
  cleanup.add(async () => void (await sluice.stop()));
  const readyz = async (): Promise<{ status: number; body: Readyz }> => {
    const res = await fetch(`${sluice.adminUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as Readyz };
  };
  const reasonOf = (r: Readyz, id: string): string | undefined => r.reasons.find((l) => l.startsWith(`${id}: `));

  // The process listens, but its probe says 503: NotReady, and /readyz says why.
  let r = await readyz();
  assert.equal(r.status, 503);
  assert.match(reasonOf(r.body, 'Service default/app') ?? '', /NotListening/, JSON.stringify(r.body));
  // A Deployment whose container exits is NotReady with Knative's exit reason.
  await waitFor(async () => reasonOf((await readyz()).body, 'Deployment default/crasher')?.includes('ExitCode2'), 'the crasher to be NotReady with ExitCode2', 30_000);
  r = await readyz();
  assert.match(reasonOf(r.body, 'Deployment default/crasher')!, /^Deployment default\/crasher: ExitCode2: container c exited with code 2/);

  // The probe answers 200: the Service is Ready (the crasher keeps /readyz at 503).
  writeFileSync(join(dir.path, 'ready'), '');
  await waitFor(async () => reasonOf((await readyz()).body, 'Service default/app') === undefined, 'the Service to be Ready', 30_000);
  const svc = (await (await fetch(`${sluice.adminUrl}/api/v1/services.serving.knative.dev/default/app`)).json()) as {
    status: { conditions: Array<{ type: string; status: string }>; address?: { url: string } };
  };
  assert.deepEqual(
    svc.status.conditions.map((c) => [c.type, c.status]),
    [
      ['Ready', 'True'],
      ['ConfigurationsReady', 'True'],
    ],
  );

  // It dies: NotReady with the exit code, and it stays so while the restarted process's probe fails.
  writeFileSync(join(dir.path, 'down'), '');
  await fetch(`${svc.status.address!.url}/exit`);
  await waitFor(async () => reasonOf((await readyz()).body, 'Service default/app')?.includes('ExitCode3'), 'the Service to be NotReady with ExitCode3', 30_000);
  assert.equal((await readyz()).status, 503);
  // Restarted and answering again: Ready.
  rmSync(join(dir.path, 'down'));
  await waitFor(async () => reasonOf((await readyz()).body, 'Service default/app') === undefined, 'the Service to be Ready again', 30_000);
  assert.ok(/Service default\/app is ready at/.test(sluice.output()));
});

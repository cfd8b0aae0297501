// Circuit breaker, end to end: a subscriber that refuses connections opens its trigger's circuit; the events wait in
// the backlog without spending their retry budget (far more time passes than their retries would last), and when the
// subscriber comes back every accepted event arrives. The state change is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { cleanupScope, postEvent, runCli, startSluice, tempDir, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const cleanup = cleanupScope();

/** A loopback port with nothing listening on it. */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('events for a dead subscriber wait behind its open circuit, spend no retries, and all arrive once it is back', async () => {
  const port = await deadPort();
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  // retry 3 from 50 ms: without the breaker every event would be dropped about 0.75 s after it failed first.
  const yaml = documents(
    broker('default'),
    trigger(
      'flaky',
      { broker: 'default', subscriber: `http://127.0.0.1:${port}/`, delivery: { retry: 3, backoffDelay: 'PT0.05S' } },
      {
        annotations: {
          'sluice.dev/circuit-breaker-failures': '2',
          'sluice.dev/circuit-breaker-backoff': 'PT0.2S',
          'sluice.dev/circuit-breaker-max-backoff': 'PT0.5S',
        },
      },
    ),
  );
  const sluice = await startSluice({ yaml, dataDir: dir.path, env: { SLUICE_LOG_LEVEL: 'info' } });
  cleanup.add(async () => void (await sluice.stop()));
  const ids = Array.from({ length: 20 }, (_, i) => `cb-${i}`);
  for (const id of ids) {
    const res = await postEvent(`${sluice.url}/default/default`, { id, source: '/cb', type: 't' }, '{}');
    assert.equal(res.status, 202);
  }
  await waitFor(() => /circuit open/.test(sluice.output()), 'the circuit-open log line');
  // Several probe periods pass with the subscriber down (a few probes fail: each is one real attempt).
  await waitFor(() => (sluice.output().match(/circuit stays open/g) ?? []).length >= 3, 'three failed probes', 20_000);
  // The admin API shows the circuit on the Trigger's status.
  const circuitOf = async (): Promise<{ role: string; state: string; opened: number; destination: string }> => {
    const res = await fetch(`${sluice.adminUrl}/api/v1/triggers/default/flaky`);
    const body = (await res.json()) as { status: { circuits: Array<{ role: string; state: string; opened: number; destination: string }> } };
    return body.status.circuits.find((c) => c.role === 'subscriber')!;
  };
  const open = await circuitOf();
  assert.notEqual(open.state, 'closed');
  assert.ok(open.opened >= 3, `opened ${open.opened} times`);
  assert.equal(open.destination, `http://127.0.0.1:${port}/`);
  // The subscriber comes back on the same port.
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(String(req.headers['ce-id']));
    req.resume();
    req.on('end', () => res.writeHead(202).end());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await waitFor(() => new Set(received).size === ids.length, `all ${ids.length} events at the subscriber (got ${new Set(received).size})`, 20_000);
  assert.deepEqual([...new Set(received)].sort(), [...ids].sort());
  assert.match(sluice.output(), /circuit closed/);
  assert.equal((await circuitOf()).state, 'closed');
  assert.doesNotMatch(sluice.output(), /event dropped/);
});

test('a bad circuit-breaker annotation is a validation error at its line', async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const file = `${dir.path}/bad.yaml`;
  writeFileSync(
    file,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  annotations:
    sluice.dev/circuit-breaker-failures: "many"
    sluice.dev/circuit-breaker-backoff: 1s
`,
  );
  const res = await runCli(['validate', '-f', file]);
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /bad\.yaml:6:\d+: .*sluice\.dev\/circuit-breaker-failures must be a whole number/);
  assert.match(res.stdout + res.stderr, /bad\.yaml:7:\d+: .*sluice\.dev\/circuit-breaker-backoff must be an ISO-8601 duration/);
});

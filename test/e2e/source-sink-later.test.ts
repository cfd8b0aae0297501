// A source whose sink does not exist yet: Knative accepts it (NotReady until the sink exists); its events must not be
// lost meanwhile. A PingSource's sink is a Broker that is not declared when sluice starts; the events it sends are
// kept and sent again until `sluice apply` adds the Broker (and a Trigger), and then arrive — the ones from before too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startSluice, startSubscriber, tempDir, waitFor } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('a PingSource whose sink Broker is applied later loses no event: they wait and arrive once it exists', async () => {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const sub = await startSubscriber();
  cleanups.push(() => sub.close());
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
  cleanups.push(async () => void (await sluice.stop()));
  // The broker does not exist: the ingress answers 404, and the source keeps its events.
  await waitFor(() => /the sink cannot take ping events yet \(HTTP 404\)/.test(sluice.output()), 'the source to say it keeps its events', 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  const applied = Date.now();
  const file = join(dir.path, 'later.yaml');
  writeFileSync(
    file,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: later}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all}
spec:
  broker: later
  subscriber: {uri: "${sub.url}"}
`,
  );
  const r = await runCli(['apply', '-f', file, '--server', sluice.adminUrl, '--token', sluice.adminToken]);
  assert.equal(r.code, 0, r.stderr);
  // Events made before the broker existed arrive (the source tried again, 1 s doubling), then the live ones.
  await waitFor(() => sub.received.some((x) => Date.parse(String(x.event?.attributes['time'])) < applied - 1500), 'a ping event from before the broker existed', 60_000);
  await waitFor(() => sub.received.some((x) => Date.parse(String(x.event?.attributes['time'])) > applied), 'a live ping event', 30_000);
  const early = sub.received.filter((x) => Date.parse(String(x.event?.attributes['time'])) < applied);
  assert.ok(early.length >= 2, `kept events arrived: ${early.length}`);
  assert.ok(/the sink took a ping event it could not take before/.test(sluice.output()));
  assert.doesNotMatch(sluice.output(), /event lost/);
});

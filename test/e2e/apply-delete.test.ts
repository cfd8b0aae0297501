// `sluice apply` and `sluice delete` against a running `sluice run` (both spawned as a user runs them): kubectl's
// lines and exit codes, 409 without --force, and applied/deleted resources that last across SIGHUP and a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cleanupScope, figuresOf, postEvent, runCli, startSluice, tempDir, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';
import { adminCli, startSubscriberIn } from './fixtures.js';

const cleanup = cleanupScope();

test('apply and delete: kubectl lines, --dry-run, 409 without --force, and changes that last across SIGHUP and a restart', async () => {
  const one = await startSubscriberIn(cleanup);
  const two = await startSubscriberIn(cleanup);
  const failing = await startSubscriberIn(cleanup, () => ({ status: 503 }));
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const files = documents(
    broker('default'),
    trigger('one', { broker: 'default', subscriber: one.url }),
    trigger('stuck', { broker: 'default', subscriber: failing.url, delivery: { retry: 5, backoffDelay: 'PT30S' } }),
  );
  let sluice = await startSluice({ yaml: files, dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));
  // The sluice of the moment: it is restarted below.
  const cli = (...args: string[]) => adminCli(sluice)(...args);
  const send = (id: string) => postEvent(`${sluice.url}/default/default`, { id, source: '/apply', type: 't' });

  const twoFile = join(dir.path, 'two.yaml');
  writeFileSync(twoFile, trigger('two', { broker: 'default', subscriber: two.url }));
  const dry = await cli('apply', '-f', twoFile, '--dry-run');
  assert.equal(dry.stdout, 'trigger.eventing.knative.dev/two created (dry run)\n');
  assert.equal(dry.code, 0);
  // Cluster plumbing in the applied files is listed as ignored, as validate and run list it.
  const withNamespace = join(dir.path, 'with-namespace.yaml');
  writeFileSync(withNamespace, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n${trigger('two', { broker: 'default', subscriber: two.url })}`);
  const plumbing = await cli('apply', '-f', withNamespace, '--dry-run');
  assert.equal(plumbing.stdout, 'trigger.eventing.knative.dev/two created (dry run)\n');
  assert.equal(plumbing.stderr, 'ignored: v1 Namespace shop (cluster plumbing)\n');
  assert.equal((await cli('get', 'trigger', 'two')).code, 1, 'a dry run changes nothing');

  const created = await cli('apply', '-f', twoFile);
  assert.equal(created.stdout, 'trigger.eventing.knative.dev/two created\n', created.stderr);
  assert.equal(created.code, 0);
  assert.equal((await send('e1')).status, 202);
  await two.waitForCount(1);
  assert.equal((await cli('apply', '-f', twoFile)).stdout, 'trigger.eventing.knative.dev/two unchanged\n');
  writeFileSync(twoFile, trigger('two', { broker: 'default', filter: { type: 't' }, subscriber: two.url }));
  assert.equal((await cli('apply', '-f', twoFile)).stdout, 'trigger.eventing.knative.dev/two configured\n');
  const shown = JSON.parse((await cli('get', 'trigger', 'two', '-o', 'json')).stdout) as { source: string };
  assert.equal(shown.source, `${twoFile} (applied)`);

  // The stuck trigger owes retries (e1's, r1's and r2's, 30 s away): deleting it needs --force.
  for (const id of ['r1', 'r2']) await send(id);
  await waitFor(async () => (await figuresOf(sluice, 'triggers', 'default', 'stuck')).retrying === 3, 'the stuck trigger to hold three retries');
  const refused = await cli('delete', 'trigger', 'stuck');
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^sluice: trigger default\/stuck has \d+ events pending \(backlog \d+, retrying \d+\); delete --force moves them to the dead-letter store \(SLUICE_FORCE_REQUIRED, HTTP 409\)\n$/,
  );
  assert.equal(refused.stdout, '');
  const forced = await cli('delete', 'trigger', 'stuck', '--force');
  assert.equal(forced.stdout, 'trigger.eventing.knative.dev "stuck" deleted\n', forced.stderr);
  assert.match(forced.stderr, /warning: Trigger default\/stuck deleted with --force: kept in the dead-letter store: \d+ pending retries/);
  await waitFor(() => /Trigger default\/stuck deleted: \d+ pending retries/.test(sluice.output()), 'the count in the log');
  assert.equal((await cli('get', 'trigger', 'stuck')).code, 1);

  // SIGHUP re-reads the files, which still declare "stuck": the deletion stays, so does the applied "two".
  sluice.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP: configuration unchanged/.test(sluice.output()), 'the SIGHUP record', 60_000);
  assert.equal((await cli('get', 'trigger', 'stuck')).code, 1);

  // And a restart on the same data directory.
  assert.equal(await sluice.stop(), 0);
  sluice = await startSluice({ yaml: files, dataDir: dir.path });
  const names = (await cli('get', 'triggers', '-o', 'name')).stdout;
  assert.equal(names, 'trigger/one\ntrigger/two\n');
  assert.equal((await send('e2')).status, 202);
  await two.waitForCount(2);

  // delete -f takes what the files declare; apply again brings a deleted resource back.
  const gone = await cli('delete', '-f', twoFile);
  assert.equal(gone.stdout, 'trigger.eventing.knative.dev "two" deleted\n', gone.stderr);
  assert.equal(gone.stderr, '', 'a trigger that owed nothing is deleted without a warning (and it was not forced)');
  const stuckFile = join(dir.path, 'stuck.yaml');
  writeFileSync(stuckFile, trigger('stuck', { broker: 'default', subscriber: failing.url }));
  assert.equal((await cli('apply', '-f', stuckFile)).stdout, 'trigger.eventing.knative.dev/stuck created\n');
});

test('apply and delete: bad input is a clear error with the right exit code; an unreachable admin address says where it tried', async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const sluice = await startSluice({ yaml: broker('default'), dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));
  const bad = join(dir.path, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\nspec:\n  broker: default\n');
  const cli = adminCli(sluice);
  const invalid = await cli('apply', '-f', bad);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, new RegExp(`${bad.replaceAll('/', '\\/')}:\\d+:\\d+: Trigger\\/t: .*subscriber`));
  const missing = await cli('delete', 'trigger', 'nope');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'sluice: Trigger default/nope not found (SLUICE_NOT_FOUND, HTTP 404)\n');
  const usage = await runCli(['delete', '--server', sluice.adminUrl]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /give KIND NAME/);
  assert.equal((await runCli(['apply'])).code, 2);
  // A file of cluster plumbing only: nothing to change, and each line says what was done with it.
  const rbac = join(dir.path, 'rbac.yaml');
  writeFileSync(rbac, 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules: []\n');
  for (const verb of ['apply', 'delete']) {
    const plumbing = await cli(verb, '-f', rbac);
    assert.deepEqual(
      [plumbing.code, plumbing.stdout, plumbing.stderr],
      [0, '', 'ignored: v1 ServiceAccount sa (cluster plumbing)\nignored: rbac.authorization.k8s.io/v1 Role r (cluster plumbing)\n'],
      verb,
    );
  }

  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const down = await runCli(['apply', '-f', bad], { env: { SLUICE_ADMIN: `http://127.0.0.1:${port}` } });
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`^sluice: cannot reach the Sluice admin API at http://127\\.0\\.0\\.1:${port} \\(connection refused\\).*Set --server or SLUICE_ADMIN.*\\n$`));
});

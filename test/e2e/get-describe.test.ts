// `sluice get` and `sluice describe` against a running `sluice run` (its admin API), the error when nothing answers
// there, and SIGHUP, which must not stop the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cleanupScope, postEvent, runCli, startSluice, waitFor } from './harness.js';
import { startSluiceIn, startSubscriberIn } from './fixtures.js';
import { broker, brokerRef, channelRef, documents, pingSource, resource, trigger } from './manifests.js';

const cleanup = cleanupScope();

const config = (good: string): string =>
  documents(
    broker('default'),
    trigger('good', { broker: 'default', subscriber: good }),
    trigger('failing', { broker: 'default', subscriber: 'http://127.0.0.1:9/', delivery: { retry: 5, backoffDelay: 'PT30S' } }),
    broker('other', { namespace: 'team' }),
    pingSource('yearly', { schedule: '0 0 1 1 *', sink: brokerRef('other') }, { namespace: 'team' }),
  );

async function start() {
  const good = await startSubscriberIn(cleanup);
  const sluice = await startSluiceIn(cleanup, { yaml: config(good.url) });
  return { sluice, good };
}

test('get lists resources as kubectl does: aligned columns, READY/REASON last, -o wide|json|yaml|name, namespaces', async () => {
  const { sluice, good } = await start();
  const env = { SLUICE_ADMIN: sluice.adminUrl };
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/s', type: 't' })).status, 202);
  await good.waitForCount(1);

  const list = await runCli(['get', 'triggers'], { env });
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME +BROKER +SINK +READY +REASON$/);
  assert.equal(lines.length, 3);
  assert.equal(lines[0]!.indexOf('BROKER'), lines[1]!.indexOf('default'), 'columns are aligned');
  assert.ok(
    lines.some((l) => /^good +default +http:\/\/127\.0\.0\.1:\d+\/ +True$/.test(l)),
    list.stdout,
  );
  assert.doesNotMatch(list.stdout, /\u001b\[/, 'no colour when stdout is not a terminal');

  let wide = '';
  for (let i = 0; i < 100; i++) {
    wide = (await runCli(['get', 'triggers', '-o', 'wide'], { env })).stdout;
    if (/^failing .* 1 +0 +1 +error /m.test(wide)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(wide.split('\n')[0]!, /BACKLOG +IN-FLIGHT +RETRYING +DELIVERED +FAILED +LAST-ERROR +READY +REASON/);
  assert.match(wide, /^good +default +\S+ +0 +0 +0 +1 +0 +<none> +True$/m);
  assert.match(wide, /^failing +default +\S+ +0 +0 +1 +0 +1 +error \S+ +True$/m);

  const json = JSON.parse((await runCli(['get', 'trigger', 'good', '-o', 'json'], { env })).stdout);
  assert.equal(json.kind, 'Trigger');
  assert.equal(json.status.figures.delivered, 1);
  const yaml = parse((await runCli(['get', 'brokers', '-o', 'yaml'], { env })).stdout);
  assert.equal(yaml.kind, 'BrokerList');
  assert.deepEqual(
    yaml.items.map((b: { metadata: { name: string } }) => b.metadata.name),
    ['default'],
    'namespace default by default',
  );
  assert.equal((await runCli(['get', 'brokers', '-o', 'name', '-A'], { env })).stdout, 'broker/default\nbroker/other\n');
  const all = await runCli(['get', 'brokers', '-A'], { env });
  assert.match(all.stdout, /^NAMESPACE +NAME +URL +READY +REASON\n/);
  assert.match(all.stdout, /^team +other +http:\S+\/team\/other +True$/m);
  const team = await runCli(['get', 'triggers', '-n', 'team'], { env });
  assert.equal(team.code, 0);
  assert.equal(team.stderr, 'No resources found in team namespace.\n');
  // A source shows its resolved sink, as kn source ping list does (Knative's status.sinkUri).
  const pings = await runCli(['get', 'pingsources', '-n', 'team'], { env });
  assert.match(pings.stdout, /^NAME +SINK +READY +REASON\nyearly +http:\/\/127\.0\.0\.1:\d+\/team\/other +True\n$/);

  // `get kinds` lists what `get` accepts (the admin API's /api/v1/kinds), as kubectl api-resources does.
  const kinds = await runCli(['get', 'kinds'], { env });
  assert.equal(kinds.code, 0, kinds.stderr);
  assert.match(kinds.stdout, /^NAME +KIND\n/);
  assert.match(kinds.stdout, /^triggers +Trigger$/m);
});

test('describe shows spec, addresses, live figures, the last error and the conditions', async () => {
  const { sluice } = await start();
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/s', type: 't' })).status, 202);
  let out = '';
  for (let i = 0; i < 100; i++) {
    out = (await runCli(['describe', 'trigger', 'failing', '--server', sluice.adminUrl])).stdout;
    if (/Last error: +\S+ no HTTP answer/.test(out)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /^Name: +failing\nNamespace: +default\nKind: +Trigger \(eventing\.knative\.dev\/v1\)\n/);
  assert.match(out, /^Subscriber: +http:\/\/127\.0\.0\.1:9\/$/m);
  assert.match(out, /^Spec:\n {2}broker: default\n/m);
  assert.match(out, /^Deliveries:\n {2}BACKLOG +IN-FLIGHT +RETRYING +OLDEST-PENDING/m);
  assert.match(out, /Last error: +\S+ no HTTP answer: .*ECONNREFUSED/);
  assert.match(out, /^Conditions:\n {2}OK +TYPE +SINCE +REASON +MESSAGE\n {2}\+\+ +Ready /m);
  assert.match(out, /\+\+ +DeadLetterSinkResolved +\S+ +DeadLetterSinkNotConfigured/);
});

test('a ref is shown as the URL Sluice resolved it to: get trigger SINK, get services URL, describe service Address', async () => {
  const web = { apiVersion: 'v1', kind: 'Service', name: 'web' };
  const yaml = documents(
    broker('default'),
    resource(web.apiVersion, web.kind, web.name, { selector: { app: 'web' }, ports: [{ port: 80 }] }),
    trigger('to-web', { broker: 'default', subscriber: { ref: web, uri: '/hook' } }),
  );
  const sluice = await startSluice({ yaml, args: ['--service-url-template', 'http://{name}.{namespace}.example.test'] });
  cleanup.add(async () => void (await sluice.stop()));
  const env = { SLUICE_ADMIN: sluice.adminUrl };
  // A trigger whose subscriber does not resolve (applied live: it stays NotReady).
  const nothing = join(sluice.dataDir, 'nothing.yaml');
  writeFileSync(nothing, trigger('to-nothing', { broker: 'default', subscriber: channelRef('missing') }));
  const applied = await runCli(['apply', '-f', nothing, '--token', sluice.adminToken], { env });
  assert.match(applied.stderr, /warning: not ready: trigger default\/to-nothing/);
  const triggers = await runCli(['get', 'triggers'], { env });
  assert.equal(triggers.code, 0, triggers.stderr);
  assert.match(triggers.stdout, /^to-web +default +http:\/\/web\.default\.example\.test\/hook +True$/m, 'the resolved URL, as kn shows it');
  assert.match(triggers.stdout, /^to-nothing +default +inmemorychannel:missing +False +/m, 'the ref while it does not resolve');
  const services = await runCli(['get', 'services'], { env });
  assert.match(services.stdout, /^NAME +URL +READY +REASON\nweb +http:\/\/web\.default\.example\.test\/? +True\n$/);
  const described = await runCli(['describe', 'service', 'web'], { env });
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /^Kind: +Service \(v1\)\n(?:.*\n)*Address: +http:\/\/web\.default\.example\.test\/?$/m);
});

test('errors: an unknown resource or kind is one line and exit 1; an unreachable admin API names the address and how to set it', async () => {
  const { sluice } = await start();
  const missing = await runCli(['describe', 'trigger', 'nope', '--server', sluice.adminUrl]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'sluice: Trigger default/nope not found (SLUICE_NOT_FOUND, HTTP 404)\n');
  const kind = await runCli(['get', 'widgets', '--server', sluice.adminUrl]);
  assert.equal(kind.code, 1);
  assert.match(kind.stderr, /^sluice: unknown resource kind "widgets"; known: brokers, triggers, /);
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const down = await runCli(['get', 'brokers'], { env: { SLUICE_ADMIN: `http://127.0.0.1:${closedPort}` } });
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`cannot reach the Sluice admin API at http://127\\.0\\.0\\.1:${closedPort} \\(connection refused\\).*Set --server or SLUICE_ADMIN`));
  const usage = await runCli(['get']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /missing required argument 'kind'\n\(add --help for usage\)\n$/);
});

test('SIGHUP does not stop sluice: it checks the files again and says what it did', async () => {
  const { sluice, good } = await start();
  sluice.child.kill('SIGHUP');
  // Checking the files again compiles every schema: allow for a loaded machine.
  await waitFor(() => /SIGHUP: configuration unchanged/.test(sluice.output()), 'the SIGHUP record', 60_000);
  assert.equal(sluice.child.exitCode, null, 'still running');
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'after-hup', source: '/s', type: 't' })).status, 202);
  await good.waitForCount(1);
  assert.equal(await sluice.stop(), 0);
});

// A URL's password never leaves Sluice in clear (docs/security.md): subscriber and dead-letter sink URLs with
// userinfo are used as basic auth, and the admin API, the CLI's get/describe, the dashboard's stream, /metrics and the
// logs all show them as `user:***@host`; a redacted spec applied back is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupScope, postEvent, runCli, startSluice, startSubscriber, waitFor } from './harness.js';

const cleanup = cleanupScope();
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('subscriber and dead-letter passwords are used as basic auth and appear in no admin API answer, CLI output or log line', async () => {
  let calls = 0;
  // Fails the first delivery once, then accepts.
  const sub = await startSubscriber(() => (++calls === 1 ? { status: 503 } : { status: 202 }));
  const dls = await startSubscriber();
  const subPort = new URL(sub.url).port;
  const dlsPort = new URL(dls.url).port;
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: flaky
spec:
  broker: default
  subscriber:
    uri: http://alice:s3cret@127.0.0.1:${subPort}/
  delivery:
    retry: 2
    backoffPolicy: linear
    backoffDelay: PT0.05S
    deadLetterSink:
      uri: http://dora:s3cret-dls@127.0.0.1:${dlsPort}/
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: down
spec:
  broker: default
  subscriber:
    uri: http://bob:s3cret@127.0.0.1:9/
  delivery:
    retry: 0
    deadLetterSink:
      uri: http://dora:s3cret-dls@127.0.0.1:${dlsPort}/
`;
  const sluice = await startSluice({ yaml });
  cleanup.add(
    async () => void (await sluice.stop()),
    () => sub.close(),
    () => dls.close(),
  );
  const env = { SLUICE_ADMIN: sluice.adminUrl };

  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'r1', source: '/s', type: 't' })).status, 202);
  await waitFor(() => sub.received.length === 2, 'the failed delivery and its retry');
  await dls.waitForCount(1);
  // The credentials are used: basic auth on every attempt and on the dead-letter sink.
  assert.deepEqual(
    sub.received.map((r) => r.headers['authorization']),
    [basic('alice', 's3cret'), basic('alice', 's3cret')],
  );
  assert.equal(dls.received[0]!.headers['authorization'], basic('dora', 's3cret-dls'));
  assert.equal(dls.received[0]!.event?.attributes['knativeerrordest'], 'http://bob:***@127.0.0.1:9/');
  // The status has seen the failures (so last-error texts are in what is checked below).
  await waitFor(async () => {
    const r = (await (await fetch(`${sluice.adminUrl}/api/v1/triggers/default/down`, { headers: sluice.adminHeaders })).json()) as { status?: unknown };
    return JSON.stringify(r.status ?? {}).includes('127.0.0.1:9');
  }, 'the down trigger status naming its failure');

  const answers: Array<[string, string]> = [];
  for (const path of [
    '/api/v1/triggers',
    '/api/v1/triggers/default/flaky',
    '/api/v1/triggers/default/down',
    '/api/v1/brokers',
    '/api/v1/brokers/default/default',
    '/metrics',
    '/api/v1/deadletters/default/default',
  ]) {
    const res = await fetch(`${sluice.adminUrl}${path}`, { headers: sluice.adminHeaders });
    assert.equal(res.status, 200, path);
    answers.push([path, await res.text()]);
  }
  // The dashboard's stream: its first snapshot.
  const ac = new AbortController();
  const stream = await fetch(`${sluice.adminUrl}/ui/api/stream`, { headers: sluice.adminHeaders, signal: ac.signal });
  const reader = stream.body!.getReader();
  let text = '';
  while (!/event: snapshot\ndata: .*\n\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('utf8');
  }
  ac.abort();
  answers.push(['/ui/api/stream', text]);
  for (const args of [
    ['get', 'triggers'],
    ['get', 'triggers', '-o', 'wide'],
    ['get', 'triggers', '-o', 'yaml'],
    ['get', 'triggers', '-o', 'json'],
    ['describe', 'trigger', 'flaky'],
    ['describe', 'trigger', 'down'],
  ]) {
    const out = await runCli(args, { env });
    assert.equal(out.code, 0, out.stderr);
    answers.push([`sluice ${args.join(' ')}`, out.stdout + out.stderr]);
  }
  for (const [what, body] of answers) assert.doesNotMatch(body, /s3cret/, what);
  // What is shown is the URL with its password masked, not nothing.
  const flaky = JSON.parse(answers[1]![1]) as { spec: { subscriber: { uri: string }; delivery: { deadLetterSink: { uri: string } } }; status: { subscriberUri?: string } };
  assert.equal(flaky.spec.subscriber.uri, `http://alice:***@127.0.0.1:${subPort}/`);
  assert.equal(flaky.spec.delivery.deadLetterSink.uri, `http://dora:***@127.0.0.1:${dlsPort}/`);
  assert.equal(flaky.status.subscriberUri, `http://alice:***@127.0.0.1:${subPort}/`);
  assert.doesNotMatch(sluice.output(), /s3cret/);

  // The running configuration kept the real password: the next delivery still authenticates.
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'r2', source: '/s', type: 't' })).status, 202);
  await waitFor(() => sub.received.length === 3, 'the second event');
  assert.equal(sub.received[2]!.headers['authorization'], basic('alice', 's3cret'));

  // What `get -o yaml` printed, applied back, is refused: it would replace the password with `***`.
  const file = join(sluice.dataDir, 'redacted.yaml');
  writeFileSync(file, yaml.replace(/s3cret(-dls)?@/g, '***@'));
  const applied = await runCli(['apply', '-f', file, '--token', sluice.adminToken], { env });
  assert.notEqual(applied.code, 0, applied.stdout);
  assert.match(applied.stderr, /redacted\.yaml:13:\d+: .*Trigger\/flaky: spec\.subscriber\.uri: the URL's password is "\*\*\*"/);
  assert.match(applied.stderr, /spec\.delivery\.deadLetterSink\.uri: the URL's password is "\*\*\*"/);
});

// What `sluice run` writes: only log records on stdout — JSON lines with the level as a name and an ISO time, or
// pretty lines with --log-format pretty — and a failing subscriber that shows at once and when it recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postEvent, startSluice, startSubscriber, tempDir, waitFor } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const yaml = (subscriber: string) => documents(broker('default'), trigger('orders', { broker: 'default', subscriber, delivery: { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT0.1S' } }));

function records(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line on stdout: ${l}`);
      }
    });
}

test('JSON lines: level names, ISO times, lifecycle records; debug shows ingress requests and delivery attempts', async (t) => {
  const dir = tempDir();
  const sub = await startSubscriber();
  const sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path, env: { SLUICE_LOG_LEVEL: 'debug' } });
  t.after(async () => {
    await sub.close();
    dir.remove();
  });
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/e2e', type: 't' }, '{}')).status, 202);
  await sub.waitForCount(1);
  await waitFor(() => /delivery attempt/.test(sluice.output()), 'the delivery attempt record');
  assert.equal(await sluice.stop(), 0);
  const lines = records(sluice.output());
  for (const r of lines) {
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(r['level'])), `level as a name: ${JSON.stringify(r)}`);
    assert.match(String(r['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  const msg = (re: RegExp) => lines.find((r) => re.test(String(r['msg'])));
  assert.equal(msg(/^Broker default\/default listening at http:/)?.['broker'], 'default/default');
  const ready = msg(/^sluice ready on /);
  assert.equal(ready?.['url'], sluice.url);
  assert.equal(ready?.['adminUrl'], sluice.adminUrl);
  assert.equal(msg(/^SIGTERM received: draining \(send SIGTERM again to force exit\)$/)?.['level'], 'info');
  assert.ok(msg(/^sluice stopped$/));
  const ingress = msg(/^ingress request$/);
  assert.deepEqual([ingress?.['level'], ingress?.['broker'], ingress?.['status'], ingress?.['events']], ['debug', 'default/default', 202, 1]);
  const attempt = msg(/^delivery attempt$/);
  assert.deepEqual([attempt?.['level'], attempt?.['trigger'], attempt?.['ceId'], attempt?.['status'], attempt?.['attempt']], ['debug', 'default/orders', 'e1', 202, 0]);
});

test('--log-format pretty: human lines', async (t) => {
  const dir = tempDir();
  const sluice = await startSluice({ yaml: yaml('http://127.0.0.1:9/'), dataDir: dir.path, args: ['--log-format', 'pretty'] });
  t.after(async () => {
    await sluice.stop();
    dir.remove();
  });
  const line = sluice
    .output()
    .split('\n')
    .find((l) => l.includes('sluice ready on'));
  assert.match(line ?? '', /^\d\d:\d\d:\d\d\.\d{3} INFO {2}sluice ready on http:\/\/127\.0\.0\.1:\d+ \(data dir .*\) {2}url=http:\/\/127\.0\.0\.1:\d+ adminUrl=http/);
  assert.ok(!sluice.output().includes('{"level"'), 'no JSON');
});

test('a failing subscriber: one warning at the first failure, nothing per retry, one line when it recovers', async (t) => {
  const dir = tempDir();
  let failing = true;
  const sub = await startSubscriber(() => (failing ? { status: 503 } : { status: 202 }));
  const sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  t.after(async () => {
    await sluice.stop();
    await sub.close();
    dir.remove();
  });
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/e2e', type: 't' }, '{}')).status, 202);
  await sub.waitForCount(3);
  failing = false;
  await waitFor(() => /recovered after/.test(sluice.output()), 'the recovery line');
  const lines = records(sluice.output());
  const warnings = lines.filter((r) => r['level'] === 'warn');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]!['msg'], `subscriber ${sub.url} failing: 503`);
  assert.equal(warnings[0]!['trigger'], 'default/orders');
  const recovered = lines.find((r) => /recovered after/.test(String(r['msg'])));
  assert.equal(recovered?.['level'], 'info');
  assert.match(String(recovered?.['msg']), new RegExp(`^subscriber ${sub.url.replace(/[/.]/g, '\\$&')} recovered after \\d+ s and \\d+ failed attempts$`));
});

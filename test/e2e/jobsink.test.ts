// JobSink end to end through the real CLI with local-process jobs: the example (Trigger → JobSink, one job per event,
// the event file, Knative's Location and status answers), a failing job's exit code and log tail, one job per event
// when posted twice, 429 when the queue is full, and a SIGKILL after the 202 that loses no job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanupScope, postEvent, tempDir, testEngine, waitFor, type SluiceProcess } from './harness.js';
import { startSluiceIn } from './fixtures.js';
import { documents, resource } from './manifests.js';

const cleanup = cleanupScope();

/** A JobSink whose job runs one container once (no retries). */
const jobSink = (name: string, container: object, annotations?: Record<string, string>): string =>
  resource(
    'sinks.knative.dev/v1alpha1',
    'JobSink',
    name,
    { job: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', ...container }] } } } } },
    { annotations },
  );

/** A JobSink whose job runs `script` with node, with OUT in its environment. */
const sink = (name: string, script: string, annotations?: Record<string, string>, out = ''): string =>
  jobSink(name, { command: ['node', '-e', script], env: [{ name: 'OUT', value: out }] }, annotations);

// Writes <OUT>/<event id> with the event's data, after an optional sleep (ms in data.sleep). Written under another name
// and renamed, so a test that sees the file sees all of it (a CI run read it between its creation and its write).
const WRITE =
  "const fs=require('fs');const e=JSON.parse(fs.readFileSync(process.env.JOBSINK_EVENT_FILE,'utf8'));const f=require('path').join(process.env.OUT,e.id);setTimeout(()=>{fs.writeFileSync(f+'.part',JSON.stringify(e.data));fs.renameSync(f+'.part',f);console.log('done',e.id)},(e.data&&e.data.sleep)||0)";

const start = (yaml: string, dataDir?: string): Promise<SluiceProcess> => startSluiceIn(cleanup, { yaml, ...(dataDir === undefined ? {} : { dataDir }) }, 'SIGKILL');

test('the example: each event a Trigger delivers runs one job that reads the event file; Location tells it completed', async () => {
  const s = await start(readFileSync(join(ROOT, 'examples/jobsink/jobsink.yaml'), 'utf8'));
  for (let i = 0; i < 3; i++)
    assert.equal((await postEvent(`${s.url}/default/default`, { id: `o-${i}`, source: '/shop', type: 'dev.example.order.created' }, JSON.stringify({ id: `o-${i}`, total: 10 * i }))).status, 202);
  await waitFor(() => (s.output().match(/JobSink job succeeded/g) ?? []).length === 3, 'three jobs to succeed', 30_000);
  for (let i = 0; i < 3; i++) assert.match(s.output(), new RegExp(`order o-${i}: total ${10 * i}`));
  const status = await fetch(`${s.url}/jobsinks/namespaces/default/name/order-report/sources/${encodeURIComponent('/shop')}/ids/o-1`);
  assert.equal(status.status, 200);
  assert.equal(status.headers.get('reason'), 'Complete');
});

test('direct posts: 202 + Location, the same event twice is one job, a failing job reports its exit code and log', async () => {
  const out = tempDir('sluice-jobsink-out-');
  cleanup.add(() => out.remove());
  const s = await start(documents(sink('writer', WRITE, undefined, out.path), sink('failer', "console.error('boom: bad input');process.exit(3)")));
  const first = await postEvent(`${s.url}/jobsinks/default/writer`, { id: 'w-1', source: '/t', type: 't' }, '{"n":1}');
  assert.equal(first.status, 202);
  const location = first.headers.get('location')!;
  assert.equal(location, '/jobsinks/namespaces/default/name/writer/sources/%2Ft/ids/w-1');
  assert.equal((await postEvent(`${s.url}/jobsinks/default/writer`, { id: 'w-1', source: '/t', type: 't' }, '{"n":2}')).headers.get('location'), location);
  await waitFor(() => existsSync(join(out.path, 'w-1')), 'the job to write its file', 20_000);
  assert.equal(readFileSync(join(out.path, 'w-1'), 'utf8'), '{"n":1}');
  await waitFor(() => /job":1.*JobSink job succeeded|JobSink job succeeded/.test(s.output()), 'the job to be recorded');
  assert.equal((await fetch(s.url + location)).status, 200);

  assert.equal((await postEvent(`${s.url}/jobsinks/default/failer`, { id: 'f-1', source: '/t', type: 't' }, '{}')).status, 202);
  // Each poll is awaited: a request still open when the test ends would fail after it, unhandled.
  const failed = await waitFor(
    async () => {
      const r = await fetch(`${s.url}/jobsinks/namespaces/default/name/failer/sources/%2Ft/ids/f-1`);
      if (r.status === 400) return r;
      await r.body?.cancel();
      return undefined;
    },
    'the failing job to be reported',
    20_000,
  );
  assert.equal(failed.headers.get('reason'), 'Failed');
  const body = (await failed.json()) as { exitCode: number; logTail: string };
  assert.equal(body.exitCode, 3);
  assert.match(body.logTail, /boom: bad input/);
  assert.match(s.output(), /JobSink job failed/);
  // The admin API shows the JobSink's job counts and its last jobs with their outcome.
  const view = (await (await fetch(`${s.adminUrl}/api/v1/jobsinks/default/failer`)).json()) as {
    status: { jobs: Record<string, number>; recentJobs: Array<{ id: string; state: string; exitCode: number; logTail: string }> };
  };
  assert.equal(view.status.jobs['failed'], 1);
  assert.deepEqual(
    { ...view.status.recentJobs[0], logTail: undefined, location: undefined, finishedAt: undefined },
    { source: '/t', id: 'f-1', state: 'failed', exitCode: 3, logTail: undefined, location: undefined, finishedAt: undefined },
  );
  assert.equal((await fetch(`${s.url}/jobsinks/namespaces/default/name/writer/sources/%2Ft/ids/nope`)).status, 404);
  assert.equal(readdirSync(out.path).length, 1, 'one job for the event posted twice');
});

test('a full queue answers 429 with Retry-After; a SIGKILL after the 202 loses no job', async () => {
  const out = tempDir('sluice-jobsink-out-');
  const data = tempDir('sluice-jobsink-data-');
  cleanup.add(
    () => out.remove(),
    () => data.remove(),
  );
  const yaml = sink('slow', WRITE, { 'sluice.dev/jobsink-concurrency': '1', 'sluice.dev/jobsink-max-pending': '1' }, out.path);
  let s = await start(yaml, data.path);
  const post = (id: string) => postEvent(`${s.url}/jobsinks/default/slow`, { id, source: '/t', type: 't' }, '{"sleep":3000}');
  assert.equal((await post('a')).status, 202); // starts at once
  await waitFor(() => /JobSink job started/.test(s.output()), 'job a to start');
  assert.equal((await post('b')).status, 202); // waits: the one pending slot
  const full = await post('c');
  assert.equal(full.status, 429);
  assert.equal(full.headers.get('retry-after'), '1');
  assert.match(full.body, /SLUICE_JOBSINK_QUEUE_FULL/);
  // Killed while a runs and b waits: both were acknowledged, so both must run after a restart.
  await s.stop('SIGKILL');
  assert.deepEqual(readdirSync(out.path), []);
  s = await start(yaml, data.path);
  await waitFor(() => existsSync(join(out.path, 'a')) && existsSync(join(out.path, 'b')), 'jobs a and b after the restart', 30_000);
  assert.ok(!existsSync(join(out.path, 'c')));
});

test('a job with only an image runs through the container engine and reads /etc/jobsink-event/event', async (t) => {
  const ce = await testEngine(t);
  if (!ce) return;
  const yaml = jobSink('in-container', { image: ce.image, args: ['cat', '/etc/jobsink-event/event'] });
  const s = await startSluiceIn(cleanup, { yaml, env: ce.env }, 'SIGKILL');
  const r = await postEvent(`${s.url}/jobsinks/default/in-container`, { id: 'c-1', source: '/podman', type: 'dev.example.job' }, '{"hello":"container"}');
  assert.equal(r.status, 202);
  const done = await waitFor(
    async () => {
      const x = await fetch(s.url + r.headers.get('location')!);
      if (x.status !== 202) return x;
      await x.body?.cancel();
      return undefined;
    },
    'the container job to finish',
    60_000,
  );
  assert.equal(done.status, 200, await done.clone().text());
  const body = (await done.json()) as { exitCode: number; logTail: string };
  assert.equal(body.exitCode, 0);
  const event = JSON.parse(body.logTail) as Record<string, unknown>;
  assert.equal(event['id'], 'c-1');
  assert.equal(event['source'], '/podman');
  assert.deepEqual(event['data'], { hello: 'container' });
});

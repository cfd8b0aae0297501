// A batch/v1 CronJob runs its job template on its schedule, as a Job each time; a SinkBinding whose subject is the
// CronJob gives every run K_SINK and K_CE_OVERRIDES. Its schedule is validated as Kubernetes does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupScope, runCli, startSluice, startSubscriber, tempDir, waitFor, type Subscriber } from './harness.js';
import { resource } from './manifests.js';

const cleanup = cleanupScope();

// One CloudEvent to K_SINK, with the overrides' extension, then exit 0.
const SEND = `const o = JSON.parse(process.env.K_CE_OVERRIDES || '{}').extensions || {};
fetch(process.env.K_SINK, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': String(Date.now()), 'ce-source': '/cron', 'ce-type': 'dev.sluice.cron', 'ce-team': o.team || '', 'content-type': 'application/json' }, body: '{}' })
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));`;

/** SEND as a script file and the subscriber it sends to, both cleaned up after the file; `command` runs the script. */
async function sendScript(): Promise<{ command: string; sub: Subscriber }> {
  const dir = tempDir();
  cleanup.add(dir.remove);
  writeFileSync(join(dir.path, 'send.cjs'), SEND);
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  return { command: `node ${join(dir.path, 'send.cjs')}`, sub };
}

/** A CronJob every minute whose Jobs run `command` (sluice.dev/command) as their one container. */
const cronJob = (name: string, command: string, container: { name: string; image: string }, spec: object = {}, jobLabels?: Record<string, string>): string =>
  resource('batch/v1', 'CronJob', name, {
    schedule: '* * * * *',
    ...spec,
    jobTemplate: {
      ...(jobLabels ? { metadata: { labels: jobLabels } } : {}),
      spec: { template: { metadata: { annotations: { 'sluice.dev/command': command } }, spec: { restartPolicy: 'Never', containers: [container] } } },
    },
  });

test('a CronJob runs on its schedule with the SinkBinding that names it; its status shows the schedule', async () => {
  const { command, sub } = await sendScript();
  const sluice = await startSluice({
    yaml: `${cronJob('report', command, { name: 'send', image: 'example.com/report:1' }, { concurrencyPolicy: 'Forbid' })}---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: {name: bind-report}
spec:
  subject: {apiVersion: batch/v1, kind: CronJob, name: report}
  sink: {uri: "${sub.url}"}
  ceOverrides: {extensions: {team: ops}}
`,
  });
  cleanup.add(async () => void (await sluice.stop()));
  const status = async () =>
    (
      (await (await fetch(`${sluice.adminUrl}/api/v1/cronjobs/default/report`)).json()) as {
        status: { conditions: Array<{ type: string; status: string }>; nextScheduleTime?: string; lastScheduleTime?: string };
      }
    ).status;
  const before = await status();
  assert.equal(before.conditions.find((c) => c.type === 'Ready')?.status, 'True');
  const next = Date.parse(before.nextScheduleTime!);
  assert.ok(next > Date.now() - 5000 && next <= Date.now() + 61_000, before.nextScheduleTime);
  assert.equal(new Date(next).getUTCSeconds(), 0, 'on a minute boundary');
  // The first run, at the next minute: the event carries the binding's override.
  await sub.waitForCount(1, 90_000);
  assert.equal(sub.received[0]!.headers['ce-team'], 'ops');
  assert.equal(sub.received[0]!.headers['ce-type'], 'dev.sluice.cron');
  await waitFor(async () => (await status()).lastScheduleTime === new Date(next).toISOString(), 'lastScheduleTime', 10_000);
  assert.match(sluice.output(), /CronJob default\/report scheduled \(\* \* \* \* \*, UTC\)/);
});

test('a CronJob schedule is validated as Kubernetes does: five fields or a descriptor, the zone in spec.timeZone', async () => {
  const dir = tempDir();
  cleanup.add(dir.remove);
  const file = join(dir.path, 'bad.yaml');
  const job = (name: string, schedule: string, extra = '') => `apiVersion: batch/v1
kind: CronJob
metadata: {name: ${name}}
spec:
  schedule: "${schedule}"${extra}
  jobTemplate:
    spec:
      template:
        metadata: {annotations: {sluice.dev/command: "true"}}
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: x}]
`;
  writeFileSync(file, [job('four', '*/5 * * *'), job('tz', 'TZ=UTC 0 * * * *'), job('zone', '@hourly', '\n  timeZone: Mars/Olympus'), job('ok', '@daily', '\n  timeZone: Europe/Paris')].join('---\n'));
  const r = await runCli(['validate', '-f', file]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trim().split('\n').slice(0, 3), [
    `${file}:5:13: CronJob/four: a CronJob schedule has five fields (minute hour day-of-month month day-of-week), got "*/5 * * *"`,
    `${file}:18:13: CronJob/tz: a time zone in the schedule is not supported (Kubernetes refuses it): set spec.timeZone`,
    `${file}:32:13: CronJob/zone: unknown time zone "Mars/Olympus" (use an IANA name such as Europe/Paris or UTC)`,
  ]);
  assert.match(r.stderr, /^3 errors$/m);
});

test("a SinkBinding whose subject selects Jobs by label binds the Jobs a CronJob makes (Knative's getting-started SinkBinding shape)", async () => {
  const { command, sub } = await sendScript();
  const sluice = await startSluice({
    yaml: `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: {name: bind-heartbeat}
spec:
  subject:
    apiVersion: batch/v1
    kind: Job
    selector:
      matchLabels: {app: heartbeat-cron}
  sink: {uri: "${sub.url}"}
  ceOverrides: {extensions: {team: bound}}
---
${cronJob('heartbeat-cron', command, { name: 'single-heartbeat', image: 'example.com/heartbeats:1' }, {}, { app: 'heartbeat-cron' })}`,
  });
  cleanup.add(async () => void (await sluice.stop()));
  // The first run, at the next minute, has K_SINK and the overrides: the Job it makes carries app: heartbeat-cron.
  await sub.waitForCount(1, 90_000);
  assert.equal(sub.received[0]!.headers['ce-team'], 'bound');
});

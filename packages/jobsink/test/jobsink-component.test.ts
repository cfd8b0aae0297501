// A JobSink's default concurrency follows the CPUs the runtime says the process may use (a container's CPU limit
// counts, see the CLI's cpu-limit.ts), and its annotation overrides it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import type { Logger } from '@sluice/core';
import type { RuntimeContext } from '@sluice/plugin';
import { componentContext, configFiles, tempDir } from '@sluice/testing';
import { JobSinkComponent } from '../src/index.js';

const jobSink = (annotations = ''): string => `apiVersion: sinks.knative.dev/v1alpha1
kind: JobSink
metadata:
  name: jobs
  namespace: default${annotations === '' ? '' : `\n  annotations:\n    ${annotations}`}
spec:
  job:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: main
              command: [node, -e, '']
`;

/** The `concurrency` of the JobSink's ready line, started with `cpus` in its context (or none). */
async function readyConcurrency(yaml: string, cpus: number | undefined): Promise<unknown> {
  const files = configFiles();
  const dir = tempDir('sluice-jobsink-');
  const lines: Array<{ msg: string | undefined; obj: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug: () => undefined,
    info: (obj, msg) => void lines.push({ msg, obj: obj as Record<string, unknown> }),
    warn: () => undefined,
    error: () => undefined,
    child: () => logger,
  };
  try {
    const { config, errors } = files.load(yaml);
    assert.deepEqual(errors, []);
    const component = new JobSinkComponent(
      config,
      config.resources.filter((r) => r.kind === 'JobSink'),
    );
    const ctx = componentContext({} as RuntimeContext['sender'], { logger, dataDir: dir.path, ...(cpus === undefined ? {} : { cpus }) });
    await component.start(ctx);
    await component.stop();
    const ready = lines.find((l) => l.msg === 'JobSink ready');
    assert.ok(ready, 'the ready line');
    return ready.obj['concurrency'];
  } finally {
    files.remove();
    dir.remove();
  }
}

test('a JobSink runs as many jobs at once as the CPUs the runtime gives, by default', async () => {
  assert.equal(await readyConcurrency(jobSink(), 3), 3);
  assert.equal(await readyConcurrency(jobSink(), 1), 1);
});

test("a JobSink's concurrency annotation overrides the CPUs; without either, the machine's", async () => {
  assert.equal(await readyConcurrency(jobSink("sluice.dev/jobsink-concurrency: '5'"), 1), 5);
  assert.equal(await readyConcurrency(jobSink(), undefined), availableParallelism());
});

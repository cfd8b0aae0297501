// `sluice run --gc` (packages/cli/src/gc-mode.ts): on Node.js with process.execve the process restarts itself with
// V8's single-threaded collector, keeping its pid; on Node.js 20 it says how to get it. Spawned like a user does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { runCli, startSluice } from './harness.js';

const YAML = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
`;
const canRestart = typeof (process as unknown as { execve?: unknown }).execve === 'function';
const SINGLE = "garbage collection on the event loop's thread alone";
const CANNOT = 'cannot restart itself with it';

/** The arguments the process with this pid runs with now (Linux). */
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

for (const [how, args, env] of [
  ['--gc single', ['--gc', 'single'], {}],
  ['SLUICE_GC=single', [], { SLUICE_GC: 'single' }],
] as const) {
  test(`${how}: ${canRestart ? 'the same process runs on with --single-threaded-gc' : 'Node.js 20 says how to get the single-threaded collector'}`, async () => {
    const s = await startSluice({ yaml: YAML, args, env });
    try {
      const pid = s.child.pid!;
      if (canRestart) {
        assert.match(s.output(), new RegExp(SINGLE));
        assert.ok(cmdline(pid).includes('--single-threaded-gc'), `pid ${pid} runs ${cmdline(pid).join(' ')}`);
      } else {
        assert.match(s.output(), new RegExp(CANNOT));
        assert.ok(!cmdline(pid).includes('--single-threaded-gc'));
      }
      // It is the process that was started that serves: the pid the caller knows answers signals.
      assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
    } finally {
      assert.equal(await s.stop('SIGTERM'), 0);
    }
  });
}

test('--gc parallel keeps the default collector, and says nothing of it', async () => {
  const s = await startSluice({ yaml: YAML, args: ['--gc', 'parallel'] });
  try {
    assert.ok(!cmdline(s.child.pid!).includes('--single-threaded-gc'));
    assert.doesNotMatch(s.output(), new RegExp(`${SINGLE}|${CANNOT}`));
  } finally {
    await s.stop();
  }
});

test(`auto, the default, on this machine's ${availableParallelism()} CPUs`, async () => {
  const s = await startSluice({ yaml: YAML, env: { SLUICE_GC: undefined } });
  try {
    const single = cmdline(s.child.pid!).includes('--single-threaded-gc');
    assert.equal(single, availableParallelism() <= 2 && canRestart);
  } finally {
    await s.stop();
  }
});

test('an unknown mode is a usage error, before anything starts', async () => {
  const r = await runCli(['run', '-f', '/nonexistent.yaml', '--gc', 'bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--gc <mode>.*'bogus' is invalid.*auto, single, parallel/s);
  const e = await runCli(['run', '-f', '/nonexistent.yaml'], { env: { SLUICE_GC: 'sometimes' } });
  assert.equal(e.code, 2);
  assert.match(e.stderr, /value 'sometimes' from env 'SLUICE_GC' is invalid/);
});

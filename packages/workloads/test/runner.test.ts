import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ContainerProcess, engineProcessSpec, prepareRun, processBaseEnv, runToCompletion, type ContainerRunSpec } from '../src/index.js';
import { testEngine } from '@sluice/testing';

const node = process.execPath;

function proc(script: string, env: Record<string, string> = {}, extra: Partial<ContainerRunSpec> = {}): ContainerRunSpec {
  return { name: 'test', mode: 'process', command: [node, '-e', script], env: { ...processBaseEnv(), ...env }, ...extra };
}

test('a process gets only the variables of its spec (plus PATH, HOME, LANG, TZ, TMPDIR), never Sluice’s own', async () => {
  process.env['SLUICE_TEST_SECRET'] = 'must-not-leak';
  try {
    const r = await runToCompletion(proc('console.log(Object.keys(process.env).sort().join(","))', { K_SERVICE: 'svc', MINE: '1' }));
    assert.equal(r.exitCode, 0);
    const names = r.logTail[0]!.split(',');
    assert.ok(names.includes('K_SERVICE') && names.includes('MINE') && names.includes('PATH'));
    assert.ok(!names.includes('SLUICE_TEST_SECRET'), r.logTail[0]);
    for (const n of names) assert.ok(['K_SERVICE', 'MINE', 'PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'].includes(n), `unexpected variable ${n}`);
  } finally {
    delete process.env['SLUICE_TEST_SECRET'];
  }
});

test('run to completion: exit status, log tail, retries of a failing run', async () => {
  const r = await runToCompletion(proc('for (let i = 0; i < 80; i++) console.log("line " + i); process.exit(4)'), {
    retries: 2,
    tailLines: 5,
    supervisor: { backoff: { initialMs: 10, maxMs: 20 } },
  });
  assert.equal(r.exitCode, 4);
  assert.equal(r.attempts, 3);
  assert.deepEqual(r.logTail, ['line 75', 'line 76', 'line 77', 'line 78', 'line 79']);
  const missing = await runToCompletion({ name: 'x', mode: 'process', command: ['/nonexistent/program'], env: {} });
  assert.equal(missing.exitCode, null);
  assert.match(missing.error ?? '', /ENOENT/);
});

test('files are written where the process can read them; the run can be stopped', async () => {
  const spec = proc('setInterval(() => {}, 1000)', {}, { files: [{ path: '/etc/jobsink-event/event', content: '{"id":"1"}' }] });
  const prepared = prepareRun(spec);
  const host = prepared.filePaths['/etc/jobsink-event/event']!;
  assert.equal(readFileSync(host, 'utf8'), '{"id":"1"}');
  prepared.cleanup();
  const ac = new AbortController();
  const running = runToCompletion(spec, { signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  const r = await running;
  assert.equal(r.signal, 'SIGTERM');
});

test('a kept-running process is restarted after an exit and keeps a log tail', async (t) => {
  const p = new ContainerProcess(proc('console.log("up"); process.exit(1)'), { supervisor: { backoff: { initialMs: 10, maxMs: 10 } } });
  t.after(() => p.stop());
  p.start();
  const deadline = Date.now() + 10_000;
  while (p.starts < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(p.starts >= 3, `restarted ${p.starts} times`);
  assert.equal(p.lastExit?.code, 1);
  assert.ok(p.logTail().includes('up'));
});

test('engine command line: global flags, run flags, env by name only, files mounted read-only', () => {
  const engine = { path: '/usr/bin/podman', name: 'podman', globalArgs: ['--runtime', 'runc'], runArgs: ['--ulimit', 'nofile=10:10'] };
  const spec = engineProcessSpec(engine, { image: 'img', args: ['a'], envNames: ['K_SINK'], containerName: 'c1', mounts: [{ hostPath: '/tmp/x', containerPath: '/etc/x' }] }, { K_SINK: 'u' });
  assert.deepEqual(spec.args, ['--runtime', 'runc', 'run', '--rm', '--network', 'host', '--ulimit', 'nofile=10:10', '--name', 'c1', '-e', 'K_SINK', '-v', '/tmp/x:/etc/x:ro', 'img', 'a']);
});

test('container mode: the image runs through the engine with only the declared variables and its files', async (t) => {
  const e = await testEngine(t);
  if (!e) return;
  const r = await runToCompletion(
    { name: 'engine-test', mode: 'container', image: e.image, args: ['exit'], env: { MINE: 'x' }, files: [{ path: '/etc/app/config', content: 'c' }] },
    { engine: e.engine },
  );
  assert.equal(r.exitCode, 3, r.logTail.join('\n'));
  const envLine = r.logTail.find((l) => l.startsWith('ce-app env:'))!;
  assert.match(envLine, /\bMINE\b/);
  assert.doesNotMatch(envLine, /SLUICE|npm_/);
  assert.match(envLine, /args: exit$/);
});

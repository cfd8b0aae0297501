import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ProcessSupervisor } from '@sluice/workloads';
import { tempDir, waitFor } from '@sluice/testing';
import { ManualTime, captureLogger } from './helpers.js';

const node = process.execPath;
const env = { PATH: process.env['PATH'] ?? '' };

test('a crashing process is restarted with exponential backoff, on the injected timers', async (t) => {
  const time = new ManualTime(0);
  const logger = captureLogger();
  const sup = new ProcessSupervisor(
    { command: node, args: ['-e', 'console.log("up"); process.exit(3)'], env },
    { logger, timers: time, now: time.clock, backoff: { initialMs: 1000, maxMs: 4000, resetAfterMs: 60_000 } },
  );
  t.after(() => sup.stop());
  sup.start();
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    await waitFor(() => time.pending().length === 1, `exit ${i + 1}`, 5000);
    const timer = time.pending()[0]!;
    delays.push(timer.ms);
    time.advanceTo(timer.at); // fires the restart
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 4000]);
  assert.equal(sup.starts, 5);
  const exits = logger.lines.filter((l) => l.level === 'warn');
  assert.match(exits[0]!.msg!, /process exited with code 3; restarting in 1000 ms/);
  assert.ok(
    logger.lines.some((l) => l.msg === 'up' && l.obj['stream'] === 'stdout'),
    'stdout lines are logged',
  );
});

test('a run longer than resetAfterMs resets the backoff', async (t) => {
  const time = new ManualTime(0);
  const sup = new ProcessSupervisor(
    { command: node, args: ['-e', 'process.exit(1)'], env },
    { logger: captureLogger(), timers: time, now: time.clock, backoff: { initialMs: 100, maxMs: 10_000, resetAfterMs: 1000 } },
  );
  t.after(() => sup.stop());
  sup.start();
  await waitFor(() => time.pending().length === 1, 'condition', 5000);
  time.advanceTo(time.pending()[0]!.at); // restart 2 after 100 ms
  await waitFor(() => time.pending().length === 1, 'condition', 5000);
  assert.equal(time.pending()[0]!.ms, 200);
  // The third run "lasts" 5 s on the injected clock before it exits.
  const timer = time.pending()[0]!;
  timer.cancelled = true;
  time.now = timer.at;
  const startedBefore = sup.starts;
  timer.fn();
  await waitFor(() => sup.starts === startedBefore + 1, 'condition', 5000);
  time.now += 5000;
  await waitFor(() => time.pending().length === 1, 'condition', 5000);
  assert.equal(time.pending()[0]!.ms, 100);
});

test('spawn failures are retried like crashes', async (t) => {
  const time = new ManualTime(0);
  const logger = captureLogger();
  const sup = new ProcessSupervisor({ command: '/nonexistent/program', args: [], env }, { logger, timers: time, now: time.clock });
  t.after(() => sup.stop());
  sup.start();
  await waitFor(() => time.pending().length === 1, 'condition', 5000);
  assert.match(logger.lines.find((l) => l.level === 'warn')!.msg!, /could not start: spawn \/nonexistent\/program ENOENT; restarting in 1000 ms/);
});

test('stop sends SIGTERM and waits for the exit; no restart follows', async () => {
  const time = new ManualTime(0);
  const logger = captureLogger();
  const sup = new ProcessSupervisor(
    { command: node, args: ['-e', 'process.on("SIGTERM", () => { console.log("bye"); process.exit(0) }); console.log("ready"); setInterval(() => {}, 1000)'], env },
    { logger, timers: time, now: time.clock },
  );
  sup.start();
  await waitFor(() => logger.lines.some((l) => l.msg === 'ready'), 'condition', 5000);
  const pid = sup.pid!;
  await sup.stop();
  assert.ok(
    logger.lines.some((l) => l.msg === 'bye'),
    'the child handled SIGTERM',
  );
  assert.throws(() => process.kill(pid, 0), 'the child is gone');
  assert.equal(time.pending().length, 0, 'no restart and no kill timer left');
});

test('a child that ignores SIGTERM is killed after the grace period', async () => {
  const logger = captureLogger();
  const sup = new ProcessSupervisor({ command: node, args: ['-e', 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'], env }, { logger, stopGraceMs: 300 });
  sup.start();
  await waitFor(() => logger.lines.some((l) => l.msg === 'ready'), 'condition', 5000);
  const started = Date.now();
  await sup.stop();
  assert.ok(Date.now() - started >= 250);
  assert.ok(logger.lines.some((l) => /SIGKILL/.test(l.msg ?? '')));
  assert.ok(logger.lines.some((l) => l.msg === 'process stopped' && l.obj['signal'] === 'SIGKILL'));
});

/** Whether a process runs: it exists and is not a zombie (a shell's child that outlived it is reaped by whoever adopted it, maybe never). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

test('stop resolves once the whole process group has ended: a shell and the server it runs, which takes a while to shut down', async () => {
  const logger = captureLogger();
  // The server answers SIGTERM by closing after 300 ms; the shell, waiting for it, ends at once.
  const server = `const s = require('http').createServer(() => {}).listen(0, '127.0.0.1', () => console.log(process.pid + ' ' + s.address().port)); process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300))`;
  const sup = new ProcessSupervisor({ command: '/bin/sh', args: ['-c', `node -e "${server}" & wait`], env }, { logger, stopGraceMs: 5000 });
  sup.start();
  await waitFor(() => logger.lines.some((l) => /^\d+ \d+$/.test(l.msg ?? '')), 'the server to listen', 5000);
  const [grandchild, port] = logger.lines
    .find((l) => /^\d+ \d+$/.test(l.msg ?? ''))!
    .msg!.split(' ')
    .map(Number) as [number, number];
  await sup.stop();
  assert.equal(running(grandchild), false, "the shell's child has ended too");
  // What the next start of the workload does: listen on the same port.
  const again = createServer();
  await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
  again.close();
  assert.ok(!logger.lines.some((l) => /SIGKILL/.test(l.msg ?? '')), 'nothing was killed: the group ended within the grace period');
});

test('a child still running when the shell ends by itself is killed before the restart', async (t) => {
  const time = new ManualTime(0);
  const logger = captureLogger();
  // The shell exits once its child is up (the child writes a file then), not after a guessed delay.
  const dir = tempDir('sluice-supervisor-');
  const up = join(dir.path, 'up');
  const child = `console.log(process.pid); require('fs').writeFileSync('${up}', ''); setInterval(() => {}, 1000)`;
  const sup = new ProcessSupervisor({ command: '/bin/sh', args: ['-c', `node -e "${child}" & while [ ! -e '${up}' ]; do sleep 0.05; done; exit 3`], env }, { logger, timers: time, now: time.clock });
  t.after(async () => {
    await sup.stop();
    dir.remove();
  });
  sup.start();
  await waitFor(() => logger.lines.some((l) => /^\d+$/.test(l.msg ?? '')), 'the child to start', 5000);
  const grandchild = Number(logger.lines.find((l) => /^\d+$/.test(l.msg ?? ''))!.msg);
  await waitFor(() => time.pending().length === 1, 'the restart to be scheduled', 5000);
  assert.equal(running(grandchild), false, 'the child was killed before the restart');
  assert.ok(logger.lines.some((l) => /left processes of its group running; killing them/.test(l.msg ?? '')));
  assert.match(logger.lines.find((l) => /restarting in/.test(l.msg ?? ''))!.msg!, /exited with code 3/);
});

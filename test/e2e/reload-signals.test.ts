// SIGHUP and `sluice run --watch` apply edited configuration files to a running sluice (spawned as a user runs it):
// one log line says what changed or why nothing did, and the process never stops, not even for a SIGHUP that arrives
// while the CLI is still loading. A second SIGTERM during the drain forces the exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, SLUICE_BIN, cleanupScope, postEvent, startSluice, startSubscriber, tempDir, waitFor, waitForIdle } from './harness.js';
import { startSubscriberIn } from './fixtures.js';
import * as manifests from './manifests.js';

const cleanup = cleanupScope();

const broker = manifests.broker('default');
/** A Trigger of the default broker, filtered on `type` if given. */
const trigger = (name: string, url: string, type?: string) => manifests.trigger(name, { broker: 'default', subscriber: url, ...(type ? { filter: { type } } : {}) });

test('SIGHUP applies the edited files: a trigger added and one changed, without a restart; a broken file changes nothing', async () => {
  const one = await startSubscriberIn(cleanup);
  const two = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const sluice = await startSluice({ yaml: manifests.documents(broker, trigger('one', one.url)), dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));
  const send = (id: string, type = 't') => postEvent(`${sluice.url}/default/default`, { id, source: '/hup', type });
  assert.equal((await send('e1')).status, 202);
  await one.waitForCount(1);

  writeFileSync(join(dir.path, 'config.yaml'), manifests.documents(broker, trigger('one', one.url, 'kept'), trigger('two', two.url)));
  sluice.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP: applied: Trigger default\/one configured, Trigger default\/two created/.test(sluice.output()), 'the SIGHUP record', 60_000);
  assert.equal((await send('e2', 'kept')).status, 202);
  assert.equal((await send('e3', 'other')).status, 202);
  await two.waitForCount(2);
  await one.waitForCount(2);
  await waitForIdle(sluice);
  assert.deepEqual(one.ids(), ['e1', 'e2'], 'the changed filter applies; nothing twice');
  assert.deepEqual(two.ids().sort(), ['e2', 'e3']);

  writeFileSync(join(dir.path, 'config.yaml'), manifests.documents(broker, 'kind: Trigger\nmetadata: {name: broken}\n'));
  sluice.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP: the configuration files have \d+ errors?; nothing changed/.test(sluice.output()), 'the refused SIGHUP', 60_000);
  assert.equal(sluice.child.exitCode, null, 'still running');
  assert.equal((await send('e4', 'kept')).status, 202);
  await one.waitForCount(3);
  assert.equal(await sluice.stop(), 0);
});

test('run --watch applies a saved file and a new file in a watched directory, once per burst of writes', async () => {
  const one = await startSubscriberIn(cleanup);
  const two = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const extra = join(dir.path, 'extra');
  mkdirSync(extra);
  writeFileSync(join(extra, 'one.yaml'), trigger('one', one.url));
  const sluice = await startSluice({ yaml: broker, dataDir: dir.path, args: ['-f', extra, '--watch'] });
  cleanup.add(async () => void (await sluice.stop()));
  const send = (id: string) => postEvent(`${sluice.url}/default/default`, { id, source: '/watch', type: 't' });
  await send('e1');
  await one.waitForCount(1);

  writeFileSync(join(extra, 'two.yaml'), trigger('two', two.url));
  await waitFor(() => /--watch: applied: Trigger default\/two created/.test(sluice.output()), 'the new file applied', 60_000);
  await send('e2');
  await two.waitForCount(1);

  // An edit in two writes (as some editors save) is applied once.
  writeFileSync(join(dir.path, 'config.yaml'), manifests.documents(broker, '# saving…\n'));
  writeFileSync(join(dir.path, 'config.yaml'), manifests.documents(broker, '# saved\n'));
  await waitFor(() => /--watch: configuration unchanged/.test(sluice.output()), 'the edit seen', 60_000);
  // Time is inherent here: a second reload would follow a late file event by the watcher's 300 ms debounce, and no
  // figure counts file events, so only waiting well past that shows none comes.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(sluice.output().match(/--watch: configuration unchanged/g)?.length, 1, 'one reload for the burst');
  assert.deepEqual(one.ids(), ['e1', 'e2']);
  assert.equal(await sluice.stop(), 0);
});

/** Whether a process catches SIGHUP now (Linux: bit 0 of SigCgt in /proc/PID/status). */
function catchesHangup(pid: number): boolean {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n;
}

/**
 * Spawns the CLI with a module hook that holds the load of its main module until `release()`: a signal sent before
 * that arrives while the CLI's packages are not loaded yet, before any argument is parsed.
 */
function spawnHeld(dir: string, args: readonly string[]) {
  const gate = join(dir, 'gate');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { existsSync } from 'node:fs';
export async function load(url, context, nextLoad) {
  if (url.endsWith('/packages/cli/dist/main.js')) while (!existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 10));
  return nextLoad(url, context);
}
`,
  );
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  const child = spawn(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, SLUICE_BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'info', SLUICE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  cleanup.add(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited, output: () => out, release: () => writeFileSync(gate, '') };
}

test('a SIGHUP while the CLI is still loading does not end sluice run: it is applied once running', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const one = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  writeFileSync(join(dir.path, 'config.yaml'), manifests.documents(broker, trigger('one', one.url)));
  const run = spawnHeld(dir.path, ['run', '-f', join(dir.path, 'config.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'store')]);
  await waitFor(() => catchesHangup(run.child.pid!), 'sluice catches SIGHUP before its main module loads', 30_000);
  run.child.kill('SIGHUP');
  run.child.kill('SIGHUP');
  run.release();
  const url = await waitFor(
    () => /sluice ready on (http:\/\/[^\s(]+)/.exec(run.output())?.[1],
    () => `the ready line (exit ${run.child.exitCode}, signal ${run.child.signalCode}):\n${run.output()}`,
    60_000,
  );
  await waitFor(() => /SIGHUP: configuration unchanged/.test(run.output()), 'the held SIGHUP applied once running', 60_000);
  assert.equal(run.output().match(/SIGHUP: configuration unchanged/g)?.length, 1, 'the SIGHUPs held while starting are applied once');
  assert.equal((await postEvent(`${url}/default/default`, { id: 'e1', source: '/hup', type: 't' })).status, 202);
  await one.waitForCount(1);
  run.child.kill('SIGTERM');
  assert.deepEqual(await run.exited, { code: 0, signal: null });
});

test(
  'any other command ends on a SIGHUP held while loading, as Node does by default (a closed terminal still ends event-display)',
  { skip: process.platform !== 'linux' && 'reads /proc' },
  async () => {
    const dir = tempDir();
    cleanup.add(() => dir.remove());
    const display = spawnHeld(dir.path, ['event-display', '--port', '0']);
    await waitFor(() => catchesHangup(display.child.pid!), 'the CLI catches SIGHUP before its main module loads', 30_000);
    display.child.kill('SIGHUP');
    display.release();
    // Bounded: a CLI that kept running would otherwise hold the file until the runner's 20 min timeout.
    const ended = await Promise.race([display.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000).unref())]);
    assert.deepEqual(ended, { code: null, signal: 'SIGHUP' }, `event-display after a held SIGHUP:\n${display.output()}`);
    assert.doesNotMatch(display.output(), /listening/, 'ended before it served');
  },
);

test('a second SIGTERM during the drain forces the exit and says so; the event in flight is delivered at the next start', async () => {
  let hang = true;
  const slow = await startSubscriber(() => (hang ? { hang: true } : {}));
  cleanup.add(() => slow.close());
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const sluice = await startSluice({ yaml: manifests.documents(broker, trigger('slow', slow.url)), dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop('SIGKILL')));
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/term', type: 't' })).status, 202);
  await slow.waitForCount(1);
  sluice.child.kill('SIGTERM');
  await waitFor(() => /SIGTERM received: draining \(send SIGTERM again to force exit\)/.test(sluice.output()), 'the drain line', 30_000);
  sluice.child.kill('SIGTERM');
  assert.equal(await sluice.stop(), 143, 'forced: 128 + SIGTERM');
  assert.match(sluice.output(), /SIGTERM received again: forcing exit without finishing the drain/);
  hang = false;
  const again = await startSluice({ yaml: manifests.documents(broker, trigger('slow', slow.url)), dataDir: dir.path });
  cleanup.add(async () => void (await again.stop()));
  await slow.waitForCount(2);
  assert.deepEqual(slow.ids(), ['e1', 'e1'], 'the unacknowledged delivery is made again, nothing lost');
  assert.equal(await again.stop(), 0);
});

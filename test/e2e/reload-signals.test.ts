// SIGHUP and `sluice run --watch` apply edited configuration files to a running sluice (spawned as a user runs it):
// one log line says what changed or why nothing did, and the process never stops.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postEvent, startSluice, startSubscriber, tempDir, waitFor, type Subscriber } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function subscriber(): Promise<Subscriber> {
  const s = await startSubscriber();
  cleanups.push(() => s.close());
  return s;
}

const broker = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
`;
const trigger = (name: string, url: string, type?: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
spec:
  broker: default
${type ? `  filter:\n    attributes:\n      type: ${type}\n` : ''}  subscriber:
    uri: ${url}
---
`;

test('SIGHUP applies the edited files: a trigger added and one changed, without a restart; a broken file changes nothing', async () => {
  const one = await subscriber();
  const two = await subscriber();
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const sluice = await startSluice({ yaml: broker + trigger('one', one.url), dataDir: dir.path });
  cleanups.push(async () => void (await sluice.stop()));
  const send = (id: string, type = 't') => postEvent(`${sluice.url}/default/default`, { id, source: '/hup', type });
  assert.equal((await send('e1')).status, 202);
  await one.waitForCount(1);

  writeFileSync(join(dir.path, 'config.yaml'), broker + trigger('one', one.url, 'kept') + trigger('two', two.url));
  sluice.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP: applied: Trigger default\/one configured, Trigger default\/two created/.test(sluice.output()), 'the SIGHUP record', 60_000);
  assert.equal((await send('e2', 'kept')).status, 202);
  assert.equal((await send('e3', 'other')).status, 202);
  await two.waitForCount(2);
  await one.waitForCount(2);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(one.ids(), ['e1', 'e2'], 'the changed filter applies; nothing twice');
  assert.deepEqual(two.ids().sort(), ['e2', 'e3']);

  writeFileSync(join(dir.path, 'config.yaml'), broker + 'kind: Trigger\nmetadata: {name: broken}\n');
  sluice.child.kill('SIGHUP');
  await waitFor(() => /SIGHUP: the configuration files have \d+ errors?; nothing changed/.test(sluice.output()), 'the refused SIGHUP', 60_000);
  assert.equal(sluice.child.exitCode, null, 'still running');
  assert.equal((await send('e4', 'kept')).status, 202);
  await one.waitForCount(3);
  assert.equal(await sluice.stop(), 0);
});

test('run --watch applies a saved file and a new file in a watched directory, once per burst of writes', async () => {
  const one = await subscriber();
  const two = await subscriber();
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const extra = join(dir.path, 'extra');
  mkdirSync(extra);
  writeFileSync(join(extra, 'one.yaml'), trigger('one', one.url));
  const sluice = await startSluice({ yaml: broker, dataDir: dir.path, args: ['-f', extra, '--watch'] });
  cleanups.push(async () => void (await sluice.stop()));
  const send = (id: string) => postEvent(`${sluice.url}/default/default`, { id, source: '/watch', type: 't' });
  await send('e1');
  await one.waitForCount(1);

  writeFileSync(join(extra, 'two.yaml'), trigger('two', two.url));
  await waitFor(() => /--watch: applied: Trigger default\/two created/.test(sluice.output()), 'the new file applied', 60_000);
  await send('e2');
  await two.waitForCount(1);

  // An edit in two writes (as some editors save) is applied once.
  writeFileSync(join(dir.path, 'config.yaml'), broker + '# saving…\n');
  writeFileSync(join(dir.path, 'config.yaml'), broker + '# saved\n');
  await waitFor(() => /--watch: configuration unchanged/.test(sluice.output()), 'the edit seen', 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(sluice.output().match(/--watch: configuration unchanged/g)?.length, 1, 'one reload for the burst');
  assert.deepEqual(one.ids(), ['e1', 'e2']);
  assert.equal(await sluice.stop(), 0);
});

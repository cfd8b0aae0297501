// The `sluice` command as a user runs it: send's data handling and errors, run's argument and file errors, version,
// event-display's output options, the data-directory lock and the quickstart's environment variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN, cleanupScope, postEvent, runCli, startSluice, tempDir, waitFor } from './harness.js';
import { startSubscriberIn } from './fixtures.js';
import { broker, channel, channelRef, documents, subscription } from './manifests.js';

const cleanup = cleanupScope();

const BROKER = broker('default');

test('send: JSON scalars go out as JSON in both modes; the data arrives byte for byte', async () => {
  const sub = await startSubscriberIn(cleanup);
  for (const [data, mode] of [
    ['42', 'binary'],
    ['true', 'binary'],
    ['42', 'structured'],
    ['"text"', 'structured'],
    ['{"a":[1,2]}', 'binary'],
  ] as const) {
    const before = sub.received.length;
    const r = await runCli(['send', '--to', sub.url, '--type', 't', '--source', '/s', '--data', data, '--mode', mode]);
    assert.equal(r.code, 0, `--data ${data} --mode ${mode}: ${r.stderr}`);
    assert.match(r.stdout, /^sent 1, accepted 1\n$/);
    const got = sub.received[before]!;
    assert.equal(got.event!.data!.toString(), data);
    assert.equal(got.event!.attributes['datacontenttype'], 'application/json');
  }
});

test('send: invalid JSON, an empty --type and a bad --extension are one-line usage errors (exit 2)', async () => {
  const sub = await startSubscriberIn(cleanup);
  for (const [args, message] of [
    [['--data', '{nope'], /^sluice send: --data is not valid JSON \(.*\) but the content type is application\/json; give --content-type text\/plain to send text\n\(add --help for usage\)\n$/],
    [['--type', ''], /^sluice send: --type: attribute "type" must be a non-empty string\n/],
    [['--extension', 'Bad_Name=1'], /^sluice send: --extension Bad_Name=…: invalid attribute name "Bad_Name"/],
    [['--extension', 'noequals'], /^sluice send: --extension must be key=value, got "noequals"\n/],
    [['--to', 'queue:x'], /^sluice send: --to must be an http\(s\) URL, broker:NAME\[:NAMESPACE\] or channel:NAME\[:NAMESPACE\], got "queue:x"\n/],
  ] as const) {
    const argv = ['send', '--to', sub.url, '--type', 't', '--source', '/s', ...args];
    const r = await runCli(argv);
    assert.equal(r.code, 2, `${args.join(' ')} exits 2`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  assert.equal(sub.received.length, 0, 'nothing was sent');
  const text = await runCli(['send', '--to', sub.url, '--type', 't', '--source', '/s', '--data', 'plain words', '--content-type', 'text/plain']);
  assert.equal(text.code, 0);
  assert.equal(sub.received[0]!.event!.data!.toString(), 'plain words');
});

test('send --data-file sends binary payloads unchanged, JSON files as JSON', async () => {
  const sub = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28]);
  writeFileSync(join(dir.path, 'blob.bin'), bytes);
  writeFileSync(join(dir.path, 'doc.json'), '{"k": "v"}');
  for (const mode of ['binary', 'structured']) {
    const r = await runCli(['send', '--to', sub.url, '--type', 't', '--source', '/s', '--data-file', join(dir.path, 'blob.bin'), '--mode', mode]);
    assert.equal(r.code, 0, r.stderr);
    const got = sub.received.at(-1)!.event!;
    assert.deepEqual(got.data, bytes, `${mode}: bytes intact`);
    assert.equal(got.attributes['datacontenttype'], 'application/octet-stream');
  }
  await runCli(['send', '--to', sub.url, '--type', 't', '--source', '/s', '--data-file', join(dir.path, 'doc.json')]);
  assert.equal(sub.received.at(-1)!.event!.attributes['datacontenttype'], 'application/json');
  const missing = await runCli(['send', '--to', sub.url, '--type', 't', '--source', '/s', '--data-file', join(dir.path, 'nope.bin')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--data-file .*nope\.bin: no such file/);
});

test('send: a failed send reports on stderr without a rate and exits 1; channel: targets resolve', async () => {
  const refusing = await startSubscriberIn(cleanup, () => ({ status: 503, body: 'later' }));
  const r = await runCli(['send', '--to', refusing.url, '--type', 't', '--source', '/s', '--id', 'e', '--count', '2']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^sent 2, accepted 0, failed 2\n {2}event e-\d: HTTP 503: later\n/);
  assert.doesNotMatch(r.stderr, /events\/s/);
  const down = await runCli(['send', '--to', 'broker:default', '--server', 'http://127.0.0.1:9', '--type', 't', '--source', '/s']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot connect to http:\/\/127\.0\.0\.1:9\/default\/default \(connection refused\)/);

  const sub = await startSubscriberIn(cleanup);
  const dir = tempDir();
  const sluice = await startSluice({
    dataDir: dir.path,
    yaml: documents(channel('pipe'), subscription('s', { channel: channelRef('pipe'), subscriber: sub.url })),
  });
  cleanup.add(
    () => dir.remove(),
    async () => void (await sluice.stop()),
  );
  const ok = await runCli(['send', '--to', 'channel:pipe', '--type', 't', '--source', '/s', '--id', 'via-channel'], { env: { SLUICE_SERVER: sluice.url } });
  assert.equal(ok.code, 0, ok.stderr);
  await sub.waitForCount(1);
  assert.equal(sub.received[0]!.event!.attributes['id'], 'via-channel');
});

test('run: a bad port is a usage error; a missing file has no made-up position; config errors are counted', async () => {
  const bad = await runCli(['run', '-f', 'x.yaml', '--port', '70000']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port must be a port number from 0 to 65535, got "70000"/);
  assert.doesNotMatch(bad.stderr, /RangeError|ERR_SOCKET/);
  const env = await runCli(['run', '-f', 'x.yaml'], { env: { SLUICE_PORT: 'eighty' } });
  assert.equal(env.code, 2, 'environment variables are checked like flags');
  assert.match(env.stderr, /--port must be a port number/);

  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const missing = await runCli(['run', '-f', join(dir.path, 'missing.yaml'), '--admin-port', '0']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing\.yaml: cannot read: no such file or directory\n/);
  assert.doesNotMatch(missing.stderr, /:1:1/);

  writeFileSync(join(dir.path, 'bad.yaml'), 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\nspec: {}\n');
  const invalid = await runCli(['run', '-f', join(dir.path, 'bad.yaml'), '--admin-port', '0']);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /bad\.yaml:\d+:\d+: /);
  assert.match(invalid.stderr, /\n\d+ errors?: not started\n$/);
});

test('version works like --version', async () => {
  const a = await runCli(['version']);
  const b = await runCli(['--version']);
  assert.equal(a.code, 0);
  assert.equal(b.code, 0);
  assert.equal(a.stdout, b.stdout);
  assert.match(a.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('event-display --json prints one JSON line per event; --headers adds the request headers', async () => {
  const child = spawn(process.execPath, [SLUICE_BIN, 'event-display', '--port', '0', '--json', '--headers'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.add(() => void child.kill('SIGTERM'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /listening on (http:\S+)/.test(out), 'event-display listening', 30_000);
  const url = /listening on (http:\S+)/.exec(out)![1]!;
  const start = out.length;
  assert.equal((await postEvent(url, { id: 'x1', source: '/s', type: 't' }, '{"n":1}', { 'x-trace': 'abc' })).status, 202);
  await waitFor(() => out.slice(start).includes('\n'), 'a line of output');
  const line = JSON.parse(out.slice(start).split('\n')[0]!);
  assert.equal(line.event.id, 'x1');
  assert.deepEqual(line.event.data, { n: 1 });
  assert.equal(line.headers['x-trace'], 'abc');
});

test('event-display on a port in use is one line naming the address and how to choose another, exit 1', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => void taken.close());
  const port = (taken.address() as AddressInfo).port;
  const r = await runCli(['event-display', '--port', String(port)]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `sluice event-display: cannot listen on 127.0.0.1:${port}: the port is in use (set --port or SLUICE_DISPLAY_PORT; 0 picks a free port)\n`);
});

test('one sluice per data directory: a second run exits 1 naming the holder pid; the lock goes with the process', async () => {
  const dir = tempDir();
  const first = await startSluice({ yaml: BROKER, dataDir: dir.path });
  cleanup.add(
    () => dir.remove(),
    async () => void (await first.stop()),
  );
  writeFileSync(join(dir.path, 'again.yaml'), BROKER);
  const second = await runCli(['run', '-f', join(dir.path, 'again.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'store')]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`the data directory .*store is in use by another sluice \\(pid ${first.child.pid}\\)`));
  assert.doesNotMatch(second.stdout, /sluice ready/);
  assert.equal(await first.stop('SIGKILL'), null, 'killed without a chance to clean up');
  // A lock left by a process that no longer runs is taken over.
  const third = await startSluice({ yaml: BROKER, dataDir: dir.path });
  assert.equal(await third.stop(), 0);
});

test('npm start follows SLUICE_* variables; SLUICE_DISPLAY_PORT moves the display and the trigger that points at it', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const displayPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const dir = tempDir();
  const child = spawn(process.execPath, [join(ROOT, 'examples/quickstart/start.mjs')], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_PORT: '0', SLUICE_ADMIN_PORT: '0', SLUICE_DISPLAY_PORT: String(displayPort), SLUICE_DATA_DIR: dir.path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  cleanup.add(async () => {
    child.kill('SIGTERM');
    await exited;
    dir.remove();
  });
  await waitFor(() => /sluice ready on (http:\S+)/.test(out) && out.includes(`listening on http://127.0.0.1:${displayPort}`), `quickstart ready:\n${out}`, 20_000);
  const url = /sluice ready on (http:\S+)/.exec(out)![1]!;
  assert.equal((await postEvent(`${url}/default/default`, { id: 'qs-1', source: '/me', type: 'dev.sluice.hello' }, '{"msg":"hi"}')).status, 202);
  await waitFor(() => out.includes('id: qs-1'), `the event display on port ${displayPort} printed the event:\n${out}`, 20_000);
});

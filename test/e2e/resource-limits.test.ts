// Resource limits (docs/security.md): replies obey the body limit, the backlog bound answers 429, a full disk answers
// 503 and recovers by itself, a corrupt store refuses to start, and the data directory is owner-only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT, SLUICE_BIN, postEvent, replyHeaders, startSluice, startSubscriber, tempDir, waitFor, type SluiceProcess } from './harness.js';
import { broker, documents, trigger, type Delivery } from './manifests.js';

/** The broker `default` and its Trigger `all` of the events of type `work`, with more documents after them. */
const brokerYaml = (subscriber: string, delivery?: Delivery, ...more: string[]): string =>
  documents(broker('default'), trigger('all', { broker: 'default', filter: { type: 'work' }, subscriber, delivery }), ...more);

/** A subscriber that holds every request until released, then answers 202 to all of them and to later ones. */
async function gatedSubscriber(): Promise<{ url: string; ids: Set<string>; held: () => number; release: () => void; close: () => Promise<void> }> {
  const ids = new Set<string>();
  const held: ServerResponse[] = [];
  let open = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      ids.add(String(req.headers['ce-id']));
      if (open) res.writeHead(202).end();
      else held.push(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    ids,
    held: () => held.length,
    release: () => {
      open = true;
      for (const res of held.splice(0)) res.writeHead(202).end();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

test('a reply over the body limit is a failed delivery with a clear reason, never stored cut short', async () => {
  const dls = await startSubscriber();
  const replies = await startSubscriber();
  const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
  const sub = await startSubscriber(() => ({ status: 200, headers: replyHeaders({ id: 'r1', source: '/sub', type: 'reply' }, 'text/plain'), body: big }));
  const dir = tempDir();
  const sluice = await startSluice({
    dataDir: dir.path,
    args: ['--max-body-bytes', String(1024 * 1024)],
    yaml: brokerYaml(sub.url, { retry: 0, deadLetterSink: dls.url }, trigger('replies', { broker: 'default', filter: { type: 'reply' }, subscriber: replies.url })),
  });
  try {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'ask-1', source: '/t', type: 'work' })).status, 202);
    await dls.waitForCount(1);
    const dead = dls.received[0]!.event!;
    assert.equal(dead.attributes['id'], 'ask-1');
    assert.equal(dead.attributes['knativeerrorcode'], '502');
    assert.equal(Buffer.from(String(dead.attributes['knativeerrordata']), 'base64').toString(), 'reply body exceeds the limit of 1048576 bytes');
    assert.equal(replies.received.length, 0, 'the over-limit reply was not stored');
  } finally {
    await sluice.stop();
    await Promise.all([dls.close(), replies.close(), sub.close()]);
    dir.remove();
  }
});

test('the per-broker backlog bound answers 429 with Retry-After behind a slow subscriber, and lifts once delivered', async () => {
  const sub = await gatedSubscriber();
  const dir = tempDir();
  const sluice = await startSluice({ dataDir: dir.path, args: ['--max-backlog-events', '20'], yaml: brokerYaml(sub.url) });
  try {
    const ingress = `${sluice.url}/default/default`;
    const accepted: string[] = [];
    let refused: { status: number; body: string; headers: Headers } | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const res = await postEvent(ingress, { id: `b${i}`, source: '/t', type: 'work' });
      if (res.status === 202) accepted.push(`b${i}`);
      else refused = res;
    }
    assert.ok(refused, 'a request was refused');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'SLUICE_STORE_BACKLOG_FULL');
    assert.equal(accepted.length, 20);
    sub.release();
    await waitFor(() => accepted.every((id) => sub.ids.has(id)), 'every accepted event delivered', 20_000);
    let status = 0;
    for (let i = 0; i < 200 && status !== 202; i++) {
      status = (await postEvent(ingress, { id: `later-${i}`, source: '/t', type: 'work' })).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 202, 'accepted again once the backlog was delivered and cleaned');
  } finally {
    await sluice.stop();
    await sub.close();
    dir.remove();
  }
});

// A real full disk: a 12 MiB tmpfs (8 MiB of it the reserve file) mounted in a private mount namespace (unshare) only Sluice sees.
const canMountTmpfs = spawnSync('unshare', ['-Urm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'], { stdio: 'ignore' }).status === 0;

test(
  'a full disk: ingress answers 503 with Retry-After, the process does not crash, delivery continues, and it recovers by itself',
  { skip: canMountTmpfs ? false : 'unshare -Urm with a tmpfs mount is not permitted on this machine' },
  async () => {
    const sub = await gatedSubscriber();
    const dir = tempDir();
    const disk = join(dir.path, 'disk');
    mkdirSync(disk);
    writeFileSync(join(dir.path, 'config.yaml'), brokerYaml(sub.url));
    const args = [
      SLUICE_BIN,
      'run',
      '-f',
      join(dir.path, 'config.yaml'),
      '--port',
      '0',
      '--admin-port',
      '0',
      '--data-dir',
      join(disk, 'store'),
      '--max-backlog-events',
      '0',
      '--max-backlog-bytes',
      '0',
    ];
    const child = spawn('unshare', ['-Urm', 'sh', '-c', 'mount -t tmpfs -o size=12m tmpfs "$0" && exec "$@"', disk, process.execPath, ...args], {
      cwd: ROOT,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'info' }, // the ready line is an info record
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => /sluice ready on/.test(out) || child.exitCode !== null, 'sluice ready', 20_000);
      const base = /sluice ready on (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(base, out);
      const ingress = `${base}/default/default`;
      const data = 'x'.repeat(16 * 1024);
      const accepted: string[] = [];
      let full: { status: number; body: string; headers: Headers } | undefined;
      for (let i = 0; i < 1000 && !full; i++) {
        const res = await postEvent(ingress, { id: `f${i}`, source: '/t', type: 'work' }, JSON.stringify({ data }));
        if (res.status === 202) accepted.push(`f${i}`);
        else full = res;
      }
      assert.ok(full, 'the disk filled up');
      assert.equal(full.status, 503, full.body);
      assert.equal(full.headers.get('retry-after'), '1');
      assert.match(full.body, /SLUICE_STORE_(FULL|WRITE_FAILED)/);
      // Several cleanup passes run against the full disk while producers keep trying: the process stays up.
      for (let i = 0; i < 25; i++) {
        await postEvent(ingress, { id: `during-${i}`, source: '/t', type: 'work' }, JSON.stringify({ data })).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(child.exitCode, null, `sluice is still running:\n${out}`);
      sub.release();
      await waitFor(() => accepted.every((id) => sub.ids.has(id)), 'every accepted event delivered', 30_000);
      let status = 0;
      let lastBody = '';
      for (let i = 0; i < 300 && status !== 202; i++) {
        const r = await postEvent(ingress, { id: `recovered-${i}`, source: '/t', type: 'work' }, JSON.stringify({ data }));
        status = r.status;
        lastBody = r.body;
        if (status !== 202) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 202, `accepted again once space was freed:\n${out}\n${lastBody}`);
      assert.equal(child.exitCode, null);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await sub.close();
      dir.remove();
    }
  },
);

test('a corrupt store refuses to start with a clear error and the recovery steps', async () => {
  const dir = tempDir();
  const store = join(dir.path, 'store');
  mkdirSync(store);
  writeFileSync(join(store, 'sluice.db'), Buffer.alloc(8192, 0x42));
  await assert.rejects(
    startSluice({ dataDir: dir.path, yaml: brokerYaml('http://127.0.0.1:9/') }),
    (err: Error) => /exited with 1/.test(err.message) && /is corrupt/.test(err.message) && /sluice store salvage --data-dir/.test(err.message),
  );
  writeFileSync(join(store, 'sluice.db'), '');
  await assert.rejects(startSluice({ dataDir: dir.path, yaml: brokerYaml('http://127.0.0.1:9/') }), (err: Error) => /is an empty file/.test(err.message));
  dir.remove();
});

test('the data directory is created owner-only (0700) and the store files 0600', async () => {
  const dir = tempDir();
  let sluice: SluiceProcess | undefined;
  try {
    sluice = await startSluice({ dataDir: dir.path, yaml: brokerYaml('http://127.0.0.1:9/') });
    assert.equal(statSync(join(dir.path, 'store')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir.path, 'store', 'sluice.db')).mode & 0o777, 0o600);
  } finally {
    await sluice?.stop();
    dir.remove();
  }
});

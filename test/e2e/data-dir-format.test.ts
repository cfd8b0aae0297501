// Upgrades: a data directory written by the previous format (test/fixtures/data-dir-format-1, written by the
// unversioned store of the first releases) opens, is migrated, and delivers what it held; a directory of a newer
// format is refused with a clear message and left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { STORE_FORMAT } from '@sluice/store';
import { ROOT, cleanupScope, runCli, startSluice, startSubscriber, tempDir } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const cleanup = cleanupScope();

const FIXTURE = join(ROOT, 'test/fixtures/data-dir-format-1/sluice.db');

const yaml = (url: string): string => documents(broker('default'), trigger('t', { broker: 'default', subscriber: url, delivery: { retry: 3 } }));

function userVersion(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

test('a format-1 data directory is migrated and delivers its backlog and its pending retry', async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  mkdirSync(join(dir.path, 'store'));
  // Only copies are opened: even a read-only open of a WAL database leaves -shm/-wal files beside it.
  copyFileSync(FIXTURE, join(dir.path, 'store', 'sluice.db'));
  assert.equal(userVersion(join(dir.path, 'store', 'sluice.db')), 0, 'the fixture is unversioned, as the first releases wrote it');
  const sub = await startSubscriber();
  cleanup.add(() => sub.close());
  const sluice = await startSluice({ yaml: yaml(sub.url), dataDir: dir.path });
  cleanup.add(async () => void (await sluice.stop()));
  await sub.waitForCount(4);
  // fixture-1 was delivered before the fixture was written; fixture-2 waited for its first retry; 3-5 were unread.
  assert.deepEqual(sub.ids().sort(), ['fixture-2', 'fixture-3', 'fixture-4', 'fixture-5']);
  assert.equal(await sluice.stop(), 0);
  assert.equal(userVersion(join(dir.path, 'store', 'sluice.db')), STORE_FORMAT);
  const db = new Database(join(dir.path, 'store', 'sluice.db'), { readonly: true });
  const columns = (db.prepare('PRAGMA table_info(retries)').all() as Array<{ name: string }>).map((c) => c.name);
  const deadLetters = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'dead_letters'").get() as { n: number };
  db.close();
  assert.ok(columns.includes('ordered'), 'format 2 marks the retries of ordered groups');
  assert.ok(columns.includes('first_at'), 'format 3 keeps the time of the first attempt of a retry');
  assert.equal(deadLetters.n, 1, 'format 3 has the dead-letter store');
});

test('a data directory of a newer format is refused with a clear message and left as it was', async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  mkdirSync(join(dir.path, 'store'));
  const db = join(dir.path, 'store', 'sluice.db');
  copyFileSync(FIXTURE, db);
  const w = new Database(db);
  w.pragma(`user_version = ${STORE_FORMAT + 1}`);
  w.close();
  const before = createHash('sha256').update(readFileSync(db)).digest('hex');
  const file = join(dir.path, 'config.yaml');
  writeFileSync(file, yaml('http://127.0.0.1:9/'));
  const res = await runCli(['run', '-f', file, '--port', '0', '--data-dir', join(dir.path, 'store')]);
  assert.notEqual(res.code, 0);
  const out = res.stdout + res.stderr;
  assert.match(out, /SLUICE_STORE_FORMAT_TOO_NEW|format \d+, written by a newer Sluice/);
  assert.match(out, new RegExp(`has format ${STORE_FORMAT + 1}, written by a newer Sluice; this Sluice reads formats up to ${STORE_FORMAT}`));
  assert.equal(createHash('sha256').update(readFileSync(db)).digest('hex'), before, 'the newer directory is not modified');
});

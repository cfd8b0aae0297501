import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isSluiceError } from '@sluice/core';
import { LOCK_FILE, STORE_FILE, SqliteEventStore, checkStore, salvageStore } from '../src/index.js';

const LOG = 'broker:default/b';
const EVENTS = 3000;

/** A data directory with a store of EVENTS events, five dead letters and one group offset, checkpointed into the file. */
async function dataDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-repair-'));
  const store = new SqliteEventStore({ path: join(dir, STORE_FILE), cleanupIntervalMs: 3_600_000 });
  const data = Buffer.alloc(1000, 'x');
  for (let i = 0; i < EVENTS; i += 500) {
    await store.append(
      LOG,
      Array.from({ length: 500 }, (_, k) => ({ attributes: { specversion: '1.0', id: `e${i + k}`, source: '/s', type: 't' }, data })),
    );
  }
  const letter = (id: string) => ({
    event: { attributes: { specversion: '1.0', id, source: '/s', type: 't' }, data: undefined },
    reason: 'HTTP 500',
    attempts: 3,
    firstAttemptAt: 1,
    lastAttemptAt: 2,
  });
  await store.putDeadLetters(LOG, 'trigger:default/t', ['d1', 'd2', 'd3', 'd4', 'd5'].map(letter));
  await store.close();
  const db = new Database(join(dir, STORE_FILE));
  db.prepare('INSERT INTO groups (grp, log, cursor) VALUES (?, ?, ?)').run('trigger:default/t', LOG, 100);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('journal_mode = DELETE');
  db.close();
  return dir;
}

/** Overwrites one leaf page of the events table with garbage; returns how many rows that page held. */
function damageEventsPage(dir: string): number {
  const path = join(dir, STORE_FILE);
  const db = new Database(path);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const page = db.prepare("SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 20").get() as { pageno: number; ncell: number };
  db.close();
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page.pageno - 1) * pageSize);
  closeSync(fd);
  return page.ncell;
}

test('check: an intact store is ok with its format and rows; a damaged page is reported by the integrity check', async () => {
  const dir = await dataDir();
  try {
    const ok = checkStore(dir);
    assert.equal(ok.ok, true);
    assert.deepEqual(ok.integrity, ['ok']);
    assert.equal(ok.format, ok.supported);
    assert.equal(ok.rows['events'], EVENTS);
    assert.equal(ok.rows['dead_letters'], 5);
    damageEventsPage(dir);
    const bad = checkStore(dir);
    assert.equal(bad.ok, false);
    assert.notDeepEqual(bad.integrity, ['ok']);
    assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the lock is released');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('salvage copies every readable row into a new store, keeps the old file, and Sluice opens the result', async () => {
  const dir = await dataDir();
  try {
    const lost = damageEventsPage(dir);
    assert.throws(
      () => new SqliteEventStore({ path: join(dir, STORE_FILE) }),
      (err) => isSluiceError(err, 'SLUICE_STORE_CORRUPT') && /sluice store salvage --data-dir/.test(err.message),
    );
    const report = salvageStore(dir, () => Date.parse('2026-01-02T03:04:05Z'));
    assert.equal(report.copied['events'], EVENTS - lost);
    assert.equal(report.copied['dead_letters'], 5);
    assert.equal(report.copied['groups'], 1);
    assert.deepEqual(report.unreadable, {});
    assert.equal(report.skipped.length, 1);
    assert.equal(report.skipped[0]!.to - report.skipped[0]!.from + 1, lost, 'exactly the damaged page is skipped');
    assert.ok(existsSync(report.keptAs) && report.keptAs.endsWith('sluice.db.damaged-2026-01-02T03-04-05-000Z'));
    assert.equal(statSync(join(dir, STORE_FILE)).mode & 0o777, 0o600);
    assert.equal(checkStore(dir).ok, true);
    // The store opens; its group offset is kept, and new events are numbered after the old ones.
    const store = new SqliteEventStore({ path: join(dir, STORE_FILE), cleanupIntervalMs: 3_600_000 });
    assert.equal(store.deadLetterStats(LOG).count, 5);
    await store.append(LOG, [{ attributes: { specversion: '1.0', id: 'new', source: '/s', type: 't' }, data: undefined }]);
    await store.close();
    const db = new Database(join(dir, STORE_FILE), { readonly: true });
    assert.equal((db.prepare('SELECT seq FROM events WHERE attrs LIKE \'%"new"%\'').get() as { seq: number }).seq, EVENTS + 1);
    assert.equal((db.prepare('SELECT cursor FROM groups').get() as { cursor: number }).cursor, 100);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check and salvage refuse while a Sluice holds the data directory, naming its pid; a missing store is an error', async () => {
  const dir = await dataDir();
  try {
    writeFileSync(join(dir, LOCK_FILE), `${process.ppid}\n`); // a live process that is not this one
    const before = readdirSync(dir).sort();
    assert.throws(
      () => checkStore(dir),
      (err) => isSluiceError(err, 'SLUICE_DATA_DIR_LOCKED') && err.message.includes(`pid ${process.ppid}`),
    );
    assert.throws(
      () => salvageStore(dir),
      (err) => isSluiceError(err, 'SLUICE_DATA_DIR_LOCKED'),
    );
    assert.deepEqual(readdirSync(dir).sort(), before, 'nothing was changed');
    assert.throws(
      () => checkStore(join(dir, 'nope')),
      (err) => isSluiceError(err, 'SLUICE_STORE_NOT_FOUND'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

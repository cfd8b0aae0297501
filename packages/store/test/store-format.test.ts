// Store format 5 (events keyed by their rowid, no AUTOINCREMENT, no (log, seq) index): a store written in format 4
// (built here from that format's schema, test/fixtures/store-format-4.sql, with the rows the format-4 store wrote)
// is migrated once and loses nothing, and positions are never handed out twice once the cleanup deleted the newest
// rows, in the same process or after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { noopLogger, type Logger } from '@sluice/core';
import { STORE_FORMAT, SqliteEventStore, type LogRecord } from '../src/index.js';

const FORMAT_4_SCHEMA = readFileSync(new URL('./fixtures/store-format-4.sql', import.meta.url), 'utf8');

const attrs = (id: string) => JSON.stringify({ specversion: '1.0', id, source: '/s', type: 't' });
const ev = (id: string) => ({
  attributes: { specversion: '1.0', id, source: '/s', type: 't' },
  data: Buffer.from(`data-${id}`),
});

function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-format-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Collects info lines, as a logger given to the store. */
function recordingLogger(): { logger: Logger; infos: Array<{ obj: object; msg: string | undefined }> } {
  const infos: Array<{ obj: object; msg: string | undefined }> = [];
  const logger: Logger = { ...noopLogger, info: (obj, msg) => void infos.push({ obj, msg }), child: () => logger };
  return { logger, infos };
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

/**
 * A format-4 store as that format's store left it: logs `a` (odd positions) and `b` (even), 1-10. Group `ga` finished
 * up to 5 with 5 waiting for its retry, so 7 and 9 are unread; group `gb` finished everything, and the cleanup deleted
 * what both had finished (moving `a`'s to its archive) — including 10, the newest row, whose position only
 * `sqlite_sequence` remembers. One dead letter.
 */
function writeFormat4Store(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(FORMAT_4_SCHEMA);
  const insert = db.prepare('INSERT INTO events(log, attrs, data) VALUES (?, ?, ?)');
  for (let i = 1; i <= 10; i++) insert.run(i % 2 === 1 ? 'a' : 'b', attrs(`e${i}`), Buffer.from(`data-e${i}`));
  db.prepare("INSERT INTO groups VALUES ('ga', 'a', 5), ('gb', 'b', 10)").run();
  db.prepare("INSERT INTO retries(grp, seq, attempt, due_at, attrs, data, first_at) VALUES ('ga', 5, 1, 0, ?, ?, 1000)").run(attrs('e5'), Buffer.from('data-e5'));
  db.prepare("INSERT INTO archive(seq, log, attrs, data, at, bytes) SELECT seq, log, attrs, data, 1000, 10 FROM events WHERE log = 'a' AND seq <= 5").run();
  db.prepare("DELETE FROM events WHERE (log = 'a' AND seq <= 5) OR log = 'b'").run();
  db.prepare("INSERT INTO dead_letters(log, grp, origin, attrs, data, reason, attempts, first_at, last_at, stored_at, bytes) VALUES ('a', 'ga', '3', ?, NULL, 'gone', 3, 1, 2, 3, 10)").run(
    attrs('e3'),
  );
  db.close();
}

test('a format-4 store is migrated once, in place, and keeps its events, offsets, retries, dead letters, archive and positions', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const path = join(tmp.dir, 'sluice.db');
  writeFormat4Store(path);

  const { logger, infos } = recordingLogger();
  let store = new SqliteEventStore({ path, logger, cleanupIntervalMs: 3_600_000 });
  const migrated = infos.filter((l) => /store migrated/.test(l.msg ?? ''));
  assert.equal(migrated.length, 1, 'the migration is logged');
  assert.equal(migrated[0]!.msg, 'store migrated from format 4 to 5: 2 events kept');
  assert.deepEqual({ ...migrated[0]!.obj, ms: 0 }, { path, from: 4, to: 5, events: 2, ms: 0 });
  assert.equal(STORE_FORMAT, 5);
  assert.equal(store.lastSeq(), 10, 'the newest position, deleted by the cleanup, is still known');

  // Group a: its retry and its two unread events; group b: nothing old, and the next event of b (position 11: a reused
  // position 10 would sit at b's offset and never be delivered).
  const got: Record<string, string[]> = { ga: [], gb: [] };
  const seqs: number[] = [];
  const handler = (g: string) => async (r: LogRecord) => {
    got[g]!.push(`${String(r.event.attributes['id'])}@${r.attempt}:${r.event.data?.toString()}`);
    if (g === 'gb') seqs.push(r.seq);
    return { kind: 'done' } as const;
  };
  const ga = store.consume('a', 'ga', { maxInFlight: 10 }, handler('ga'));
  const gb = store.consume('b', 'gb', { maxInFlight: 10 }, handler('gb'));
  await store.append('b', [ev('new')]);
  await waitFor('every pending record is delivered', () => got['ga']!.length >= 3 && got['gb']!.length >= 1);
  assert.deepEqual(got['ga']!.sort(), ['e5@1:data-e5', 'e7@0:data-e7', 'e9@0:data-e9']);
  assert.deepEqual(got['gb'], ['new@0:data-new']);
  assert.deepEqual(seqs, [11]);
  assert.deepEqual(
    store.listDeadLetters('a', { limit: 10 }).map((d) => [d.group, d.event.attributes['id'], d.reason]),
    [['ga', 'e3', 'gone']],
  );
  assert.deepEqual(
    store.readArchive('a', { from: 0, to: Number.MAX_SAFE_INTEGER, afterSeq: 0, limit: 10 }).map((e) => [e.seq, e.event.attributes['id']]),
    [
      [1, 'e1'],
      [3, 'e3'],
      [5, 'e5'],
    ],
  );
  await ga.close();
  await gb.close();
  await store.close();

  const db = new Database(path, { readonly: true });
  try {
    assert.equal(db.pragma('user_version', { simple: true }), 5);
    const objects = (db.prepare("SELECT name, sql FROM sqlite_master WHERE tbl_name IN ('events', 'events_format_4', 'sequences')").all() as Array<{ name: string; sql: string | null }>).map(
      (o) => o.name,
    );
    assert.deepEqual(objects.sort(), ['events', 'sequences'], 'no (log, seq) index, no copy left behind');
    const eventsSql = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string }).sql;
    assert.doesNotMatch(eventsSql, /AUTOINCREMENT/);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_sequence WHERE name LIKE 'events%'").all(), []);
    assert.deepEqual(db.prepare('SELECT seq, log FROM events ORDER BY seq').all(), [
      { seq: 7, log: 'a' },
      { seq: 9, log: 'a' },
      { seq: 11, log: 'b' },
    ]);
  } finally {
    db.close();
  }

  // Opened again: already at format 5, nothing is migrated a second time.
  const again = recordingLogger();
  store = new SqliteEventStore({ path, logger: again.logger, cleanupIntervalMs: 3_600_000 });
  assert.deepEqual(
    again.infos.filter((l) => /store migrated/.test(l.msg ?? '')),
    [],
  );
  assert.equal(store.lastSeq(), 11);
  await store.close();
});

test('positions are never reused after the cleanup deleted the newest rows, in the same process and after a restart', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const path = join(tmp.dir, 'sluice.db');
  const seen: number[] = [];
  const open = () => {
    const store = new SqliteEventStore({ path, cleanupIntervalMs: 20 });
    const consumer = store.consume('log', 'g', { maxInFlight: 10 }, async (r) => {
      seen.push(r.seq);
      return { kind: 'done' };
    });
    return { store, consumer, ready: store.ready('log') };
  };
  let { store, consumer, ready } = open();
  await ready;
  const reader = new Database(path, { readonly: true });
  t.after(() => reader.close());
  const rows = (): number => (reader.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  const kept = (): number => (reader.prepare("SELECT seq FROM sequences WHERE name = 'events'").get() as { seq: number }).seq;

  await store.append('log', [ev('1'), ev('2'), ev('3')]);
  await waitFor('delivered and cleaned up', () => seen.length === 3 && rows() === 0);
  assert.equal(kept(), 3, 'the cleanup that deleted the newest row kept its position');
  await store.append('log', [ev('4')]);
  await waitFor('delivered and cleaned up', () => seen.length === 4 && rows() === 0);
  await consumer.close();
  await store.close();

  ({ store, consumer, ready } = open());
  await ready;
  await store.append('log', [ev('5')]);
  await waitFor('delivered after the restart', () => seen.length === 5);
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  await consumer.close();
  await store.close();
});

test('the cleanup removes what each log finished and keeps the rest, with logs interleaved, across a restart', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const path = join(tmp.dir, 'sluice.db');
  const open = (gate: Promise<void>) => {
    const store = new SqliteEventStore({ path, cleanupIntervalMs: 20 });
    const a = store.consume('a', 'ga', { maxInFlight: 100 }, async () => ({ kind: 'done' }));
    const b = store.consume('b', 'gb', { maxInFlight: 100 }, async () => {
      await gate;
      return { kind: 'done' };
    });
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        await Promise.all([a.close(100), b.close(100)]);
        await store.close();
      })());
    return { store, close };
  };
  let s = open(new Promise<void>(() => undefined)); // b's group never finishes in this run
  t.after(() => s.close()); // a failed check does not leave the store open
  await Promise.all([s.store.ready('a'), s.store.ready('b')]);
  const reader = new Database(path, { readonly: true });
  t.after(() => reader.close());
  const onDisk = (): string => (reader.prepare('SELECT log, seq FROM events ORDER BY seq').all() as Array<{ log: string; seq: number }>).map((r) => `${r.log}${r.seq}`).join();

  for (let i = 0; i < 5; i++) {
    await s.store.append('a', [ev(`a${i}`)]);
    await s.store.append('b', [ev(`b${i}`)]);
  }
  await waitFor('the rows of a are cleaned up, those of b kept', () => onDisk() === 'b2,b4,b6,b8,b10');
  await s.close();

  // After a restart, b's rows are still below a's new ones: a's go, b's stay until delivered.
  let release!: () => void;
  s = open(new Promise<void>((r) => (release = r)));
  await Promise.all([s.store.ready('a'), s.store.ready('b')]);
  await s.store.append('a', [ev('a11')]);
  await s.store.append('b', [ev('b12')]);
  await s.store.append('a', [ev('a13')]);
  await waitFor('a is cleaned up behind b', () => onDisk() === 'b2,b4,b6,b8,b10,b12');
  release();
  await waitFor('b is cleaned up once delivered', () => onDisk() === '');
  await s.close();
});

import { chmodSync, existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { SluiceError } from '@sluice/core';
import { lockDataDir } from './data-dir-lock.js';
import { sqliteLibrary } from './sqlite-library.js';
import { STORE_FORMAT, migrate } from './sqlite-store.js';

/** File name of the store in a data directory. */
export const STORE_FILE = 'sluice.db';

/** The tables of the store, in the order they are salvaged, with what each holds (for reports). */
export const STORE_TABLES = [
  { table: 'events', what: 'events' },
  { table: 'groups', what: 'group offsets' },
  { table: 'retries', what: 'scheduled retries' },
  { table: 'dead_letters', what: 'dead letters' },
  { table: 'archive', what: 'archived events' },
] as const;

/** What `sluice store check` found. */
export interface StoreCheckReport {
  readonly path: string;
  /** The format in SQLite's `user_version` (0: an unversioned store of the first releases), when readable. */
  readonly format: number | undefined;
  /** The newest format this Sluice reads. */
  readonly supported: number;
  /** `ok`, or the problems SQLite's integrity check reports (at most 100). */
  readonly integrity: readonly string[];
  /** Rows per table, where they could be counted. */
  readonly rows: Readonly<Record<string, number | string>>;
  /** Whether Sluice can start on it as it is (intact, and a format it reads). */
  readonly ok: boolean;
}

/** A range of row ids of a table that could not be read during a salvage. */
export interface SkippedRange {
  readonly table: string;
  /** First and last row id skipped (a gap may include rows that were deleted before the damage). */
  readonly from: number;
  readonly to: number;
}

/** What `sluice store salvage` did. */
export interface SalvageReport {
  /** The new store (the data directory's `sluice.db`). */
  readonly path: string;
  /** Where the damaged store was moved (with its `-wal` and `-shm` files, when they existed). */
  readonly keptAs: string;
  /** Rows copied per table. */
  readonly copied: Readonly<Record<string, number>>;
  readonly skipped: readonly SkippedRange[];
  /** Tables that could not be read at all (or were missing), with why. */
  readonly unreadable: Readonly<Record<string, string>>;
}

/** Locks the data directory (refusing while a Sluice holds it, naming its pid) and returns the store path. */
function lockedStore(dataDir: string): { path: string; release: () => void } {
  const path = join(dataDir, STORE_FILE);
  if (!existsSync(path)) throw new SluiceError('SLUICE_STORE_NOT_FOUND', `there is no store in ${dataDir} (no ${STORE_FILE})`);
  const lock = lockDataDir(dataDir); // throws SLUICE_DATA_DIR_LOCKED with the pid while a Sluice runs on it
  return { path, release: () => lock.release() };
}

function openExisting(path: string): Database.Database {
  if (statSync(path).size === 0) throw new SluiceError('SLUICE_STORE_CORRUPT', `${path} is an empty file: the store was truncated or replaced`);
  const Sqlite = sqliteLibrary(`the store at ${path}`);
  try {
    // Read-write, so that SQLite replays a write-ahead log left by a crash; nothing is written otherwise.
    return new Sqlite(path, { fileMustExist: true });
  } catch (err) {
    throw new SluiceError('SLUICE_STORE_CORRUPT', `${path} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Checks a stopped data directory's store: SQLite's full integrity check, the store format against the formats this
 * Sluice reads, and the rows per table. Refuses (SLUICE_DATA_DIR_LOCKED, naming the pid) while a Sluice runs on it.
 */
export function checkStore(dataDir: string): StoreCheckReport {
  const { path, release } = lockedStore(dataDir);
  try {
    let db: Database.Database;
    try {
      db = openExisting(path);
    } catch (err) {
      return { path, format: undefined, supported: STORE_FORMAT, integrity: [(err as Error).message], rows: {}, ok: false };
    }
    try {
      let format: number | undefined;
      let integrity: string[];
      try {
        format = db.pragma('user_version', { simple: true }) as number;
        integrity = (db.pragma('integrity_check(100)') as { integrity_check: string }[]).map((r) => r.integrity_check);
      } catch (err) {
        integrity = [(err as Error).message];
      }
      const rows: Record<string, number | string> = {};
      for (const { table } of STORE_TABLES) {
        try {
          rows[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        } catch (err) {
          rows[table] = (err as Error).message;
        }
      }
      const intact = integrity.length === 1 && integrity[0] === 'ok';
      return { path, format, supported: STORE_FORMAT, integrity, rows, ok: intact && format !== undefined && format <= STORE_FORMAT };
    } finally {
      db.close();
    }
  } finally {
    release();
  }
}

/**
 * Copies what is readable of a table into `to`, in row-id order. Where a damaged page stops the read, the next
 * readable row id is found by doubling the jump and then bisecting (a seek into the damaged page fails, a seek
 * beyond it works), so that as little as possible is skipped.
 */
function copyTable(from: Database.Database, to: Database.Database, table: string, skipped: SkippedRange[]): number {
  const fromCols = new Set(
    from
      .prepare<[], { name: string }>(`PRAGMA table_info(${table})`)
      .all()
      .map((c) => c.name),
  );
  const cols = to
    .prepare<[], { name: string }>(`PRAGMA table_info(${table})`)
    .all()
    .map((c) => c.name)
    .filter((c) => fromCols.has(c));
  if (cols.length === 0) throw new Error('no columns in common');
  const read = from.prepare(`SELECT rowid AS "__rowid", ${cols.map((c) => `"${c}"`).join(', ')} FROM ${table} WHERE rowid >= ? ORDER BY rowid`);
  const probe = from.prepare(`SELECT rowid FROM ${table} WHERE rowid >= ? ORDER BY rowid LIMIT 1`);
  const insert = to.prepare(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  const seekWorks = (start: number): boolean => {
    try {
      probe.get(start);
      return true;
    } catch {
      return false;
    }
  };
  let copied = 0;
  let batch: unknown[][] = [];
  const flush = (): void => {
    if (batch.length === 0) return;
    const rows = batch;
    to.transaction(() => {
      for (const r of rows) insert.run(...r);
    })();
    copied += rows.length;
    batch = [];
  };
  let next = Number.MIN_SAFE_INTEGER;
  for (;;) {
    let last: number | undefined;
    try {
      for (const row of read.iterate(next) as Iterable<Record<string, unknown>>) {
        batch.push(cols.map((c) => row[c]));
        last = row['__rowid'] as number;
        if (batch.length >= 500) flush();
      }
      flush();
      return copied;
    } catch (err) {
      if (!/corrupt|malformed|disk image/i.test((err as Error).message)) throw err;
      flush(); // the rows read before the damaged page
      const resumeAfter = last ?? next - 1;
      let step = 1;
      while (step < 2 ** 52 && !seekWorks(resumeAfter + step)) step *= 2;
      if (step >= 2 ** 52) {
        skipped.push({ table, from: resumeAfter + 1, to: Number.MAX_SAFE_INTEGER });
        return copied;
      }
      // Bisect the smallest row id whose seek works, between the last failing start and the first working one.
      let lo = step === 1 ? resumeAfter : resumeAfter + step / 2;
      let hi = resumeAfter + step;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (seekWorks(mid)) hi = mid;
        else lo = mid;
      }
      if (hi > resumeAfter + 1) skipped.push({ table, from: resumeAfter + 1, to: hi - 1 });
      if (hi <= next) return copied; // no progress: give up on the rest of the table
      next = hi;
    }
  }
}

/**
 * Salvages a stopped data directory's store: every readable event, group offset, scheduled retry, dead letter and
 * archived event is copied into a new store at the current format, which takes the place of `sluice.db`; the old
 * file (with its `-wal` and `-shm`) is kept beside it as `sluice.db.damaged-<time>`. Group offsets keep their
 * positions, and new events are numbered after every event the old store ever numbered, so nothing is delivered
 * twice or skipped. Refuses while a Sluice runs on the directory (SLUICE_DATA_DIR_LOCKED, naming the pid).
 */
export function salvageStore(dataDir: string, now: () => number = Date.now): SalvageReport {
  const { path, release } = lockedStore(dataDir);
  try {
    const old = openExisting(path);
    const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
    const fresh = `${path}.salvage-${stamp}`;
    const copied: Record<string, number> = {};
    const unreadable: Record<string, string> = {};
    const skipped: SkippedRange[] = [];
    try {
      let format: number | undefined;
      try {
        format = old.pragma('user_version', { simple: true }) as number;
      } catch {
        format = undefined;
      }
      if (format !== undefined && format > STORE_FORMAT) {
        throw new SluiceError(
          'SLUICE_STORE_FORMAT_TOO_NEW',
          `${path} has format ${format}, written by a newer Sluice (this one reads up to ${STORE_FORMAT}): salvage it with that Sluice; nothing was changed`,
        );
      }
      const db = new (sqliteLibrary(`the store at ${fresh}`))(fresh);
      chmodSync(fresh, 0o600); // events may carry secrets, as in the store itself
      try {
        migrate(db, fresh);
        for (const { table } of STORE_TABLES) {
          try {
            copied[table] = copyTable(old, db, table, skipped);
          } catch (err) {
            unreadable[table] = (err as Error).message;
            copied[table] = 0;
          }
        }
        // New events must be numbered after every event the old store numbered: group offsets point into that range.
        const highest = (sql: string, d: Database.Database): number => {
          try {
            return (d.prepare(sql).get() as { n: number | null }).n ?? 0;
          } catch {
            return 0;
          }
        };
        for (const t of ['retries', 'dead_letters']) {
          const seq = Math.max(highest(`SELECT seq AS n FROM sqlite_sequence WHERE name = '${t}'`, old), highest(`SELECT max(rowid) AS n FROM ${t}`, db));
          if (seq > 0) {
            db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(t);
            db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(t, seq);
          }
        }
        // Event positions (format 5 keeps the highest in `sequences`, the formats before it in `sqlite_sequence`), and
        // every position a copied row still names.
        const lastSeq = Math.max(
          highest("SELECT seq AS n FROM sequences WHERE name = 'events'", old),
          highest("SELECT seq AS n FROM sqlite_sequence WHERE name = 'events'", old),
          highest('SELECT max(rowid) AS n FROM events', db),
          highest('SELECT max(cursor) AS n FROM groups', db),
          highest('SELECT max(seq) AS n FROM retries', db),
          highest('SELECT max(seq) AS n FROM archive', db),
        );
        db.prepare("UPDATE sequences SET seq = ? WHERE name = 'events'").run(lastSeq);
        const check = db.pragma('integrity_check', { simple: true });
        if (check !== 'ok') throw new SluiceError('SLUICE_STORE_CORRUPT', `the salvaged store ${fresh} fails the integrity check (${String(check)}); the old store was left in place`);
      } finally {
        db.close();
      }
    } catch (err) {
      for (const f of [fresh, `${fresh}-wal`, `${fresh}-shm`]) if (existsSync(f)) unlinkSync(f);
      throw err;
    } finally {
      old.close();
    }
    const keptAs = `${path}.damaged-${stamp}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, keptAs + suffix);
    renameSync(fresh, path);
    return { path, keptAs, copied, skipped, unreadable };
  } finally {
    release();
  }
}

import { chmodSync, closeSync, existsSync, fdatasync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { sqliteLibrary } from './sqlite-library.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { SluiceError, noopLogger, settleWithin, type AttributeValue, type CloudEvent, type Logger, type StoreMetrics } from '@sluice/core';
import type {
  ArchiveRetention,
  ArchivedEvent,
  Consumer,
  ConsumeOptions,
  DeadLetter,
  DeadLetterInput,
  DeadLetterQuery,
  DeadLetterRetention,
  DeadLetterStats,
  DeadLetterStore,
  Disposition,
  EventArchive,
  EventStore,
  GroupStats,
  LogRecord,
  LogStats,
  RecordHandler,
  ForgetOptions,
  ForgottenGroup,
  StoreTimers,
} from './event-store.js';

/** Dead letters are kept 7 days and up to 256 MiB per broker unless the broker says otherwise. */
export const DEFAULT_DEAD_LETTER_RETENTION: DeadLetterRetention = { maxAgeMs: 7 * 86_400_000, maxBytes: 256 * 1024 * 1024 };

/** Options of {@link SqliteEventStore}. */
export interface SqliteEventStoreOptions {
  /** Database file (created if missing), or `:memory:` for tests. */
  path: string;
  /** `fsync` (default): an append resolves only after the write-ahead log is synced. `none` is for benchmarks. */
  durability?: 'fsync' | 'none';
  /**
   * Events kept in memory per log for consumers that have not read them yet, so they skip the database (default at
   * most 1024 once trimmed; see Tail).
   */
  tailCacheSize?: number;
  /** Payload bytes kept in that tail per log (default 64 MiB): memory stays bounded whatever the event size. */
  tailCacheBytes?: number;
  /**
   * Events stored and not yet consumed by every group, per log, beyond which `append` fails with
   * SLUICE_STORE_BACKLOG_FULL (default 100000; 0: no bound). Counted on what is on disk, cleaned every cleanup pass.
   */
  maxBacklogEvents?: number;
  /** The same bound in payload bytes (default 1 GiB; 0: no bound). */
  maxBacklogBytes?: number;
  /**
   * Bytes of a reserve file kept beside the database (default 8 MiB; 0: none). When the disk fills up it is deleted,
   * so cursor moves, retries and the cleanup that frees space can still be written; it is put back once there is room.
   */
  diskReserveBytes?: number;
  /** Logs background failures (cleanup, disk full) and dead letters dropped by retention; default silent. */
  logger?: Logger;
  /** Appends waiting for a commit beyond which `append` fails with SLUICE_STORE_OVERLOADED (default 100000). */
  maxPendingEvents?: number;
  /** How often consumed events are deleted from disk (default 2000 ms). */
  cleanupIntervalMs?: number;
  /** WAL frames (4 KiB pages) past which the WAL is started again from its beginning (default 16,384: 64 MiB). */
  walRestartFrames?: number;
  /** How often the checkpoint worker copies the WAL into the database file (default 500 ms). */
  checkpointIntervalMs?: number;
  timers?: StoreTimers;
  /** Write latency and group-commit size (default none). */
  metrics?: StoreMetrics;
}

/**
 * The format of the data directory's database, kept in SQLite's `user_version`. Format 1 is the unversioned layout
 * of the first releases (user_version 0 with the tables present). Bump it with every change of the layout and add the
 * step from the previous format to {@link MIGRATIONS}.
 */
export const STORE_FORMAT = 5;

/** Dead letters, per log; `origin` (the log record) keeps a redelivered record from being kept twice per group. */
const DEAD_LETTERS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, log TEXT NOT NULL, grp TEXT NOT NULL, origin TEXT,
    attrs TEXT NOT NULL, data BLOB, reason TEXT NOT NULL, attempts INTEGER NOT NULL, first_at INTEGER, last_at INTEGER NOT NULL,
    stored_at INTEGER NOT NULL, replays INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS dead_letters_log ON dead_letters(log, id);
  CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_origin ON dead_letters(log, grp, origin);
`;

/** Delivered events kept for replays (brokers with an archive), with their acceptance time. */
const ARCHIVE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS archive (seq INTEGER PRIMARY KEY, log TEXT NOT NULL, attrs TEXT NOT NULL, data BLOB, at INTEGER NOT NULL, bytes INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS archive_log_seq ON archive(log, seq);
  CREATE INDEX IF NOT EXISTS archive_log_at ON archive(log, at);
`;

/**
 * The log itself (format 5). An event's position is the table's rowid, assigned by the store, with neither
 * AUTOINCREMENT nor a `(log, seq)` index: each of them wrote one more page per commit (the `sqlite_sequence` row and
 * the index's leaf). Positions are never reused: `sequences` keeps the highest position assigned once the cleanup has
 * deleted the newest rows (see #deleteSlice), and the store starts after the higher of it and the newest row.
 */
const EVENTS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, log TEXT NOT NULL, attrs TEXT NOT NULL, data BLOB);
  CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
  INSERT OR IGNORE INTO sequences (name, seq) VALUES ('events', 0);
`;

/** The layout of a new database, at {@link STORE_FORMAT}. */
const SCHEMA = `${EVENTS_SCHEMA}
  CREATE TABLE IF NOT EXISTS groups (grp TEXT PRIMARY KEY, log TEXT NOT NULL, cursor INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS retries (id INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL, due_at INTEGER NOT NULL, attrs TEXT NOT NULL, data BLOB, ordered INTEGER NOT NULL DEFAULT 0, first_at INTEGER);
  CREATE INDEX IF NOT EXISTS retries_grp_due ON retries(grp, due_at);
${DEAD_LETTERS_SCHEMA}${ARCHIVE_SCHEMA}`;

/** Step k turns format k+1 into format k+2, inside the migration's transaction. */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  // 1 → 2: retries of ordered groups are kept in place (later records with the same key wait behind them), so they
  // are marked and never picked up by the unordered retry scheduler. Builds between the two formats added the column
  // without recording a format, hence the check.
  (db) => {
    if (
      !db
        .prepare<[], { name: string }>('PRAGMA table_info(retries)')
        .all()
        .some((c) => c.name === 'ordered')
    ) {
      db.exec('ALTER TABLE retries ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0');
    }
  },
  // 2 → 3: the dead-letter store, and the time of a retried record's first attempt.
  (db) => {
    db.exec('ALTER TABLE retries ADD COLUMN first_at INTEGER');
    db.exec(DEAD_LETTERS_SCHEMA);
  },
  // 3 → 4: the archive of delivered events.
  (db) => db.exec(ARCHIVE_SCHEMA),
  // 4 → 5: the events table keyed by its rowid, without AUTOINCREMENT and without the (log, seq) index; the highest
  // position AUTOINCREMENT had handed out (its rows may have been cleaned up since) moves to `sequences`.
  (db) => {
    const highest = db.prepare<[], { seq: number }>("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), coalesce((SELECT max(seq) FROM events), 0)) AS seq").get()!.seq;
    db.exec('ALTER TABLE events RENAME TO events_format_4');
    db.exec(EVENTS_SCHEMA);
    db.exec('INSERT INTO events (seq, log, attrs, data) SELECT seq, log, attrs, data FROM events_format_4 ORDER BY seq');
    db.exec('DROP TABLE events_format_4'); // its index and its sqlite_sequence row go with it
    db.prepare<[number]>("UPDATE sequences SET seq = ? WHERE name = 'events'").run(highest);
  },
];

/**
 * Brings a database to {@link STORE_FORMAT} (an empty one gets the whole layout), or refuses one written by a newer
 * Sluice. A migration runs in one transaction (a crash leaves the old format, migrated again at the next open) and is
 * logged with the formats, the events carried over and its duration.
 */
export function migrate(db: Database.Database, path: string, logger: Logger = noopLogger): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > STORE_FORMAT) {
    throw new SluiceError(
      'SLUICE_STORE_FORMAT_TOO_NEW',
      `the data directory's store ${path} has format ${version}, written by a newer Sluice; this Sluice reads formats up to ${STORE_FORMAT}. Run the newer Sluice (or use another --data-dir): nothing was changed`,
      { details: { format: version, supported: STORE_FORMAT } },
    );
  }
  if (version === STORE_FORMAT) return;
  const hasTables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() as { n: number };
  const started = performance.now();
  const events = db.transaction(() => {
    let carried: number | undefined;
    if (hasTables.n === 0) {
      db.exec(SCHEMA);
    } else {
      for (let from = Math.max(version, 1); from < STORE_FORMAT; from++) MIGRATIONS[from - 1]!(db);
      carried = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    }
    db.pragma(`user_version = ${STORE_FORMAT}`);
    return carried;
  })();
  if (events !== undefined) {
    const from = Math.max(version, 1);
    logger.info({ path, from, to: STORE_FORMAT, events, ms: Math.round(performance.now() - started) }, `store migrated from format ${from} to ${STORE_FORMAT}: ${events} events kept`);
  }
}

/** The statements the store runs, prepared once on its connection. */
function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare<[string, string, Buffer | null, number]>('INSERT INTO events(log, attrs, data, seq) VALUES (?, ?, ?, ?)'),
    lastSeq: db.prepare<[], { seq: number }>("SELECT max(coalesce((SELECT seq FROM sequences WHERE name = 'events'), 0), coalesce((SELECT max(seq) FROM events), 0)) AS seq"),
    // Kept with the cleanup's delete when it removed the newest row, so that position is never handed out again.
    keepLastSeq: db.prepare<[number, number]>(
      "INSERT INTO sequences (name, seq) SELECT 'events', ? WHERE coalesce((SELECT max(seq) FROM events), 0) < ? ON CONFLICT (name) DO UPDATE SET seq = excluded.seq WHERE seq < excluded.seq",
    ),
    getGroup: db.prepare<[string], { log: string; cursor: number }>('SELECT log, cursor FROM groups WHERE grp = ?'),
    putGroup: db.prepare<[string, string, number]>('INSERT INTO groups(grp, log, cursor) VALUES (?, ?, ?) ON CONFLICT(grp) DO UPDATE SET log = excluded.log, cursor = excluded.cursor'),
    setCursor: db.prepare<[number, string]>('UPDATE groups SET cursor = ? WHERE grp = ?'),
    groupsOf: db.prepare<[string], { grp: string; cursor: number }>('SELECT grp, cursor FROM groups WHERE log = ?'),
    deleteGroup: db.prepare<[string]>('DELETE FROM groups WHERE grp = ?'),
    deleteGroupRetries: db.prepare<[string]>('DELETE FROM retries WHERE grp = ?'),
    readSlice: db.prepare<[string, number, number], StoredRow>('SELECT seq, attrs, data FROM events WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?'),
    groupRetries: db.prepare<[string], RetryRow>('SELECT id, seq, attempt, due_at, attrs, data, first_at FROM retries WHERE grp = ? ORDER BY seq'),
    insertRetry: db.prepare<[string, number, number, number, string, Buffer | null, number | null]>(
      'INSERT INTO retries(grp, seq, attempt, due_at, attrs, data, first_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    insertDeadLetter: db.prepare<[string, string, string | null, string, Buffer | null, string, number, number | null, number, number, number]>(
      'INSERT OR IGNORE INTO dead_letters(log, grp, origin, attrs, data, reason, attempts, first_at, last_at, stored_at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getDeadLetter: db.prepare<[string, number], DeadLetterRow & { bytes: number }>('SELECT * FROM dead_letters WHERE log = ? AND id = ?'),
    mirrorDeadLetter: db.prepare<[number, string, string, string | null, string, Buffer | null, string, number, number | null, number, number, number, number]>(
      'INSERT OR IGNORE INTO dead_letters(id, log, grp, origin, attrs, data, reason, attempts, first_at, last_at, stored_at, replays, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    replaceMirroredDeadLetter: db.prepare<[string, Buffer | null, string, number, number | null, number, number, number, number, string, number]>(
      'UPDATE dead_letters SET attrs = ?, data = ?, reason = ?, attempts = ?, first_at = ?, last_at = ?, stored_at = ?, replays = ?, bytes = ? WHERE log = ? AND id = ?',
    ),
    listDeadLetters: db.prepare<[string, number, string | null, string | null, number, number, number], DeadLetterRow>(
      'SELECT * FROM dead_letters WHERE log = ? AND id > ? AND (? IS NULL OR grp = ?) AND stored_at BETWEEN ? AND ? ORDER BY id LIMIT ?',
    ),
    updateDeadLetter: db.prepare<[string, Buffer | null, string, number, number | null, number, number, number, string, number]>(
      'UPDATE dead_letters SET attrs = ?, data = ?, reason = ?, attempts = ?, first_at = ?, last_at = ?, stored_at = ?, replays = replays + 1, bytes = ? WHERE log = ? AND id = ?',
    ),
    deleteDeadLetter: db.prepare<[string, number], { bytes: number }>('DELETE FROM dead_letters WHERE log = ? AND id = ? RETURNING bytes'),
    oldestDeadLetters: db.prepare<[string, number], { id: number; bytes: number }>('SELECT id, bytes FROM dead_letters WHERE log = ? ORDER BY id LIMIT ?'),
    expiredDeadLetters: db.prepare<[string, number], { n: number; bytes: number }>('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM dead_letters WHERE log = ? AND stored_at < ?'),
    deleteExpiredDeadLetters: db.prepare<[string, number]>('DELETE FROM dead_letters WHERE log = ? AND stored_at < ?'),
    deadLetterTotals: db.prepare<[string], { n: number; bytes: number }>('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM dead_letters WHERE log = ?'),
    deadLetterLogs: db.prepare<[], { log: string }>('SELECT DISTINCT log FROM dead_letters'),
    updateRetry: db.prepare<[number, number, number]>('UPDATE retries SET attempt = ?, due_at = ? WHERE id = ?'),
    updateRetryEvent: db.prepare<[number, number, string, Buffer | null, number]>('UPDATE retries SET attempt = ?, due_at = ?, attrs = ?, data = ? WHERE id = ?'),
    deleteRetry: db.prepare<[number]>('DELETE FROM retries WHERE id = ?'),
    dueRetries: db.prepare<[string, number, number], RetryRow>(
      'SELECT id, seq, attempt, due_at, attrs, data, first_at FROM retries WHERE grp = ? AND ordered = 0 AND due_at <= ? ORDER BY due_at LIMIT ?',
    ),
    nextRetry: db.prepare<[string], { due_at: number }>('SELECT min(due_at) AS due_at FROM retries WHERE grp = ? AND ordered = 0'),
    keyedRetries: db.prepare<[string], RetryRow>('SELECT id, seq, attempt, due_at, attrs, data, first_at FROM retries WHERE grp = ? AND ordered = 1'),
    insertKeyedRetry: db.prepare<[string, number, number, number, string, Buffer | null, number | null]>(
      'INSERT INTO retries(grp, seq, attempt, due_at, attrs, data, first_at, ordered) VALUES (?, ?, ?, ?, ?, ?, ?, 1)',
    ),
    deleteKeyedRetry: db.prepare<[string, number]>('DELETE FROM retries WHERE grp = ? AND seq = ? AND ordered = 1'),
    deleteKeyedRetries: db.prepare<[string]>('DELETE FROM retries WHERE grp = ? AND ordered = 1'),
    countRetries: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM retries WHERE grp IN (SELECT grp FROM groups WHERE log = ?)'),
    countAfter: db.prepare<[string, number], { n: number }>('SELECT count(*) AS n FROM events WHERE log = ? AND seq > ?'),
    countBetween: db.prepare<[string, number, number], { n: number }>('SELECT count(*) AS n FROM events WHERE log = ? AND seq > ? AND seq <= ?'),
    countGroupRetries: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM retries WHERE grp = ? AND ordered = 0'),
    oldestRetry: db.prepare<[string], { at: number | null }>('SELECT min(first_at) AS at FROM retries WHERE grp = ? AND ordered = 0'),
    // What every group of the log finished. A log without groups keeps nothing: a group created later starts after
    // everything accepted so far.
    cleanupBound: db.prepare<[number, string], { bound: number }>('SELECT coalesce(min(cursor), ?) AS bound FROM groups WHERE log = ?'),
    // A slice of the rows of `log` after `from` (below it the log holds nothing: see #cleanedTo) up to that bound, as
    // [seq, data bytes]; `cleanup` then deletes the range they span, which holds no other row of the log. Half the cost
    // per row of one DELETE … RETURNING of the same rows (bench/cleanup-slices.mjs).
    cleanupSlice: db
      .prepare<[string, number, number, number], [seq: number, bytes: number]>('SELECT seq, coalesce(length(data), 0) FROM events WHERE log = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?')
      .raw(true),
    cleanup: db.prepare<[number, number, string]>('DELETE FROM events WHERE seq >= ? AND seq <= ? AND log = ?'),
    // The same selection as `cleanupSlice`, in the same transaction: what is about to be deleted is archived first.
    archiveMove: db.prepare<[number, string, number, number, number]>(
      "INSERT OR IGNORE INTO archive(seq, log, attrs, data, at, bytes) SELECT seq, log, attrs, data, coalesce(CAST(unixepoch(json_extract(attrs, '$.knativearrivaltime'), 'subsec') * 1000 AS INTEGER), ?), length(attrs) + coalesce(length(data), 0) FROM events WHERE log = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
    ),
    archiveRead: db.prepare<[string, number, number, number, number], StoredRow & { at: number }>(
      'SELECT seq, attrs, data, at FROM archive WHERE log = ? AND seq > ? AND at BETWEEN ? AND ? ORDER BY seq LIMIT ?',
    ),
    archiveTotals: db.prepare<[string], { n: number; bytes: number }>('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM archive WHERE log = ?'),
    archiveOldest: db.prepare<[string, number], { seq: number; bytes: number }>('SELECT seq, bytes FROM archive WHERE log = ? ORDER BY seq LIMIT ?'),
    archiveDelete: db.prepare<[number]>('DELETE FROM archive WHERE seq = ?'),
    archiveExpired: db.prepare<[string, number], { n: number; bytes: number }>('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM archive WHERE log = ? AND at < ?'),
    archiveExpire: db.prepare<[string, number]>('DELETE FROM archive WHERE log = ? AND at < ?'),
    // Every log in one pass: the table has no index by log, so a query per log would read the whole table each time.
    logs: db.prepare<[], { log: string; events: number; bytes: number; first: number }>(
      'SELECT log, count(*) AS events, coalesce(sum(length(data)), 0) AS bytes, min(seq) AS first FROM events GROUP BY log',
    ),
  };
}

const REAL_TIMERS: StoreTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Default bounds, documented in docs/security.md. The tail cache holds 1,024 events, not 8,192: every cached event
 * outlives the young generation, and the old generation's mark-compacts, which mark all of them, held the event loop
 * for 5–17 ms every few seconds once a process had run for a while (docs/benchmarks.md, "A process that has run a while").
 */
export const STORE_LIMIT_DEFAULTS = { tailCacheSize: 1024, tailCacheBytes: 64 * 1024 * 1024, maxBacklogEvents: 100_000, maxBacklogBytes: 1024 * 1024 * 1024 } as const;

/** How long appends are refused after the disk was found full, so cursor and retry writes can go through. */
const FULL_COOLDOWN_MS = 1000;
/**
 * Rows one cleanup slice deletes: about 0.4 ms of the event loop for 1 KiB events, where 500 held it for about 2 ms
 * at no lower cost per row (bench/cleanup-slices.mjs, docs/benchmarks.md).
 */
const CLEANUP_SLICE_ROWS = 100;
/** Slices per cleanup pass: up to 50,000 delivered events freed every pass, as before the slicing. */
const CLEANUP_MAX_SLICES = 500;
/** How often the checkpoint worker copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 500;
/** WAL frames (4 KiB pages) past which the checkpoint worker has the WAL started again from its beginning: 64 MiB. */
const WAL_RESTART_FRAMES = 16_384;
/**
 * fdatasyncs of the write-ahead log that may run at once. A commit made while one runs starts a second one instead of
 * waiting for the first to come back and then paying a whole sync of its own (measured with bench/disk-sync.mjs).
 */
const SYNCS_IN_FLIGHT = 2;
/** Payload bytes read from the database in one batch for a consumer (at least one row). */
const READ_BATCH_BYTES = 8 * 1024 * 1024;

const recoverySteps = (path: string): string => {
  const dir = dirname(path);
  return `Stop Sluice, then \`sluice store check --data-dir '${dir}'\` says what is wrong and \`sluice store salvage --data-dir '${dir}'\` copies every readable event, dead letter and group offset into a new store, keeping the old file beside it; or move the file aside (with its -wal and -shm files) to start empty (docs/security.md).`;
};

function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}

const payloadBytes = (e: CloudEvent): number => e.data?.length ?? 0;

/**
 * A log's newest records in memory, in commit order: every record committed after `floor` (or, before anything was
 * dropped, from the first record on), so a consumer reading after `floor` skips the database. Records every running
 * consumer group has read are dropped after each commit (and at each cleanup pass, for a log gone quiet), so an event
 * delivered at the tail dies young (the garbage collector frees it in the young generation instead of promoting it),
 * and a lagging group keeps at most the cache's bounds.
 */
interface Tail {
  records: LogRecord[];
  bytes: number;
  floor: number | undefined;
}

interface Backlog {
  events: number;
  bytes: number;
}

interface PendingAppend {
  log: string;
  events: readonly CloudEvent[];
  /** performance.now() when the append was handed to the store (write latency). */
  at: number;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface CommittedBatch {
  pending: PendingAppend[];
  appended: Array<{ log: string; records: LogRecord[] }>;
}

interface StoredRow {
  seq: number;
  attrs: string;
  data: Buffer | null;
}

interface RetryRow extends StoredRow {
  id: number;
  attempt: number;
  due_at: number;
  first_at: number | null;
}

interface DeadLetterRow {
  id: number;
  grp: string;
  attrs: string;
  data: Buffer | null;
  reason: string;
  attempts: number;
  first_at: number | null;
  last_at: number;
  stored_at: number;
  replays: number;
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    group: row.grp,
    event: { attributes: JSON.parse(row.attrs) as Record<string, AttributeValue>, data: row.data ?? undefined },
    reason: row.reason,
    attempts: row.attempts,
    firstAttemptAt: row.first_at ?? undefined,
    lastAttemptAt: row.last_at,
    storedAt: row.stored_at,
    replays: row.replays,
  };
}

const sizeOf = (attrs: string, data: Buffer | null): number => attrs.length + (data?.length ?? 0);

function toRecord(row: StoredRow, attempt: number): LogRecord {
  return {
    seq: row.seq,
    attempt,
    event: { attributes: JSON.parse(row.attrs) as Record<string, AttributeValue>, data: row.data ?? undefined },
  };
}

function retryRecord(row: RetryRow): LogRecord {
  const record = toRecord(row, row.attempt);
  return row.first_at === null ? record : { ...record, firstAttemptAt: row.first_at };
}

/**
 * The embedded, durable default store: one SQLite database in WAL mode. Appends are group-committed (every append
 * waiting when a commit starts shares its fsync); consumer cursors and retry schedules ride along in the same
 * transactions, so a crash at any moment loses no accepted event and no pending retry.
 */
export class SqliteEventStore implements EventStore, DeadLetterStore, EventArchive {
  readonly #db: Database.Database;
  readonly #dlRetention = new Map<string, DeadLetterRetention>();
  /** Bytes of dead letters per log (read from the database on first use). */
  readonly #dlBytes = new Map<string, number>();
  readonly #dlDropped = new Map<string, number>();
  readonly #archives = new Map<string, ArchiveRetention>();
  /** Bytes archived per log (read from the database on first use). */
  readonly #archiveBytes = new Map<string, number>();
  readonly #timers: StoreTimers;
  readonly #metrics: StoreMetrics | undefined;
  readonly #tailCacheSize: number;
  readonly #tailCacheBytes: number;
  readonly #maxBacklogEvents: number;
  readonly #maxBacklogBytes: number;
  /** Rows on disk per log (plus appends waiting for their commit), for the backlog bound. */
  readonly #backlog = new Map<string, Backlog>();
  /** The newest position when #backlog and #cleanedTo were read from disk (once: the first append or cleanup). */
  #logsReadAt: number | undefined;
  readonly #logger: Logger;
  /** Until when appends are refused because the disk was full. */
  #fullUntil = 0;
  #lastCleanupError = 0;
  readonly #reservePath: string | undefined;
  readonly #reserveBytes: number;
  /** Whether the reserve file was given up to a full disk and must be put back. */
  #reserveReleased = false;
  readonly #maxPending: number;
  readonly #durable: boolean;
  readonly #walPath: string | undefined;
  #walFd: number | undefined;
  /** Committed batches waiting for the next fdatasync of the write-ahead log. */
  #syncQueue: CommittedBatch[] = [];
  /** fdatasyncs running, oldest first, each with the batches committed before it started and not yet acknowledged. */
  #syncs: Array<{ batches: CommittedBatch[] }> = [];
  /** fdatasyncs whose callback has not come back (may exceed #syncs: a later sync can acknowledge an earlier one's batches). */
  #syncsRunning = 0;
  #syncIdle: Array<() => void> = [];
  readonly #tails = new Map<string, Tail>();
  readonly #workers = new Map<string, GroupWorker>();
  readonly #retained = new Set<string>();
  #pending: PendingAppend[] = [];
  #pendingEvents = 0;
  #cursorUpdates = new Map<string, number>();
  #retryOps: Array<() => void> = [];
  #flushScheduled = false;
  #lazyFlushTimer: unknown;
  /** True while the checkpoint worker copies the last WAL frames so the WAL can start again (see WalCheckpointer). */
  #commitsHeld = false;
  /** A scheduled flush that waited for the hold to end. */
  #flushOnRelease = false;
  /** The cleanup slice that waited for the hold to end. */
  #cleanupOnRelease: (() => void) | undefined;
  #cleanupTimer: NodeJS.Timeout;
  /** True while a cleanup pass is deleting its slices (one slice per event-loop turn). */
  #cleaning = false;
  readonly #checkpointer: WalCheckpointer | undefined;
  #closed = false;
  /** Highest sequence number handed to consumers per log (at their commit: see #afterCommit); rows above it are not published yet. */
  readonly #published = new Map<string, number>();
  /** Highest sequence number when the store opened: everything up to it counts as published. */
  #openedAt = 0;
  /** Highest sequence number assigned to a committed row (kept on disk by the newest row or by `sequences`). */
  #lastSeq = 0;
  /**
   * Per log, a position at or below which the log has no rows left: where its next cleanup slice starts. New rows
   * always get positions above every position handed out, so nothing of the log ever appears below it again.
   */
  readonly #cleanedTo = new Map<string, number>();
  readonly #stmt: ReturnType<typeof prepareStatements>;
  readonly #readIter: Database.Statement<[string, number], StoredRow>;
  /**
   * The group commit's transaction, wrapped once: better-sqlite3's `db.transaction(fn)` builds four wrapper functions
   * and defines their properties on every call, which cost more per commit than the commit's own statements.
   */
  readonly #commit: (pending: readonly PendingAppend[], cursors: ReadonlyMap<string, number>, retryOps: ReadonlyArray<() => void>, appendedAt: number) => CommittedBatch['appended'];

  constructor(options: SqliteEventStoreOptions) {
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#metrics = options.metrics;
    this.#tailCacheSize = options.tailCacheSize ?? STORE_LIMIT_DEFAULTS.tailCacheSize;
    this.#tailCacheBytes = options.tailCacheBytes ?? STORE_LIMIT_DEFAULTS.tailCacheBytes;
    this.#maxBacklogEvents = options.maxBacklogEvents ?? STORE_LIMIT_DEFAULTS.maxBacklogEvents;
    this.#maxBacklogBytes = options.maxBacklogBytes ?? STORE_LIMIT_DEFAULTS.maxBacklogBytes;
    this.#logger = options.logger ?? noopLogger;
    this.#reserveBytes = options.diskReserveBytes ?? 8 * 1024 * 1024;
    this.#maxPending = options.maxPendingEvents ?? 100_000;
    this.#durable = (options.durability ?? 'fsync') === 'fsync';
    this.#walPath = this.#durable && options.path !== ':memory:' && options.path !== '' ? `${options.path}-wal` : undefined;
    const onDisk = options.path !== ':memory:' && options.path !== '';
    this.#reservePath = onDisk && this.#reserveBytes > 0 ? `${options.path}.reserve` : undefined;
    // SQLite treats an empty file as a new database; but an empty file where the store was is a truncated or replaced
    // store, and starting empty would silently drop every accepted event.
    if (onDisk && existsSync(options.path) && statSync(options.path).size === 0) {
      throw new SluiceError('SLUICE_STORE_CORRUPT', `the store at ${options.path} is an empty file: it was truncated or replaced. ${recoverySteps(options.path)}`);
    }
    const Sqlite = sqliteLibrary(`the store at ${options.path}`);
    try {
      this.#db = new Sqlite(options.path);
    } catch (err) {
      throw new SluiceError('SLUICE_STORE_OPEN_FAILED', `cannot open the store at ${options.path}: ${(err as Error).message}`, { cause: err });
    }
    const db = this.#db;
    if (onDisk) {
      // Events may carry secrets: only the owner reads the store. SQLite gives the -wal and -shm files the mode of
      // the database file; existing ones are fixed too.
      for (const f of [options.path, `${options.path}-wal`, `${options.path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      try {
        const problems = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>;
        if (problems.length !== 1 || problems[0]!.quick_check !== 'ok') {
          throw new Error(
            problems
              .slice(0, 3)
              .map((p) => p.quick_check)
              .join('; '),
          );
        }
      } catch (err) {
        db.close();
        throw new SluiceError('SLUICE_STORE_CORRUPT', `the store at ${options.path} is corrupt (${(err as Error).message}). ${recoverySteps(options.path)}`, { cause: err });
      }
    }
    try {
      migrate(db, options.path, this.#logger); // before anything else writes to the file: a newer format is left exactly as it is
    } catch (err) {
      db.close();
      throw err;
    }
    db.pragma('journal_mode = WAL');
    if (this.#reservePath !== undefined && !existsSync(this.#reservePath)) this.#restoreReserve();
    // NORMAL: SQLite does not fsync on commit; the store syncs the WAL itself, off the event loop (see #afterCommit).
    db.pragma(`synchronous = ${this.#durable ? 'NORMAL' : 'OFF'}`);
    if (onDisk) {
      // An automatic checkpoint runs inside the commit that crosses 1000 WAL pages: it copies them into the database
      // file and fsyncs it, on the event loop (measured as the largest event-loop stalls under steady load). A worker
      // thread checkpoints instead; while its checkpoints fail, the automatic checkpoint comes back so the WAL cannot grow.
      db.pragma('wal_autocheckpoint = 0');
      const frameBytes = (db.pragma('page_size', { simple: true }) as number) + 24; // a WAL frame: its header and one page
      this.#checkpointer = new WalCheckpointer(options.path, {
        intervalMs: options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
        restartFrames: options.walRestartFrames ?? WAL_RESTART_FRAMES,
        hold: (held) => this.#holdCommits(held),
        onCheckpoint: (frames, restarted) => this.#metrics?.checkpoint(frames * frameBytes, restarted),
        onError: (message, lasting) => {
          if (!this.#closed) db.pragma('wal_autocheckpoint = 1000');
          this.#logRateLimited(
            new Error(message),
            lasting ? 'WAL checkpoint worker failed; checkpoints run on commit from now on' : 'WAL checkpoint failed; checkpoints run on commit until the next one succeeds',
          );
        },
        onRecovered: () => {
          if (this.#closed) return;
          db.pragma('wal_autocheckpoint = 0');
          this.#logger.info({}, 'WAL checkpoints run on their worker thread again');
        },
      });
    }
    this.#stmt = prepareStatements(db);
    // Iterated with a byte budget (see readAfter), so a backlog of large events is never read 512 at a time.
    this.#readIter = db.prepare<[string, number], StoredRow>('SELECT seq, attrs, data FROM events WHERE log = ? AND seq > ? ORDER BY seq');
    const insert = this.#stmt.insert;
    const setCursor = this.#stmt.setCursor;
    this.#commit = db.transaction((pending: readonly PendingAppend[], cursors: ReadonlyMap<string, number>, retryOps: ReadonlyArray<() => void>, appendedAt: number) => {
      const appended: CommittedBatch['appended'] = [];
      // Positions follow the store's counter, not SQLite's max(rowid) + 1, which would reuse the positions of the
      // newest rows once the cleanup deleted them. The counter moves only when the transaction commits (#flushNow).
      let seq = this.#lastSeq;
      for (const p of pending) {
        const records: LogRecord[] = [];
        for (const event of p.events) {
          insert.run(p.log, JSON.stringify(event.attributes), event.data ?? null, ++seq);
          records.push({ seq, event, attempt: 0, appendedAt });
        }
        appended.push({ log: p.log, records });
      }
      for (const [group, cursor] of cursors) setCursor.run(cursor, group);
      for (const op of retryOps) op();
      return appended;
    });
    this.#lastSeq = this.#stmt.lastSeq.get()?.seq ?? 0;
    this.#openedAt = this.#lastSeq;
    this.#cleanupTimer = setInterval(() => this.#cleanup(), options.cleanupIntervalMs ?? 2000);
    this.#cleanupTimer.unref();
  }

  append(log: string, events: readonly CloudEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new SluiceError('SLUICE_STORE_CLOSED', 'the store is closed', { retryable: true }));
    if (this.#pendingEvents + events.length > this.#maxPending) {
      return Promise.reject(new SluiceError('SLUICE_STORE_OVERLOADED', 'too many events waiting to be stored', { retryable: true }));
    }
    if (this.#fullUntil > 0 && this.#timers.now() < this.#fullUntil) {
      return Promise.reject(new SluiceError('SLUICE_STORE_FULL', 'the disk of the store is full; retrying shortly', { retryable: true }));
    }
    let bytes = 0;
    for (const e of events) bytes += payloadBytes(e);
    const backlog = this.#backlogOf(log);
    if ((this.#maxBacklogEvents > 0 && backlog.events + events.length > this.#maxBacklogEvents) || (this.#maxBacklogBytes > 0 && backlog.bytes + bytes > this.#maxBacklogBytes && backlog.events > 0)) {
      return Promise.reject(
        new SluiceError(
          'SLUICE_STORE_BACKLOG_FULL',
          `the broker's backlog is full (${backlog.events} events, ${backlog.bytes} bytes not yet delivered to every trigger; limits ${this.#maxBacklogEvents} events, ${this.#maxBacklogBytes} bytes)`,
          { retryable: true },
        ),
      );
    }
    backlog.events += events.length;
    backlog.bytes += bytes;
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ log, events, bytes, at: this.#metrics ? performance.now() : 0, resolve, reject });
      this.#pendingEvents += events.length;
      this.#scheduleFlush(true);
    });
  }

  /**
   * Reads, once, what the rows on disk are per log, in one pass over the table: each log's events and payload bytes
   * (the backlog bound) and its oldest position (where its cleanup starts). A log that had no rows then has none
   * below the newest position then (#logsReadAt).
   */
  #readLogs(): void {
    if (this.#logsReadAt !== undefined) return;
    this.#logsReadAt = this.#lastSeq;
    for (const row of this.#stmt.logs.all()) {
      this.#backlog.set(row.log, { events: row.events, bytes: row.bytes });
      this.#cleanedTo.set(row.log, row.first - 1);
    }
  }

  /** Events and payload bytes of a log on disk or waiting for their commit. */
  #backlogOf(log: string): Backlog {
    this.#readLogs();
    let b = this.#backlog.get(log);
    if (!b) {
      b = { events: 0, bytes: 0 };
      this.#backlog.set(log, b);
    }
    return b;
  }

  /** The highest sequence number ever assigned (0 for an empty store). */
  lastSeq(): number {
    return this.#lastSeq;
  }

  consume(log: string, group: string, options: ConsumeOptions, handler: RecordHandler): Consumer {
    if (this.#workers.has(group)) throw new SluiceError('SLUICE_STORE_GROUP_BUSY', `consumer group ${group} is already running`);
    const existing = this.#stmt.getGroup.get(group);
    let cursor: number;
    if (existing && existing.log === log) {
      cursor = existing.cursor;
    } else {
      this.#flushNow(); // a new group starts after everything accepted so far
      cursor = this.lastSeq();
      this.#stmt.putGroup.run(group, log, cursor);
    }
    const worker = new GroupWorker(this, log, group, cursor, options, handler, this.#timers);
    this.#workers.set(group, worker);
    worker.start();
    return {
      close: async (timeoutMs) => {
        await worker.close(timeoutMs ?? 10_000);
        this.#workers.delete(group);
        this.#flushNow();
      },
    };
  }

  /**
   * Running groups answer from counters kept as records are appended, handed out and finished (no scan); groups
   * that are configured but not running in this process are counted in the database.
   */
  stats(log: string): LogStats {
    const groups: Record<string, GroupStats> = {};
    let backlog = 0;
    let retrying = 0;
    for (const g of this.#stmt.groupsOf.all(log)) {
      const worker = this.#workers.get(g.grp);
      if (worker) {
        const s = worker.stats();
        groups[g.grp] = s;
        backlog = Math.max(backlog, worker.pendingAfterCursor());
        retrying += s.retrying + worker.retriesInFlight();
      } else {
        backlog = Math.max(backlog, this.#stmt.countAfter.get(log, g.cursor)?.n ?? 0);
        retrying += this.#stmt.countGroupRetries.get(g.grp)?.n ?? 0;
      }
    }
    return { backlog, retrying, groups };
  }

  ready(log: string): Promise<void> {
    this.#retained.add(log); // the caller has started its groups: cleanup may remove what they all finished
    return Promise.resolve();
  }

  groups(log: string): string[] {
    this.#flushNow();
    return this.#stmt.groupsOf.all(log).map((g) => g.grp);
  }

  forgetGroups(log: string, groups: readonly string[], options: ForgetOptions = {}): Promise<ForgottenGroup[]> {
    const forget = new Set(groups);
    for (const g of forget) {
      if (this.#workers.has(g)) return Promise.reject(new SluiceError('SLUICE_STORE_GROUP_BUSY', `consumer group ${g} is running; close it before forgetting it`));
    }
    this.#flushNow();
    const now = this.#timers.now();
    const out: ForgottenGroup[] = [];
    for (const g of this.#stmt.groupsOf.all(log)) {
      if (!forget.has(g.grp)) continue;
      let retries = 0;
      let backlog = 0;
      const filter = options.filters?.get(g.grp);
      // One transaction per group: the group is gone and what it owed is kept, or neither (a crash repeats it).
      this.#db.transaction(() => {
        for (const r of this.#stmt.groupRetries.all(g.grp)) {
          const record = retryRecord(r);
          this.#insertDeadLetter(log, g.grp, String(r.seq), { event: record.event, reason: 'trigger removed', attempts: r.attempt, firstAttemptAt: record.firstAttemptAt, lastAttemptAt: now });
          retries++;
        }
        if (filter) {
          // The backlog it had not read yet, as the group would have filtered it (read in slices: bounded memory).
          for (let after = g.cursor; ;) {
            const rows = this.#stmt.readSlice.all(log, after, 1000);
            for (const row of rows) {
              const { event } = toRecord(row, 0);
              if (safeFilter(filter, { seq: row.seq, attempt: 0, event })) {
                this.#insertDeadLetter(log, g.grp, String(row.seq), { event, reason: 'trigger removed', attempts: 0, firstAttemptAt: undefined, lastAttemptAt: now });
                backlog++;
              }
            }
            if (rows.length < 1000) break;
            after = rows[rows.length - 1]!.seq;
          }
        }
        this.#stmt.deleteGroup.run(g.grp);
        this.#stmt.deleteGroupRetries.run(g.grp);
      })();
      const unread = filter ? 0 : (this.#stmt.countAfter.get(log, g.cursor)?.n ?? 0);
      out.push({ group: g.grp, retries, backlog, unread, outcome: 'dead-letters' });
      if (retries + backlog + unread > 0) {
        this.#logger.warn(
          { log, group: g.grp, retries, backlog, unread },
          unread > 0
            ? `consumer group ${g.grp} forgotten: its ${retries} pending retries are kept in the dead-letter store; its ${unread} unread events (not known to match it) are not`
            : `consumer group ${g.grp} forgotten: its ${retries} pending retries and ${backlog} unread matching events are kept in the dead-letter store`,
        );
      }
    }
    return Promise.resolve(out);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#workers.values()].map((w) => w.close(10_000)));
    this.#workers.clear();
    this.#flushNow();
    if (this.#syncsRunning > 0) await new Promise<void>((resolve) => this.#syncIdle.push(resolve));
    this.#closed = true;
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    clearInterval(this.#cleanupTimer);
    if (this.#lazyFlushTimer !== undefined) this.#timers.clearTimeout(this.#lazyFlushTimer);
    await this.#checkpointer?.close();
    this.#db.close();
  }

  // ---- used by GroupWorker ----

  /** Records of `log` after `after` that consumers have been handed (published), counted once when a group starts. */
  countPublishedAfter(log: string, after: number): number {
    return this.#stmt.countBetween.get(log, after, this.#published.get(log) ?? this.#openedAt)?.n ?? 0;
  }

  /** Unordered retry rows of a group, counted once when it starts (pending retry changes are written first). */
  countRetries(group: string): number {
    this.flushRetries();
    return this.#stmt.countGroupRetries.get(group)?.n ?? 0;
  }

  /** First-attempt time of the group's oldest unordered retry row, if known. */
  oldestRetryAt(group: string): number | undefined {
    return this.#stmt.oldestRetry.get(group)?.at ?? undefined;
  }

  /** Reads records after `after`, from the in-memory tail when it covers the range. */
  readAfter(log: string, after: number, limit: number): LogRecord[] {
    const tail = this.#tails.get(log);
    const records = tail?.records;
    if (records && ((tail.floor !== undefined && after >= tail.floor) || (records.length > 0 && records[0]!.seq <= after + 1))) {
      let lo = 0;
      let hi = records.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (records[mid]!.seq <= after) lo = mid + 1;
        else hi = mid;
      }
      return records.slice(lo, lo + limit);
    }
    const out: LogRecord[] = [];
    let bytes = 0;
    for (const row of this.#readIter.iterate(log, after)) {
      out.push(toRecord(row, 0));
      bytes += row.data?.length ?? 0;
      if (out.length >= limit || bytes >= READ_BATCH_BYTES) break; // leaving the loop resets the statement
    }
    return out;
  }

  dueRetries(group: string, now: number, limit: number): Array<LogRecord & { retryId: number }> {
    return this.#stmt.dueRetries.all(group, now, limit).map((r) => ({ ...retryRecord(r), retryId: r.id }));
  }

  nextRetryAt(group: string): number | undefined {
    return this.#stmt.nextRetry.get(group)?.due_at ?? undefined;
  }

  commitCursor(group: string, cursor: number): void {
    this.#cursorUpdates.set(group, cursor);
    this.#scheduleFlush(false);
  }

  /** Records a disposition of a retried record (`retryId`) or schedules a first retry of a log record. */
  recordRetry(log: string, group: string, record: LogRecord, retryId: number | undefined, disposition: Disposition): void {
    if (disposition.kind === 'done' || disposition.kind === 'dead-letter') {
      if (retryId !== undefined) this.#retryOps.push(() => this.#stmt.deleteRetry.run(retryId));
      if (disposition.kind === 'dead-letter') {
        const letter = disposition;
        this.#retryOps.push(() => this.#insertDeadLetter(log, group, String(record.seq), letter));
      }
    } else if (retryId !== undefined && disposition.event === undefined) {
      this.#retryOps.push(() => this.#stmt.updateRetry.run(disposition.attempt, disposition.dueAt, retryId));
    } else if (retryId !== undefined) {
      const attrs = JSON.stringify(disposition.event!.attributes);
      const data = disposition.event!.data ?? null;
      this.#retryOps.push(() => this.#stmt.updateRetryEvent.run(disposition.attempt, disposition.dueAt, attrs, data, retryId));
    } else {
      const event = disposition.event ?? record.event;
      const attrs = JSON.stringify(event.attributes);
      const data = event.data ?? null;
      const first = disposition.firstAttemptAt ?? null;
      this.#retryOps.push(() => this.#stmt.insertRetry.run(group, record.seq, disposition.attempt, disposition.dueAt, attrs, data, first));
    }
    this.#scheduleFlush(false);
  }

  /**
   * Records the state of an ordered group's record that is retried in place: a retry (kept with its attempt, due time
   * and replacement event, so a restart resumes it) or done (forgotten). Rides in the next cursor commit.
   */
  recordKeyedRetry(group: string, record: LogRecord, disposition: Disposition): void {
    const { seq } = record;
    if (disposition.kind === 'retry') {
      const event = disposition.event ?? record.event;
      const attrs = JSON.stringify(event.attributes);
      const data = event.data ?? null;
      this.#retryOps.push(() => {
        this.#stmt.deleteKeyedRetry.run(group, seq);
        this.#stmt.insertKeyedRetry.run(group, seq, disposition.attempt, disposition.dueAt, attrs, data, disposition.firstAttemptAt ?? null);
      });
    } else {
      this.#retryOps.push(() => this.#stmt.deleteKeyedRetry.run(group, seq));
    }
    this.#scheduleFlush(false);
  }

  /** Retries of an ordered group kept in place, by log sequence (read when the group starts). */
  keyedRetries(group: string): Map<number, LogRecord & { dueAt: number }> {
    return new Map(this.#stmt.keyedRetries.all(group).map((r) => [r.seq, { ...retryRecord(r), dueAt: r.due_at }]));
  }

  /**
   * Forgets the in-place retries of a group that now runs unordered: its records are still ahead of the cursor and
   * are handed out again from the log (at attempt 0), so keeping the rows would deliver them twice.
   */
  dropKeyedRetries(group: string): void {
    this.#stmt.deleteKeyedRetries.run(group);
  }

  // ---- dead letters ----

  /** Inside a transaction: keeps one dead letter (once per group and origin), then enforces the size bound. */
  #insertDeadLetter(log: string, group: string, origin: string | null, letter: DeadLetterInput): void {
    const attrs = JSON.stringify(letter.event.attributes);
    const data = letter.event.data ?? null;
    const bytes = sizeOf(attrs, data);
    const now = this.#timers.now();
    const info = this.#stmt.insertDeadLetter.run(log, group, origin, attrs, data, letter.reason, letter.attempts, letter.firstAttemptAt ?? null, letter.lastAttemptAt, now, bytes);
    if (info.changes === 0) return; // already kept (redelivered after a crash)
    this.#dlBytes.set(log, this.#deadLetterBytes(log) + bytes);
    this.#enforceDeadLetterSize(log);
  }

  #deadLetterBytes(log: string): number {
    let bytes = this.#dlBytes.get(log);
    if (bytes === undefined) {
      bytes = this.#stmt.deadLetterTotals.get(log)?.bytes ?? 0;
      this.#dlBytes.set(log, bytes);
    }
    return bytes;
  }

  #retention(log: string): DeadLetterRetention {
    return this.#dlRetention.get(log) ?? DEFAULT_DEAD_LETTER_RETENTION;
  }

  /** A full dead-letter store drops its oldest letters (counted and logged); it never refuses a new one. */
  #enforceDeadLetterSize(log: string): void {
    const { maxBytes } = this.#retention(log);
    let bytes = this.#deadLetterBytes(log);
    if (bytes <= maxBytes) return;
    let dropped = 0;
    while (bytes > maxBytes) {
      const oldest = this.#stmt.oldestDeadLetters.all(log, 256);
      if (oldest.length === 0) break;
      for (const row of oldest) {
        if (bytes <= maxBytes) break;
        this.#stmt.deleteDeadLetter.get(log, row.id);
        bytes -= row.bytes;
        dropped++;
      }
    }
    this.#dlBytes.set(log, Math.max(0, bytes));
    this.#countDropped(log, dropped, `the dead-letter store is over its size bound (${maxBytes} bytes)`);
  }

  #countDropped(log: string, n: number, why: string): void {
    if (n === 0) return;
    this.#dlDropped.set(log, (this.#dlDropped.get(log) ?? 0) + n);
    this.#logger.warn({ log, dropped: n, droppedTotal: this.#dlDropped.get(log) }, `dead letters dropped, oldest first: ${why}`);
  }

  async putDeadLetters(log: string, group: string, letters: ReadonlyArray<DeadLetterInput & { readonly origin?: string }>): Promise<void> {
    if (this.#closed) throw new SluiceError('SLUICE_STORE_CLOSED', 'the store is closed', { retryable: true });
    this.#db.transaction(() => {
      for (const l of letters) this.#insertDeadLetter(log, group, l.origin ?? null, l);
    })();
  }

  /**
   * Keeps `letter` under its own id (a copy of a dead-letter log shared by several instances, e.g. a Kafka-class
   * broker's dead-letter topic), replacing the content of a letter with that id; a new letter whose group and
   * `origin` are kept already (written twice after a crash) is not kept again. Then enforces the size bound. Returns
   * whether the letter is kept. The caller picks ids that cannot meet the store's own: negative ones, which
   * AUTOINCREMENT never hands out nor moves past.
   */
  mirrorDeadLetter(log: string, letter: DeadLetter, origin?: string): boolean {
    if (this.#closed) throw new SluiceError('SLUICE_STORE_CLOSED', 'the store is closed', { retryable: true });
    const attrs = JSON.stringify(letter.event.attributes);
    const data = letter.event.data ?? null;
    const bytes = sizeOf(attrs, data);
    return this.#db.transaction(() => {
      const before = this.#stmt.getDeadLetter.get(log, letter.id);
      const l = letter;
      if (before) {
        this.#stmt.replaceMirroredDeadLetter.run(attrs, data, l.reason, l.attempts, l.firstAttemptAt ?? null, l.lastAttemptAt, l.storedAt, l.replays, bytes, log, l.id);
      } else if (
        this.#stmt.mirrorDeadLetter.run(l.id, log, l.group, origin ?? null, attrs, data, l.reason, l.attempts, l.firstAttemptAt ?? null, l.lastAttemptAt, l.storedAt, l.replays, bytes).changes === 0
      ) {
        return false;
      }
      this.#dlBytes.set(log, this.#deadLetterBytes(log) - (before?.bytes ?? 0) + bytes);
      this.#enforceDeadLetterSize(log);
      return true;
    })();
  }

  listDeadLetters(log: string, query: DeadLetterQuery): DeadLetter[] {
    const group = query.group ?? null;
    return this.#stmt.listDeadLetters.all(log, query.afterId ?? 0, group, group, query.from ?? 0, query.to ?? Number.MAX_SAFE_INTEGER, query.limit).map(toDeadLetter);
  }

  getDeadLetter(log: string, id: number): DeadLetter | undefined {
    const row = this.#stmt.getDeadLetter.get(log, id);
    return row ? toDeadLetter(row) : undefined;
  }

  async returnDeadLetter(log: string, id: number, update: DeadLetterInput): Promise<void> {
    const attrs = JSON.stringify(update.event.attributes);
    const data = update.event.data ?? null;
    const bytes = sizeOf(attrs, data);
    this.#db.transaction(() => {
      const before = this.#stmt.getDeadLetter.get(log, id);
      if (!before) return;
      const first = update.firstAttemptAt ?? before.first_at;
      this.#stmt.updateDeadLetter.run(attrs, data, update.reason, update.attempts, first, update.lastAttemptAt, this.#timers.now(), bytes, log, id);
      this.#dlBytes.set(log, this.#deadLetterBytes(log) - before.bytes + bytes);
      this.#enforceDeadLetterSize(log);
    })();
  }

  async removeDeadLetters(log: string, ids: readonly number[]): Promise<number> {
    let removed = 0;
    this.#db.transaction(() => {
      for (const id of ids) {
        const row = this.#stmt.deleteDeadLetter.get(log, id);
        if (row) {
          removed++;
          this.#dlBytes.set(log, this.#deadLetterBytes(log) - row.bytes);
        }
      }
    })();
    return removed;
  }

  setDeadLetterRetention(log: string, retention: DeadLetterRetention): void {
    this.#dlRetention.set(log, retention);
    this.#db.transaction(() => this.#enforceDeadLetterSize(log))();
    this.#expireDeadLetters(log);
  }

  deadLetterStats(log: string): DeadLetterStats {
    const totals = this.#stmt.deadLetterTotals.get(log);
    return { count: totals?.n ?? 0, bytes: totals?.bytes ?? 0, dropped: this.#dlDropped.get(log) ?? 0 };
  }

  #expireDeadLetters(log: string): void {
    const cutoff = this.#timers.now() - this.#retention(log).maxAgeMs;
    const expired = this.#stmt.expiredDeadLetters.get(log, cutoff);
    if (!expired || expired.n === 0) return;
    this.#stmt.deleteExpiredDeadLetters.run(log, cutoff);
    this.#dlBytes.set(log, Math.max(0, this.#deadLetterBytes(log) - expired.bytes));
    this.#countDropped(log, expired.n, `older than the retention (${this.#retention(log).maxAgeMs} ms)`);
  }

  /**
   * One cleanup slice: deletes up to CLEANUP_SLICE_ROWS consumed events of `log`, in position order, moving them to
   * the archive first when the log has one. If that deleted the newest row of the table, the transaction keeps its
   * position in `sequences`: positions come from the newest row or from there, so a crash or a restart never hands
   * one out again. The slice reads the log from where the last one stopped (#cleanedTo): the table has no index by
   * log, and starting from the beginning each time would read other logs' undelivered rows again for every slice.
   */
  #deleteSlice(log: string): Array<[seq: number, bytes: number]> {
    this.#readLogs();
    const from = this.#cleanedTo.get(log) ?? this.#logsReadAt!;
    const bound = this.#stmt.cleanupBound.get(this.#lastSeq, log)!.bound;
    if (bound <= from) return [];
    const deleted = this.#db.transaction(() => {
      if (this.#archives.has(log)) {
        const moved = this.#stmt.archiveMove.run(this.#timers.now(), log, from, bound, CLEANUP_SLICE_ROWS).changes;
        if (moved > 0) this.#archiveBytes.delete(log); // recounted on the next trim
      }
      const rows = this.#stmt.cleanupSlice.all(log, from, bound, CLEANUP_SLICE_ROWS);
      if (rows.length === 0) return rows;
      this.#stmt.cleanup.run(rows[0]![0], rows[rows.length - 1]![0], log);
      this.#stmt.keepLastSeq.run(this.#lastSeq, this.#lastSeq);
      return rows;
    })();
    // A short slice deleted every row of the log up to the bound; a full one, every row up to its last.
    this.#cleanedTo.set(log, deleted.length < CLEANUP_SLICE_ROWS ? bound : deleted[deleted.length - 1]![0]);
    return deleted;
  }

  // ---- archive ----

  /** Drops archived events beyond the retention, oldest first (that is the archive working, not a loss). */
  #trimArchive(log: string): void {
    const r = this.#archives.get(log);
    if (!r) return;
    const cutoff = this.#timers.now() - r.maxAgeMs;
    const expired = this.#stmt.archiveExpired.get(log, cutoff);
    if (expired && expired.n > 0) this.#stmt.archiveExpire.run(log, cutoff);
    let bytes = this.#archiveBytes.get(log) ?? this.#stmt.archiveTotals.get(log)?.bytes ?? 0;
    if (this.#archiveBytes.has(log) && expired) bytes -= expired.bytes;
    if (bytes > r.maxBytes) {
      this.#db.transaction(() => {
        while (bytes > r.maxBytes) {
          const oldest = this.#stmt.archiveOldest.all(log, 1000);
          if (oldest.length === 0) break;
          for (const row of oldest) {
            if (bytes <= r.maxBytes) break;
            this.#stmt.archiveDelete.run(row.seq);
            bytes -= row.bytes;
          }
        }
      })();
    }
    this.#archiveBytes.set(log, Math.max(0, bytes));
  }

  setArchiveRetention(log: string, retention: ArchiveRetention | undefined): void {
    if (retention) this.#archives.set(log, retention);
    else this.#archives.delete(log);
  }

  readArchive(log: string, query: { readonly from: number; readonly to: number; readonly afterSeq: number; readonly limit: number }): ArchivedEvent[] {
    return this.#stmt.archiveRead.all(log, query.afterSeq, query.from, query.to, query.limit).map((r) => ({ seq: r.seq, at: r.at, event: toRecord(r, 0).event }));
  }

  readRetained(log: string, query: { readonly from: number; readonly afterSeq: number; readonly limit: number }): { events: ArchivedEvent[]; scanned: number | undefined } {
    // The archive holds a prefix of the log (events move there in the transaction that deletes them from the log), so
    // reading the archive and then the log after the last archived position, in one synchronous call, misses nothing.
    const archived = this.readArchive(log, { from: query.from, to: Number.MAX_SAFE_INTEGER, afterSeq: query.afterSeq, limit: query.limit });
    if (archived.length >= query.limit) return { events: archived, scanned: archived.at(-1)!.seq };
    const records = this.readAfter(log, archived.at(-1)?.seq ?? query.afterSeq, query.limit - archived.length);
    const events = [...archived];
    for (const r of records) {
      const at = Date.parse(String(r.event.attributes['knativearrivaltime']));
      if (at >= query.from) events.push({ seq: r.seq, at, event: r.event });
    }
    const last = records.at(-1)?.seq ?? archived.at(-1)?.seq;
    return { events, scanned: last };
  }

  archiveStats(log: string): { count: number; bytes: number } {
    const t = this.#stmt.archiveTotals.get(log);
    return { count: t?.n ?? 0, bytes: t?.bytes ?? 0 };
  }

  /** Writes pending retry changes now (so a worker can query them). */
  flushRetries(): void {
    if (this.#retryOps.length > 0) this.#flushNow();
  }

  #scheduleFlush(urgent: boolean): void {
    if (urgent) {
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flushNow(true));
      }
    } else if (this.#lazyFlushTimer === undefined && !this.#flushScheduled) {
      // cursors and retry bookkeeping are batched: losing them in a crash only means a redelivery
      this.#lazyFlushTimer = this.#timers.setTimeout(() => this.#flushNow(true), 20);
    }
  }

  /**
   * Commits what is pending. A scheduled flush (`deferrable`) waits while the commits are held, for at most one
   * checkpoint of a few milliseconds' frames; the others (a group starting, retries a worker is about to read, close)
   * commit now, and the WAL then starts over at a later checkpoint instead.
   */
  #flushNow(deferrable = false): void {
    this.#flushScheduled = false;
    if (this.#lazyFlushTimer !== undefined) {
      this.#timers.clearTimeout(this.#lazyFlushTimer);
      this.#lazyFlushTimer = undefined;
    }
    if (this.#closed) return;
    if (deferrable && this.#commitsHeld) {
      this.#flushOnRelease = true;
      return;
    }
    const pending = this.#pending;
    const cursors = this.#cursorUpdates;
    const retryOps = this.#retryOps;
    if (pending.length === 0 && cursors.size === 0 && retryOps.length === 0) return;
    this.#pending = [];
    this.#pendingEvents = 0;
    this.#cursorUpdates = new Map();
    this.#retryOps = [];
    let appended: CommittedBatch['appended'];
    try {
      appended = this.#commit(pending, cursors, retryOps, this.#timers.now());
    } catch (err) {
      // Nothing of the transaction is on disk (the positions it took were never seen, and are handed out again).
      // Appends fail (the producer retries); cursor moves and retry schedules are kept for the next flush, so a retry
      // is never lost and delivery carries on.
      for (const [group, cursor] of this.#cursorUpdates) cursors.set(group, cursor);
      this.#cursorUpdates = cursors;
      this.#retryOps = retryOps.concat(this.#retryOps);
      const full = isDiskFull(err);
      if (full) this.#diskFull();
      const failure = full
        ? new SluiceError('SLUICE_STORE_FULL', `the disk of the store is full: ${(err as Error).message}`, { retryable: true, cause: err })
        : new SluiceError('SLUICE_STORE_WRITE_FAILED', `store write failed: ${(err as Error).message}`, { retryable: true, cause: err });
      for (const p of pending) {
        const b = this.#backlog.get(p.log);
        if (b) {
          b.events -= p.events.length;
          b.bytes -= p.bytes;
        }
        p.reject(failure);
      }
      if (cursors.size > 0 || this.#retryOps.length > 0) this.#scheduleFlush(false);
      this.#logRateLimited(err, 'store write failed');
      return;
    }
    for (const { records } of appended) if (records.length > 0) this.#lastSeq = records[records.length - 1]!.seq;
    this.#afterCommit({ pending, appended });
  }

  /**
   * Group commit: a committed batch with appends is acknowledged only after an fdatasync of the write-ahead log that
   * started after its commit. The sync runs on libuv's thread pool, so the event loop keeps serving while the disk
   * works, and every batch committed during one sync shares the next one.
   *
   * Consumers get the records at once, at the commit, without waiting for that fdatasync: the producers' promises
   * (the 2xx) still wait for it. The fdatasync was the largest part of the end-to-end tail, and delivering before it
   * changes no promise: a record handed out and then lost (the machine, not the process, failing before the sync, or
   * the sync failing) was never acknowledged, so its producer sends it again — at-least-once, as a redelivery after a
   * crash already is (docs/reliability.md). A process crash (kill -9) loses nothing committed: the write-ahead log is
   * in the page cache.
   */
  #afterCommit(batch: CommittedBatch): void {
    if (batch.pending.length === 0) return;
    if (this.#walPath === undefined) {
      if (this.#metrics) this.#metrics.groupCommit(batch.appended.reduce((n, a) => n + a.records.length, 0));
      this.#handOut(batch.appended);
      this.#acknowledge(batch.pending);
      return;
    }
    this.#handOut(batch.appended);
    this.#syncQueue.push(batch);
    if (this.#syncsRunning < SYNCS_IN_FLIGHT) this.#startSync();
  }

  #startSync(): void {
    const sync = { batches: this.#syncQueue };
    this.#syncQueue = [];
    this.#syncs.push(sync);
    this.#syncsRunning++;
    try {
      this.#walFd ??= openSync(this.#walPath!, 'r+');
    } catch (err) {
      this.#syncDone(sync, err as Error);
      return;
    }
    fdatasync(this.#walFd, (err) => this.#syncDone(sync, err));
  }

  /**
   * A successful fdatasync makes durable every batch committed before it started: its own, and those of the syncs
   * started before it that are still running (a later sync can come back first). A failed one fails its own batches.
   */
  #syncDone(sync: { batches: CommittedBatch[] }, err: Error | null): void {
    this.#syncsRunning--;
    const at = this.#syncs.indexOf(sync); // -1: a later sync already acknowledged this one's batches
    if (at >= 0 && err) {
      this.#syncs.splice(at, 1); // the older syncs still answer for their own batches
      // The rows are committed but not known to be on disk: the producer gets a retryable error (and may send a
      // duplicate, which CloudEvents receivers must accept).
      const full = isDiskFull(err);
      if (full) this.#diskFull();
      const failure = new SluiceError(full ? 'SLUICE_STORE_FULL' : 'SLUICE_STORE_WRITE_FAILED', `store sync failed: ${err.message}`, { retryable: true, cause: err });
      for (const b of sync.batches) for (const p of b.pending) p.reject(failure);
    } else if (at >= 0) {
      const batches = this.#syncs.splice(0, at + 1).flatMap((d) => d.batches);
      if (this.#metrics) this.#metrics.groupCommit(batches.reduce((n, b) => n + b.appended.reduce((m, a) => m + a.records.length, 0), 0));
      for (const b of batches) this.#acknowledge(b.pending);
    }
    if (this.#syncQueue.length > 0 && this.#syncsRunning < SYNCS_IN_FLIGHT) this.#startSync();
    else if (this.#syncsRunning === 0) for (const resolve of this.#syncIdle.splice(0)) resolve();
  }

  /** Hands committed records to consumers (and the in-memory tail), in commit order. */
  #handOut(appended: CommittedBatch['appended']): void {
    const touched = new Map<string, LogRecord[]>();
    for (const { log, records } of appended) {
      let tail = this.#tails.get(log);
      if (!tail) this.#tails.set(log, (tail = { records: [], bytes: 0, floor: undefined }));
      for (const r of records) {
        tail.records.push(r);
        tail.bytes += payloadBytes(r.event);
      }
      // Bounded by count and by bytes (trimmed to half, so the cost is amortised): large events must not pin memory.
      if (tail.records.length > this.#tailCacheSize * 2 || tail.bytes > this.#tailCacheBytes) {
        let drop = Math.max(0, tail.records.length - this.#tailCacheSize);
        for (let i = 0; i < drop; i++) tail.bytes -= payloadBytes(tail.records[i]!.event);
        while (drop < tail.records.length - 1 && tail.bytes > this.#tailCacheBytes / 2) tail.bytes -= payloadBytes(tail.records[drop++]!.event);
        this.#dropFromTail(tail, drop);
      }
      if (records.length > 0) this.#published.set(log, Math.max(this.#published.get(log) ?? this.#openedAt, records[records.length - 1]!.seq));
      const list = touched.get(log);
      if (list) list.push(...records);
      else touched.set(log, records);
    }
    // The groups read what is new (at once, when they have room), then the tail lets go of what every group has read.
    for (const w of this.#workers.values()) {
      const records = touched.get(w.log);
      if (records !== undefined) w.appended(records);
    }
    this.#releaseRead(touched.keys());
  }

  /**
   * Drops from these logs' tails the records every running group of the log has read (all of them where none runs).
   * After each commit, and at each cleanup pass for what groups read since (a log that has gone quiet).
   */
  #releaseRead(logs: Iterable<string>): void {
    const readTo = new Map<string, number>();
    for (const w of this.#workers.values()) readTo.set(w.log, Math.min(readTo.get(w.log) ?? Infinity, w.readPosition));
    for (const log of logs) {
      const tail = this.#tails.get(log);
      if (!tail) continue;
      const read = readTo.get(log) ?? Infinity;
      let drop = 0;
      while (drop < tail.records.length && tail.records[drop]!.seq <= read) tail.bytes -= payloadBytes(tail.records[drop++]!.event);
      this.#dropFromTail(tail, drop);
    }
  }

  /** Drops a tail's first `n` records (their bytes already taken off). */
  #dropFromTail(tail: Tail, n: number): void {
    if (n === 0) return;
    tail.floor = tail.records[n - 1]!.seq;
    tail.records = n === tail.records.length ? [] : tail.records.slice(n);
  }

  /** Resolves the appends of a batch once it is durable. */
  #acknowledge(pending: readonly PendingAppend[]): void {
    if (this.#metrics) {
      const now = performance.now();
      for (const p of pending) this.#metrics.write(now - p.at);
    }
    for (const p of pending) p.resolve();
  }

  // A timer callback: it must never throw (an uncaught SQLITE_FULL here used to kill the process, and each restart
  // redelivered the same events before dying again). Failures are logged and the next pass tries again.
  #cleanup(): void {
    if (this.#closed || this.#commitsHeld) return;
    this.#releaseRead(this.#tails.keys());
    try {
      this.#flushNow();
      for (const { log } of this.#stmt.deadLetterLogs.all()) this.#expireDeadLetters(log);
      for (const log of this.#archives.keys()) this.#trimArchive(log);
      if (this.#reserveReleased && this.#timers.now() >= this.#fullUntil) {
        // Give the space the write-ahead log holds back to the file system, then put the reserve back.
        this.#db.pragma('wal_checkpoint(TRUNCATE)');
        this.#restoreReserve();
      }
    } catch (err) {
      this.#logRateLimited(err, 'store cleanup failed; retrying on the next pass');
    }
    if (!this.#cleaning && this.#retained.size > 0) {
      this.#cleaning = true;
      this.#cleanupSlice([...this.#retained], CLEANUP_MAX_SLICES);
    }
  }

  /**
   * Deletes delivered events in small slices, one per event-loop turn, so a pass never holds the loop for more than
   * one slice (a single DELETE of 5,000 rows was a stall of its own under load); at most `slices` slices per pass.
   */
  #cleanupSlice(logs: string[], slices: number): void {
    if (this.#closed) {
      this.#cleaning = false;
      return;
    }
    if (this.#commitsHeld) {
      this.#cleanupOnRelease = () => this.#cleanupSlice(logs, slices);
      return;
    }
    try {
      const log = logs[0]!;
      const deleted = this.#deleteSlice(log);
      const b = this.#backlog.get(log);
      if (b) {
        b.events -= deleted.length;
        for (const [, bytes] of deleted) b.bytes -= bytes;
      }
      if (deleted.length < CLEANUP_SLICE_ROWS) logs.shift();
    } catch (err) {
      this.#cleaning = false;
      this.#logRateLimited(err, 'store cleanup failed; retrying on the next pass');
      return;
    }
    if (logs.length > 0 && slices > 1) setImmediate(() => this.#cleanupSlice(logs, slices - 1));
    else this.#cleaning = false;
  }

  #holdCommits(held: boolean): void {
    this.#commitsHeld = held;
    if (held) return;
    if (this.#flushOnRelease) {
      this.#flushOnRelease = false;
      this.#scheduleFlush(true);
    }
    const cleanup = this.#cleanupOnRelease;
    this.#cleanupOnRelease = undefined;
    if (cleanup) setImmediate(cleanup);
  }

  /** Refuses appends for a moment and frees the reserve, so that the writes that free space can go through. */
  #diskFull(): void {
    this.#fullUntil = this.#timers.now() + FULL_COOLDOWN_MS;
    if (this.#reservePath === undefined || this.#reserveReleased) return;
    this.#reserveReleased = true;
    try {
      unlinkSync(this.#reservePath);
      this.#logger.warn({ reserveBytes: this.#reserveBytes }, 'disk full: ingress answers 503; released the reserve file so delivery and cleanup continue');
    } catch {
      // already gone: nothing to release
    }
  }

  #restoreReserve(): void {
    try {
      writeFileSync(this.#reservePath!, Buffer.alloc(this.#reserveBytes), { mode: 0o600 });
      if (this.#reserveReleased) this.#logger.info({}, 'disk space is back: the reserve file is restored');
      this.#reserveReleased = false;
    } catch {
      // still no room: keep what was written from holding space, try again on the next cleanup pass
      try {
        unlinkSync(this.#reservePath!);
      } catch {
        // nothing was written
      }
      this.#reserveReleased = true;
    }
  }

  #logRateLimited(err: unknown, message: string): void {
    const now = this.#timers.now();
    if (now - this.#lastCleanupError < 5000) return;
    this.#lastCleanupError = now;
    this.#logger.warn({ err }, message);
  }
}

/** One consumer group's read loop: a bounded window of records in flight, a cursor that advances in order. */
class GroupWorker {
  cursor: number;
  #readPos: number;
  readonly #window: number[] = [];
  /** Append time of each record in `#window` (see appendTime), in the same order. */
  readonly #windowAt: Array<number | undefined> = [];
  // Counters behind stats(): kept as records move, so reading them never scans the log.
  /** Published records after `#readPos` (not yet taken from the log). */
  #unread = 0;
  /** Highest sequence number counted into `#unread`. */
  #countedUpTo = 0;
  /** Rows of this group in the (unordered) retries table. */
  #retryRows = 0;
  readonly #done = new Set<number>();
  readonly #retriesInFlight = new Set<number>();
  readonly #keyQueues = new Map<string, LogRecord[]>();
  #buffer: LogRecord[] = [];
  #bufferIndex = 0;
  #inFlight = 0;
  #closing = false;
  #idle: Array<() => void> = [];
  #retryTimer: unknown;
  #retryTimerAt = Infinity;
  #pumping = false;
  /** Ordered groups: retries kept in place from before a restart, by log sequence, resumed when their record comes. */
  #resumed = new Map<number, LogRecord & { dueAt: number }>();
  /** Ordered groups: timers of records waiting in place for their retry (cleared on close). */
  readonly #keyTimers = new Map<unknown, string>();

  constructor(
    private readonly store: SqliteEventStore,
    readonly log: string,
    private readonly group: string,
    cursor: number,
    private readonly options: ConsumeOptions,
    private readonly handler: RecordHandler,
    private readonly timers: StoreTimers,
  ) {
    this.cursor = cursor;
    this.#readPos = cursor;
  }

  start(): void {
    if (this.options.orderingKey) this.#resumed = this.store.keyedRetries(this.group);
    else this.store.dropKeyedRetries(this.group);
    this.#unread = this.store.countPublishedAfter(this.log, this.cursor);
    this.#countedUpTo = this.cursor;
    this.#retryRows = this.store.countRetries(this.group);
    this.wake();
    this.#scheduleRetries();
  }

  /** The last record this group has taken from the log (records up to it are in its hands or done). */
  get readPosition(): number {
    return this.#readPos;
  }

  /** New records were published on the log: count the ones after what was counted, then read them. */
  appended(records: readonly LogRecord[]): void {
    for (const r of records) {
      if (r.seq > this.#countedUpTo) {
        this.#unread++;
        this.#countedUpTo = r.seq;
      }
    }
    this.wake();
  }

  /** This group's figures, from counters (plus at most two indexed reads for the oldest pending record). */
  stats(): GroupStats {
    let queued = 0;
    for (const q of this.#keyQueues.values()) queued += q.length;
    let oldest: number | undefined;
    const consider = (at: number | undefined): void => {
      if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at;
    };
    if (this.#windowAt.length > 0) consider(this.#windowAt.find((at) => at !== undefined));
    else if (this.#buffer.length > 0 && this.#bufferIndex < this.#buffer.length) consider(appendTime(this.#buffer[this.#bufferIndex]!));
    else if (this.#unread > 0) {
      const head = this.store.readAfter(this.log, this.#readPos, 1)[0];
      if (head) consider(appendTime(head));
    }
    if (this.#retryRows > 0) consider(this.store.oldestRetryAt(this.group));
    return {
      backlog: Math.max(0, this.#unread) + queued,
      // #inFlight also counts records queued behind a key and keyed records waiting for their retry.
      inFlight: this.#inFlight - queued - this.#keyTimers.size,
      retrying: Math.max(0, this.#retryRows - this.#retriesInFlight.size) + this.#keyTimers.size,
      oldestPendingAt: oldest,
    };
  }

  /** Records after the committed cursor (the figure behind the log's backlog). */
  pendingAfterCursor(): number {
    return Math.max(0, this.#unread) + this.#window.length;
  }

  /** Retry rows being handled right now. */
  retriesInFlight(): number {
    return this.#retriesInFlight.size;
  }

  wake(): void {
    if (this.#pumping || this.#closing) return;
    this.#pumping = true;
    try {
      this.#pump();
    } finally {
      this.#pumping = false;
    }
  }

  #pump(): void {
    const max = this.options.maxInFlight;
    // The window (records read but not yet behind the cursor) is bounded too, so one slow record cannot make
    // the group read the whole log into memory.
    while (!this.#closing && this.#inFlight < max) {
      if (this.#buffer.length === 0) {
        const room = max * 8 - this.#window.length;
        if (room <= 0) break;
        this.#buffer = this.store.readAfter(this.log, this.#readPos, Math.min(512, room));
        this.#bufferIndex = 0;
        if (this.#buffer.length === 0) break;
      }
      const record = this.#buffer[this.#bufferIndex++]!;
      if (this.#bufferIndex >= this.#buffer.length) this.#buffer = [];
      this.#readPos = record.seq;
      this.#unread--;
      this.#window.push(record.seq);
      this.#windowAt.push(appendTime(record));
      const filter = this.options.filter;
      if (filter && !safeFilter(filter, record)) this.#done.add(record.seq);
      else this.#dispatch(record);
    }
    this.#advance();
  }

  #dispatch(record: LogRecord): void {
    const key = this.options.orderingKey?.(record.event);
    if (key !== undefined) {
      const queue = this.#keyQueues.get(key);
      if (queue) {
        queue.push(record);
        this.#inFlight++;
        return;
      }
      this.#keyQueues.set(key, []);
    }
    this.#inFlight++;
    this.#run(record, key);
  }

  #run(record: LogRecord, key: string | undefined): void {
    const resumed = key !== undefined && record.attempt === 0 ? this.#resumed.get(record.seq) : undefined;
    if (resumed && key !== undefined) {
      // The record was waiting in place for a retry when the group last stopped: it resumes at that attempt.
      this.#resumed.delete(record.seq);
      const { dueAt, ...rest } = resumed;
      this.#runLater(rest, key, dueAt);
      return;
    }
    this.handler(record).then(
      (d) => this.#settled(record, key, d),
      () => this.#settled(record, key, { kind: 'retry', attempt: record.attempt + 1, dueAt: this.timers.now() + 1000 }),
    );
  }

  #settled(record: LogRecord, key: string | undefined, d: Disposition): void {
    if (d.kind === 'retry' && key !== undefined) {
      // Ordered delivery retries in place: later events with the same key wait behind this one. The retry is stored
      // too, so a restart resumes it at this attempt instead of starting over.
      this.store.recordKeyedRetry(this.group, record, d);
      this.#runLater({ ...record, attempt: d.attempt, event: d.event ?? record.event }, key, d.dueAt);
      return;
    }
    if (key !== undefined && record.attempt > 0) this.store.recordKeyedRetry(this.group, record, d);
    if (d.kind !== 'done') this.store.recordRetry(this.log, this.group, record, undefined, d);
    if (d.kind === 'retry') this.#retryRows++;
    this.#inFlight--;
    this.#done.add(record.seq);
    if (key !== undefined) {
      const queue = this.#keyQueues.get(key)!;
      if (this.#closing) {
        // Closing: records queued behind this one are not started; they come again after a restart.
        this.#inFlight -= queue.length;
        this.#keyQueues.delete(key);
      } else {
        const next = queue.shift();
        if (next) this.#run(next, key);
        else this.#keyQueues.delete(key);
      }
    }
    this.#advance();
    if (d.kind === 'retry') this.#scheduleRetryAt(d.dueAt);
    this.#afterCompletion();
  }

  /** Runs a keyed record at `dueAt`; the timer is dropped on close, so shutdown neither waits for it nor sees it fire. */
  #runLater(record: LogRecord, key: string, dueAt: number): void {
    const timer = this.timers.setTimeout(
      () => {
        this.#keyTimers.delete(timer);
        if (!this.#closing) this.#run(record, key);
      },
      Math.max(0, dueAt - this.timers.now()),
    );
    this.#keyTimers.set(timer, key);
  }

  #advance(): void {
    const before = this.cursor;
    while (this.#window.length > 0 && this.#done.has(this.#window[0]!)) {
      const seq = this.#window.shift()!;
      this.#windowAt.shift();
      this.#done.delete(seq);
      this.cursor = seq;
    }
    if (this.cursor !== before) this.store.commitCursor(this.group, this.cursor);
  }

  #afterCompletion(): void {
    if (this.#closing) {
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.wake();
  }

  #scheduleRetries(): void {
    const at = this.store.nextRetryAt(this.group);
    if (at !== undefined) this.#scheduleRetryAt(at);
  }

  #scheduleRetryAt(at: number): void {
    if (this.#closing || at >= this.#retryTimerAt) return;
    if (this.#retryTimer !== undefined) this.timers.clearTimeout(this.#retryTimer);
    this.#retryTimerAt = at;
    this.#retryTimer = this.timers.setTimeout(() => this.#runDueRetries(), Math.max(0, at - this.timers.now()));
  }

  #runDueRetries(): void {
    this.#retryTimer = undefined;
    this.#retryTimerAt = Infinity;
    if (this.#closing) return;
    this.store.flushRetries();
    // One reading of the clock for the whole pass: timers may fire a millisecond before the wall clock says the retry
    // is due, and the follow-up schedule below must see the same "now" as the query.
    const now = this.timers.now();
    const room = this.options.maxInFlight - this.#inFlight;
    if (room > 0) {
      const due = this.store.dueRetries(this.group, now, room + this.#retriesInFlight.size);
      for (const record of due) {
        if (this.#retriesInFlight.has(record.retryId)) continue;
        this.#retriesInFlight.add(record.retryId);
        this.#inFlight++;
        const { retryId } = record;
        const settle = (d: Disposition): void => {
          this.#retriesInFlight.delete(retryId);
          this.#inFlight--;
          if (d.kind !== 'retry') this.#retryRows--;
          this.store.recordRetry(this.log, this.group, record, retryId, d);
          if (d.kind === 'retry') this.#scheduleRetryAt(d.dueAt);
          this.#afterCompletion();
          this.#scheduleRetryAt(this.timers.now() + 50); // pick up the next due batch
        };
        this.handler(record).then(settle, () => settle({ kind: 'retry', attempt: record.attempt + 1, dueAt: this.timers.now() + 1000 }));
      }
    } else {
      this.#scheduleRetryAt(this.timers.now() + 50);
      return;
    }
    const next = this.store.nextRetryAt(this.group);
    // A due row that is not in flight now (e.g. the query ran a moment too early) is picked up shortly.
    if (next !== undefined) this.#scheduleRetryAt(next > now ? next : now + 50);
  }

  close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    if (this.#retryTimer !== undefined) this.timers.clearTimeout(this.#retryTimer);
    // Records waiting in place for a keyed retry are not in a handler: their retry is stored, nothing to wait for.
    // Neither are the records queued behind them: they stay ahead of the cursor and come again after a restart.
    for (const [t, key] of this.#keyTimers) {
      this.timers.clearTimeout(t);
      this.#inFlight -= 1 + (this.#keyQueues.get(key)?.length ?? 0);
      this.#keyQueues.delete(key);
    }
    this.#keyTimers.clear();
    if (this.#inFlight === 0) return Promise.resolve();
    return settleWithin(new Promise<void>((resolve) => this.#idle.push(resolve)), timeoutMs, this.timers);
  }
}

function safeFilter(filter: NonNullable<ConsumeOptions['filter']>, record: LogRecord): boolean {
  try {
    return filter(record.event);
  } catch {
    return false; // a filter that throws does not match, and does not stop the group
  }
}

/**
 * When a record entered its log: known for records appended since the store opened; for older rows, the broker's
 * `knativearrivaltime` (channels do not set it: such rows have no time).
 */
function appendTime(record: LogRecord): number | undefined {
  if (record.appendedAt !== undefined) return record.appendedAt;
  const arrival = record.event.attributes['knativearrivaltime'];
  const t = typeof arrival === 'string' ? Date.parse(arrival) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
}

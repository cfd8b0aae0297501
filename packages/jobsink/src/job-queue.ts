import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { lazyLibrarySync } from '@sluice/core';

/** better-sqlite3, required when the first JobSink opens its queue: `sluice validate` never loads it. */
const sqliteLibrary = lazyLibrarySync('better-sqlite3', () => createRequire(import.meta.url)('better-sqlite3') as typeof Database);

/** A job's state: queued, running, or finished. */
export type JobState = 'pending' | 'running' | 'succeeded' | 'failed';

/** One job of a JobSink. */
export interface JobRecord {
  readonly id: number;
  readonly sink: string;
  readonly source: string;
  readonly eventId: string;
  /** The event in the CloudEvents JSON format, as the job reads it. */
  readonly event: string;
  readonly state: JobState;
  readonly exitCode: number | null;
  readonly logTail: string | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/**
 * The JobSinks' jobs in SQLite with `synchronous = FULL`: `enqueue` returns only once the job is on disk, so a crash
 * after the 202 cannot lose it. Jobs are unique by (sink, source, id), as Knative finds an existing Job by those
 * labels: the same event posted twice is one job.
 */
export class JobQueue {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #find: Database.Statement;
  readonly #pendingCount: Database.Statement;
  readonly #next: Database.Statement;
  readonly #mark: Database.Statement;
  readonly #finish: Database.Statement;

  constructor(path: string) {
    this.#db = new (sqliteLibrary('a JobSink'))(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, source TEXT NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL,
      state TEXT NOT NULL, exit_code INTEGER, log_tail TEXT, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
      UNIQUE (sink, source, event_id))`);
    this.#insert = this.#db.prepare(`INSERT INTO jobs (sink, source, event_id, event, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING`);
    this.#find = this.#db.prepare('SELECT * FROM jobs WHERE sink = ? AND source = ? AND event_id = ?');
    this.#pendingCount = this.#db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE sink = ? AND state = 'pending'`);
    this.#next = this.#db.prepare(`SELECT * FROM jobs WHERE sink = ? AND state = 'pending' ORDER BY id LIMIT 1`);
    this.#mark = this.#db.prepare(`UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?`);
    this.#finish = this.#db.prepare('UPDATE jobs SET state = ?, exit_code = ?, log_tail = ?, finished_at = ? WHERE id = ?');
    // Jobs that were running when the process died run again: a job is at-least-once, like a Kubernetes Job's pod.
    this.#db.exec(`UPDATE jobs SET state = 'pending', started_at = NULL WHERE state = 'running'`);
  }

  /** Stores a job (durably) unless one exists for the event; returns the job and whether it is new. */
  enqueue(sink: string, source: string, eventId: string, event: string, now: number): { job: JobRecord; created: boolean } {
    const info = this.#insert.run(sink, source, eventId, event, now);
    return { job: this.find(sink, source, eventId)!, created: info.changes === 1 };
  }

  /** The job of an event, if any. */
  find(sink: string, source: string, eventId: string): JobRecord | undefined {
    const row = this.#find.get(sink, source, eventId) as Record<string, unknown> | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Jobs of a sink waiting to run. */
  pending(sink: string): number {
    return (this.#pendingCount.get(sink) as { n: number }).n;
  }

  /** Takes the oldest pending job of a sink and marks it running. */
  take(sink: string, now: number): JobRecord | undefined {
    const row = this.#next.get(sink) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    this.#mark.run(now, row['id']);
    return { ...toRecord(row), state: 'running', startedAt: now };
  }

  /** Records how a job ended. */
  finish(id: number, state: 'succeeded' | 'failed', exitCode: number | null, logTail: string, now: number): void {
    this.#finish.run(state, exitCode, logTail, now, id);
  }

  /** The most recent jobs of a sink, newest first (for its status in the admin API). */
  recent(sink: string, limit: number): JobRecord[] {
    return (this.#db.prepare('SELECT * FROM jobs WHERE sink = ? ORDER BY id DESC LIMIT ?').all(sink, limit) as Array<Record<string, unknown>>).map(toRecord);
  }

  /** Counts by state, for a sink's status. */
  counts(sink: string): Record<JobState, number> {
    const out: Record<JobState, number> = { pending: 0, running: 0, succeeded: 0, failed: 0 };
    for (const r of this.#db.prepare('SELECT state, COUNT(*) AS n FROM jobs WHERE sink = ? GROUP BY state').all(sink) as Array<{ state: JobState; n: number }>) out[r.state] = r.n;
    return out;
  }

  close(): void {
    this.#db.close();
  }
}

function toRecord(r: Record<string, unknown>): JobRecord {
  return {
    id: Number(r['id']),
    sink: String(r['sink']),
    source: String(r['source']),
    eventId: String(r['event_id']),
    event: String(r['event']),
    state: r['state'] as JobState,
    exitCode: r['exit_code'] === null ? null : Number(r['exit_code']),
    logTail: r['log_tail'] === null ? null : (r['log_tail'] as string), // a TEXT column
    createdAt: Number(r['created_at']),
    startedAt: r['started_at'] === null ? null : Number(r['started_at']),
    finishedAt: r['finished_at'] === null ? null : Number(r['finished_at']),
  };
}

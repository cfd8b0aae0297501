import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker's own code, as CommonJS text (no build step, and the same under tsx in tests): a second SQLite
// connection to the same file that runs PASSIVE checkpoints. PASSIVE never waits for and never blocks the writer; it
// copies committed WAL frames into the database file and fsyncs it, which is the slow part this takes off the event
// loop. Durability does not depend on it: every acknowledged append is already fsynced in the WAL.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
let failures = 0;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
  } catch (err) {
    if (failures++ === 0) parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  try { db.close(); } finally { parentPort.close(); }
});
`;

/**
 * Checkpoints a WAL-mode SQLite database from a worker thread every `intervalMs`, so the store's own connection can
 * run with `wal_autocheckpoint = 0` and no commit on the event loop ever carries a checkpoint (copying ~4 MiB of pages
 * and an fsync of the database file, tens of milliseconds on a busy disk).
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, intervalMs: number, onError: (message: string) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, driver } });
    this.#worker.unref();
    this.#worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) onError(m.error);
    });
    this.#worker.on('error', (err) => onError(err.message));
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /** Closes the worker's connection (after a checkpoint in progress finishes) and waits for the thread to end. */
  async close(): Promise<void> {
    this.#worker.ref(); // the caller awaits the thread's end: keep the process alive until it is there
    this.#worker.postMessage('close');
    await this.#exited;
  }
}

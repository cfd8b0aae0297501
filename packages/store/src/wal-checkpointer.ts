import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker's own code, as CommonJS text (no build step, and the same under tsx in tests): a second SQLite
// connection to the same file that runs a PASSIVE checkpoint whenever it is asked, and answers with the WAL's size in
// frames. PASSIVE never waits for and never blocks the writer; it copies committed WAL frames into the database file and
// fsyncs it, which is the slow part this takes off the event loop. Durability does not depend on it: every
// acknowledged append is already fsynced in the WAL. A checkpoint that fails (a full disk, a lock held by another
// process) is answered with its error and tried again at the next one; the connection is opened by the first
// checkpoint, so a failure to set it up is one of those too.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
function connection() {
  if (db === undefined) {
    // A lock held elsewhere fails the checkpoint after 100 ms instead of better-sqlite3's 5 s: the next one comes soon.
    const opened = new Database(workerData.path, { timeout: 100 });
    try {
      opened.pragma('synchronous = NORMAL');
      opened.pragma('wal_autocheckpoint = 0');
    } catch (err) {
      opened.close();
      throw err;
    }
    db = opened;
  }
  return db;
}
parentPort.on('message', (m) => {
  if (m === 'checkpoint') {
    try {
      const [r] = connection().pragma('wal_checkpoint(PASSIVE)');
      parentPort.postMessage({ log: r.log });
    } catch (err) {
      parentPort.postMessage({ error: String(err && err.message || err) });
    }
  } else if (m === 'close') {
    try { if (db !== undefined) db.close(); } finally { parentPort.close(); }
  }
});
`;

export interface WalCheckpointerOptions {
  /** How often the WAL is copied into the database file. */
  readonly intervalMs: number;
  /**
   * WAL frames (4 KiB pages) past which the WAL is started again from its beginning (see the class comment). SQLite
   * only does that at the first commit after a checkpoint has copied every frame, which a steady load never leaves time
   * for: without this the WAL grows for as long as the load lasts.
   */
  readonly restartFrames: number;
  /**
   * Called with `true` to ask the store to make no commit until it is called with `false` (at most HOLD_MAX_MS later):
   * while nothing is committed, one checkpoint copies the last frames, and the store's next commit starts the WAL over.
   */
  readonly hold: (held: boolean) => void;
  /** After each checkpoint: the WAL's frames since it last started over, and whether it started over since the last one. */
  readonly onCheckpoint?: (frames: number, restarted: boolean) => void;
  /**
   * A checkpoint failed (`lasting` false: the next one is tried at the next interval) or the worker thread itself did
   * (`lasting` true: no more checkpoints). Either way the store checkpoints on commit (SQLite's automatic checkpoint)
   * until `onRecovered`, so the WAL cannot grow meanwhile.
   */
  readonly onError: (message: string, lasting: boolean) => void;
  /** The first checkpoint that succeeded after failed ones: checkpoints are the worker's again. */
  readonly onRecovered?: () => void;
}

/** Longest hold of the store's commits, in case the worker does not answer. */
const HOLD_MAX_MS = 100;

type Result = { log: number; error?: undefined } | { error: string };

/**
 * Checkpoints a WAL-mode SQLite database from a worker thread every `intervalMs`, so the store's own connection can run
 * with `wal_autocheckpoint = 0` and no commit on the event loop ever carries a checkpoint (copying ~4 MiB of pages and
 * an fsync of the database file, tens of milliseconds on a busy disk).
 *
 * It also keeps the WAL from growing without bound. SQLite writes the WAL from its beginning again only when a commit
 * starts while every frame is already in the database file; under a steady load each checkpoint ends with new frames
 * behind it, and the WAL grew by the whole of what was written (327–357 MiB in 8 s of a closed loop, two runs; 87 MiB
 * in 9 s at 1,000 events/s) until the load paused. Each fdatasync of a growing file also writes its new size. Once the WAL
 * passes `restartFrames`, a checkpoint runs again at once (it copies what came in during the last one), and then one
 * more while the store holds its commits, which leaves every frame copied; the store's next commit restarts the WAL.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #options: WalCheckpointerOptions;
  readonly #timer: NodeJS.Timeout;
  /** What the running checkpoint is for; undefined when none runs. */
  #running: 'scheduled' | 'catch-up' | 'held' | undefined;
  #holdTimer: NodeJS.Timeout | undefined;
  /** The worker thread failed or is closing: no more checkpoints are asked of it. */
  #stopped = false;
  /** The last checkpoint failed. */
  #failing = false;
  /** Frames in the WAL after the last checkpoint: a later checkpoint that finds fewer saw it start over. */
  #lastFrames = 0;

  constructor(path: string, options: WalCheckpointerOptions) {
    this.#options = options;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver } });
    this.#worker.unref();
    this.#worker.on('message', (m: Result) => this.#done(m));
    this.#worker.on('error', (err) => this.#stop(err.message));
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#timer = setInterval(() => {
      if (this.#running === undefined) this.#run('scheduled');
    }, options.intervalMs);
    this.#timer.unref();
  }

  #run(why: 'scheduled' | 'catch-up' | 'held'): void {
    if (this.#stopped) return;
    this.#running = why;
    this.#worker.postMessage('checkpoint');
  }

  #done(m: Result): void {
    const why = this.#running;
    this.#running = undefined;
    if (this.#stopped) return; // an answer that crossed close()
    if (m.error !== undefined) {
      this.#release();
      this.#failing = true;
      this.#options.onError(m.error, false);
      return;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#options.onRecovered?.();
    }
    const restarted = m.log < this.#lastFrames;
    this.#lastFrames = m.log;
    this.#options.onCheckpoint?.(m.log, restarted);
    if (why === 'held') {
      // Every frame is copied if nothing was committed meanwhile: the store's next commit starts the WAL again.
      this.#release();
    } else if (m.log >= this.#options.restartFrames) {
      if (why === 'catch-up') {
        this.#options.hold(true);
        this.#holdTimer = setTimeout(() => this.#release(), HOLD_MAX_MS);
        this.#run('held');
      } else {
        this.#run('catch-up');
      }
    }
  }

  #release(): void {
    if (this.#holdTimer === undefined) return;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#options.hold(false);
  }

  #stop(message: string): void {
    this.#release();
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#options.onError(message, true);
  }

  /** Closes the worker's connection (after a checkpoint in progress finishes) and waits for the thread to end. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#release();
    this.#worker.ref(); // the caller awaits the thread's end: keep the process alive until it is there
    this.#worker.postMessage('close');
    await this.#exited;
  }
}

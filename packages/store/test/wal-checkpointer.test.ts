import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WalCheckpointer } from '../src/wal-checkpointer.js';

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a checkpoint that fails is tried again at the next interval, and checkpoints resume on the worker once one succeeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-checkpointer-'));
  const path = join(dir, 'db.sqlite');
  // A real failure: another connection holds the database in exclusive locking mode, so the worker's connection
  // cannot even be set up ("database is locked"), as it could not while another process held the file.
  const locker = new Database(path);
  locker.pragma('journal_mode = WAL');
  locker.pragma('locking_mode = EXCLUSIVE');
  locker.exec('CREATE TABLE t (x)');
  locker.prepare('INSERT INTO t VALUES (1)').run();
  const errors: Array<{ message: string; lasting: boolean }> = [];
  const checkpoints: number[] = [];
  let recovered = 0;
  const checkpointer = new WalCheckpointer(path, {
    intervalMs: 10,
    restartFrames: Number.MAX_SAFE_INTEGER,
    hold: () => undefined,
    onCheckpoint: (frames) => checkpoints.push(frames),
    onError: (message, lasting) => errors.push({ message, lasting }),
    onRecovered: () => recovered++,
  });
  try {
    await until('three failed checkpoints', () => errors.length >= 3);
    assert.ok(
      errors.every((e) => !e.lasting && /locked/.test(e.message)),
      JSON.stringify(errors),
    );
    assert.deepEqual(checkpoints, []);
    assert.equal(recovered, 0);

    locker.close(); // the lock is gone: the next checkpoint succeeds
    await until('a checkpoint after the lock is gone', () => checkpoints.length > 0);
    assert.equal(recovered, 1);
    const failed = errors.length;

    // And it goes on copying what a writer commits.
    const writer = new Database(path);
    writer.pragma('wal_autocheckpoint = 0');
    const insert = writer.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 50; i++) insert.run(i);
    await until('a checkpoint that saw the new frames', () => checkpoints.some((f) => f > 0));
    writer.close();
    assert.equal(errors.length, failed, 'no more failures once the lock is gone');
    assert.equal(recovered, 1);
  } finally {
    await checkpointer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

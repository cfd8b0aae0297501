import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '@sluice/core';

/** Name of the lock file in a data directory. */
export const LOCK_FILE = 'sluice.lock';

/** A held data-directory lock; `release` removes the lock file if it is still ours. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data directory for this process: one Sluice per data directory, or two would deliver every event twice.
 * The lock file (`sluice.lock`) holds the owner's pid and is created exclusively; a lock left by a process that no
 * longer runs (a crash, `kill -9`) is taken over. Throws SLUICE_DATA_DIR_LOCKED naming the holder's pid otherwise.
 */
export function lockDataDir(dir: string, pid: number = process.pid): DataDirLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SluiceError('SLUICE_DATA_DIR_LOCKED', `cannot lock the data directory ${dir}: ${(err as Error).message}`, { cause: err });
      }
      let holder: number;
      try {
        holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      } catch {
        continue; // removed meanwhile: try again
      }
      if (Number.isInteger(holder) && holder !== pid && alive(holder)) {
        throw new SluiceError(
          'SLUICE_DATA_DIR_LOCKED',
          `the data directory ${dir} is in use by another sluice (pid ${holder}); stop it, or use another --data-dir (if no sluice runs as pid ${holder}, remove ${path})`,
          { details: { pid: holder, lockFile: path } },
        );
      }
      // The holder is gone (or the file is unreadable garbage): take the lock over.
      try {
        unlinkSync(path);
      } catch {
        // another process took it over first; the next attempt sees its pid
      }
      continue;
    }
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
    return {
      path,
      release: () => {
        try {
          if (Number.parseInt(readFileSync(path, 'utf8').trim(), 10) === pid) unlinkSync(path);
        } catch {
          // already gone
        }
      },
    };
  }
  throw new SluiceError('SLUICE_DATA_DIR_LOCKED', `cannot lock the data directory ${dir}: the lock file ${path} keeps changing`);
}

// What the local-service scripts (kafka.mjs, pubsub-emulator.mjs) share: free ports, log tails, and a supervised
// child process that stops with SIGTERM then SIGKILL, removes its temp dir, and is killed if the host process exits
// without stopping it.
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Resolves after `ms` without keeping the process alive. */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}

/** The last `lines` lines of a text. */
export function tail(text, lines) {
  return String(text).trimEnd().split('\n').slice(-lines).join('\n');
}

/** The last lines of a log file, or '(no log)'. */
export function readTail(file, lines = 40) {
  try {
    return tail(readFileSync(file, 'utf8'), lines);
  } catch {
    return '(no log)';
  }
}

/** A free loopback TCP port (bind :0, read it, close). */
export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address();
      srv.close(() => resolvePromise(port));
    });
  });
}

const supervised = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the host process exits without calling stop(): never leave a service behind.
  process.on('exit', () => {
    for (const s of supervised) {
      try {
        s.signal('SIGKILL');
      } catch {
        // already gone
      }
      try {
        rmSync(s.tmp, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    }
  });
}

/**
 * Supervises a spawned service process.
 * @param {import('node:child_process').ChildProcess} child
 * @param {{ name: string, tmp: string, graceMs: number, log: (msg: string) => void, signal?: (sig: NodeJS.Signals) => void }} opts
 *   `signal` sends a signal to the service (default: to the child itself; a process group for forking launchers).
 * @returns {{ failure(): string | null, stop(): Promise<void> }} `failure()` says why the process is gone, if it is.
 */
export function supervise(child, { name, tmp, graceMs, log, signal = (sig) => child.kill(sig) }) {
  let exited = null;
  const exitedPromise = new Promise((r) =>
    child.once('exit', (code, sig) => {
      exited = { code, signal: sig };
      r(exited);
    }),
  );
  let spawnError = null;
  child.once('error', (err) => {
    spawnError = err;
  });
  const entry = { tmp, signal };
  supervised.add(entry);
  installExitHook();

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (!exited && !spawnError) {
      signal('SIGTERM');
      const graceful = await Promise.race([exitedPromise, sleep(graceMs).then(() => null)]);
      if (!graceful) {
        log(`${name} pid ${child.pid} did not stop within ${graceMs / 1000}s of SIGTERM; sending SIGKILL`);
        signal('SIGKILL');
        await Promise.race([exitedPromise, sleep(5_000)]);
      }
    }
    supervised.delete(entry);
    rmSync(tmp, { recursive: true, force: true });
  }

  const failure = () => (spawnError ? `could not run: ${spawnError.message}` : exited ? `exited with ${JSON.stringify(exited)}` : null);
  return { failure, stop };
}

/**
 * Polls `check` until it resolves; on the process dying or the deadline passing, stops the service and throws an error
 * with the tail of its log.
 */
export async function waitReady({ name, where, check, intervalMs, deadline, timeoutMs, logFile, service }) {
  let lastErr = null;
  while (true) {
    const gone = service.failure();
    if (gone) {
      const logTail = readTail(logFile);
      await service.stop();
      throw new Error(`${name} ${gone} before becoming ready. Last log lines:\n${logTail}`);
    }
    if (Date.now() > deadline) {
      const logTail = readTail(logFile);
      await service.stop();
      throw new Error(`${name} on ${where} not ready after ${timeoutMs}ms (last check: ${lastErr?.message ?? 'n/a'}). Last log lines:\n${logTail}`);
    }
    try {
      await check();
      return;
    } catch (err) {
      lastErr = err;
      await sleep(intervalMs);
    }
  }
}

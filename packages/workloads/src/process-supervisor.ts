import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { realTimers, type Clock, type Logger, type TimerHandle, type Timers } from '@sluice/core';
import { RestartBackoff, type BackoffOptions } from './restart-backoff.js';

/** What to run. */
export interface ProcessSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment of the child. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** The spawn function, injectable for tests. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Options of {@link ProcessSupervisor}. */
export interface SupervisorOptions {
  /** Receives the child's output lines (`stream`: stdout or stderr) and lifecycle messages. */
  readonly logger: Logger;
  readonly timers?: Timers;
  readonly now?: Clock;
  readonly backoff?: Partial<BackoffOptions>;
  /** Time between SIGTERM and SIGKILL on stop. Default 5 s. */
  readonly stopGraceMs?: number;
  readonly spawn?: SpawnFn;
  /** Receives every output line too (e.g. for a log tail). */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called after every exit, with what ended the run (`stopped`: it was asked to stop). */
  readonly onExit?: (outcome: { code: number | null | undefined; signal: NodeJS.Signals | null | undefined; error?: Error | undefined; ranMs: number; stopped: boolean }) => void;
  /** Whether to start again after an exit (default: always, as a Deployment's pod). */
  readonly restart?: (outcome: { code: number | null | undefined; signal: NodeJS.Signals | null | undefined; error?: Error | undefined }) => boolean;
}

/** Default time a stopping child gets between SIGTERM and SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 5000;

const MAX_LINE = 8192;

// Children run in their own process group (so a shell's children stop with it). If Sluice exits without stopping
// them (an uncaught error), this last-chance hook kills the groups: one hook per process, not one per child.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of liveGroups) signalGroup(g, 'SIGKILL');
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Whether a process of the group `pgid` still runs. A zombie (ended, not yet reaped) does not count: a shell's child
 * that outlives the shell is reparented, and where Sluice is pid 1 (a container without an init) nothing reaps it.
 */
function groupRunning(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    const first = pid.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // ended meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so the fields are read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (state !== 'Z' && Number(pgrp) === pgid) return true;
  }
  return false;
}

/** Waits (polling every 10 ms, on the real clock: it watches the system) until no process of `pgid` runs; whether it came to that within `ms`. */
async function groupEnded(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (groupRunning(pgid)) {
    if (Date.now() >= until) return false;
    await sleep(10);
  }
  return true;
}

/**
 * Runs a process and keeps it running, as a Deployment keeps a pod's container running: it is restarted after every
 * exit (whatever the code) with exponential backoff, and stopped with SIGTERM then SIGKILL after a grace period.
 * The process runs in a process group of its own, and a run ends with the whole group, as a container's processes end
 * with its main one: a shell's children are waited for on stop (or the next start could find the port still taken),
 * and those still running when the main process ends by itself are killed before it starts again. Output lines go to
 * the logger.
 */
export class ProcessSupervisor {
  readonly #spec: ProcessSpec;
  readonly #logger: Logger;
  readonly #timers: Timers;
  readonly #now: Clock;
  readonly #backoff: RestartBackoff;
  readonly #graceMs: number;
  readonly #spawn: SpawnFn;
  readonly #options: SupervisorOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #restartTimer: TimerHandle | undefined;
  #stopping = false;
  #starts = 0;

  constructor(spec: ProcessSpec, options: SupervisorOptions) {
    this.#spec = spec;
    this.#options = options;
    this.#logger = options.logger;
    this.#timers = options.timers ?? realTimers;
    this.#now = options.now ?? Date.now;
    this.#backoff = new RestartBackoff(options.backoff);
    this.#graceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.#spawn = options.spawn ?? ((c, a, o) => nodeSpawn(c, a as string[], o));
  }

  /** Pid of the running child, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times the process was started (1 + restarts). */
  get starts(): number {
    return this.#starts;
  }

  /** Starts the process; returns at once (spawn failures are retried like crashes). */
  start(): void {
    this.#stopping = false;
    this.#launch();
  }

  #launch(): void {
    this.#restartTimer = undefined;
    if (this.#stopping) return;
    this.#starts++;
    const startedAt = this.#now();
    let child: ChildProcess;
    try {
      child = this.#spawn(this.#spec.command, this.#spec.args, {
        env: this.#spec.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        ...(this.#spec.cwd !== undefined ? { cwd: this.#spec.cwd } : {}),
      });
    } catch (err) {
      this.#ended(startedAt, undefined, undefined, err as Error);
      return;
    }
    this.#child = child;
    let resolveExited!: () => void;
    this.#exited = new Promise((r) => (resolveExited = r));
    if (child.pid !== undefined) {
      trackGroup(child.pid);
      this.#logger.info({ pid: child.pid, command: this.#spec.command, start: this.#starts }, 'process started');
    }
    if (child.stdout) this.#pipe(child.stdout, 'stdout');
    if (child.stderr) this.#pipe(child.stderr, 'stderr');
    let done = false;
    const finish = async (code: number | null, signal: NodeJS.Signals | null, err?: Error): Promise<void> => {
      if (done) return;
      done = true;
      const pid = child.pid;
      if (pid !== undefined && !this.#stopping && groupRunning(pid)) {
        // The main process ended by itself: what it started ends with it before the next start.
        this.#logger.warn({ pid }, 'process ended and left processes of its group running; killing them');
        signalGroup(pid, 'SIGKILL');
        await groupEnded(pid, 2000);
      }
      if (pid !== undefined) liveGroups.delete(pid);
      if (this.#child === child) this.#child = undefined;
      resolveExited();
      this.#ended(startedAt, code, signal, err);
    };
    child.once('error', (err) => void finish(null, null, err));
    child.once('exit', (code, signal) => void finish(code, signal));
  }

  #pipe(stream: Readable, name: 'stdout' | 'stderr'): void {
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      this.#options.onLine?.(line, name);
      this.#logger.info({ stream: name }, line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);
    });
  }

  #ended(startedAt: number, code: number | null | undefined, signal: NodeJS.Signals | null | undefined, err?: Error): void {
    const ranMs = this.#now() - startedAt;
    this.#options.onExit?.({ code, signal, error: err, ranMs, stopped: this.#stopping });
    if (this.#stopping) {
      this.#logger.info({ code, signal }, 'process stopped');
      return;
    }
    if (this.#options.restart && !this.#options.restart({ code, signal, error: err })) {
      const how = err ? `could not start: ${err.message}` : signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.#logger.info({ code, signal, ranMs, error: err?.message }, `process ${how}; not restarted`);
      return;
    }
    const delay = this.#backoff.next(ranMs);
    const why = err ? `could not start: ${err.message}` : signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.#logger.warn({ code, signal, ranMs, restartInMs: delay, error: err?.message }, `process ${why}; restarting in ${delay} ms`);
    this.#restartTimer = this.#timers.setTimeout(() => this.#launch(), delay);
  }

  /**
   * Stops the process and cancels restarts: SIGTERM to its process group, SIGKILL after the grace period. Resolves when
   * every process of the group has ended, not only the main one (a shell ends at once, the program it runs may take a
   * while to shut down).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer !== undefined) this.#timers.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const child = this.#child;
    if (!child || child.pid === undefined) return this.#exited;
    const pid = child.pid;
    const graceEnds = Date.now() + this.#graceMs;
    signalGroup(pid, 'SIGTERM');
    const kill = this.#timers.setTimeout(() => {
      this.#logger.warn({ pid, graceMs: this.#graceMs }, 'process did not stop in time; sending SIGKILL');
      signalGroup(pid, 'SIGKILL');
    }, this.#graceMs);
    await this.#exited;
    if (!(await groupEnded(pid, graceEnds - Date.now()))) {
      this.#logger.warn({ pid, graceMs: this.#graceMs }, 'processes of the group did not stop in time; sending SIGKILL');
      signalGroup(pid, 'SIGKILL');
      if (!(await groupEnded(pid, 2000))) this.#logger.warn({ pid }, 'processes of the group still run after SIGKILL');
    }
    this.#timers.clearTimeout(kill);
  }
}

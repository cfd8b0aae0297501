import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SluiceError, noopLogger, type Logger } from '@sluice/core';
import { engineProcessSpec, type ContainerEngine } from './container-engine.js';
import { ProcessSupervisor, type ProcessSpec, type SupervisorOptions } from './process-supervisor.js';

/** How a container runs: a local process (`command` on this machine) or an image through a container engine. */
export type RunMode = 'process' | 'container';

/** A file the container gets, at `path` (absolute, as the container sees it). */
export interface ContainerFile {
  readonly path: string;
  readonly content: string | Uint8Array;
}

/** Where a container finds its OIDC token: Knative projects a SinkBinding's token Secret at `/oidc`. */
export const OIDC_TOKEN_PATH = '/oidc/token';
/**
 * Environment variable naming the OIDC token file a bound process sends with (authentication-oidc on): Sluice's, so
 * that a local process (which has no `/oidc` mount) finds it; a container gets the file mounted at `/oidc/token`.
 */
export const OIDC_TOKEN_FILE_ENV = 'SLUICE_OIDC_TOKEN_FILE';

/** One container to run, already resolved: its complete environment, command, args and files. */
export interface ContainerRunSpec {
  /** For logs and the engine's container name, e.g. `default/hello/user-container`. */
  readonly name: string;
  readonly mode: RunMode;
  /** Required in `container` mode. */
  readonly image?: string | undefined;
  /** Entrypoint override; required in `process` mode (the program and its first arguments). */
  readonly command?: readonly string[] | undefined;
  readonly args?: readonly string[] | undefined;
  /**
   * The whole environment the container gets. Nothing is inherited from Sluice: a process gets only these variables
   * (add `PATH` yourself, see {@link processBaseEnv}), a container gets these on top of its image's.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory (a process without one runs in {@link RunnerOptions.baseDir}). */
  readonly workingDir?: string | undefined;
  readonly files?: readonly ContainerFile[] | undefined;
  /** Host files a container sees read-only at a path (kept up to date by their owner, e.g. a token file); ignored by processes. */
  readonly mounts?: readonly { readonly hostPath: string; readonly containerPath: string }[] | undefined;
}

/** Where and how to run. */
export interface RunnerOptions {
  /** Required for `container` mode. */
  readonly engine?: ContainerEngine | undefined;
  /** Working directory of processes that set no `workingDir` (e.g. the directory of the manifest). */
  readonly baseDir?: string | undefined;
  readonly logger?: Logger | undefined;
  /** Lines kept for {@link ContainerProcess.logTail} and {@link RunResult.logTail}. Default 50. */
  readonly tailLines?: number | undefined;
  /** Supervisor options (timers, backoff, stop grace, spawn). */
  readonly supervisor?: Partial<Omit<SupervisorOptions, 'logger' | 'onLine' | 'onExit' | 'restart'>> | undefined;
}

/** The variables a local process needs to find programs and a home, taken from Sluice's own environment when set. */
export const PROCESS_BASE_VARIABLES: readonly string[] = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'];

/** {@link PROCESS_BASE_VARIABLES} from an environment (default: Sluice's). */
export function processBaseEnv(env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of PROCESS_BASE_VARIABLES) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The last lines of a container's output. */
export class LogTail {
  readonly #lines: string[] = [];
  constructor(readonly size = 50) {}
  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.size) this.#lines.shift();
  }
  lines(): string[] {
    return [...this.#lines];
  }
}

/** A run spec turned into a command line, plus the temporary files to remove afterwards. */
export interface PreparedRun {
  readonly process: ProcessSpec;
  /** Container path → where the file is on this machine (in `process` mode the program must be told this path). */
  readonly filePaths: Readonly<Record<string, string>>;
  /** The engine's container name (`container` mode). */
  readonly containerName?: string | undefined;
  cleanup(): void;
}

/** Why a run spec cannot run, or undefined. */
export function runProblem(spec: ContainerRunSpec, options: RunnerOptions): string | undefined {
  if (spec.mode === 'process') {
    if (!spec.command || spec.command.length === 0) return 'no command to run as a local process';
  } else {
    if (!spec.image) return 'no image to run';
    if (!options.engine) return 'no container engine';
  }
  return undefined;
}

const safeName = (s: string): string =>
  s
    .replace(/[^a-zA-Z0-9_.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'c';

/** Builds the command line of a run (writing its files); throws SLUICE_CONFIG_WORKLOAD when it cannot run. */
export function prepareRun(spec: ContainerRunSpec, options: RunnerOptions = {}): PreparedRun {
  const problem = runProblem(spec, options);
  if (problem !== undefined) throw new SluiceError('SLUICE_CONFIG_WORKLOAD', `${spec.name}: ${problem}`);
  let dir: string | undefined;
  const filePaths: Record<string, string> = {};
  if (spec.files && spec.files.length > 0) {
    dir = mkdtempSync(join(tmpdir(), 'sluice-files-'));
    for (const f of spec.files) {
      const host = join(dir, 'root', f.path);
      mkdirSync(dirname(host), { recursive: true });
      writeFileSync(host, f.content, { mode: 0o644 });
      filePaths[f.path] = host;
    }
  }
  const cleanup = (): void => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  if (spec.mode === 'process') {
    const [cmd, ...rest] = spec.command!;
    const cwd = spec.workingDir ?? options.baseDir;
    return { process: { command: cmd!, args: [...rest, ...(spec.args ?? [])], env: { ...spec.env }, ...(cwd !== undefined ? { cwd } : {}) }, filePaths, cleanup };
  }
  const containerName = `sluice-${safeName(spec.name)}-${randomBytes(4).toString('hex')}`;
  // The engine client itself needs Sluice's environment (its config, XDG dirs); only the named variables reach the container.
  const clientEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) clientEnv[k] = v;
  Object.assign(clientEnv, spec.env);
  const proc = engineProcessSpec(
    options.engine!,
    {
      image: spec.image!,
      command: spec.command,
      args: spec.args ?? [],
      envNames: Object.keys(spec.env),
      workingDir: spec.workingDir,
      containerName,
      mounts: [...Object.entries(filePaths).map(([containerPath, hostPath]) => ({ containerPath, hostPath })), ...(spec.mounts ?? [])],
    },
    clientEnv,
  );
  return { process: proc, filePaths, containerName, cleanup };
}

/** Removes a container by name (best effort: used when its client was killed and `--rm` could not run). */
export function removeContainer(engine: ContainerEngine, name: string): Promise<void> {
  return new Promise((resolve) => {
    execFile(engine.path, [...engine.globalArgs, 'rm', '-f', '-t', '0', name], { timeout: 30_000 }, () => resolve());
  });
}

/** How a run ended. */
export interface RunResult {
  /** Exit code of the last attempt (null when killed by a signal or never started). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Set when the program could not be started at all (e.g. command not found). */
  readonly error?: string | undefined;
  /** Number of attempts (1 + retries). */
  readonly attempts: number;
  readonly logTail: readonly string[];
  readonly durationMs: number;
}

/** Options of {@link runToCompletion}. */
export interface RunToCompletionOptions extends RunnerOptions {
  /** Retries after a failed attempt (Kubernetes Job `backoffLimit` with restartPolicy OnFailure). Default 0. */
  readonly retries?: number | undefined;
  /** Stops the run (SIGTERM, then SIGKILL after the grace period). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs a container until it exits (a Job's pod, a JobSink's job): resolves with the exit status and the last lines of
 * its output. A failed attempt is retried `retries` times with backoff.
 */
export async function runToCompletion(spec: ContainerRunSpec, options: RunToCompletionOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const prepared = prepareRun(spec, options);
  const tail = new LogTail(options.tailLines ?? 50);
  const logger = options.logger ?? noopLogger;
  let failures = 0;
  let attempts = 0;
  let last: { code: number | null | undefined; signal: NodeJS.Signals | null | undefined; error?: Error | undefined } = { code: null, signal: null };
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const supervisor = new ProcessSupervisor(prepared.process, {
    ...options.supervisor,
    logger,
    onLine: (line) => tail.push(line),
    onExit: (o) => {
      attempts++;
      last = o;
    },
    restart: (o) => {
      const failed = o.error !== undefined || o.code !== 0;
      if (failed && failures < (options.retries ?? 0)) {
        failures++;
        return true;
      }
      resolveDone();
      return false;
    },
  });
  const abort = (): void => {
    void supervisor.stop().then(() => resolveDone());
  };
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  // Restart timers are unref'd (a pending restart never keeps a stopping Sluice alive); a caller awaiting the result
  // must not see the event loop end between attempts.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    supervisor.start();
    await done;
    await supervisor.stop();
  } finally {
    clearInterval(keepAlive);
    options.signal?.removeEventListener('abort', abort);
    if (prepared.containerName !== undefined && options.engine) await removeContainer(options.engine, prepared.containerName);
    prepared.cleanup();
  }
  return {
    exitCode: last.code ?? null,
    signal: last.signal ?? null,
    ...(last.error ? { error: last.error.message } : {}),
    attempts: Math.max(attempts, supervisor.starts),
    logTail: tail.lines(),
    durationMs: Date.now() - started,
  };
}

/** The last exit of a supervised container. */
export interface ExitInfo {
  readonly code: number | null | undefined;
  readonly signal: NodeJS.Signals | null | undefined;
  readonly error?: string | undefined;
  readonly at: number;
}

/**
 * A container kept running (a Deployment's or Knative Service's container, a ContainerSource): restarted with backoff
 * after every exit, stopped with SIGTERM then SIGKILL; the engine's container is removed on stop.
 */
export class ContainerProcess {
  readonly #prepared: PreparedRun;
  readonly #supervisor: ProcessSupervisor;
  readonly #tail: LogTail;
  readonly #engine: ContainerEngine | undefined;
  #lastExit: ExitInfo | undefined;

  constructor(
    spec: ContainerRunSpec,
    options: RunnerOptions & {
      readonly restart?: SupervisorOptions['restart'];
      /** Told of every exit that was not asked for by stop (the supervisor restarts it unless `restart` says no). */
      readonly onExit?: (exit: ExitInfo) => void;
    } = {},
  ) {
    this.#prepared = prepareRun(spec, options);
    this.#tail = new LogTail(options.tailLines ?? 50);
    this.#engine = options.engine;
    this.#supervisor = new ProcessSupervisor(this.#prepared.process, {
      ...options.supervisor,
      logger: options.logger ?? noopLogger,
      onLine: (line) => this.#tail.push(line),
      onExit: (o) => {
        this.#lastExit = { code: o.code, signal: o.signal, error: o.error?.message, at: Date.now() };
        if (!o.stopped) options.onExit?.(this.#lastExit);
      },
      ...(options.restart ? { restart: options.restart } : {}),
    });
  }

  /** The command line (for tests and debug logs). */
  get processSpec(): ProcessSpec {
    return this.#prepared.process;
  }

  get pid(): number | undefined {
    return this.#supervisor.pid;
  }

  get starts(): number {
    return this.#supervisor.starts;
  }

  get lastExit(): ExitInfo | undefined {
    return this.#lastExit;
  }

  logTail(): string[] {
    return this.#tail.lines();
  }

  start(): void {
    this.#supervisor.start();
  }

  async stop(): Promise<void> {
    await this.#supervisor.stop();
    if (this.#prepared.containerName !== undefined && this.#engine) await removeContainer(this.#engine, this.#prepared.containerName);
    this.#prepared.cleanup();
  }
}

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import type { ProcessSpec } from './process-supervisor.js';

/** Engines Sluice can run images with, in the order they are tried when none is chosen. */
export const CONTAINER_ENGINES = ['podman', 'docker'] as const;

/** Extra global flags for the engine (before `run`), e.g. `--runtime runc --cgroup-manager cgroupfs` for podman. */
export const ENGINE_ARGS_ENV = 'SLUICE_CONTAINER_ENGINE_ARGS';
/** Extra flags for `run`, e.g. `--ulimit nofile=10000:10000` where the engine's default limits exceed the host's. */
export const ENGINE_RUN_ARGS_ENV = 'SLUICE_CONTAINER_RUN_ARGS';
/** Chooses the engine (`podman`, `docker` or a path) when `--container-engine` is not given. */
export const ENGINE_ENV = 'SLUICE_CONTAINER_ENGINE';

/** A container engine client and the flags it is run with. */
export interface ContainerEngine {
  /** Full path of the client. */
  readonly path: string;
  /** `podman` or `docker` (the client's file name). */
  readonly name: string;
  readonly globalArgs: readonly string[];
  readonly runArgs: readonly string[];
}

/** Finds an executable on a PATH; returns its full path. */
export function findExecutable(name: string, pathEnv: string | undefined = process.env['PATH']): string | undefined {
  if (isAbsolute(name)) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return undefined;
    }
  }
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Finds `podman` or `docker` on a PATH (no check that it works: see {@link detectContainerEngine}). */
export function findContainerEngine(pathEnv: string | undefined = process.env['PATH']): string | undefined {
  for (const engine of CONTAINER_ENGINES) {
    const found = findExecutable(engine, pathEnv);
    if (found) return found;
  }
  return undefined;
}

const splitArgs = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter((s) => s !== '');

/** Runs a short engine command; resolves with its exit code and output. */
export function engineCommand(engine: ContainerEngine, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(engine.path, [...engine.globalArgs, ...args], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/** The engine to use, or why there is none. */
export type EngineChoice = { readonly ok: true; readonly engine: ContainerEngine } | { readonly ok: false; readonly reason: string };

/**
 * Finds a working engine: the one chosen (`--container-engine`, `$SLUICE_CONTAINER_ENGINE`), else podman, else docker.
 * "Working" means `info` succeeds, so a docker client without a daemon is passed over.
 */
export async function detectContainerEngine(options: { choice?: string | undefined; env?: NodeJS.ProcessEnv } = {}): Promise<EngineChoice> {
  const env = options.env ?? process.env;
  const choice = options.choice ?? (env[ENGINE_ENV]?.trim() || undefined);
  const candidates = choice !== undefined ? [choice] : [...CONTAINER_ENGINES];
  const problems: string[] = [];
  for (const candidate of candidates) {
    const path = findExecutable(candidate, env['PATH']);
    if (path === undefined) {
      problems.push(`${candidate} not found on PATH`);
      continue;
    }
    const engine: ContainerEngine = { path, name: basename(path), globalArgs: splitArgs(env[ENGINE_ARGS_ENV]), runArgs: splitArgs(env[ENGINE_RUN_ARGS_ENV]) };
    const info = await engineCommand(engine, ['info'], 15_000);
    if (info.code === 0) return { ok: true, engine };
    problems.push(
      `${candidate} info failed: ${
        info.output
          .split('\n')
          .filter((l) => l.trim() !== '')
          .pop() ?? `exit ${info.code}`
      }`,
    );
  }
  return { ok: false, reason: `no working container engine (${problems.join('; ')})` };
}

/** Whether the engine has the image locally. */
export async function imagePresent(engine: ContainerEngine, image: string): Promise<boolean> {
  return (await engineCommand(engine, ['image', 'inspect', '--format', '{{.Id}}', image])).code === 0;
}

/** What an engine needs to run one container. */
export interface EngineRun {
  readonly image: string;
  readonly command?: readonly string[] | undefined;
  readonly args: readonly string[];
  /** Names of the variables the container gets; their values travel in the engine client's environment. */
  readonly envNames: readonly string[];
  readonly workingDir?: string | undefined;
  /** `--name` of the container, so that it can be removed if the client dies. */
  readonly containerName?: string | undefined;
  /** Host file → container path, mounted read-only. */
  readonly mounts?: readonly { readonly hostPath: string; readonly containerPath: string }[] | undefined;
}

/**
 * `podman|docker run --rm --network host -e NAME … [--entrypoint cmd] image args`: host networking so that a K_SINK on
 * 127.0.0.1 is reachable and the container's port is the host's, and `-e NAME` without a value so secrets never appear
 * in the process list.
 */
export function engineProcessSpec(engine: ContainerEngine | string, run: EngineRun, env: Readonly<Record<string, string>>): ProcessSpec {
  const e: ContainerEngine = typeof engine === 'string' ? { path: engine, name: basename(engine), globalArgs: [], runArgs: [] } : engine;
  const args = [...e.globalArgs, 'run', '--rm', '--network', 'host', ...e.runArgs];
  if (run.containerName !== undefined) args.push('--name', run.containerName);
  for (const name of run.envNames) args.push('-e', name);
  for (const m of run.mounts ?? []) args.push('-v', `${m.hostPath}:${m.containerPath}:ro`);
  if (run.workingDir !== undefined) args.push('-w', run.workingDir);
  const [entrypoint, ...rest] = run.command ?? [];
  if (entrypoint !== undefined) args.push('--entrypoint', entrypoint);
  args.push(run.image, ...rest, ...run.args);
  return { command: e.path, args, env };
}

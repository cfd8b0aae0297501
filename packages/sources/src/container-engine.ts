import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ProcessSpec } from './process-supervisor.js';

/** Engines Sluice can run a ContainerSource's images with, in order of preference. */
export const CONTAINER_ENGINES = ['docker', 'podman'] as const;

/** Finds `docker` or `podman` on a PATH; returns its full path. */
export function findContainerEngine(pathEnv: string | undefined = process.env['PATH']): string | undefined {
  for (const engine of CONTAINER_ENGINES) {
    for (const dir of (pathEnv ?? '').split(delimiter)) {
      if (dir === '') continue;
      const candidate = join(dir, engine);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** What an engine needs to run one container. */
export interface EngineRun {
  readonly image: string;
  readonly command?: readonly string[] | undefined;
  readonly args: readonly string[];
  /** Names of the variables the container gets; their values travel in the engine client's environment. */
  readonly envNames: readonly string[];
  readonly workingDir?: string | undefined;
}

/**
 * `docker|podman run --rm --network host -e NAME … [--entrypoint cmd] image args`: host networking so that a K_SINK on
 * 127.0.0.1 is reachable, and `-e NAME` without a value so secrets never appear in the process list.
 */
export function engineProcessSpec(engine: string, run: EngineRun, env: Readonly<Record<string, string>>): ProcessSpec {
  const args = ['run', '--rm', '--network', 'host'];
  for (const name of run.envNames) args.push('-e', name);
  if (run.workingDir !== undefined) args.push('-w', run.workingDir);
  const [entrypoint, ...rest] = run.command ?? [];
  if (entrypoint !== undefined) args.push('--entrypoint', entrypoint);
  args.push(run.image, ...rest, ...run.args);
  return { command: engine, args, env };
}

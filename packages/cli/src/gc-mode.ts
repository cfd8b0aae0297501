// How V8 collects garbage in `sluice run`. By default V8 marks and sweeps on helper threads beside the event loop. On
// a machine with one or two CPUs those threads take the cores the event loop needs, and requests wait for them: at
// 3,000 events/s on two cores, V8's single-threaded collector halved Sluice's p99 at the same CPU per event
// (docs/benchmarks.md, "Garbage collection on two cores"). So on such machines `sluice run` runs with
// `--single-threaded-gc`. It is a V8 flag that must be given when the process starts: Sluice restarts itself with it
// in place (`process.execve`, Node.js 22.15 and later: the same process id, before anything else ran). Node.js 20
// has no execve, so there Sluice says how to pass the flag instead. The CPUs counted are those the process can use:
// a container's or a pod's CPU limit counts (cpu-limit.ts).
import { usableCpus } from './cpu-limit.js';

export const GC_MODES = ['auto', 'single', 'parallel'] as const;
export const SINGLE_THREADED_GC = '--single-threaded-gc';
/** `auto` collects on one thread on machines with at most this many CPUs. */
export const SINGLE_THREADED_MAX_CPUS = 2;

/** The mode asked for: `--gc <mode>` or `--gc=<mode>` among the arguments, else `SLUICE_GC`, else auto. */
export function requestedGcMode(args: readonly string[], env: NodeJS.ProcessEnv): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--gc') return args[i + 1] ?? '';
    if (a.startsWith('--gc=')) return a.slice('--gc='.length);
  }
  return env['SLUICE_GC'] ?? 'auto';
}

/** Whether the collector should run on the event loop's thread alone; undefined for a mode that is not one (commander reports it). */
export function wantsSingleThreadedGc(mode: string, cpus: number): boolean | undefined {
  if (mode === 'single') return true;
  if (mode === 'parallel') return false;
  if (mode === 'auto') return cpus <= SINGLE_THREADED_MAX_CPUS;
  return undefined;
}

/** What the running process does, for the start-up log: the collector's threads, and whether the mode wanted another. */
export function gcState(mode: string, execArgv: readonly string[] = process.execArgv, cpus = usableCpus()): { singleThreaded: boolean; missing: boolean } {
  const singleThreaded = execArgv.includes(SINGLE_THREADED_GC);
  return { singleThreaded, missing: !singleThreaded && wantsSingleThreadedGc(mode, cpus) === true };
}

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/**
 * For `sluice run` on a machine where the mode wants single-threaded collection and the flag is not on yet: replaces
 * this process by the same command with the flag (never returns then). Does nothing for other commands, on Node.js
 * without `process.execve`, or when the flag is on already (so it happens at most once).
 */
export function relaunchForGc(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): void {
  if (argv[2] !== 'run' || execArgv.includes(SINGLE_THREADED_GC)) return;
  if (wantsSingleThreadedGc(requestedGcMode(argv.slice(3), env), usableCpus()) !== true) return;
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (typeof execve !== 'function') return;
  execve.call(process, process.execPath, [process.execPath, ...execArgv, SINGLE_THREADED_GC, ...argv.slice(1)], env);
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The built CLI entry point, as `npx sluice` runs it. */
export const SLUICE_BIN = join(ROOT, 'packages/cli/dist/bin.js');

/** Makes a temporary directory removed by the returned function. */
export function tempDir(prefix = 'sluice-e2e-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs the CLI to completion (for one-shot commands such as validate); kills it if it outlives `timeoutMs`. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `sluice run` process. */
export interface SluiceProcess {
  /** Base URL of the ingress, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Base URL of the admin API (started on a free port). */
  readonly adminUrl: string;
  /** The admin API token Sluice generated in its data dir (empty when started with --admin-token-file). */
  readonly adminToken: string;
  /** `{authorization: 'Bearer <adminToken>'}`, for admin API calls that change something. */
  readonly adminHeaders: Readonly<Record<string, string>>;
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** stdout and stderr so far, interleaved (empty when stderr is inherited: then only stdout). */
  output(): string;
  /** Sends a signal and waits for the exit; returns the exit code. Removes the data dir if startSluice made it. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Options of {@link startSluice}. */
export interface StartSluiceOptions {
  /** The configuration, written to `config.yaml` in the data dir. */
  readonly yaml: string;
  /** Directory for the configuration and the store (`store/` inside); default a temporary one, removed by `stop`. */
  readonly dataDir?: string;
  /** More `sluice run` arguments. */
  readonly args?: readonly string[];
  /** Added to the environment; `SLUICE_LOG_LEVEL` defaults to `info` (the ready line is an info record). */
  readonly env?: NodeJS.ProcessEnv;
  /** `inherit` lets a benchmark show sluice's errors as they happen; default `pipe` (kept in `output()`). */
  readonly stderr?: 'pipe' | 'inherit';
  /** How long to wait for the ready line (default 60 s: a loaded two-core CI machine can take tens of seconds). */
  readonly readyTimeoutMs?: number;
  /** The CLI entry point to run (default this checkout's build, {@link SLUICE_BIN}): benchmarks compare builds. */
  readonly bin?: string;
  /** Node's own options, before the entry point (`--cpu-prof`, …); default those in `SLUICE_TEST_NODE_ARGS` (space-separated). */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts `sluice run` on `yaml` like a user does (the built CLI, ingress and admin API on free ports) and resolves
 * once it printed its ready line; rejects with its output if it exits or is not ready in time.
 */
export async function startSluice(options: StartSluiceOptions): Promise<SluiceProcess> {
  const ownDir = options.dataDir === undefined ? tempDir('sluice-run-') : undefined;
  const dataDir = options.dataDir ?? ownDir!.path;
  const file = join(dataDir, 'config.yaml');
  writeFileSync(file, options.yaml);
  const run = ['run', '-f', file, '--port', '0', '--admin-port', '0', '--data-dir', join(dataDir, 'store'), ...(options.args ?? [])];
  const nodeArgs = options.nodeArgs ?? (process.env['SLUICE_TEST_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, options.bin ?? SLUICE_BIN, ...run], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: process.env['SLUICE_LOG_LEVEL'] ?? 'info', ...options.env },
    stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  try {
    const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sluice did not become ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const onData = (): void => {
        const m = /sluice ready on (https?:\/\/\S+) \(.*admin (https?:\/\/[^\s)]+)\)/.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          resolve([m[1]!, m[2]!]);
        }
      };
      child.stdout!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`sluice exited with ${code} before it was ready:\n${out}`));
      });
    });
    const tokenFile = join(dataDir, 'store', 'admin-token');
    const adminToken = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
    return {
      url,
      adminUrl,
      adminToken,
      adminHeaders: adminToken === '' ? {} : { authorization: `Bearer ${adminToken}` },
      child,
      dataDir,
      output: () => out,
      stop: async (signal = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const code = await exited;
        ownDir?.remove();
        return code;
      },
    };
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    ownDir?.remove();
    throw err;
  }
}

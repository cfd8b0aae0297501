// The container engine for tests: podman (or docker) found the way `sluice run` finds it, with the flags this kind of
// machine needs, and a test image built locally (no registry is reachable): FROM scratch + a static Go binary.
// Without an engine or Go the tests say so loudly and skip; with CI=true they fail instead.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ENGINE_ARGS_ENV, ENGINE_RUN_ARGS_ENV, detectContainerEngine, findExecutable, imagePresent, type ContainerEngine } from '@sluice/workloads';

// The Go source of the test image, in the repository (this file runs from packages/testing/dist or src).
const APP_DIR = new URL('../../../test/fixtures/ce-app/', import.meta.url).pathname;

/**
 * Flags podman needs on machines with hybrid cgroups and a low hard limit of open files (crun fails there; the default
 * ulimits exceed the hard limit). Used unless the environment sets its own.
 */
export const PODMAN_TEST_ENV: Readonly<Record<string, string>> = {
  [ENGINE_ARGS_ENV]: process.env[ENGINE_ARGS_ENV] ?? '--runtime runc --cgroup-manager cgroupfs',
  [ENGINE_RUN_ARGS_ENV]: process.env[ENGINE_RUN_ARGS_ENV] ?? '--ulimit nofile=10000:10000 --ulimit nproc=4096:4096',
};

function loud(t: TestContext, message: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!!! ${message}\n${bar}\n\n`);
  if (process.env['CI'] === 'true') throw new Error(`${message} (CI=true: engine tests must run)`);
  t.skip(message);
}

let cached: Promise<{ engine: ContainerEngine; image: string; env: Record<string, string> } | string> | undefined;

async function prepare(): Promise<{ engine: ContainerEngine; image: string; env: Record<string, string> } | string> {
  const choice = await detectContainerEngine({ env: { ...process.env, ...PODMAN_TEST_ENV } });
  if (!choice.ok) return `container engine tests cannot run: ${choice.reason}; install podman and runc (apt-get install -y podman runc)`;
  const engine = choice.engine;
  const hash = createHash('sha256')
    .update(readFileSync(join(APP_DIR, 'main.go')))
    .update(readFileSync(join(APP_DIR, 'Containerfile')))
    .digest('hex')
    .slice(0, 12);
  const image = `localhost/sluice-test-ce-app:${hash}`;
  if (!(await imagePresent(engine, image))) {
    const go = findExecutable('go') ?? findExecutable('/usr/local/go/bin/go');
    if (!go) return 'container engine tests cannot build their image: Go is not installed (apt-get install -y golang-go)';
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ce-app-'));
    try {
      execFileSync(go, ['build', '-o', join(dir, 'ce-app'), '.'], {
        cwd: APP_DIR,
        env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
        stdio: 'pipe',
      });
      copyFileSync(join(APP_DIR, 'Containerfile'), join(dir, 'Containerfile'));
      execFileSync(engine.path, [...engine.globalArgs, 'build', '-t', image, '-f', join(dir, 'Containerfile'), dir], {
        stdio: 'pipe',
      });
    } catch (err) {
      return `building the test image failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { engine, image, env: { ...PODMAN_TEST_ENV } };
}

/**
 * The engine and the test image (`localhost/sluice-test-ce-app:<hash>`; it serves $PORT and posts one event to $K_SINK),
 * or undefined after a loud skip. `env` holds the engine flags to pass to a spawned `sluice`.
 */
export async function testEngine(t: TestContext): Promise<{ engine: ContainerEngine; image: string; env: Record<string, string> } | undefined> {
  cached ??= prepare();
  const r = await cached;
  if (typeof r === 'string') {
    loud(t, r);
    return undefined;
  }
  return r;
}

#!/usr/bin/env node
// The real Google Cloud Pub/Sub emulator (Debian package `google-cloud-cli-pubsub-emulator`) on a free
// loopback port, for tests and local work.
//
//   node deploy/local-services/pubsub-emulator.mjs start   # print PUBSUB_EMULATOR_HOST=127.0.0.1:PORT,
//                                                          # run until SIGINT/SIGTERM
//   node deploy/local-services/pubsub-emulator.mjs which   # print the launcher that would be used
//
// As a module: `const ps = await start(); ps.env.PUBSUB_EMULATOR_HOST; await ps.stop();`
//
// Environment overrides:
//   SLUICE_PUBSUB_EMULATOR_BIN   launcher to run (default: found under the Cloud SDK, then on PATH).
//                                Point it at a bogus path to simulate "emulator unavailable".
//   SLUICE_PUBSUB_START_TIMEOUT_MS  readiness timeout (default: 60000)
//   CLOUD_PUBSUB_EMULATOR_OPTS   JVM flags for the emulator (default here: -Xmx512m)
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOOPBACK, freePort, supervise, waitReady } from './service-process.mjs';

const SDK_ROOTS = ['/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk'];
const LAUNCHERS = ['cloud-pubsub-emulator', 'pubsub-emulator'];

function log(msg) {
  process.stderr.write(`[pubsub-emulator] ${msg}\n`);
}

function isExecutable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Locate the emulator launcher, or throw an error saying how to install it. */
export function findLauncher() {
  const override = process.env.SLUICE_PUBSUB_EMULATOR_BIN;
  if (override) {
    if (!isExecutable(override)) {
      throw new Error(`SLUICE_PUBSUB_EMULATOR_BIN=${override} is not an executable file`);
    }
    return override;
  }
  const roots = [...SDK_ROOTS];
  if (process.env.CLOUDSDK_ROOT_DIR) roots.unshift(process.env.CLOUDSDK_ROOT_DIR);
  for (const root of roots) {
    for (const name of LAUNCHERS) {
      const p = join(root, 'platform', 'pubsub-emulator', 'bin', name);
      if (isExecutable(p)) return p;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of LAUNCHERS) {
      const p = join(dir, name);
      if (isExecutable(p)) return p;
    }
  }
  // Last: ask gcloud where its SDK lives (a user-local install).
  const g = spawnSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8', timeout: 20_000 });
  const sdkRoot = g.status === 0 ? g.stdout.trim() : '';
  if (sdkRoot) {
    for (const name of LAUNCHERS) {
      const p = join(sdkRoot, 'platform', 'pubsub-emulator', 'bin', name);
      if (isExecutable(p)) return p;
    }
  }
  throw new Error(
    'Pub/Sub emulator not found. Install it with `apt-get install -y google-cloud-cli-pubsub-emulator` ' +
      '(or `gcloud components install pubsub-emulator`), or set SLUICE_PUBSUB_EMULATOR_BIN to its launcher, ' +
      'or point PUBSUB_EMULATOR_HOST at an emulator you run yourself.',
  );
}

/** The emulator answers `GET /` with 200 "Ok." once it serves (REST and gRPC share the port). */
function httpReady(port) {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: LOOPBACK, port, path: '/', method: 'GET', timeout: 1500 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolvePromise();
      else reject(new Error(`GET / answered ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('GET / timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Signal the launcher's whole process group (it was spawned detached), falling back to the pid. */
function killGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Start the emulator on a free loopback port and wait until it serves.
 * @param {{ timeoutMs?: number, quiet?: boolean, project?: string }} [opts]
 * @returns {Promise<{ env: Record<string,string>, stop(): Promise<void>, port: number, logFile: string }>}
 */
export async function start(opts = {}) {
  const timeoutMs = opts.timeoutMs ?? Number(process.env.SLUICE_PUBSUB_START_TIMEOUT_MS || 60_000);
  const launcher = findLauncher();
  const port = await freePort();
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-pubsub-'));
  const logFile = join(tmp, 'emulator.log');
  const t0 = Date.now();

  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(launcher, [`--host=${LOOPBACK}`, `--port=${port}`], {
      cwd: tmp,
      stdio: ['ignore', fd, fd],
      env: {
        ...process.env,
        CLOUD_PUBSUB_EMULATOR_OPTS: process.env.CLOUD_PUBSUB_EMULATOR_OPTS ?? '-Xms64m -Xmx512m',
      },
      // Own process group, so stop() also reaches the JVM when the launcher is a wrapper that forks.
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  const service = supervise(child, { name: 'Pub/Sub emulator', tmp, graceMs: 10_000, log, signal: (sig) => killGroup(child, sig) });
  const stop = service.stop;

  const host = `${LOOPBACK}:${port}`;
  await waitReady({ name: 'Pub/Sub emulator', where: host, check: () => httpReady(port), intervalMs: 200, deadline: Date.now() + timeoutMs, timeoutMs, logFile, service });
  if (!opts.quiet) log(`ready on ${host} in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid}, ${launcher})`);
  return { env: { PUBSUB_EMULATOR_HOST: host }, stop, port, logFile, pid: child.pid };
}

async function main(argv) {
  const cmd = argv[0] ?? 'start';
  if (cmd === 'which') {
    process.stdout.write(`${findLauncher()}\n`);
    return;
  }
  if (cmd === 'start') {
    const svc = await start();
    process.stdout.write(`PUBSUB_EMULATOR_HOST=${svc.env.PUBSUB_EMULATOR_HOST}\n`);
    log(`log: ${svc.logFile}; press Ctrl-C to stop`);
    await new Promise((resolvePromise) => {
      const onSig = (sig) => {
        log(`${sig}: stopping emulator ...`);
        resolvePromise();
      };
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
    });
    await svc.stop();
    log('stopped');
    return;
  }
  process.stderr.write('usage: node deploy/local-services/pubsub-emulator.mjs start|which\n');
  process.exitCode = 2;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`[pubsub-emulator] ERROR: ${err?.message ?? err}\n`);
    process.exit(1);
  });
}

#!/usr/bin/env node
// Runs every *.test.ts under packages/ and test/ with node's built-in test runner (through tsx).
// Node 20's `node --test` takes paths, not globs, so the file list is built here.
// Usage: node scripts/run-tests.mjs [--unit] [--skip=file-or-dir-filter ...] [file-or-dir-filter ...]
//
// External services: a test file declares what it needs with a marker comment in its first lines,
//     // @needs kafka
//     // @needs pubsub
// For each service needed by the selected files whose env var (KAFKA_BROKERS / PUBSUB_EMULATOR_HOST) is
// not already set, this script starts it once through deploy/local-services/*.mjs, hands the env var to
// the test process, and stops it after the run (also on SIGINT/SIGTERM). If a service cannot start, a
// loud error is printed; the tests still run (they skip loudly via test/services requireService), but
// with CI=true they fail instead, and this script exits non-zero regardless.
import { spawn } from 'node:child_process';
import { openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));
const skips = args.filter((a) => a.startsWith('--skip=')).map((a) => a.slice('--skip='.length));
const inCI = process.env.CI === 'true';

/** name -> env var handed to tests, the script that starts it, and the env var carrying a start failure. */
const SERVICES = {
  kafka: { envVar: 'KAFKA_BROKERS', script: 'deploy/local-services/kafka.mjs', errorVar: 'SLUICE_SERVICE_ERROR_KAFKA' },
  pubsub: {
    envVar: 'PUBSUB_EMULATOR_HOST',
    script: 'deploy/local-services/pubsub-emulator.mjs',
    errorVar: 'SLUICE_SERVICE_ERROR_PUBSUB',
  },
};

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, 'packages'), []);
if (!unitOnly) files = files.concat(walk(join(root, 'test'), []));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (skips.length > 0) files = files.filter((f) => !skips.some((x) => f.includes(x)));
files.sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

/** `// @needs a, b` / `// @needs a b` markers in the first 20 lines of a file. */
function needsOf(file) {
  const buf = Buffer.alloc(4096);
  const fd = openSync(join(root, file), 'r');
  let n;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const out = [];
  for (const line of buf.toString('utf8', 0, n).split('\n').slice(0, 20)) {
    const m = /^\s*\/\/\s*@needs\s+(.+?)\s*$/.exec(line);
    if (m) out.push(...m[1].split(/[\s,]+/).filter(Boolean));
  }
  return out;
}

const needed = new Map(); // service -> files needing it
for (const f of files) {
  for (const name of needsOf(f)) {
    if (!(name in SERVICES)) {
      console.error(`${f}: unknown service in "// @needs ${name}" (known: ${Object.keys(SERVICES).join(', ')})`);
      process.exit(2);
    }
    if (!needed.has(name)) needed.set(name, []);
    needed.get(name).push(f);
  }
}

function loud(lines) {
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n`);
}

const started = []; // { name, stop }
let stopping = null;
function stopServices() {
  stopping ??= Promise.allSettled(
    started.map(async (s) => {
      try {
        await s.stop();
      } catch (err) {
        console.error(`[run-tests] stopping ${s.name} failed: ${err?.message ?? err}`);
      }
    }),
  );
  return stopping;
}

let child = null;
let signalled = null;
function onSignal(sig) {
  if (signalled) {
    // Second signal: give up waiting. The service modules' exit hooks SIGKILL what they started.
    process.exit(sig === 'SIGINT' ? 130 : 143);
  }
  signalled = sig;
  console.error(`[run-tests] ${sig}: stopping tests and services ...`);
  if (child && child.exitCode === null) {
    child.kill(sig); // its 'exit' handler stops the services and exits
  } else if (!child) {
    // Still starting services: exit now; exit hooks in the service modules kill and clean up.
    process.exit(sig === 'SIGINT' ? 130 : 143);
  }
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const env = { ...process.env };
// The test process never needs the GCE metadata server: keep google-auth from probing it.
env.METADATA_SERVER_DETECTION ??= 'none';
// Test files run sluice processes side by side: none may take the admin API's default port.
env.SLUICE_ADMIN_PORT ??= '0';
let serviceFailed = false;

const toStart = [...needed.keys()].filter((name) => {
  const v = process.env[SERVICES[name].envVar];
  if (v && v.trim()) {
    console.error(`[run-tests] ${name}: using ${SERVICES[name].envVar}=${v} from the environment`);
    return false;
  }
  return true;
});
if (toStart.length > 0) {
  console.error(`[run-tests] starting ${toStart.join(' + ')} for ${[...new Set(toStart.flatMap((n) => needed.get(n)))].length} test file(s) ...`);
}
const results = await Promise.allSettled(
  toStart.map(async (name) => {
    const svc = SERVICES[name];
    const mod = await import(new URL(`../${svc.script}`, import.meta.url).href);
    const handle = await mod.start();
    started.push({ name, stop: handle.stop });
    return { name, handle };
  }),
);
results.forEach((r, i) => {
  const name = toStart[i];
  const svc = SERVICES[name];
  if (r.status === 'fulfilled') {
    Object.assign(env, r.value.handle.env);
    delete env[svc.errorVar];
    return;
  }
  serviceFailed = true;
  const msg = String(r.reason?.message ?? r.reason);
  env[svc.errorVar] = msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' | ')
    .slice(0, 500);
  loud([
    `SERVICE ${name.toUpperCase()} FAILED TO START — ${inCI ? 'CI=true: this run will FAIL' : 'its tests will be SKIPPED'}`,
    `needed by: ${needed.get(name).join(', ')}`,
    `provide your own with ${svc.envVar}=host:port, or see deploy/local-services/README.md`,
    '',
    ...msg.split('\n'),
  ]);
});
if (signalled) {
  await stopServices();
  process.exit(signalled === 'SIGINT' ? 130 : 143);
}

// --test-timeout bounds each test file as a whole as well as each test: 20 minutes lets the slow ones (container image
// build, npm install -g, a three-node Kafka cluster's faults) finish on a loaded two-core machine; those files set
// tighter timeouts on their own tests where they can.
child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=1200000', ...files], { cwd: root, stdio: 'inherit', env });
child.on('exit', async (code, signal) => {
  await stopServices();
  let exitCode = code ?? (signal ? 1 : 0);
  if (serviceFailed && inCI) {
    loud(['a required service failed to start and CI=true: exiting non-zero']);
    if (exitCode === 0) exitCode = 1;
  }
  if (signalled && exitCode === 0) exitCode = signalled === 'SIGINT' ? 130 : 143;
  process.exit(exitCode);
});

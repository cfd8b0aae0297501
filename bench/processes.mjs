// Child processes of the benchmarks: the sink and forwarder scripts (forked, they report their port over IPC),
// questions to the sink, waiting for deliveries to drain, peak RSS of a process, and the event-loop delay a
// benchmarked Sluice records.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('.', import.meta.url));

/** Forks `bench/<file>` (with `env` added to the environment) and resolves with the child and the port it reports. */
export function startChild(file, args = [], { env } = {}) {
  const child = fork(join(BENCH, file), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

/** Sends an IPC command to a child and resolves with its answer. */
export function ask(child, cmd) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ cmd });
  });
}

/** Waits until the sink has `expected` deliveries (or its count stops growing for 5 s), then returns its stats. */
export async function drain(sink, expected, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let stats = await ask(sink, 'stats');
  let last = -1;
  let stableSince = Date.now();
  while (stats.count < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    stats = await ask(sink, 'stats');
    if (stats.count !== last) {
      last = stats.count;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 5000) break;
  }
  return stats;
}

/** Peak resident set of a process in MiB (VmHWM), NaN when unknown. */
export function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Environment that makes a benchmarked Sluice record its event-loop delay (bench/event-loop-delay.mjs preloaded), and
 * the file it answers in: pass `env` to the process, then `eventLoopDelay({ pid, eldFile })`; `remove()` afterwards.
 */
export function eventLoopDelayEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-eld-'));
  const eldFile = join(dir, 'eld.json');
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(BENCH, 'event-loop-delay.mjs')}`.trim(), SLUICE_BENCH_ELD_FILE: eldFile };
  return { env, eldFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The event-loop delay histogram (ms) a benchmarked Sluice recorded since the previous call (or its start), read
 * through SIGUSR2 from the preloaded bench/event-loop-delay.mjs; undefined for a process without it.
 */
export async function eventLoopDelay(target) {
  if (!target.eldFile) return undefined;
  rmSync(target.eldFile, { force: true });
  process.kill(target.pid, 'SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(target.eldFile); i++) await new Promise((r) => setTimeout(r, 50));
  try {
    return JSON.parse(readFileSync(target.eldFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in seconds, from /proc (NaN when unknown). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

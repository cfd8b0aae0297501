// Child processes of the benchmarks: the sink and forwarder scripts (forked, they report their port over IPC),
// questions to the sink, waiting for deliveries to drain, and peak RSS of a process.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

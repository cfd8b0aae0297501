// How many CPUs this process can use: the CPUs it may run on (`os.availableParallelism()`), or fewer when its control
// group caps its CPU time, as a container's `--cpus` or a Kubernetes pod's `resources.limits.cpu` does. Node.js
// counts only the former, so on a 16-core node a pod limited to one CPU would otherwise look like a 16-CPU machine.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, undefined when it cannot be read (no such file, no cgroup file system). */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** CPUs this process can use: availableParallelism() capped by its control group's CPU quota (rounded up, at least 1). */
export function usableCpus(read: ReadText = readText, cpus: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? cpus : Math.max(1, Math.min(cpus, Math.ceil(quota)));
}

/**
 * The CPU time this process's control group and its ancestors may use, in CPUs (quota / period, the lowest on the way
 * to the root); undefined without a limit. cgroup v2: `cpu.max` ("max 100000" or "150000 100000") under
 * /sys/fs/cgroup; cgroup v1: `cpu.cfs_quota_us` (-1 for none) and `cpu.cfs_period_us` of the `cpu` controller.
 */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const membership = read('/proc/self/cgroup');
  if (membership === undefined) return undefined;
  let lowest: number | undefined;
  const take = (cpus: number | undefined) => {
    if (cpus !== undefined && cpus > 0 && (lowest === undefined || cpus < lowest)) lowest = cpus;
  };
  for (const line of membership.split('\n')) {
    const [id, controllers, path] = splitCgroupLine(line);
    if (path === undefined) continue;
    if (id === '0' && controllers === '') {
      for (const dir of ancestors(path)) take(parseCpuMax(read(`/sys/fs/cgroup${dir}/cpu.max`)));
    } else if (controllers!.split(',').includes('cpu')) {
      // The v1 controller is mounted as cpu, or as cpu,cpuacct (a link to the other on most systems).
      for (const mount of new Set(['/sys/fs/cgroup/cpu', `/sys/fs/cgroup/${controllers}`])) {
        for (const dir of ancestors(path)) {
          const quota = Number(read(`${mount}${dir}/cpu.cfs_quota_us`));
          const period = Number(read(`${mount}${dir}/cpu.cfs_period_us`));
          if (quota > 0 && period > 0) take(quota / period);
        }
      }
    }
  }
  return lowest;
}

/** "hierarchy-id:controllers:path" → its three parts (the path may itself hold colons). */
function splitCgroupLine(line: string): [string, string, string] | [] {
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second < 0) return [];
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1).trim()];
}

/** "/a/b" → "/a/b", "/a", "" (the root); in a container with its own cgroup namespace the path is "/". */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(i === 0 ? '' : `/${parts.slice(0, i).join('/')}`);
  return out;
}

function parseCpuMax(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  const q = Number(quota);
  const p = Number(period ?? 100_000);
  return q > 0 && p > 0 ? q / p : undefined;
}

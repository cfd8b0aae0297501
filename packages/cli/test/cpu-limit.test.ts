import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { cgroupCpuQuota, usableCpus, type ReadText } from '../src/cpu-limit.js';

/** A file system of these files only. */
const files =
  (map: Record<string, string>): ReadText =>
  (path) =>
    map[path];

test('cgroup v2: cpu.max of the process group or an ancestor caps the CPUs, rounded up', () => {
  const v2 = (cpuMax: Record<string, string>) => files({ '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n', ...cpuMax });
  assert.equal(cgroupCpuQuota(v2({ '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n' })), undefined, 'no limit');
  assert.equal(cgroupCpuQuota(v2({ '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000\n' })), 1.5);
  // The pod's limit (an ancestor) is lower than the container's own.
  const nested = v2({ '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '400000 100000', '/sys/fs/cgroup/kubepods/pod1/cpu.max': '50000 100000', '/sys/fs/cgroup/cpu.max': 'max 100000' });
  assert.equal(cgroupCpuQuota(nested), 0.5);
  assert.equal(usableCpus(nested, 16), 1, 'half a CPU is one CPU to use');
  assert.equal(usableCpus(v2({ '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000' }), 16), 2);
  assert.equal(usableCpus(v2({ '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '800000 100000' }), 2), 2, 'never more than the CPUs it may run on');
  // In a container with its own cgroup namespace the path is the root.
  assert.equal(usableCpus(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n' }), 8), 1);
});

test('cgroup v1: cfs_quota_us / cfs_period_us of the cpu controller; -1 is no limit', () => {
  const membership = '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n';
  const limited = files({
    '/proc/self/cgroup': membership,
    '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '200000\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
  });
  assert.equal(cgroupCpuQuota(limited), 2);
  assert.equal(usableCpus(limited, 32), 2);
  const unlimited = files({ '/proc/self/cgroup': membership, '/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us': '100000\n' });
  assert.equal(cgroupCpuQuota(unlimited), undefined);
  assert.equal(usableCpus(unlimited, 32), 32);
});

test('no cgroup information: the CPUs Node.js reports', () => {
  assert.equal(usableCpus(files({}), 6), 6);
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': 'garbage' })), undefined);
});

test('on this machine: at most the CPUs Node.js reports, at least one', () => {
  const cpus = usableCpus();
  assert.ok(cpus >= 1 && cpus <= availableParallelism(), `${cpus} usable of ${availableParallelism()}`);
  // With the real files: a limit found is the one the files hold.
  const quota = cgroupCpuQuota();
  if (quota !== undefined) assert.equal(cpus, Math.min(availableParallelism(), Math.ceil(quota)));
  else assert.equal(cpus, availableParallelism(), readFileSync('/proc/self/cgroup', 'utf8'));
});

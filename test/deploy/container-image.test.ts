// The Dockerfile, built and run for real with podman: no registry is reachable, so a local Node.js base image is made
// first (deploy/docker/base-image.mjs: debootstrap + the official Node binary from the npm registry) and passed to
// the Dockerfile's build arguments. The image runs as a non-root user with its data directory as a volume, answers its
// health check, delivers events to a subscriber on the host, and drains on `podman stop` (SIGTERM). It runs with a CPU
// limit of one CPU, which Sluice counts: it restarts itself with V8's single-threaded collector (Node.js 24 image), and
// a JobSink runs one job at a time by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, postEvent, startSubscriber, tempDir } from '@sluice/testing';
import { broker, documents, resource, trigger } from '../e2e/manifests.js';

const ENGINE = process.env['SLUICE_CONTAINER_ENGINE'] ?? 'podman';
// The flags that make podman work on these machines: runc (crun fails on hybrid cgroups), cgroupfs, and ulimits
// under the machine's hard limit.
const GLOBAL = ENGINE === 'podman' ? ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'] : [];
const ULIMITS = ['--ulimit', 'nofile=10000:10000', '--ulimit', 'nproc=4096:4096'];
const engineMissing = spawnSync(ENGINE, ['--version']).status !== 0;
if (engineMissing) {
  process.stderr.write(`\n!!! ${ENGINE} is not installed: the container image test cannot run (apt-get install podman runc)\n\n`);
}

const engine = (args: string[], opts: { input?: string } = {}): string => execFileSync(ENGINE, [...GLOBAL, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'], ...opts });

async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test(
  'the Dockerfile builds, runs as non-root with a data volume, passes its health check, delivers and drains',
  {
    timeout: 1_500_000,
    skip: engineMissing && process.env['CI'] !== 'true' ? `${ENGINE} not installed` : false,
  },
  async () => {
    assert.ok(!engineMissing, `${ENGINE} is required under CI=true`);
    const base = execFileSync(process.execPath, [join(ROOT, 'deploy/docker/base-image.mjs'), '--engine', ENGINE], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const image = 'localhost/sluice:test';
    // Docker format: the OCI image format has no HEALTHCHECK, and podman would drop it.
    engine([
      'build',
      ...(ENGINE === 'podman' ? ['--format', 'docker'] : []),
      ...ULIMITS,
      '--network',
      'host',
      '-t',
      image,
      '--build-arg',
      `BASE_IMAGE=${base}`,
      '--build-arg',
      `RUNTIME_IMAGE=${base}`,
      '-f',
      join(ROOT, 'Dockerfile'),
      ROOT,
    ]);

    const dir = tempDir('sluice-image-');
    const subscriber = await startSubscriber();
    const name = `sluice-test-${process.pid}`;
    const volume = `${name}-data`;
    try {
      const [port, adminPort] = [await freePort(), await freePort()];
      const jobSink = resource('sinks.knative.dev/v1alpha1', 'JobSink', 'jobs', {
        job: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', command: ['node', '-e', ''] }] } } } },
      });
      writeFileSync(join(dir.path, 'app.yaml'), documents(broker('default'), trigger('all', { broker: 'default', subscriber: subscriber.url }), jobSink));
      // The container's user (uid 10001) reads the mounted configuration, as it would a ConfigMap.
      chmodSync(dir.path, 0o755);
      chmodSync(join(dir.path, 'app.yaml'), 0o644);
      engine(['volume', 'create', volume]);
      // Host networking: the subscriber listens on the host's loopback.
      engine([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'host',
        ...ULIMITS,
        '--cpus',
        '1',
        '-e',
        `SLUICE_PORT=${port}`,
        '-e',
        `SLUICE_ADMIN_PORT=${adminPort}`,
        '-v',
        `${dir.path}:/etc/sluice:ro`,
        '-v',
        `${volume}:/data`,
        image,
      ]);
      const ingress = `http://127.0.0.1:${port}`;
      await waitUntilReady(`${ingress}/readyz`, 90_000).catch((err: Error) => {
        const logs = spawnSync(ENGINE, [...GLOBAL, 'logs', name], { encoding: 'utf8' });
        throw new Error(`${err.message}\n${logs.stdout}${logs.stderr}`);
      });

      assert.equal(engine(['exec', name, 'id', '-u']).trim(), '10001', 'runs as the sluice user');
      // The container's CPU limit, not the machine's CPUs, decided the collector; the restart kept pid 1.
      const cmdline = engine(['exec', name, 'cat', '/proc/1/cmdline']).split('\0');
      assert.ok(cmdline.includes('--single-threaded-gc'), `pid 1 runs with the single-threaded collector: ${cmdline.join(' ')}`);
      const logs = spawnSync(ENGINE, [...GLOBAL, 'logs', name], { encoding: 'utf8' });
      const gcLine = `${logs.stdout}${logs.stderr}`.split('\n').find((l) => l.includes('"gc":"single"'));
      assert.match(gcLine ?? '', /"cpus":1[,}]/, "the start-up log counts the container's one CPU");
      const jobSinkLine = `${logs.stdout}${logs.stderr}`.split('\n').find((l) => l.includes('JobSink ready'));
      assert.match(jobSinkLine ?? '', /"concurrency":1[,}]/, "a JobSink's default concurrency is the container's one CPU");
      assert.equal(engine(['image', 'inspect', image, '--format', '{{json .Config.Volumes}}']).includes('/data'), true, '/data is a volume');
      const health = spawnSync(ENGINE, [...GLOBAL, 'healthcheck', 'run', name], { encoding: 'utf8' });
      assert.equal(health.status, 0, `the image health check (/livez) passes: ${health.stdout}${health.stderr}`);

      for (let i = 0; i < 20; i++) {
        const r = await postEvent(`${ingress}/default/default`, { id: `img-${i}`, source: '/image', type: 'dev.sluice.image' }, '{"n":1}');
        assert.equal(r.status, 202, r.body);
      }
      await subscriber.waitForCount(20);
      assert.deepEqual(new Set(subscriber.ids()).size, 20);

      engine(['stop', '-t', '30', name]);
      assert.equal(engine(['inspect', name, '--format', '{{.State.ExitCode}}']).trim(), '0', 'SIGTERM drains and exits 0');
    } finally {
      spawnSync(ENGINE, [...GLOBAL, 'rm', '-f', name]);
      spawnSync(ENGINE, [...GLOBAL, 'volume', 'rm', '-f', volume]);
      await subscriber.close();
      dir.remove();
    }
  },
);

// Plugin libraries load on first use: the real `sluice` CLI, spawned as a user runs it, with a module-load recorder
// (test/fixtures/module-loads) listing every file the process loaded. A configuration loads only the libraries its
// resources need (kafkajs, @google-cloud/pubsub, the OpenTelemetry SDK, jose, jsonata), a live change that adds such a
// resource loads its library then, `sluice validate` loads none but jsonata (to check an EventTransform's expression)
// nor what only `sluice run` needs (express, undici, better-sqlite3, prom-client: each command's module loads when it
// runs), and a library that cannot be loaded is a one-line error naming the resource and the library. Nothing here
// needs Kafka or Pub/Sub: the Kafka addresses refuse connections.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, cleanupScope, postEvent, runCli, startSluice, tempDir, waitFor } from './harness.js';
import { startSubscriberIn } from './fixtures.js';
import * as manifests from './manifests.js';

const cleanup = cleanupScope();

const RECORDER = pathToFileURL(join(ROOT, 'test/fixtures/module-loads/record.mjs')).href;

/** The heavy libraries of plugins, by the package directory their files are in. */
const HEAVY = ['kafkajs', '@google-cloud/pubsub', 'google-gax', '@grpc/grpc-js', '@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-proto', 'jose', 'jsonata'];

/** A file that lists what a process loaded, and the environment that makes `sluice` fill it. */
function recorder(t: TestContext, refuse: readonly string[] = []): { env: NodeJS.ProcessEnv; packages: () => Set<string>; listedRequired: () => boolean } {
  const dir = tempDir('sluice-loads-');
  t.after(dir.remove);
  const file = join(dir.path, 'loads.txt');
  writeFileSync(file, '');
  return {
    env: {
      NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${RECORDER}`.trim(),
      SLUICE_TEST_LOADS_FILE: file,
      ...(refuse.length > 0 ? { SLUICE_TEST_REFUSE_PACKAGES: refuse.join(',') } : {}),
    },
    // Whether the CommonJS modules were listed (at exit, or on SIGUSR2).
    listedRequired: () => readFileSync(file, 'utf8').includes('# require cache listed\n'),
    // The package of every loaded file under node_modules (`kafkajs`, `@grpc/grpc-js`), and `sluice:<package>/<file>`
    // for Sluice's own built files.
    packages: () => {
      const names = new Set<string>();
      for (const path of readFileSync(file, 'utf8').split('\n')) {
        const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
        if (dep) names.add(dep[1]!);
        const own = /packages\/([^/]+)\/dist\/([^/]+)\.js$/.exec(path);
        if (own && !path.includes('node_modules')) names.add(`sluice:${own[1]}/${own[2]}`);
      }
      return names;
    },
  };
}

const loaded = (packages: Set<string>, names: readonly string[]): string[] => names.filter((n) => packages.has(n));

/** What `sluice run` needs and `sluice validate` does not: the admin API, HTTP delivery, the store, the metrics. */
const RUNTIME_ONLY = ['express', 'undici', 'better-sqlite3', 'prom-client'];

/** A KafkaSource of broker `default` on a Kafka address that refuses connections. */
const kafkaSource = manifests.resource('sources.knative.dev/v1beta1', 'KafkaSource', 'orders', {
  bootstrapServers: ['127.0.0.1:1'],
  topics: ['orders'],
  sink: { ref: manifests.brokerRef('default') },
});

/** A CloudPubSubSource of broker `default`: validate only checks it, and the run below refuses its library first. */
const pubsubSource = manifests.resource('events.cloud.google.com/v1', 'CloudPubSubSource', 'feed', { project: 'my-project', topic: 'feed', sink: { ref: manifests.brokerRef('default') } });

test('one Broker and one Trigger load no plugin library; a KafkaSource added live loads kafkajs then', async (t) => {
  const sub = await startSubscriberIn(cleanup);
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const loads = recorder(t);
  const base = manifests.documents(manifests.broker('default'), manifests.trigger('all', { broker: 'default', subscriber: sub.url }));
  const sluice = await startSluice({ yaml: base, dataDir: dir.path, env: loads.env });
  cleanup.add(async () => void (await sluice.stop('SIGKILL')));
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'e1', source: '/lazy', type: 't' })).status, 202);
  await sub.waitForCount(1);
  // What the ingress, the store and the delivery loaded, before any change: ES modules are recorded as they load.
  const before = loads.packages();
  assert.ok(before.has('sluice:broker/runtime'), 'the recorder lists ES modules');
  assert.deepEqual(loaded(before, HEAVY), []);

  writeFileSync(join(dir.path, 'config.yaml'), manifests.documents(base, kafkaSource));
  sluice.child.kill('SIGHUP');
  await waitFor(() => /"msg":"kafka source starting"/.test(sluice.output()), 'the KafkaSource started by the SIGHUP', 60_000);
  // The recorder lists the CommonJS modules loaded so far on SIGUSR2 (a SIGTERM now would wait out the source's join).
  sluice.child.kill('SIGUSR2');
  await waitFor(loads.listedRequired, 'the CommonJS modules listed', 30_000);
  const after = loads.packages();
  assert.ok(after.has('bindings'), 'the recorder lists CommonJS modules (better-sqlite3 requires bindings)');
  assert.deepEqual(loaded(after, HEAVY), ['kafkajs']);
});

test('tracing on (OTEL_TRACES_EXPORTER=otlp) loads the OpenTelemetry SDK and its exporter, and only that', async (t) => {
  const loads = recorder(t);
  const sluice = await startSluice({
    yaml: manifests.broker('default'),
    env: { ...loads.env, OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
  });
  cleanup.add(async () => void (await sluice.stop('SIGKILL')));
  assert.equal(await sluice.stop(), 0);
  assert.deepEqual(loaded(loads.packages(), HEAVY), ['@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-proto']);
});

test('sluice validate loads no plugin library for Kafka and Pub/Sub resources, and none of what only sluice run needs', async (t) => {
  const dir = tempDir();
  t.after(dir.remove);
  const file = join(dir.path, 'all.yaml');
  writeFileSync(
    file,
    manifests.documents(
      manifests.kafkaBroker('default', { servers: '127.0.0.1:1', partitions: 1 }),
      manifests.trigger('all', { broker: 'default', subscriber: { uri: 'http://127.0.0.1:1/' } }),
      kafkaSource,
      manifests.resource('eventing.knative.dev/v1alpha1', 'KafkaSink', 'out', { topic: 'out', bootstrapServers: ['127.0.0.1:1'] }),
      pubsubSource,
    ),
  );
  const loads = recorder(t);
  const r = await runCli(['validate', '-f', file], { env: loads.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /6 resources valid/);
  assert.ok(loads.listedRequired(), 'the recorder listed the CommonJS modules at exit');
  const packages = loads.packages();
  assert.ok(packages.has('sluice:cli/validate-command'), 'the recorder lists what validate loaded');
  assert.ok(packages.has('yaml') && packages.has('ajv'), 'the recorder lists the libraries validate uses');
  assert.deepEqual(loaded(packages, HEAVY), []);
  // Each command's module loads when that command runs: not run-command's, nor what the store and delivery require.
  assert.deepEqual(loaded(packages, RUNTIME_ONLY), []);
  assert.ok(!packages.has('sluice:cli/run-command'), 'sluice validate loaded run-command');
});

test('a library that cannot be loaded stops sluice run with one line naming the resource and the library', async (t) => {
  const dir = tempDir();
  t.after(dir.remove);
  const file = join(dir.path, 'config.yaml');
  writeFileSync(file, manifests.documents(manifests.broker('default'), pubsubSource));
  const loads = recorder(t, ['@google-cloud/pubsub']);
  const r = await runCli(['run', '-f', file, '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'store')], { env: loads.env });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /^sluice: CloudPubSubSource default\/feed needs @google-cloud\/pubsub, which could not be loaded \(is Sluice installed with its dependencies\?\): Cannot find package '@google-cloud\/pubsub'/m,
  );
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
});

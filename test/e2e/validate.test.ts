// `sluice validate` prints one file:line:col: message per error and exits non-zero; valid files exit 0.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './harness.js';

const F = 'test/fixtures/invalid';

/** `yaml` as trigger.yaml in a directory removed after the test; its path. Its lines are what the errors name. */
function triggerFile(t: TestContext, yaml: string): string {
  const dir = tempDir();
  t.after(dir.remove);
  const file = join(dir.path, 'trigger.yaml');
  writeFileSync(file, yaml);
  return file;
}

test('valid configuration: exit 0', async () => {
  const r = await runCli(['validate', '-f', 'examples/quickstart']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 resources valid/);
});

test('every error is reported with its position, across files and documents', async () => {
  const r = await runCli(['validate', '-f', `${F}/schema-errors.yaml`, '-f', `${F}/semantic-errors.yaml`, '-f', `${F}/yaml-error.yaml`]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  const expected = [
    `${F}/schema-errors.yaml:7:12: Broker/default: spec.delivery.retry: must be >= 0`,
    `${F}/schema-errors.yaml:8:20: Broker/default: spec.delivery.backoffPolicy: must be one of: "linear", "exponential"`,
    `${F}/schema-errors.yaml:9:19: Broker/default: spec.delivery.backoffDelay: must be an ISO-8601 duration`,
    `${F}/schema-errors.yaml:19:7: Trigger/bad-filters: spec.filter.attributes.Type: invalid key "Type"`,
    `${F}/schema-errors.yaml:21:7: Trigger/bad-filters: spec.filters[0]: a filter entry sets exactly one dialect`,
    `${F}/schema-errors.yaml:27:3: Trigger/bad-filters: spec.deliver: unknown field "deliver"`,
    // References to undeclared resources are warnings: Knative accepts them and shows the resource NotReady.
    `${F}/semantic-errors.yaml:6:11: warning: Trigger/orphan: broker "default/missing" is not declared`,
    `${F}/semantic-errors.yaml:11:13: warning: Trigger/orphan: Broker "default/also-missing" is not declared`,
    // Resources with schema errors take part in the other checks too: both files declare Broker default/default.
    `${F}/semantic-errors.yaml:16:9: Broker/default: duplicate Broker "default/default"`,
    // column of the unknown function inside the quoted CESQL expression
    `${F}/semantic-errors.yaml:25:30: Trigger/bad-cesql: spec.filters[0].cesql: invalid CESQL expression: unknown function NOPE`,
    `${F}/semantic-errors.yaml:27:10: Trigger/bad-cesql: uri must be an absolute http(s) URL`,
    `${F}/semantic-errors.yaml:30:7: kind Frobnicator (eventing.knative.dev/v1) is not supported by Sluice`,
    `${F}/yaml-error.yaml:5:1: invalid YAML:`,
  ];
  for (const prefix of expected)
    assert.ok(
      lines.some((l) => l.startsWith(prefix)),
      `missing: ${prefix}\n--- got:\n${r.stderr}`,
    );
  assert.match(r.stderr, /11 errors/);
  // The supported kinds are listed once per run, not in every error.
  assert.equal(lines.filter((l) => l.startsWith('supported kinds: ')).length, 1);
});

test('run refuses an invalid configuration with the same errors and starts nothing', async () => {
  const r = await runCli(['run', '-f', `${F}/semantic-errors.yaml`, '--port', '0', '--data-dir', '/nonexistent/never-created']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /semantic-errors\.yaml:25:30: Trigger\/bad-cesql/);
  assert.doesNotMatch(r.stdout, /ready/);
});

test('references to undeclared resources: warnings (exit 0), errors with --strict, with "did you mean"', async (t) => {
  const file = triggerFile(
    t,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: early }
spec:
  broker: defualt
  subscriber: { uri: "http://127.0.0.1:1/" }
`,
  );
  const lenient = await runCli(['validate', '-f', file]);
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.equal(lenient.stderr.trim(), `${file}:9:11: warning: Trigger/early: broker "default/defualt" is not declared in the configuration (did you mean "default"?)`);
  assert.match(lenient.stdout, /2 resources valid \(1 warning/);
  const strict = await runCli(['validate', '--strict', '-f', file]);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /trigger\.yaml:9:11: Trigger\/early: broker "default\/defualt" is not declared/);
});

test('a ref with a protocol-relative uri is refused: it would leave the ref', async (t) => {
  const file = triggerFile(
    t,
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: default
  subscriber:
    ref: { apiVersion: v1, kind: Service, name: svc }
    uri: //other-host/path
`,
  );
  const r = await runCli(['validate', '-f', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /trigger\.yaml:12:10: Trigger\/t: a protocol-relative uri \(\/\/host\/…\) is not allowed when ref is present/);
});

test('a missing file is a clear error', async () => {
  const r = await runCli(['validate', '-f', 'no/such/file.yaml']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^no\/such\/file\.yaml: cannot read: no such file or directory$/m);
});

test('usage errors exit 2', async () => {
  const r = await runCli(['run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /required option '-f, --filename <path>'/);
});

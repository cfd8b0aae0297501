// `sluice validate` on the examples of the eventing kinds users pair with brokers (KafkaNamespaced, …): the shipped
// examples are valid, and each invalid example is reported at its file:line:col.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './harness.js';

/** `sluice validate` of an example (exit 0, `count` resources) and of its invalid counterpart (exit 1): the lines it printed. */
async function validateExamples(example: string, count: number, invalid: string): Promise<string[]> {
  const ok = await runCli(['validate', '-f', example]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`${count} resources valid`));
  const bad = await runCli(['validate', '-f', invalid]);
  assert.equal(bad.code, 1);
  return bad.stderr.trim().split('\n');
}

test('KafkaNamespaced: the example is valid; a ConfigMap of another namespace is an error at spec.config.namespace', async () => {
  const errors = await validateExamples('examples/kafka-broker/kafka-namespaced.yaml', 3, 'examples/kafka-broker/invalid.yaml');
  assert.equal(
    errors[0],
    `examples/kafka-broker/invalid.yaml:23:16: Broker/default: a KafkaNamespaced broker's spec.config must be a ConfigMap in the broker's namespace "team-a", not "knative-eventing"`,
  );
});

test('EventTransform: the example is valid; an expression error is reported inside the block at its line and column', async () => {
  const errors = await validateExamples('examples/event-transform/transform.yaml', 6, 'examples/event-transform/invalid.yaml');
  assert.deepEqual(errors, [
    'examples/event-transform/invalid.yaml:12:17: EventTransform/broken: invalid JSONata expression: The symbol "]" cannot be used as a unary operator (JSONata S0211)',
    'examples/event-transform/invalid.yaml:15:5: EventTransform/broken: reply is set without spec.sink (the reply transforms what the sink answers)',
    '2 errors',
  ]);
});

test('EventTransform is a Destination everywhere: source sink, dead-letter sink, Subscription subscriber and reply', async () => {
  const dir = tempDir('sluice-kinds-validate-');
  try {
    const file = join(dir.path, 'all.yaml');
    const ref = (name: string) => `\n    ref:\n      apiVersion: eventing.knative.dev/v1alpha1\n      kind: EventTransform\n      name: ${name}\n`;
    writeFileSync(
      file,
      `apiVersion: eventing.knative.dev/v1alpha1
kind: EventTransform
metadata:
  name: t
spec:
  jsonata:
    expression: $
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
spec:
  delivery:
    deadLetterSink:${ref('t').replaceAll('\n    ', '\n      ')}---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: p
spec:
  schedule: "* * * * *"
  sink:${ref('t')}---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: c
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: s
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: c
  subscriber:${ref('t')}  reply:${ref('t')}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: missing
spec:
  broker: default
  subscriber:${ref('nope')}`,
    );
    // A ref to an undeclared resource is a warning by default (Knative shows it NotReady); --strict makes it an error.
    const r = await runCli(['validate', '--strict', '-f', file]);
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.stderr
        .trim()
        .split('\n')
        .map((l) => l.replace(file, 'all.yaml')),
      ['all.yaml:68:13: Trigger/missing: EventTransform "default/nope" is not declared in the configuration', '1 error'],
    );
  } finally {
    dir.remove();
  }
});

test('KafkaSink: the example is valid; a bad topic, servers and auth Secret are reported at their fields', async () => {
  const errors = await validateExamples('examples/kafka-sink/kafka-sink.yaml', 5, 'examples/kafka-sink/invalid.yaml');
  assert.deepEqual(errors, [
    `examples/kafka-sink/invalid.yaml:7:10: KafkaSink/bad: "no spaces allowed" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)`,
    'examples/kafka-sink/invalid.yaml:9:7: KafkaSink/bad: bootstrap servers must be host:port entries; invalid: kafka-without-port',
    'examples/kafka-sink/invalid.yaml:13:15: KafkaSink/bad: Secret "default/kafka-auth": sasl.mechanism "OAUTHBEARER" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512',
    'examples/kafka-sink/invalid.yaml:13:15: KafkaSink/bad: Secret "default/kafka-auth": protocol SASL_SSL needs "user" and "password"',
    '4 errors',
  ]);
});

test('GitHubSource / GitLabSource: the example is valid; unknown event types and missing secrets are reported', async () => {
  const lines = await validateExamples('examples/forge-sources/forge-sources.yaml', 3, 'examples/forge-sources/invalid.yaml');
  assert.match(lines[0]!, /^examples\/forge-sources\/invalid\.yaml:8:7: GitHubSource\/bad-github: spec\.eventTypes\[0\]: must be one of: "check_suite"/);
  // Reported in the same pass as the schema error above: its secret is not declared either.
  assert.match(lines[1]!, /^examples\/forge-sources\/invalid\.yaml:12:7: GitHubSource\/bad-github: spec\.secretToken\.secretKeyRef: Secret "default\/forge-secrets" is not declared/);
  assert.match(lines[2]!, /^examples\/forge-sources\/invalid\.yaml:23:7: GitLabSource\/bad-gitlab: spec\.eventTypes\[0\]: GitLab event "push" is not one/);
  assert.match(lines[3]!, /^examples\/forge-sources\/invalid\.yaml:27:7: GitLabSource\/bad-gitlab: spec\.secretToken\.secretKeyRef: Secret "default\/missing-secret" is not declared/);
  assert.equal(lines[4], '4 errors');
});

test('EventType: the example is valid; bad flag values, undeclared references (warnings), wrong reference apiVersions, attribute names and a missing v1beta2 type are reported', async () => {
  const errors = await validateExamples('examples/eventtypes/eventtypes.yaml', 4, 'examples/eventtypes/invalid.yaml');
  assert.deepEqual(errors, [
    // A reference to a resource declared elsewhere is a warning (applied in pieces), a wrong apiVersion an error.
    'examples/eventtypes/invalid.yaml:18:11: warning: EventType/orphan: Broker "default/missing" is not declared in the configuration',
    'examples/eventtypes/invalid.yaml:38:11: warning: EventType/old-reference: Broker "default/default" is not declared in the configuration',
    'examples/eventtypes/invalid.yaml:8:26: ConfigMap/config-features: eventtype-auto-create must be one of enabled, disabled, allowed, not "yes"',
    'examples/eventtypes/invalid.yaml:20:13: EventType/orphan: "Type" is not a CloudEvents attribute name (lower-case letters and digits)',
    'examples/eventtypes/invalid.yaml:28:3: EventType/no-type: spec: missing required field "type"',
    'examples/eventtypes/invalid.yaml:36:17: EventType/old-reference: Broker has apiVersion eventing.knative.dev/v1, not "eventing.knative.dev/v1beta1": use apiVersion: eventing.knative.dev/v1',
    '4 errors',
  ]);
});

test('JobSink: the example is valid; a bad annotation and a container that cannot run are reported', async () => {
  const errors = await validateExamples('examples/jobsink/jobsink.yaml', 3, 'examples/jobsink/invalid.yaml');
  assert.deepEqual(errors, [
    'examples/jobsink/invalid.yaml:7:37: JobSink/bad: annotation sluice.dev/jobsink-concurrency must be a whole number > 0',
    'examples/jobsink/invalid.yaml:15:15: JobSink/bad: container "main" has neither a command nor an image',
    '2 errors',
  ]);
});

test('every KReference is checked for its apiVersion: brokerRef, Broker spec.config, EventType reference, EventPolicy to/from', async () => {
  const dir = tempDir('sluice-kinds-validate-');
  try {
    const file = join(dir.path, 'refs.yaml');
    writeFileSync(
      file,
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
spec:
  config: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel, name: kc}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t}
spec:
  brokerRef: {apiVersion: eventing.knative.dev/v1alpha1, kind: Broker, name: default}
  subscriber: {uri: "http://127.0.0.1:1/"}
---
apiVersion: eventing.knative.dev/v1beta2
kind: EventType
metadata: {name: by-name}
spec: {type: dev.example.a, broker: default}
---
apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata: {name: no-version}
spec:
  reference: {kind: Broker, name: default}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: {name: p}
spec:
  to:
    - ref: {apiVersion: eventing.knative.dev/v2, kind: Broker, name: default}
  from:
    - ref: {apiVersion: sources.knative.dev/v1alpha1, kind: PingSource, name: ping}
`,
    );
    const r = await runCli(['validate', '-f', file]);
    assert.equal(r.code, 1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => l.replace(`${dir.path}/`, ''));
    assert.deepEqual(
      lines.filter((l) => !l.includes('warning:')),
      [
        "refs.yaml:5:61: Broker/default: a channel-based Broker's spec.config must be a v1 ConfigMap (with channel-template-spec), not KafkaChannel",
        'refs.yaml:11:27: Trigger/t: Broker has apiVersion eventing.knative.dev/v1, not "eventing.knative.dev/v1alpha1": use apiVersion: eventing.knative.dev/v1',
        'refs.yaml:23:14: EventType/no-version: a ref needs an apiVersion (Knative rejects a KReference without one): add apiVersion: eventing.knative.dev/v1',
        'refs.yaml:30:25: EventPolicy/p: Broker has apiVersion eventing.knative.dev/v1, not "eventing.knative.dev/v2": use apiVersion: eventing.knative.dev/v1',
        'refs.yaml:32:25: EventPolicy/p: PingSource has apiVersion sources.knative.dev/v1 or sources.knative.dev/v1beta2, not "sources.knative.dev/v1alpha1": use apiVersion: sources.knative.dev/v1',
        '5 errors',
      ],
    );
  } finally {
    dir.remove();
  }
});

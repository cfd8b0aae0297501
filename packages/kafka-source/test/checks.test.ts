import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerChecks } from '@sluice/config';
import { configFiles } from '@sluice/testing';
import { kafkaSourceChecks } from '../src/checks.js';

const files = configFiles({ prefix: 'sluice-kafka-checks-' });
after(() => files.remove());

function validate(name: string, yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  return files.errors(yaml, { name, checks: [brokerChecks(), kafkaSourceChecks({ env })] });
}

test('schema errors point at the field: missing bootstrapServers and topics, bad initialOffset, unknown fields', () => {
  const errors = validate(
    'schema.yaml',
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: a
spec:
  initialOffset: newest
  ordering: random
  consumers: 0
  sink:
    uri: http://127.0.0.1:9/
  colour: blue
---
apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata:
  name: b
spec:
  bootstrapServers: [kafka]
  topics: ["bad topic"]
  net:
    sasl:
      enable: true
      user: alice
  sink:
    uri: http://127.0.0.1:9/
`,
  );
  assert.deepEqual(errors, [
    'schema.yaml:6:3: KafkaSource/a: spec: missing required field "bootstrapServers"',
    'schema.yaml:6:3: KafkaSource/a: spec: missing required field "topics"',
    'schema.yaml:6:18: KafkaSource/a: spec.initialOffset: must be one of: "earliest", "latest"',
    'schema.yaml:7:13: KafkaSource/a: spec.ordering: must be one of: "ordered", "unordered"',
    'schema.yaml:8:14: KafkaSource/a: spec.consumers: must be >= 1',
    'schema.yaml:11:3: KafkaSource/a: spec.colour: unknown field "colour"',
    'schema.yaml:18:22: KafkaSource/b: spec.bootstrapServers[0]: must be host:port (a comma-separated list of them is accepted too)',
    "schema.yaml:19:12: KafkaSource/b: spec.topics[0]: must be a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'",
    'schema.yaml:23:13: KafkaSource/b: spec.net.sasl.user: must be object',
  ]);
});

test('semantic errors: SASL without user, unresolvable secrets, key type, overrides, shared groups, sinks', () => {
  const errors = validate(
    'semantic.yaml',
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: a
  labels:
    kafkasources.sources.knative.dev/key-type: long
spec:
  bootstrapServers: [127.0.0.1:9092]
  topics: [t]
  consumerGroup: shared
  net:
    sasl:
      enable: true
      password:
        secretKeyRef: {name: kafka-auth, key: password}
    tls:
      enable: true
      caCert:
        secretKeyRef: {name: kafka-tls, key: ca.crt}
  ceOverrides:
    extensions:
      source: nope
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: missing}
---
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: b
spec:
  bootstrapServers: [127.0.0.1:9092]
  topics: [t]
  consumerGroup: shared
  delivery:
    deadLetterSink:
      uri: not-a-url
  sink:
    uri: http://127.0.0.1:9/
---
apiVersion: v1
kind: Secret
metadata:
  name: kafka-auth
stringData:
  username: alice
`,
  );
  assert.deepEqual(errors, [
    'semantic.yaml:6:48: KafkaSource/a: metadata.labels.kafkasources.sources.knative.dev/key-type: key type "long" is not one of string, int, float, byte-array',
    'semantic.yaml:13:7: KafkaSource/a: spec.net.sasl: enable is true but user is not set (a secretKeyRef to the SASL user name)',
    'semantic.yaml:15:23: KafkaSource/a: spec.net.sasl.password.secretKeyRef: Secret "default/kafka-auth" has no key "password" in data or stringData',
    'semantic.yaml:19:23: KafkaSource/a: spec.net.tls.caCert.secretKeyRef: Secret "default/kafka-tls" is not declared: add a "v1 Secret" document named "kafka-tls" in namespace "default", or set SLUICE_SECRETS_DIR to a directory holding default/kafka-tls/ca.crt',
    'semantic.yaml:22:15: KafkaSource/a: spec.ceOverrides.extensions.source: "source" is a CloudEvents core attribute; ceOverrides may only set extensions',
    'semantic.yaml:24:68: KafkaSource/a: Broker "default/missing" is not declared in the configuration',
    'semantic.yaml:33:18: KafkaSource/b: spec.consumerGroup: consumer group "shared" is also used by KafkaSource default/a; sources in one group split the partitions between them',
    'semantic.yaml:36:12: KafkaSource/b: uri must be an absolute http(s) URL, got "not-a-url"',
  ]);
});

test('a valid source with SASL/TLS from Secret documents and the secrets directory passes', () => {
  const secretsDir = join(files.dir, 'secrets');
  mkdirSync(join(secretsDir, 'prod', 'kafka-tls'), { recursive: true });
  writeFileSync(join(secretsDir, 'prod', 'kafka-tls', 'ca.crt'), '-----BEGIN CERTIFICATE-----\n');
  const errors = validate(
    'valid.yaml',
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: orders
  namespace: prod
  labels:
    kafkasources.sources.knative.dev/key-type: int
spec:
  bootstrapServers: ["broker-1:9093,broker-2:9093"]
  topics: [orders, refunds]
  consumers: 3
  initialOffset: earliest
  ordering: unordered
  delivery:
    retry: 5
    backoffPolicy: exponential
    backoffDelay: PT0.5S
    deadLetterSink:
      ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: dlq}
  net:
    sasl:
      enable: true
      user: {secretKeyRef: {name: kafka-auth, key: user}}
      password: {secretKeyRef: {name: kafka-auth, key: password}}
      type: {secretKeyRef: {name: kafka-auth, key: saslType}}
    tls:
      enable: true
      caCert: {secretKeyRef: {name: kafka-tls, key: ca.crt}}
  ceOverrides:
    extensions: {team: payments}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
---
apiVersion: v1
kind: Secret
metadata: {name: kafka-auth, namespace: prod}
type: Opaque
data:
  user: YWxpY2U=
  password: czNjcmV0
  saslType: U0NSQU0tU0hBLTI1Ng==
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: prod}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: dlq, namespace: prod}
`,
    { SLUICE_SECRETS_DIR: secretsDir },
  );
  assert.deepEqual(errors, []);
});

test("spec.resources (the adapter's CPU and memory, as Knative's samples set it) is accepted and listed once as ignored", () => {
  const r = files.load(
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: sized}
spec:
  bootstrapServers: ["127.0.0.1:9092"]
  topics: [t]
  resources:
    limits: {cpu: 250m, memory: 512Mi}
    requests: {cpu: 250m, memory: 512Mi}
  sink: {uri: "http://127.0.0.1:9/"}
`,
    { name: 'resources.yaml', checks: [brokerChecks(), kafkaSourceChecks({ env: {} })] },
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.notices.map((n) => n.message),
    ['ignored: sources.knative.dev/v1 KafkaSource default/sized: spec.resources (no CPU or memory limits are applied)'],
  );
});

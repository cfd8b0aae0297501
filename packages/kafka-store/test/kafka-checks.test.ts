// Configuration checks and broker-config resolution of the Kafka broker class (no Kafka needed).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerChecks } from '@sluice/config';
import { configFiles } from '@sluice/testing';
import type { Broker } from '@sluice/core';
import { kafkaBrokerClass, kafkaChecks, resolveKafkaBrokerConfig } from '../src/index.js';

const files = configFiles({ prefix: 'sluice-kafka-checks-' });
after(() => files.remove());

function load(yaml: string, env: Record<string, string> = {}) {
  const result = files.load(yaml, { name: 'c.yaml', checks: [brokerChecks(), kafkaChecks({ env })] });
  return { ...result, lines: result.messages };
}

const configMap = (data: string, name = 'kafka-broker-config', ns = 'knative-eventing') => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: ${ns}
data:
${data}
---
`;

const broker = (spec = '', annotations = '') => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  annotations:
    eventing.knative.dev/broker.class: Kafka
${annotations}${spec ? `spec:\n${spec}` : ''}`;

const configRef = '  config:\n    apiVersion: v1\n    kind: ConfigMap\n    name: kafka-broker-config\n    namespace: knative-eventing\n';

test('a Kafka broker with a ConfigMap as in the Knative docs is valid and resolves', () => {
  const r = load(
    configMap(
      '  bootstrap.servers: "my-cluster-kafka-bootstrap.kafka:9092,10.0.0.2:9092"\n  default.topic.partitions: "10"\n  default.topic.replication.factor: "3"\n  default.topic.config.retention.ms: "604800000"',
    ) + broker(configRef),
  );
  assert.deepEqual(r.lines, []);
  const { config, problems } = resolveKafkaBrokerConfig(r.config.brokers[0]!, r.config.resources, {});
  assert.deepEqual(problems, []);
  assert.deepEqual(config, {
    bootstrapServers: ['my-cluster-kafka-bootstrap.kafka:9092', '10.0.0.2:9092'],
    topic: 'knative-broker-default-default',
    external: false,
    partitions: 10,
    replicationFactor: 3,
    retentionMs: 604800000,
    configMap: 'knative-eventing/kafka-broker-config',
  });
});

test('without spec.config the knative-eventing/kafka-broker-config ConfigMap is the default, then KAFKA_BROKERS', () => {
  const withDefault = load(configMap('  bootstrap.servers: "k:9092"') + broker());
  assert.deepEqual(withDefault.lines, []);
  assert.deepEqual(resolveKafkaBrokerConfig(withDefault.config.brokers[0]!, withDefault.config.resources, {}).config?.bootstrapServers, ['k:9092']);
  const fromEnv = load(broker(), { KAFKA_BROKERS: '127.0.0.1:9092' });
  assert.deepEqual(fromEnv.lines, []);
  const none = load(broker());
  assert.equal(none.lines.length, 1);
  assert.match(none.lines[0]!, /^c\.yaml:\d+:\d+: Broker\/default: a Kafka broker needs bootstrap servers: set spec\.config .* or the KAFKA_BROKERS environment variable$/);
});

test('spec.config must name a declared v1 ConfigMap; bad keys and values point at the ConfigMap', () => {
  const missing = load(broker('  config:\n    apiVersion: v1\n    kind: ConfigMap\n    name: nope\n'), { KAFKA_BROKERS: 'k:9092' });
  assert.deepEqual(missing.lines, ['c.yaml:11:11: Broker/default: ConfigMap "default/nope" is not declared in the configuration']);
  // spec.config is a KReference: its apiVersion is needed, and must be the ConfigMap's (one error, at the field).
  const noVersion = load(broker('  config:\n    kind: ConfigMap\n    name: nope\n'), { KAFKA_BROKERS: 'k:9092' });
  assert.equal(noVersion.lines[0], 'c.yaml:9:5: Broker/default: a ref needs an apiVersion (Knative rejects a KReference without one): add apiVersion: v1');
  const wrongVersion = load(broker('  config:\n    apiVersion: v2\n    kind: ConfigMap\n    name: nope\n'), { KAFKA_BROKERS: 'k:9092' });
  assert.deepEqual(wrongVersion.lines, ['c.yaml:9:17: Broker/default: ConfigMap has apiVersion v1, not "v2": use apiVersion: v1']);
  const wrongKind = load(broker('  config:\n    apiVersion: eventing.knative.dev/v1\n    kind: Broker\n    name: x\n'), { KAFKA_BROKERS: 'k:9092' });
  assert.match(wrongKind.lines[0]!, /spec\.config must be a v1 ConfigMap/);
  const bad = load(
    configMap('  bootstrap.servers: "no-port"\n  default.topic.partitions: "0"\n  default.topic.replication.factor: "x"\n  unknown.key: "1"\n  auth.secret.ref.name: s') + broker(configRef),
  );
  assert.deepEqual(
    bad.lines.map((l) => l.replace(/^c\.yaml:\d+:\d+: /, '')),
    [
      'ConfigMap/kafka-broker-config: bootstrap.servers must be host:port entries separated by commas; invalid: no-port',
      'ConfigMap/kafka-broker-config: default.topic.partitions must be an integer ≥ 1, got "0"',
      'ConfigMap/kafka-broker-config: default.topic.replication.factor must be an integer ≥ 1, got "x"',
      'ConfigMap/kafka-broker-config: unknown key "unknown.key" in a Kafka broker ConfigMap (known: bootstrap.servers, default.topic.partitions, default.topic.replication.factor, default.topic.config.retention.ms)',
      'ConfigMap/kafka-broker-config: auth.secret.ref.name (TLS/SASL) is not supported yet by the Sluice Kafka broker class',
    ],
  );
  const numbers = load(configMap('  bootstrap.servers: "k:9092"\n  default.topic.partitions: 10') + broker(configRef));
  assert.match(numbers.lines[0]!, /ConfigMap\/kafka-broker-config: data\.default\.topic\.partitions: must be string$/);
});

test('the external-topic annotation and the delivery-order annotation are checked', () => {
  const r = load(
    broker(configRef, '    kafka.eventing.knative.dev/external.topic: "not a topic"\n') +
      `\n---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\n  annotations:\n    kafka.eventing.knative.dev/delivery.order: sorted\nspec:\n  broker: default\n  subscriber:\n    uri: http://example.com/\n` +
      '---\n' +
      configMap('  bootstrap.servers: "k:9092"'),
  );
  assert.deepEqual(
    r.lines.map((l) => l.replace(/^c\.yaml:\d+:\d+: /, '')),
    [
      "Broker/default: \"not a topic\" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)",
      'Trigger/t: kafka.eventing.knative.dev/delivery.order must be "ordered" or "unordered", got "sorted"',
    ],
  );
  const ok = load(broker(configRef, '    kafka.eventing.knative.dev/external.topic: orders.v1\n') + '\n---\n' + configMap('  bootstrap.servers: "k:9092"'));
  assert.deepEqual(ok.lines, []);
  const cfg = resolveKafkaBrokerConfig(ok.config.brokers[0]!, ok.config.resources, {}).config!;
  assert.equal(cfg.topic, 'orders.v1');
  assert.equal(cfg.external, true);
});

test('the broker class refuses a broker whose configuration does not resolve', () => {
  const cls = kafkaBrokerClass({ resources: [], brokers: [], triggers: [] }, { env: {} });
  const b: Broker = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'x', annotations: { 'eventing.knative.dev/broker.class': 'Kafka' } } };
  assert.throws(
    () =>
      cls.open(b, {
        logger: {
          debug() {},
          info() {},
          warn() {},
          error() {},
          child() {
            return this;
          },
        },
      }),
    /SLUICE_KAFKA_CONFIG|bootstrap servers/,
  );
});

const namespacedBroker = (configNs?: string) => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: isolated
  namespace: team-a
  annotations:
    eventing.knative.dev/broker.class: KafkaNamespaced
spec:
  config:
    apiVersion: v1
    kind: ConfigMap
    name: kafka-broker-config
${configNs ? `    namespace: ${configNs}\n` : ''}`;

test('a KafkaNamespaced broker reads its ConfigMap from its own namespace only', () => {
  const ok = load(configMap('  bootstrap.servers: "k:9092"', 'kafka-broker-config', 'team-a') + namespacedBroker());
  assert.deepEqual(ok.lines, []);
  const cfg = resolveKafkaBrokerConfig(ok.config.brokers[0]!, ok.config.resources, {}).config!;
  assert.deepEqual(cfg.bootstrapServers, ['k:9092']);
  assert.equal(cfg.topic, 'knative-broker-team-a-isolated');
  assert.equal(cfg.configMap, 'team-a/kafka-broker-config');
  const explicitSame = load(configMap('  bootstrap.servers: "k:9092"', 'kafka-broker-config', 'team-a') + namespacedBroker('team-a'));
  assert.deepEqual(explicitSame.lines, []);
  const elsewhere = load(configMap('  bootstrap.servers: "k:9092"') + namespacedBroker('knative-eventing'));
  assert.deepEqual(elsewhere.lines, ['c.yaml:21:16: Broker/isolated: a KafkaNamespaced broker\'s spec.config must be a ConfigMap in the broker\'s namespace "team-a", not "knative-eventing"']);
  // The cluster-wide knative-eventing/kafka-broker-config is not a namespaced broker's default.
  const noConfig = load(
    configMap('  bootstrap.servers: "k:9092"') + 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  annotations:\n    eventing.knative.dev/broker.class: KafkaNamespaced\n',
  );
  assert.equal(noConfig.lines.length, 1);
  assert.match(noConfig.lines[0]!, /Broker\/b: a Kafka broker needs bootstrap servers/);
  // Its bad ConfigMap keys are reported like the Kafka class's.
  const bad = load(configMap('  bootstrap.servers: "k:9092"\n  nope: "1"', 'kafka-broker-config', 'team-a') + namespacedBroker());
  assert.match(bad.lines[0]!, /ConfigMap\/kafka-broker-config: unknown key "nope"/);
});

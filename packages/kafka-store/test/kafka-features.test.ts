// Knative's config-kafka-features ConfigMap: name templates (a Go text/template subset) for broker topics and trigger
// consumer groups, and their validation (no Kafka needed; kafka-broker.test.ts sees the names in a real Kafka).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noopLogger } from '@sluice/core';
import { brokerChecks, formatConfigError, loadConfig } from '@sluice/config';
import { groupIdMapping, kafkaBrokerClass, isNameTemplateError, kafkaChecks, parseNameTemplate, renderNameTemplate, resolveKafkaBrokerConfig, resolveKafkaFeatures } from '../src/index.js';

function load(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-features-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, yaml);
    const result = loadConfig([file], { checks: [brokerChecks(), kafkaChecks({ env: { KAFKA_BROKERS: 'k:9092' } })] });
    const rel = (s: string) => s.replace(file, 'c.yaml');
    return { ...result, lines: result.errors.map((e) => rel(formatConfigError(e))), noticeLines: result.notices.map((n) => `c.yaml:${n.line}:${n.col}: ${n.message}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const features = (data: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-kafka-features
  namespace: knative-eventing
data:
${data}
---
`;

const broker = (name: string, ns = 'default') => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: ${ns}
  annotations:
    eventing.knative.dev/broker.class: Kafka
---
`;

const trigger = (name: string, ns = 'default', brokerName = 'b') => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  broker: ${brokerName}
  subscriber:
    uri: http://127.0.0.1:9/
---
`;

const render = (source: string, data = { Namespace: 'ns', Name: 'n' }): string => {
  const t = parseNameTemplate(source);
  if (isNameTemplateError(t)) throw new Error(t.message);
  return renderNameTemplate(t, data);
};

test('name templates: fields, text, trim markers and comments as Go text/template renders them', () => {
  assert.equal(render('knative-trigger-{{ .Namespace }}-{{ .Name }}'), 'knative-trigger-ns-n');
  assert.equal(render('{{.Name}}.{{.Namespace}}'), 'n.ns');
  assert.equal(render('plain'), 'plain');
  assert.equal(render('a- {{- .Name -}} -b'), 'a-n-b');
  assert.equal(render('x{{/* a comment */}}y'), 'xy');
  assert.equal(render('x {{- /* trimmed */ -}} y'), 'xy');
  // `{{-3}}` is not a trim marker in Go (it is the number -3), so it is not a field either.
  const minus = parseNameTemplate('{{-3}}');
  assert.ok(isNameTemplateError(minus));
});

test('name templates: an unknown field or a bad template is an error that says where', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['team-{{ .UID }}', /^unknown field \.UID \(a name template may use \.Namespace and \.Name\)$/, 8],
    ['{{ .Name | printf "%s" }}', /^unsupported action .*only use \{\{ \.Namespace \}\} and \{\{ \.Name \}\}/, 3],
    ['{{ if .Name }}x{{ end }}', /^unsupported action/, 3],
    ['abc-{{ .Name', /^unclosed action/, 4],
    ['a{{}}', /^empty action/, 1],
    ['{{/* open }}', /^unclosed comment/, 2],
  ];
  for (const [source, message, offset] of cases) {
    const t = parseNameTemplate(source);
    assert.ok(isNameTemplateError(t), source);
    assert.match(t.message, message, source);
    assert.equal(t.offset, offset, source);
  }
});

test('without config-kafka-features the names are Knative defaults', () => {
  const r = load(broker('b') + trigger('t'));
  assert.deepEqual(r.lines, []);
  const { features: f, problems } = resolveKafkaFeatures(r.config.resources);
  assert.deepEqual(problems, []);
  assert.equal(f.configMap, undefined);
  assert.equal(resolveKafkaBrokerConfig(r.config.brokers[0]!, r.config.resources, { KAFKA_BROKERS: 'k:9092' }).config?.topic, 'knative-broker-default-b');
  assert.equal(groupIdMapping(f)('trigger:default/t'), 'knative-trigger-default-t');
  assert.equal(render('knative-messaging-kafka.{{ .Namespace }}.{{ .Name }}'), 'knative-messaging-kafka.ns.n');
  assert.equal(f.channelsTopic.source, 'knative-messaging-kafka.{{ .Namespace }}.{{ .Name }}');
});

test('custom templates name the broker topic and the trigger groups (dotted or dashed keys, as Knative reads)', () => {
  const r = load(
    features('  triggers.consumergroup.template: "east-{{ .Namespace }}-{{ .Name }}"\n  brokers-topic-template: "east.{{ .Namespace }}.{{ .Name }}"\n  dispatcher.rate-limiter: disabled') +
      broker('b') +
      trigger('t'),
  );
  assert.deepEqual(r.lines, []);
  const { features: f } = resolveKafkaFeatures(r.config.resources);
  assert.equal(f.configMap, 'knative-eventing/config-kafka-features');
  assert.equal(resolveKafkaBrokerConfig(r.config.brokers[0]!, r.config.resources, { KAFKA_BROKERS: 'k:9092' }).config?.topic, 'east.default.b');
  const groupId = groupIdMapping(f);
  assert.equal(groupId('trigger:default/t'), 'east-default-t');
  // Groups that are not triggers' keep the default mapping.
  assert.equal(groupId('subscription:default/s'), 'subscription-default-s');
});

test('config-kafka-features problems are located at file:line:col, inside the template where it fails', () => {
  const r = load(features('  triggers.consumergroup.template: "team-{{ .UID }}"\n  brokers.topic.template: "{{ .Name"\n  controller.autoscaler: enabled\n  unknown.thing: "1"') + broker('b'));
  assert.deepEqual(r.lines, [
    // Column of ".UID": the value starts at column 37 (after the quote), ".UID" is 8 characters in.
    'c.yaml:7:45: ConfigMap/config-kafka-features: triggers.consumergroup.template: unknown field .UID (a name template may use .Namespace and .Name)',
    'c.yaml:8:28: ConfigMap/config-kafka-features: brokers.topic.template: unclosed action: "{{" without "}}"',
    'c.yaml:9:26: ConfigMap/config-kafka-features: controller.autoscaler: "enabled" is not supported by Sluice (it tunes Knative\'s dispatcher or autoscaler); only "disabled", Knative\'s default, is accepted',
    'c.yaml:10:18: ConfigMap/config-kafka-features: unknown key "unknown.thing" in ConfigMap knative-eventing/config-kafka-features (known: triggers.consumergroup.template, brokers.topic.template, channels.topic.template, triggers-consumergroup-template, brokers-topic-template, channels-topic-template, dispatcher.rate-limiter, dispatcher-rate-limiter, dispatcher.ordered-executor-metrics, dispatcher-ordered-executor-metrics, controller.autoscaler, controller-autoscaler-keda)',
  ]);
  const both = load(features('  brokers.topic.template: "a-{{ .Name }}"\n  brokers-topic-template: "b-{{ .Name }}"') + broker('b'));
  assert.match(both.lines[0]!, /brokers-topic-template and brokers\.topic\.template are the same setting with different values; keep one$/);
});

test('templates that give illegal or shared names are errors at the template', () => {
  const illegal = load(features('  brokers.topic.template: "{{ .Namespace }}/{{ .Name }}"\n  triggers.consumergroup.template: "g {{ .Name }}"') + broker('b') + trigger('t'));
  assert.deepEqual(
    illegal.lines.map((l) => l.replace(/^c\.yaml:\d+:\d+: /, '')),
    [
      "ConfigMap/config-kafka-features: brokers.topic.template gives broker default/b the topic \"default/b\", which is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)",
      "ConfigMap/config-kafka-features: triggers.consumergroup.template gives trigger default/t the group \"g t\", whose retry topic \"g t-retry\" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)",
    ],
  );
  const shared = load(
    features('  brokers.topic.template: "events-{{ .Name }}"\n  triggers.consumergroup.template: "{{ .Name }}"') + broker('b') + broker('b', 'other') + trigger('t') + trigger('t', 'other'),
  );
  assert.deepEqual(
    shared.lines.map((l) => l.replace(/^c\.yaml:\d+:\d+: /, '')),
    [
      'ConfigMap/config-kafka-features: brokers default/b and other/b get the same topic "events-b"; the template must tell them apart',
      'ConfigMap/config-kafka-features: triggers default/t and other/t get the same consumer group "t"; the template must tell them apart',
    ],
  );
});

test('channels.topic.template is checked and said to name no topic (KafkaChannels use the embedded store)', () => {
  const ok = load(features('  channels.topic.template: "ch.{{ .Namespace }}.{{ .Name }}"') + broker('b'));
  assert.deepEqual(ok.lines, []);
  assert.deepEqual(ok.noticeLines, ['c.yaml:7:28: channels.topic.template: checked, but KafkaChannels are backed by the embedded store, so it names no topic']);
  const bad = load(features('  channels.topic.template: "ch.{{ .Labels }}"') + broker('b'));
  assert.match(bad.lines[0]!, /channels\.topic\.template: unknown field \.Labels/);
});

test("a live change that would rename a running broker's topic or a trigger's group is refused by the class", async () => {
  const before = load(broker('b') + trigger('t'));
  const b = before.config.brokers[0]!;
  const cls = kafkaBrokerClass(before.config, { env: { KAFKA_BROKERS: '127.0.0.1:9' } });
  await cls.load?.('broker default/b');
  const store = cls.open(b, { logger: noopLogger });
  try {
    const same = load(features('  dispatcher.rate-limiter: disabled') + broker('b') + trigger('t') + trigger('u'));
    assert.equal(kafkaBrokerClass(same.config, { env: { KAFKA_BROKERS: '127.0.0.1:9' } }).conflicts?.(store, b, same.config.triggers), undefined);
    const renamed = load(features('  brokers.topic.template: "east.{{ .Namespace }}.{{ .Name }}"') + broker('b') + trigger('t'));
    assert.equal(
      kafkaBrokerClass(renamed.config, { env: { KAFKA_BROKERS: '127.0.0.1:9' } }).conflicts?.(store, b, renamed.config.triggers),
      'broker default/b: its Kafka topic would change from "knative-broker-default-b" to "east.default.b" (a running broker keeps its Kafka names; restart every instance on the new configuration to rename them)',
    );
    const regrouped = load(features('  triggers.consumergroup.template: "east-{{ .Namespace }}-{{ .Name }}"') + broker('b') + trigger('t'));
    assert.match(
      kafkaBrokerClass(regrouped.config, { env: { KAFKA_BROKERS: '127.0.0.1:9' } }).conflicts?.(store, b, regrouped.config.triggers) ?? '',
      /^trigger default\/t: its Kafka consumer group would change from "knative-trigger-default-t" to "east-default-t" /,
    );
  } finally {
    await store.close();
  }
});

test("a live change of a running broker's bootstrap servers or topic settings is refused by the class, not ignored", async () => {
  const brokerConfig = (data: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: kafka-broker-config
  namespace: knative-eventing
data:
${data}
---
`;
  const before = load(brokerConfig('  bootstrap.servers: "127.0.0.1:9"\n  default.topic.partitions: "3"') + broker('b') + trigger('t'));
  const b = before.config.brokers[0]!;
  const cls = kafkaBrokerClass(before.config);
  await cls.load?.('broker default/b');
  const store = cls.open(b, { logger: noopLogger });
  const conflicts = (data: string) => {
    const next = load(brokerConfig(data) + broker('b') + trigger('t'));
    return kafkaBrokerClass(next.config).conflicts?.(store, next.config.brokers[0]!, next.config.triggers);
  };
  try {
    assert.equal(conflicts('  bootstrap.servers: "127.0.0.1:9"\n  default.topic.partitions: "3"'), undefined, 'the same settings');
    assert.equal(
      conflicts('  bootstrap.servers: "127.0.0.1:10"\n  default.topic.partitions: "3"'),
      'broker default/b: its bootstrap servers would change from "127.0.0.1:9" to "127.0.0.1:10": a running broker keeps its Kafka connection; restart every instance on the new configuration to move it',
    );
    assert.equal(
      conflicts('  bootstrap.servers: "127.0.0.1:9"\n  default.topic.partitions: "6"'),
      "broker default/b: its default.topic.partitions would change from 3 to 6: Sluice sets it only when it creates the topic, and this broker's topic exists (alter the topic with Kafka's tools, then change the file to match)",
    );
    assert.match(
      conflicts('  bootstrap.servers: "127.0.0.1:9"\n  default.topic.partitions: "3"\n  default.topic.config.retention.ms: "60000"') ?? '',
      /its default\.topic\.config\.retention\.ms would change from unset to 60000/,
    );
  } finally {
    await store.close();
  }
});

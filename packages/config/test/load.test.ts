import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerChecks, didYouMean, formatConfigError, loadConfig } from '../src/index.js';

function dir(files: Record<string, string>): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(path, name, '..'), { recursive: true });
    writeFileSync(join(path, name), text);
  }
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const broker = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: default }\n';

test('cluster plumbing is accepted and ignored with one line each', (t) => {
  const d = dir({
    'app.yaml': `apiVersion: v1
kind: Namespace
metadata: { name: knative-samples }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: events-sa, namespace: knative-samples }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: rb, namespace: knative-samples }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }
---
${broker}`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()] });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.notices.map((n) => n.message),
    [
      'ignored: v1 Namespace knative-samples (cluster plumbing)',
      'ignored: v1 ServiceAccount knative-samples/events-sa (cluster plumbing)',
      'ignored: rbac.authorization.k8s.io/v1 RoleBinding knative-samples/rb (cluster plumbing)',
    ],
  );
  assert.equal(r.config.resources.length, 1);
});

test('unknown eventing kinds stay errors, with "did you mean" and the supported kinds once per run', (t) => {
  const d = dir({
    'a.yaml': `apiVersion: eventing.knative.dev/v1\nkind: broker\nmetadata: { name: b }\n---\napiVersion: sources.knative.dev/v1\nkind: RedisStreamSource\nmetadata: { name: g }\n---\napiVersion: sources.knative.dev/v1\nkind: ApiServerSource\nmetadata: { name: a }\n`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path]);
  const msgs = r.errors.map((e) => formatConfigError(e).replace(d.path, ''));
  assert.deepEqual(msgs, [
    '/a.yaml:2:7: kind broker (eventing.knative.dev/v1) is not supported by Sluice; did you mean Broker?',
    '/a.yaml:6:7: kind RedisStreamSource (sources.knative.dev/v1) is not supported by Sluice',
    // A well-known kind Sluice refuses says why.
    '/a.yaml:10:7: kind ApiServerSource (sources.knative.dev/v1) is not supported by Sluice: it sends the events of a Kubernetes API server, and Sluice runs without one (use a Kubernetes cluster with Knative, or send such events to a Broker yourself)',
  ]);
  assert.equal(r.hints.length, 1);
  assert.match(r.hints[0]!, /^supported kinds: eventing.knative.dev\/v1 Broker, /);
});

test('legacy apiVersions are refused with the one to use', (t) => {
  const d = dir({
    'a.yaml': 'apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\nmetadata: { name: t }\nspec: {}\n---\napiVersion: messaging.knative.dev/v1beta1\nkind: Subscription\nmetadata: { name: s }\n',
  });
  t.after(d.remove);
  const msgs = loadConfig([d.path]).errors.map((e) => `${e.line}:${e.col}: ${e.message}`);
  assert.deepEqual(msgs, [
    '1:13: apiVersion "eventing.knative.dev/v1alpha1" of Trigger is no longer served by Knative: use eventing.knative.dev/v1',
    '6:13: apiVersion "messaging.knative.dev/v1beta1" of Subscription is no longer served by Knative: use messaging.knative.dev/v1',
  ]);
});

test('YAML nulls mean absent, as the API server treats them', (t) => {
  const d = dir({ 'a.yaml': 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  labels:\n  annotations: ~\nspec:\n  # nothing here yet\n' });
  t.after(d.remove);
  const r = loadConfig([d.path]);
  assert.deepEqual(r.errors, []);
  assert.equal(r.config.brokers.length, 1);
  assert.equal(r.config.brokers[0]!.spec, undefined);
});

test('-f DIR reads like kubectl: manifests only, subdirectories with -R, never node_modules or non-manifests', (t) => {
  const d = dir({
    'broker.yaml': broker,
    'package.json': '{ "name": "app", "version": "1.0.0" }',
    'README.md': '# not read',
    '.github/workflows/ci.yaml': 'on: push\njobs: {}\n',
    'node_modules/dep/manifest.yaml': 'apiVersion: v1\nkind: Nonsense\nmetadata: { name: x }\n',
    'config/trigger.yaml': 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: { name: t }\nspec:\n  broker: default\n  subscriber: { uri: "http://127.0.0.1:1/" }\n',
    'config/compose.yml': 'services:\n  web: { image: nginx }\n',
  });
  t.after(d.remove);
  const flat = loadConfig([d.path]);
  assert.deepEqual(flat.errors, []);
  assert.deepEqual(
    flat.config.resources.map((r) => r.kind),
    ['Broker'],
  );
  const deep = loadConfig([d.path], { recursive: true });
  assert.deepEqual(deep.errors, []);
  assert.deepEqual(deep.config.resources.map((r) => r.kind).sort(), ['Broker', 'Trigger']);
  // A file named explicitly must be a manifest.
  const explicit = loadConfig([join(d.path, 'package.json')]);
  assert.match(explicit.errors[0]!.message, /missing apiVersion or kind/);
});

test('didYouMean: case first, then a small edit distance', () => {
  assert.equal(didYouMean('broker', ['Broker', 'Trigger']), 'Broker');
  assert.equal(didYouMean('defualt', ['default', 'other']), 'default');
  assert.equal(didYouMean('zzz', ['default']), undefined);
});

test('delivery.order: ordered/unordered in any case; anything else is an error', (t) => {
  const trigger = (order: string): string =>
    `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t-${order.toLowerCase()}\n  annotations: { kafka.eventing.knative.dev/delivery.order: ${order} }\nspec:\n  broker: default\n  subscriber: { uri: "http://127.0.0.1:1/" }\n---\n`;
  const d = dir({ 'a.yaml': `${broker}---\n${trigger('Ordered')}${trigger('UNORDERED')}${trigger('sorted')}` });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()] });
  assert.deepEqual(
    r.errors.map((e) => e.message),
    ['Trigger/t-sorted: kafka.eventing.knative.dev/delivery.order must be "ordered" or "unordered" (any case), got "sorted"'],
  );
});

test('a channel-based Broker’s spec.config: the channel-template-spec is read and reported, never dropped silently', (t) => {
  const d = dir({
    'a.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: imc-channel, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
---
apiVersion: v1
kind: ConfigMap
metadata: { name: config-br-defaults, namespace: knative-eventing }
data: { default-br-config: "clusterDefault: {}" }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: natss, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1alpha1
    kind: NatssChannel
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, annotations: { eventing.knative.dev/broker.class: MTChannelBasedBroker } }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: imc-channel, namespace: knative-eventing }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: natss }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: natss, namespace: knative-eventing }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: later }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: not-yet, namespace: knative-eventing }
`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()], strict: false });
  assert.deepEqual(
    r.errors.map((e) => e.message),
    ['Broker/natss: ConfigMap "knative-eventing/natss": channel-template-spec kind "NatssChannel" is not supported (InMemoryChannel or KafkaChannel)'],
  );
  assert.deepEqual(
    r.warnings.map((e) => e.code),
    ['SLUICE_CONFIG_UNKNOWN_REF'],
  );
  assert.deepEqual(
    r.notices.map((n) => n.message),
    [
      "ignored: v1 ConfigMap knative-eventing/config-br-defaults (Knative's cluster defaults; here brokers without a class annotation use the embedded store)",
      "Broker default/default: channel-template-spec InMemoryChannel (ConfigMap knative-eventing/imc-channel): served by the embedded store, which keeps events on disk where Knative's in-memory channel would not",
    ],
  );
});

test('one pass reports every error of a resource: a schema error does not hide its reference, URI and CESQL errors', (t) => {
  const d = dir({
    'trigger.yaml': `${broker}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: defualt
  filterz: {}
  filters:
    - cesql: "type = "
  subscriber:
    uri: not-a-url
  delivery:
    deadLetterSink:
      ref: { kind: Broker, name: default }
`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()], strict: true });
  // The schema error, the dangling broker (with a hint), the CESQL error at its position, the bad uri and the ref
  // without apiVersion, all at once.
  assert.deepEqual(
    r.errors.map((e) => formatConfigError(e).replace(`${d.path}/`, '')),
    [
      'trigger.yaml:9:11: Trigger/t: broker "default/defualt" is not declared in the configuration (did you mean "default"?)',
      'trigger.yaml:10:3: Trigger/t: spec.filterz: unknown field "filterz"',
      'trigger.yaml:12:22: Trigger/t: spec.filters[0].cesql: invalid CESQL expression: unexpected end of expression, expected a value (at position 7)',
      'trigger.yaml:14:10: Trigger/t: uri must be an absolute http(s) URL, got "not-a-url"',
      'trigger.yaml:17:12: Trigger/t: a ref needs an apiVersion (Knative rejects a KReference without one): add apiVersion: eventing.knative.dev/v1',
    ],
  );
  assert.equal(r.config.resources.length, 1, 'a resource with schema errors is not run');
});

test("a ref names its apiVersion, and the right one for its kind (Knative's KReference validation)", (t) => {
  const d = dir({
    'refs.yaml': `${broker}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: default
  subscriber:
    ref: { apiVersion: eventing.knative.dev/v1, kind: Service, name: app }
  delivery:
    deadLetterSink:
      ref: { apiVersion: messaging.knative.dev/v1, kind: Broker, name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: fine }
spec:
  broker: default
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: app }
  delivery:
    deadLetterSink:
      ref: { group: eventing.knative.dev, kind: Broker, name: default }
`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()] });
  assert.deepEqual(
    r.errors.map((e) => formatConfigError(e).replace(`${d.path}/`, '')),
    [
      'refs.yaml:11:24: Trigger/t: Service has apiVersion serving.knative.dev/v1 or v1, not "eventing.knative.dev/v1": use apiVersion: serving.knative.dev/v1',
      'refs.yaml:14:26: Trigger/t: Broker has apiVersion eventing.knative.dev/v1, not "messaging.knative.dev/v1": use apiVersion: eventing.knative.dev/v1',
    ],
  );
});

test("a Trigger's brokerRef and a Broker's spec.config are KReferences: kind and apiVersion are checked", (t) => {
  const d = dir({
    'refs.yaml': `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
spec:
  config: { apiVersion: v2, kind: ConfigMap, name: imc }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: secret }
spec:
  config: { kind: Secret, name: s }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: wrong-version }
spec:
  brokerRef: { apiVersion: eventing.knative.dev/v1beta1, kind: Broker, name: default }
  subscriber: { uri: "http://127.0.0.1:1/" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: wrong-kind }
spec:
  brokerRef: { apiVersion: eventing.knative.dev/v1, kind: broker, name: default }
  subscriber: { uri: "http://127.0.0.1:1/" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: no-version }
spec:
  brokerRef: { kind: Broker, name: default }
  subscriber: { uri: "http://127.0.0.1:1/" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: fine }
spec:
  brokerRef: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default }
  subscriber: { uri: "http://127.0.0.1:1/" }
`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()] });
  assert.deepEqual(
    r.errors.map((e) => formatConfigError(e).replace(`${d.path}/`, '')),
    [
      'refs.yaml:5:25: Broker/default: ConfigMap has apiVersion v1, not "v2": use apiVersion: v1',
      'refs.yaml:11:11: Broker/secret: a ref needs an apiVersion (Knative rejects a KReference without one): add apiVersion: v1',
      "refs.yaml:11:19: Broker/secret: a channel-based Broker's spec.config must be a v1 ConfigMap (with channel-template-spec), not Secret",
      'refs.yaml:17:28: Trigger/wrong-version: Broker has apiVersion eventing.knative.dev/v1, not "eventing.knative.dev/v1beta1": use apiVersion: eventing.knative.dev/v1',
      'refs.yaml:24:59: Trigger/wrong-kind: brokerRef must name a Broker, not "broker" (did you mean "Broker"?)',
      'refs.yaml:31:14: Trigger/no-version: a ref needs an apiVersion (Knative rejects a KReference without one): add apiVersion: eventing.knative.dev/v1',
    ],
  );
});

test("Knative Serving's cluster ConfigMaps (knative-serving namespace) are listed as ignored", (t) => {
  const d = dir({
    'serving.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: config-autoscaler, namespace: knative-serving }
data: { enable-scale-to-zero: "false" }
`,
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()] });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.notices.map((n) => n.message),
    ["ignored: v1 ConfigMap knative-serving/config-autoscaler (Knative Serving's cluster configuration: each workload runs as one instance here, always)"],
  );
});

test('a brokerRef to another namespace needs the cross-namespace-event-links feature, as in Knative', (t) => {
  const trigger = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t, namespace: team-b }
spec:
  brokerRef: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: shared, namespace: team-a }
  subscriber: { uri: "http://127.0.0.1:1/" }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: shared, namespace: team-a }
`;
  const off = dir({ 'a.yaml': trigger });
  t.after(off.remove);
  const r = loadConfig([off.path], { checks: [brokerChecks()] });
  assert.deepEqual(
    r.errors.map((e) => formatConfigError(e).replace(`${off.path}/`, '')),
    [
      'a.yaml:5:92: Trigger/t: a brokerRef to another namespace ("team-a") needs Knative\'s cross-namespace-event-links feature: set cross-namespace-event-links: enabled in ConfigMap knative-eventing/config-features',
    ],
  );
  const on = dir({
    'a.yaml': `${trigger}---
apiVersion: v1
kind: ConfigMap
metadata: { name: config-features, namespace: knative-eventing }
data: { cross-namespace-event-links: enabled }
`,
  });
  t.after(on.remove);
  assert.deepEqual(loadConfig([on.path], { checks: [brokerChecks()] }).errors, []);
});

test("a Trigger's knative.dev/dependency annotation is checked as Knative does, and listed as not waited for", (t) => {
  const trigger = (name: string, dep: string) => `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  annotations:
    knative.dev/dependency: '${dep}'
spec:
  broker: default
  subscriber: { uri: "http://127.0.0.1:1/" }
`;
  const d = dir({
    'a.yaml':
      broker +
      trigger('ok', '{"kind":"PingSource","name":"ping","apiVersion":"sources.knative.dev/v1"}') +
      trigger('not-json', 'PingSource/ping') +
      trigger('no-version', '{"kind":"PingSource","name":"ping"}') +
      trigger('old-version', '{"kind":"PingSource","name":"ping","apiVersion":"sources.knative.dev/v1alpha2"}'),
  });
  t.after(d.remove);
  const r = loadConfig([d.path], { checks: [brokerChecks()] });
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [
      'Trigger/not-json: knative.dev/dependency must be a JSON object reference ({"kind":…,"name":…,"apiVersion":…}), got "PingSource/ping"',
      'Trigger/no-version: knative.dev/dependency: missing apiVersion',
      'Trigger/old-version: knative.dev/dependency: PingSource has apiVersion sources.knative.dev/v1 or sources.knative.dev/v1beta2, not "sources.knative.dev/v1alpha2"',
    ],
  );
  assert.deepEqual(
    r.notices.map((n) => n.message),
    ['ignored: Trigger default/ok: annotation knative.dev/dependency (the Trigger subscribes at once instead of waiting for PingSource ping; starting early loses no event)'],
  );
});

test('a URL whose password is the redaction mark *** is an error at its position; a real password is not', (t) => {
  const trigger = (uri: string): string => `${broker}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t }
spec:
  broker: default
  subscriber:
    uri: ${uri}
`;
  const d = dir({ 'redacted.yaml': trigger('http://alice:***@127.0.0.1:9/'), 'real.yaml': trigger('http://alice:s3cret@127.0.0.1:9/') });
  t.after(d.remove);
  const redacted = loadConfig([join(d.path, 'redacted.yaml')], { checks: [brokerChecks()] });
  assert.deepEqual(redacted.errors.map(formatConfigError), [
    `${join(d.path, 'redacted.yaml')}:11:10: Trigger/t: spec.subscriber.uri: the URL's password is "***", the redacted value Sluice shows in place of a secret; write the real password (or keep it out of the URL)`,
  ]);
  assert.equal(redacted.errors[0]!.code, 'SLUICE_CONFIG_INVALID');
  assert.deepEqual(loadConfig([join(d.path, 'real.yaml')], { checks: [brokerChecks()] }).errors, []);
});

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerChecks, SecretStore } from '@sluice/config';
import { configFiles } from '@sluice/testing';
import { cloudPubSubSourceChecks } from '../src/checks.js';
import { resolveSettings } from '../src/pubsub-settings.js';

const files = configFiles({ prefix: 'sluice-pubsub-checks-' });
after(() => files.remove());

function validate(name: string, yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  return files.errors(yaml, { name, checks: [brokerChecks(), cloudPubSubSourceChecks({ env })] });
}

const KEY = JSON.stringify({ type: 'service_account', project_id: 'from-key', client_email: 'sa@from-key.iam.gserviceaccount.com', private_key: 'PEM' });

test('schema errors: missing topic, bad ackDeadline syntax, unknown fields, full topic names', () => {
  assert.deepEqual(
    validate(
      'schema.yaml',
      `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata:
  name: a
spec:
  project: my-proj
  ackDeadline: 30 seconds
  retentionDuration: 7d
  pubsubSecret: {name: x, key: y}
  sink:
    uri: http://127.0.0.1:9/
---
apiVersion: events.cloud.google.com/v1beta1
kind: CloudPubSubSource
metadata:
  name: b
spec:
  topic: projects/p/topics/t
  sink:
    uri: http://127.0.0.1:9/
`,
    ),
    [
      'schema.yaml:6:3: CloudPubSubSource/a: spec: missing required field "topic"',
      "schema.yaml:7:16: CloudPubSubSource/a: spec.ackDeadline: must be a Go duration such as 30s, 1m30s or 168h (knative-gcp's syntax; no d unit)",
      "schema.yaml:8:22: CloudPubSubSource/a: spec.retentionDuration: must be a Go duration such as 30s, 1m30s or 168h (knative-gcp's syntax; no d unit)",
      'schema.yaml:9:3: CloudPubSubSource/a: spec.pubsubSecret: unknown field "pubsubSecret"',
      'schema.yaml:18:10: CloudPubSubSource/b: spec.topic: must be a Pub/Sub topic ID (not projects/…/topics/…): 3 to 255 characters, starting with a letter, then letters, digits and - _ . ~ + %; not starting with goog',
    ],
  );
});

test('semantic errors: ranges, project, secret, overrides, sink', () => {
  assert.deepEqual(
    validate(
      'semantic.yaml',
      `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata:
  name: a
spec:
  topic: orders
  ackDeadline: 5s
  retentionDuration: 200h
  ceOverrides:
    extensions: {id: x}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: nope}
---
apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata:
  name: b
spec:
  topic: orders
  secret: {name: gcp, key: key.json}
  sink:
    uri: http://127.0.0.1:9/
---
apiVersion: v1
kind: Secret
metadata: {name: gcp}
stringData:
  key.json: not json
`,
    ),
    [
      'semantic.yaml:6:3: CloudPubSubSource/a: spec: project is not set and no default is known: set spec.project (or GOOGLE_CLOUD_PROJECT)',
      'semantic.yaml:7:16: CloudPubSubSource/a: spec.ackDeadline: "5s" is out of range: Pub/Sub accepts 0 (its default, 10s) or 10s to 10m',
      'semantic.yaml:8:22: CloudPubSubSource/a: spec.retentionDuration: "200h" is out of range: Pub/Sub accepts 10m to 168h (7 days)',
      'semantic.yaml:10:22: CloudPubSubSource/a: spec.ceOverrides.extensions.id: "id" is a CloudEvents core attribute; ceOverrides may only set extensions',
      'semantic.yaml:12:68: CloudPubSubSource/a: Broker "default/nope" is not declared in the configuration',
      'semantic.yaml:19:3: CloudPubSubSource/b: spec: project is not set and no default is known: set spec.project (or GOOGLE_CLOUD_PROJECT)',
      'semantic.yaml:20:11: CloudPubSubSource/b: spec.secret: Secret "default/gcp" key "key.json" must hold a service-account key JSON: Unexpected token \'o\', "not json" is not valid JSON',
    ],
  );
});

test('valid: project from spec, from the key file or from the environment', () => {
  const yaml = (extra: string): string => `apiVersion: events.cloud.google.com/v1
kind: CloudPubSubSource
metadata:
  name: a
spec:
  topic: orders
  ackDeadline: 1m
  retainAckedMessages: true
  retentionDuration: 24h
  serviceAccountName: ignored-here
${extra}  sink:
    uri: http://127.0.0.1:9/
---
apiVersion: v1
kind: Secret
metadata: {name: google-cloud-key}
stringData:
  key.json: '${KEY}'
`;
  assert.deepEqual(validate('v1.yaml', yaml('  project: my-proj\n')), []);
  assert.deepEqual(validate('v2.yaml', yaml('  secret: {name: google-cloud-key, key: key.json}\n')), []);
  assert.deepEqual(validate('v3.yaml', yaml(''), { GOOGLE_CLOUD_PROJECT: 'env-proj' }), []);
});

test('settings: emulator, service-account key, Application Default Credentials', () => {
  const store = new SecretStore({ documents: new Map([['default/gcp', { stringData: { 'key.json': KEY } }]]) });
  const spec = { topic: 'orders', sink: { uri: 'http://x/' } };
  const emu = resolveSettings({ ...spec, project: 'p1', secret: { name: 'gcp', key: 'key.json' } }, 'default', store, { PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' }).settings!;
  assert.deepEqual(emu.client, { projectId: 'p1', apiEndpoint: '127.0.0.1:8085', emulatorMode: true, universeDomain: 'googleapis.com' });
  assert.equal(emu.emulator, true);
  assert.equal(emu.ackDeadlineSeconds, 30);
  assert.equal(emu.retentionSeconds, 7 * 24 * 3600);
  assert.equal(emu.retainAckedMessages, false);
  const key = resolveSettings({ ...spec, secret: { name: 'gcp', key: 'key.json' }, ackDeadline: '0' }, 'default', store, {}).settings!;
  assert.equal(key.projectId, 'from-key');
  assert.equal((key.client.credentials as { client_email?: string }).client_email, 'sa@from-key.iam.gserviceaccount.com');
  assert.equal(key.ackDeadlineSeconds, 0);
  const adc = resolveSettings(spec, 'default', store, { GCLOUD_PROJECT: 'gp', GOOGLE_APPLICATION_CREDENTIALS: '/k.json' }).settings!;
  assert.deepEqual(adc.client, { projectId: 'gp', universeDomain: 'googleapis.com' });
});

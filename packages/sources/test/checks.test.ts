import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerChecks } from '@sluice/config';
import { configFiles } from '@sluice/testing';
import { sourceChecks } from '../src/checks.js';

const files = configFiles({ prefix: 'sluice-source-checks-' });
after(() => files.remove());

function validate(yaml: string, env: Record<string, string> = {}): string[] {
  return files.errors(yaml, {
    checks: [
      brokerChecks(),
      sourceChecks({
        secrets: {
          env,
          readFile: () => {
            throw new Error('ENOENT');
          },
        },
      }),
    ],
  });
}

const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
`;

test('a valid configuration of every kind passes', () => {
  const errors = validate(
    BROKER +
      `apiVersion: sources.knative.dev/v1beta2
kind: PingSource
metadata: { name: p }
spec:
  schedule: "0 */5 * * * *"
  timezone: Europe/Paris
  contentType: application/json
  data: '{"a": 1}'
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: c }
spec:
  template:
    metadata: { labels: { app: x } }
    spec:
      containers:
        - name: x
          image: ignored-in-process-mode
          command: [node, x.mjs]
          imagePullPolicy: IfNotPresent
  sink: { uri: "http://127.0.0.1:8081/" }
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: b }
spec:
  subject: { apiVersion: sluice.dev/v1alpha1, kind: Process, name: worker }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
---
apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: { name: w }
spec:
  eventType: com.example
  signature: { type: github, secret: { valueFromEnv: GH } }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
    { GH: 'x' },
  );
  assert.deepEqual(errors, []);
});

test('PingSource errors, each at its line and column', () => {
  const errors = validate(`apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: p
spec:
  schedule: "*/5 * * * 9"
  timezone: Mars/Olympus
  data: a
  dataBase64: YQ==
  sink:
    ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: missing }
  ceOverrides:
    extensions:
      type: x
`);
  assert.deepEqual(errors, [
    '6:24: PingSource/p: spec.schedule: invalid schedule: day of week value 9 is out of range 0-6',
    '7:13: PingSource/p: spec.timezone: unknown time zone "Mars/Olympus" (use an IANA name such as Europe/Paris or UTC)',
    '9:15: PingSource/p: spec.dataBase64: data and dataBase64 are mutually exclusive: set only one',
    '11:69: PingSource/p: Broker "default/missing" is not declared in the configuration',
    '14:13: PingSource/p: spec.ceOverrides.extensions.type: "type" is a CloudEvents core attribute; ceOverrides may only set extensions',
  ]);
});

test('unknown fields are schema errors', () => {
  const errors = validate(`apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: p }
spec:
  schedule: "* * * * *"
  jitter: 5s
  sink: { uri: "http://127.0.0.1:1/" }
`);
  assert.deepEqual(errors, ['6:3: PingSource/p: spec.jitter: unknown field "jitter"']);
  const c = validate(`apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: c }
spec:
  template:
    spec:
      containers:
        - command: [x]
          volumeMount: []
  sink: { uri: "http://127.0.0.1:1/" }
`);
  assert.match(c[0]!, /^9:11: .*unknown field "volumeMount"/);
});

test('ContainerSource: an image without a command runs through the engine; a process needs a command', () => {
  const source = (annotations: string, container: string): string => `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: c${annotations} }
spec:
  template:
    spec:
      containers:
        - ${container}
  sink: { uri: "http://127.0.0.1:1/" }
`;
  assert.deepEqual(validate(source('', 'image: gcr.io/knative-releases/heartbeats')), []);
  const errors = validate(source(', annotations: { sluice.dev/runtime: process }', 'image: gcr.io/knative-releases/heartbeats'));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^8:18: ContainerSource\/c: spec\.template\.spec\.containers\[0\]\.image: container "c-0": missing command \(required with sluice.dev\/runtime: process\)/);
  assert.match(validate(source('', 'args: [x]'))[0]!, /needs a command \(run as a local process\) or an image/);
});

test('SinkBinding subjects: workloads by name or selector, Processes by name, nothing else', () => {
  const binding = (subject: string): string => `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: b }
spec:
  subject:
${subject}
  sink: { uri: "http://127.0.0.1:1/" }
`;
  assert.deepEqual(validate(binding('    apiVersion: apps/v1\n    kind: Deployment\n    selector: { matchLabels: { app: x } }')), []);
  assert.deepEqual(validate(binding('    apiVersion: serving.knative.dev/v1\n    kind: Service\n    name: x')), []);
  let errors = validate(binding('    apiVersion: serving.knative.dev/v1\n    kind: Route\n    name: x'));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^7:11: SinkBinding\/b: spec\.subject\.kind: unsupported subject serving.knative.dev\/v1 Route: Sluice binds the workloads it runs/);
  errors = validate(binding('    apiVersion: sluice.dev/v1alpha1\n    kind: Process\n    selector: { matchLabels: { app: x } }'));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^8:15: .*a Process subject is named, not selected/);
});

test('WebhookSource secrets and signature settings', () => {
  const errors = validate(`apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: { name: w }
spec:
  eventType: t
  basicAuthUsername: u
  basicAuthPassword:
    valueFromSecret: { name: s, key: k }
  signature:
    type: github
    secret:
      valueFromFile: /nonexistent
    tolerance: PT1M
  sink: { uri: "http://127.0.0.1:1/" }
`);
  assert.deepEqual(errors, [
    '8:22: WebhookSource/w: spec.basicAuthPassword.valueFromSecret: basicAuthPassword: valueFromSecret reads a Kubernetes Secret, which Sluice cannot; use valueFromEnv or valueFromFile',
    '12:22: WebhookSource/w: spec.signature.secret.valueFromFile: signature secret: cannot read /nonexistent: ENOENT',
    '13:16: WebhookSource/w: spec.signature.tolerance: tolerance applies to standard-webhooks signatures only (GitHub requests carry no timestamp)',
  ]);
  const two = validate(`apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: { name: w }
spec:
  eventType: t
  signature:
    type: hmac
    secret: { value: a, valueFromEnv: B }
  sink: { uri: "http://127.0.0.1:1/" }
`);
  assert.deepEqual(two, [
    '7:11: WebhookSource/w: spec.signature.type: must be one of: "github", "standard-webhooks"',
    '8:13: WebhookSource/w: spec.signature.secret: set exactly one of value, valueFromEnv, valueFromFile',
  ]);
});

test('secrets are not required to be readable when checkSecrets is false', () => {
  const yaml = `apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: { name: w }
spec:
  eventType: t
  signature: { type: github, secret: { valueFromEnv: NOT_SET_ANYWHERE } }
  sink: { uri: "http://127.0.0.1:1/" }
`;
  assert.equal(files.load(yaml, { checks: [sourceChecks({ checkSecrets: false })] }).errors.length, 0);
  assert.equal(files.load(yaml, { checks: [sourceChecks()] }).errors.length, 1);
});

test('ContainerSource: a Kubernetes pod template; env valueFrom resolves from the configuration; what has no effect is listed once', () => {
  const r = files.load(
    `apiVersion: v1
kind: Secret
metadata: { name: creds }
stringData: { token: s3cret }
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: c }
spec:
  template:
    spec:
      containers:
        - name: main
          image: gcr.io/knative-releases/heartbeats
          imagePullPolicy: Always
          ports: [{ containerPort: 8080 }]
          resources: { limits: { memory: 64Mi } }
          securityContext: { runAsNonRoot: true }
          readinessProbe: { httpGet: { path: /health, port: 8080 } }
          volumeMounts: [{ name: v, mountPath: /data }]
          env:
            - name: TOKEN
              valueFrom: { secretKeyRef: { name: creds, key: token } }
            - name: MISSING
              valueFrom: { configMapKeyRef: { name: nope, key: k } }
      volumes: [{ name: v, emptyDir: {} }]
  sink: { uri: "http://127.0.0.1:1/" }
`,
    { checks: [sourceChecks()] },
  );
  assert.deepEqual(r.messages, ['25:53: ContainerSource/c: ConfigMap "default/nope" is not declared in the configuration']);
  assert.equal(r.notices.length, 1);
  assert.match(
    r.notices[0]!.message,
    /^ignored: sources.knative.dev\/v1 ContainerSource default\/c: spec.template.spec.volumes \(no volumes are mounted\), spec.template.spec.containers\[0\].resources/,
  );
  assert.match(r.notices[0]!.message, /readinessProbe/);
  assert.match(r.notices[0]!.message, /imagePullPolicy/);
});

// The deployment files in deploy/ are checked offline as a cluster, Helm, compose and systemd would check them:
// every Kubernetes manifest and both renderings of the Helm chart against the Kubernetes API schemas (kubeconform,
// strict: unknown fields are errors), `helm lint`, the compose file against the Compose specification's schema, and
// the systemd unit with `systemd-analyze verify`. The validators are built once from the Go module proxy
// (deploy/validate/tools.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { ROOT, tempDir } from '@sluice/testing';
// @ts-expect-error: a plain ES module script without type declarations
import { ensureTools } from '../../deploy/validate/tools.mjs';

const tools = ensureTools() as { kubeconform: string; helm: string; k8sSchemas: string; composeSchema: string };

function kubeconform(files: string[]): { ok: boolean; output: string } {
  const r = spawnSync(tools.kubeconform, ['-strict', '-summary', '-schema-location', `${tools.k8sSchemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, ...files], {
    encoding: 'utf8',
  });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

function helmTemplate(values: string[]): string {
  return execFileSync(tools.helm, ['template', 'demo', join(ROOT, 'deploy/helm/sluice'), ...values], { encoding: 'utf8' });
}

const manifests = (dir: string): string[] =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => join(ROOT, dir, f));

test('the Kubernetes manifests (embedded StatefulSet, Kafka Deployment) are valid against the Kubernetes API schemas', () => {
  for (const dir of ['deploy/kubernetes/embedded', 'deploy/kubernetes/kafka']) {
    const r = kubeconform(manifests(dir));
    assert.ok(r.ok, `${dir}:\n${r.output}`);
    assert.match(r.output, /Invalid: 0, Errors: 0, Skipped: 0/);
  }
});

test('the validator is strict: an unknown field in a Deployment is reported', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'bad.yaml');
    const doc = readFileSync(join(ROOT, 'deploy/kubernetes/kafka/deployment.yaml'), 'utf8').replace('  replicas: 3', '  replicaz: 3');
    writeFileSync(file, doc);
    const r = kubeconform([file]);
    assert.equal(r.ok, false);
    assert.match(r.output, /replicaz/);
  } finally {
    dir.remove();
  }
});

test('the Helm chart lints, and renders a StatefulSet (embedded) or a Deployment (kafka) that the API schemas accept', () => {
  const lint = spawnSync(tools.helm, ['lint', '--strict', join(ROOT, 'deploy/helm/sluice')], { encoding: 'utf8' });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  const dir = tempDir();
  try {
    const cases = [
      { values: [] as string[], workload: 'StatefulSet', absent: 'Deployment' },
      { values: ['--set', 'mode=kafka', '--set', 'kafka.bootstrapServers=kafka:9092'], workload: 'Deployment', absent: 'StatefulSet' },
    ];
    for (const [i, c] of cases.entries()) {
      const rendered = helmTemplate(c.values);
      const kinds = rendered
        .split(/^---$/m)
        .map((d) => (parse(d) as { kind?: string } | null)?.kind)
        .filter(Boolean);
      assert.ok(kinds.includes(c.workload), `${c.workload} rendered (${kinds.join(', ')})`);
      assert.ok(!kinds.includes(c.absent), `${c.absent} not rendered`);
      const file = join(dir.path, `rendered-${i}.yaml`);
      writeFileSync(file, rendered);
      const r = kubeconform([file]);
      assert.ok(r.ok, r.output);
    }
    // values.schema.json refuses what cannot be right.
    const bad = spawnSync(tools.helm, ['template', 'demo', join(ROOT, 'deploy/helm/sluice'), '--set', 'mode=cluster'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /mode/);
  } finally {
    dir.remove();
  }
});

test('the compose file is valid against the Compose specification and builds Sluice from this repository', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(tools.composeSchema, 'utf8')) as object);
  const compose = parse(readFileSync(join(ROOT, 'deploy/compose/compose.yaml'), 'utf8')) as {
    services: Record<string, { build?: { context: string } }>;
  };
  assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
  assert.equal(compose.services['sluice']?.build?.context, '../..');
  assert.ok(validate({ services: { x: { image: 'a', bogus: 1 } } }) === false, 'the schema rejects unknown service fields');
});

test(
  'the systemd unit passes systemd-analyze verify',
  { skip: spawnSync('systemd-analyze', ['--version']).status !== 0 && process.env['CI'] !== 'true' ? 'systemd-analyze not installed' : false },
  () => {
    const r = spawnSync('systemd-analyze', ['verify', join(ROOT, 'deploy/systemd/sluice.service')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
    const unit = readFileSync(join(ROOT, 'deploy/systemd/sluice.service'), 'utf8');
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  },
);

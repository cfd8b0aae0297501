import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KINDS, SCHEMAS_DIR, loadConfig } from '../src/index.js';

// The generator is run as a contributor runs it (`npm run gen:types`), as a process.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GENERATOR = join(ROOT, 'scripts/gen-schema-types.mjs');
const GENERATED = join(ROOT, 'packages/core/src/schema-types.ts');

function generate(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [GENERATOR, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** A copy of schemas/ to change, removed after the test. */
function schemasCopy(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-schemas-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'schemas'), dir, { recursive: true });
  return dir;
}

test('the committed TypeScript types are the ones schemas/ generates', () => {
  const r = generate('--check');
  assert.equal(r.status, 0, r.stderr);
});

test('a schema change the types do not follow fails the check and says what to run', (t) => {
  const dir = schemasCopy(t);
  const file = join(dir, 'broker.json');
  const broker = JSON.parse(readFileSync(file, 'utf8')) as {
    properties: { spec: { properties: Record<string, unknown> } };
  };
  broker.properties.spec.properties['class'] = { type: 'string' };
  writeFileSync(file, JSON.stringify(broker));
  const r = generate('--check', '--schemas', dir, '--out', GENERATED);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /does not match .*: run `npm run gen:types`/);
});

test('a definition written twice under one name is refused: each concept is defined once and referred to', (t) => {
  const dir = schemasCopy(t);
  const file = join(dir, 'pingsource.json');
  const ping = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  ping['definitions'] = { CloudEventOverrides: { type: 'object', additionalProperties: false, properties: {} } };
  writeFileSync(file, JSON.stringify(ping));
  const r = generate('--check', '--schemas', dir, '--out', GENERATED);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /type CloudEventOverrides is defined twice \(common\.json#\/definitions\/CloudEventOverrides and pingsource\.json#\/definitions\/CloudEventOverrides\)/);
});

test('a keyword the generator cannot express as a type is refused rather than dropped', (t) => {
  const dir = schemasCopy(t);
  const file = join(dir, 'broker.json');
  const broker = JSON.parse(readFileSync(file, 'utf8')) as { properties: { spec: Record<string, unknown> } };
  broker.properties.spec['allOf'] = [{ required: ['config'] }];
  writeFileSync(file, JSON.stringify(broker));
  const r = generate('--check', '--schemas', dir, '--out', GENERATED);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /broker\.json: keyword "allOf" is not understood/);
});

test('every kind Sluice loads has a schema whose kind is that kind, and every schema of a kind is loaded', () => {
  const kindOf = (file: string): unknown => (JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as { properties?: { kind?: { const?: unknown } } }).properties?.kind?.const;
  for (const k of KINDS) assert.equal(kindOf(k.schema), k.kind, `${k.schema} is the schema of ${k.kind}`);
  const withKind = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.json') && kindOf(f) !== undefined);
  assert.deepEqual(withKind.sort(), KINDS.map((k) => k.schema).sort());
});

test('a shared definition reports the same message wherever a kind refers to it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-shared-defs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'values.yaml'),
    [
      'apiVersion: v1',
      'kind: Secret',
      'metadata: { name: creds }',
      'stringData: { "bad key": x }',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: settings }',
      'data: { "bad key": x }',
      'binaryData: { blob: "not base64!" }',
      '---',
      'apiVersion: sources.knative.dev/v1',
      'kind: PingSource',
      'metadata: { name: tick }',
      'spec:',
      '  sink: { uri: "http://127.0.0.1:1/" }',
      '  ceOverrides: { extensions: { "bad-name": x } }',
      '',
    ].join('\n'),
  );
  const { errors } = loadConfig([dir]);
  const lines = errors.map((e) => `${e.line}:${e.col} ${e.message}`);
  assert.deepEqual(lines, [
    `4:15 Secret/creds: stringData.bad key: invalid key "bad key": must be a key of a Secret or ConfigMap: letters, digits, '-', '_' and '.'`,
    `9:9 ConfigMap/settings: data.bad key: invalid key "bad key": must be a key of a Secret or ConfigMap: letters, digits, '-', '_' and '.'`,
    `10:21 ConfigMap/settings: binaryData.blob: must be base64 (plain text goes in a Secret's stringData or a ConfigMap's data)`,
    '17:32 PingSource/tick: spec.ceOverrides.extensions.bad-name: invalid key "bad-name": extension names are letters and digits only',
  ]);
});

test('a name is a DNS-1123 subdomain and a namespace a DNS-1123 label, as Kubernetes has them', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dns-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'brokers.yaml'),
    [
      'apiVersion: eventing.knative.dev/v1',
      'kind: Broker',
      'metadata: { name: orders.v1, namespace: shop }',
      '---',
      'apiVersion: eventing.knative.dev/v1',
      'kind: Broker',
      'metadata: { name: default, namespace: shop.eu }',
      '',
    ].join('\n'),
  );
  const { errors, config } = loadConfig([dir]);
  assert.deepEqual(
    errors.map((e) => `${e.line}:${e.col} ${e.message}`),
    [`7:39 Broker/default: metadata.namespace: must be a lower-case DNS label: letters, digits and '-', at most 63 characters`],
  );
  assert.deepEqual(
    config.brokers.map((b) => b.metadata.name),
    ['orders.v1'],
  );
});

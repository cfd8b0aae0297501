import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KINDS, SchemaValidator } from '../src/index.js';

test("every kind's schema compiles under strict mode, and a kind's violations are the same compiled first or later", () => {
  // Schemas compile on a kind's first validation: compile them all here, so a schema Ajv refuses fails the build.
  const all = new SchemaValidator();
  for (const kind of KINDS) assert.ok(Array.isArray(all.validate(kind, { apiVersion: kind.apiVersions[0], kind: kind.kind })), kind.kind);
  const broker = KINDS.find((k) => k.kind === 'Broker')!;
  const bad = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b' }, spec: { delivery: { retry: 'x' } }, extra: 1 };
  const violations = all.validate(broker, bad);
  assert.ok(violations.length >= 2, JSON.stringify(violations));
  assert.deepEqual(new SchemaValidator().validate(broker, bad), violations);
});

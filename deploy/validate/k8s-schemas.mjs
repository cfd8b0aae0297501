#!/usr/bin/env node
// Turns the Kubernetes OpenAPI document (api/openapi-spec/swagger.json of the k8s.io/kubernetes Go module, fetched
// through the Go module proxy) into one strict JSON Schema per kind, named as kubeconform looks them up
// (`{kind}-{group}-{version}.json`, lower case, group without `.k8s.io`), so manifests validate offline.
// Strict as kubeconform's own schemas: unknown fields are errors; `int-or-string` accepts both; null where the
// API server takes it.
//
//   node deploy/validate/k8s-schemas.mjs SWAGGER_JSON OUT_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [swaggerPath, outDir] = process.argv.slice(2);
if (!swaggerPath || !outDir) {
  process.stderr.write('usage: k8s-schemas.mjs SWAGGER_JSON OUT_DIR\n');
  process.exit(2);
}
const { definitions } = JSON.parse(readFileSync(swaggerPath, 'utf8'));

/** One definition made strict, with its refs pointing into the file's own `definitions`. */
function strict(schema) {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  if (schema.format === 'int-or-string') return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref') out.$ref = value;
    else if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strict(v)]));
    else if (key.startsWith('x-kubernetes-')) continue;
    else out[key] = strict(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if (typeof out.type === 'string' && out.type !== 'object') out.type = [out.type, 'null'];
  return out;
}

const strictDefs = Object.fromEntries(Object.entries(definitions).map(([name, def]) => [name, strict(def)]));

/** The definitions a schema reaches through `$ref`, so each file carries only what it needs. */
function reachable(root) {
  const seen = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const name = value.slice('#/definitions/'.length);
        if (!seen.has(name)) {
          seen.add(name);
          visit(strictDefs[name]);
        }
      } else visit(value);
    }
  };
  visit(root);
  return Object.fromEntries([...seen].sort().map((name) => [name, strictDefs[name]]));
}
mkdirSync(outDir, { recursive: true });
let count = 0;
for (const [name, def] of Object.entries(definitions)) {
  for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
    const group = gvk.group.replace(/\.k8s\.io$/, '');
    const file = `${gvk.kind}${group ? `-${group}` : ''}-${gvk.version}.json`.toLowerCase();
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', ...strictDefs[name], definitions: reachable(strictDefs[name]) };
    // apiVersion and kind must name exactly this kind.
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    schema.properties = { ...schema.properties, apiVersion: { enum: [apiVersion] }, kind: { enum: [gvk.kind] } };
    writeFileSync(join(outDir, file), JSON.stringify(schema));
    count++;
  }
}
process.stdout.write(`${count} schemas in ${outDir}\n`);

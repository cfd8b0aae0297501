#!/usr/bin/env node
// Generates packages/core/src/schema-types.ts from schemas/*.json: one TypeScript type per schema definition and
// per resource kind, so the types the code reads resources with cannot drift from what the validator accepts.
//
//   node scripts/gen-schema-types.mjs            writes the file
//   node scripts/gen-schema-types.mjs --check    exits 1 (and says what to run) when the committed file differs
//   --schemas DIR --out FILE                     other locations (the drift test uses a copy)
//
// It reads the subset of JSON Schema draft-07 that schemas/ uses (type, const, enum, properties, required,
// additionalProperties, items, $ref, not, if/then/else; anyOf/oneOf of `required` only constrain, they add no
// shape) and fails on anything else, so a schema can never say more than its type.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ID_PREFIX = 'https://sluice.dev/schemas/';

/** Type names that are not the definition's key (or the kind): Knative's or Kubernetes' own names. */
const NAMES = {
  'common.json#/definitions/metadata': 'ObjectMeta',
  'common.json#/definitions/status': 'DeclaredStatus',
  'channel.json#/definitions/subscribers': 'ControllerSubscribers',
  'knative-service.json': 'KnativeService',
};

/** Keywords that constrain values but add nothing to a TypeScript shape. */
const CONSTRAINTS = new Set([
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'propertyNames',
  'errorMessage',
  'description',
  'title',
  '$schema',
  '$id',
  'definitions',
  'default',
]);
const SHAPES = new Set(['type', 'const', 'enum', 'properties', 'required', 'additionalProperties', 'items', '$ref', 'not', 'if', 'then', 'else', 'anyOf', 'oneOf']);

const pascal = (key) => key.charAt(0).toUpperCase() + key.slice(1);
const constant = (key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const propKey = (k) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k));
const literal = (v) => (typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(v));
const oneLine = (text) => text.replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim();

/**
 * Reads every schema in `schemasDir` and returns the TypeScript source of their types.
 * @param {string} schemasDir
 * @returns {string}
 */
export function generateSchemaTypes(schemasDir) {
  const files = readdirSync(schemasDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  /** @type {Map<string, any>} */
  const docs = new Map(files.map((f) => [f, JSON.parse(readFileSync(join(schemasDir, f), 'utf8'))]));
  for (const [f, doc] of docs) {
    if (doc.$id !== ID_PREFIX + f) throw new Error(`${f}: $id must be ${ID_PREFIX}${f}`);
  }
  /** Named types: `file#/definitions/key`, a root `file`, or a root's `file#/properties/spec`. */
  const named = new Map();
  const byName = new Map();
  const name = (pointer, typeName) => {
    const prior = byName.get(typeName);
    if (prior !== undefined && prior !== pointer) throw new Error(`type ${typeName} is defined twice (${prior} and ${pointer}): define it once, in common.json, and refer to it`);
    byName.set(typeName, pointer);
    named.set(pointer, typeName);
  };
  const kinds = [];
  for (const [f, doc] of docs) {
    for (const key of Object.keys(doc.definitions ?? {})) {
      const def = doc.definitions[key];
      if (Object.keys(def).length === 1 && def.$ref !== undefined) continue; // an alias: refers on
      const pointer = `${f}#/definitions/${key}`;
      name(pointer, NAMES[pointer] ?? pascal(key));
    }
    const kind = doc.properties?.kind?.const;
    if (typeof kind === 'string') {
      const typeName = NAMES[f] ?? kind;
      name(f, typeName);
      kinds.push({ kind, typeName, file: f });
      const spec = doc.properties.spec;
      if (spec !== undefined && spec.$ref === undefined && spec.properties !== undefined) name(`${f}#/properties/spec`, `${typeName}Spec`);
    }
  }

  /** Resolves a `$ref` found in `file` to the pointer of the schema it names, following alias definitions. */
  const resolve = (file, ref) => {
    const [target, fragment = ''] = ref.split('#');
    const f = target === '' ? file : target;
    if (!docs.has(f)) throw new Error(`${file}: $ref ${ref} names a file that is not in schemas/`);
    let node = docs.get(f);
    for (const seg of fragment.split('/').filter((s) => s !== '')) {
      node = node?.[seg];
      if (node === undefined) throw new Error(`${file}: $ref ${ref} does not resolve`);
    }
    if (Object.keys(node).length === 1 && node.$ref !== undefined) return resolve(f, node.$ref);
    return { file: f, pointer: fragment === '' ? f : `${f}#${fragment}`, node };
  };

  // A kind's title names it (`eventing.knative.dev/v1 Broker`); a definition says what it is, or what it must be.
  const docOf = (s, root = false) => ((root ? s.title : undefined) ?? s.description ?? s.errorMessage ?? '').trim().replace(/\.$/, '');

  const child = (pointer, ...segs) => `${pointer}${pointer.includes('#') ? '' : '#'}/${segs.join('/')}`;

  /** The TypeScript type of schema `s` at `pointer` (in `file`), `indent` deep: its name when it has one, unless `own`. */
  const typeOf = (file, s, indent, pointer, own = false) => {
    if (!own && named.has(pointer)) return named.get(pointer);
    for (const k of Object.keys(s)) {
      if (!SHAPES.has(k) && !CONSTRAINTS.has(k)) throw new Error(`${file}: keyword "${k}" is not understood by ${basename(fileURLToPath(import.meta.url))}`);
    }
    for (const k of ['anyOf', 'oneOf']) {
      if (s[k] !== undefined && !s[k].every((b) => Object.keys(b).length === 1 && Array.isArray(b.required))) {
        throw new Error(`${file}: ${k} may only list required fields (it constrains; it does not shape)`);
      }
    }
    if (s.$ref !== undefined) {
      const target = resolve(file, s.$ref);
      return typeOf(target.file, target.node, indent, target.pointer);
    }
    if (s.not !== undefined) return 'never';
    if (s.const !== undefined) return literal(s.const);
    if (s.enum !== undefined) return s.enum.map(literal).join(' | ');
    const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [s.properties !== undefined ? 'object' : 'any'] : [s.type];
    const base = types
      .map((t) => {
        switch (t) {
          case 'string':
            return 'string';
          case 'integer':
          case 'number':
            return 'number';
          case 'boolean':
            return 'boolean';
          case 'null':
            return 'null';
          case 'array':
            return s.items === undefined ? 'unknown[]' : `${wrap(typeOf(file, s.items, indent, child(pointer, 'items')))}[]`;
          case 'object':
            return objectType(file, s, indent, pointer);
          case 'any':
            return 'unknown';
          default:
            throw new Error(`${file}: type ${t} is not understood`);
        }
      })
      .join(' | ');
    if (s.if !== undefined) {
      // if/then/else picks one of two shapes (EventType's versions): the type is either.
      const branch = (k) => (s[k] === undefined ? undefined : objectType(file, { ...s[k], additionalProperties: true, type: 'object' }, indent, child(pointer, k)));
      const alternatives = [branch('then'), branch('else')].filter((b) => b !== undefined);
      return `${base} & (${alternatives.join(' | ')})`;
    }
    return base;
  };
  const wrap = (t) => (/[|&]/.test(t) ? `(${t})` : t);

  const objectType = (file, s, indent, pointer) => {
    const props = s.properties ?? {};
    const required = new Set(s.required ?? []);
    const pad = '  '.repeat(indent + 1);
    const lines = [];
    for (const [k, p] of Object.entries(props)) {
      const d = docOf(p);
      if (d !== '' && p.$ref === undefined) lines.push(`${pad}/** ${oneLine(d)} */`);
      lines.push(`${pad}${propKey(k)}${required.has(k) ? '' : '?'}: ${typeOf(file, p, indent + 1, child(pointer, 'properties', k))};`);
    }
    const extra = s.additionalProperties;
    if (extra !== false) {
      const value = extra === undefined || extra === true ? 'unknown' : typeOf(file, extra, indent + 1, child(pointer, 'additionalProperties'));
      if (lines.length === 0) return `Record<string, ${value}>`;
      lines.push(`${pad}[key: string]: ${value === 'unknown' ? 'unknown' : `${value} | undefined`};`);
    }
    if (lines.length === 0) return 'Record<string, never>';
    return `{\n${lines.join('\n')}\n${'  '.repeat(indent)}}`;
  };

  const out = [
    '// Generated by scripts/gen-schema-types.mjs from schemas/*.json: do not edit. Change the schema, then run',
    '// `npm run gen:types` (a unit test fails while this file and schemas/ disagree).',
    '',
  ];
  // The patterns of the shared definitions, for code that checks the same syntax outside a resource.
  const common = docs.get('common.json');
  for (const [key, def] of Object.entries(common?.definitions ?? {})) {
    if (typeof def.pattern !== 'string') continue;
    out.push(`/** The pattern of {@link ${named.get(`common.json#/definitions/${key}`)}} (\`schemas/common.json\`). */`);
    out.push(`export const ${constant(key)}_PATTERN = ${literal(def.pattern)};`, '');
  }
  const emitted = new Set();
  const emit = (pointer, typeName) => {
    if (emitted.has(typeName)) return;
    emitted.add(typeName);
    const [file] = pointer.split('#');
    const node = pointer.includes('#') ? resolve(file, `#${pointer.split('#')[1]}`).node : docs.get(file);
    const spec = pointer.endsWith('#/properties/spec') ? named.get(file) : undefined;
    const d = spec !== undefined ? `The spec of a ${spec}` : docOf(node, !pointer.includes('#')) || typeName;
    out.push(`/** ${oneLine(d)} (\`schemas/${pointer}\`). */`);
    const t = typeOf(file, node, 0, pointer, true);
    // Type aliases, not interfaces: an object type alias is assignable to an index signature (`Record<string, unknown>`),
    // so code that walks a document's fields by name takes these types as they are.
    out.push(`export type ${typeName} = ${t};`, '');
  };
  for (const [pointer, typeName] of [...named].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) emit(pointer, typeName);
  out.push('/** Every resource kind with a schema, by `kind` (one kind name may have more than one apiVersion group). */');
  out.push('export interface ResourceKinds {');
  const byKind = new Map();
  for (const k of kinds) byKind.set(k.kind, [...(byKind.get(k.kind) ?? []), k.typeName]);
  for (const [kind, types] of [...byKind].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out.push(`  ${propKey(kind)}: ${types.join(' | ')};`);
  out.push('}', '');
  return out.join('\n');
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  const opt = (flag, fallback) => {
    const i = args.indexOf(flag);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
  };
  const schemasDir = opt('--schemas', join(ROOT, 'schemas'));
  const outFile = opt('--out', join(ROOT, 'packages/core/src/schema-types.ts'));
  let text;
  try {
    text = generateSchemaTypes(schemasDir);
  } catch (err) {
    console.error(`gen-schema-types: ${err.message}`);
    process.exit(1);
  }
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(outFile, 'utf8');
    } catch {
      // missing: reported below as a difference
    }
    if (current !== text) {
      console.error(`gen-schema-types: ${outFile} does not match ${schemasDir}: run \`npm run gen:types\` and commit the result`);
      process.exit(1);
    }
  } else {
    writeFileSync(outFile, text);
  }
}

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { SluiceError } from '@sluice/core';
import { KINDS, type KindInfo } from './kinds.js';

// ajv-formats is CommonJS: under NodeNext the default import is its module.exports, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

/**
 * The `schemas/` directory (the one validator for CLI and runtime): the package's own copy in an installed Sluice
 * (`scripts/pack.mjs` puts it there), else the repository's top-level `schemas/`.
 */
export const SCHEMAS_DIR =
  [new URL('../schemas/', import.meta.url), new URL('../../../schemas/', import.meta.url)].map((url) => fileURLToPath(url)).find((dir) => existsSync(dir)) ??
  fileURLToPath(new URL('../../../schemas/', import.meta.url));

/** A schema violation at a JSON path inside one resource. */
export interface SchemaViolation {
  /** Path segments from the resource root. */
  readonly path: readonly (string | number)[];
  /** Whether the position should point at the key of `path`'s last segment rather than its value. */
  readonly atKey: boolean;
  readonly message: string;
}

/**
 * Reads every schema in `schemas/` once and validates resources by kind, compiling a kind's schema the first time a
 * resource of that kind is validated: compiling all of them took most of a `sluice validate` of a few resources.
 */
export class SchemaValidator {
  readonly #ajv: Ajv;
  readonly #byKind = new Map<KindInfo, ValidateFunction>();

  constructor(schemasDir: string = SCHEMAS_DIR) {
    this.#ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true, allowUnionTypes: true });
    this.#ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
    addFormats(this.#ajv);
    const ids = new Set<string>();
    for (const file of readdirSync(schemasDir).filter((f) => f.endsWith('.json'))) {
      const schema = JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as { $id?: string };
      this.#ajv.addSchema(schema);
      if (schema.$id !== undefined) ids.add(schema.$id);
    }
    for (const kind of KINDS) {
      if (!ids.has(schemaId(kind))) throw new SluiceError('SLUICE_INTERNAL', `schema ${kind.schema} for ${kind.kind} is missing from ${schemasDir}`);
    }
  }

  /** Validates one resource document; returns its violations (empty when valid). */
  validate(kind: KindInfo, resource: unknown): SchemaViolation[] {
    let fn = this.#byKind.get(kind);
    if (fn === undefined) {
      fn = this.#ajv.getSchema(schemaId(kind))!;
      this.#byKind.set(kind, fn);
    }
    if (fn(resource)) return [];
    return simplify(fn.errors ?? []);
  }
}

/** The `$id` of a kind's schema. */
function schemaId(kind: KindInfo): string {
  return `https://sluice.dev/schemas/${kind.schema}`;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

// Ajv reports every failing branch; users want one precise line per mistake. Errors are reduced to the most specific
// ones: composite keywords (anyOf/oneOf) only speak when nothing more specific was found at or below their path.
function simplify(errors: readonly ErrorObject[]): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  const seen = new Set<string>();
  const isComposite = (e: ErrorObject): boolean => e.keyword === 'anyOf' || e.keyword === 'oneOf';
  const insideComposite = (e: ErrorObject): boolean => /\/(anyOf|oneOf)\//.test(e.schemaPath);
  for (const e of errors) {
    // The branch errors of anyOf/oneOf are noise: the composite's own message says what is wanted.
    if (insideComposite(e)) continue;
    // propertyNames is reported again, more precisely, by the failing pattern on the key; an if/then/else failure by
    // the failing branch's own errors.
    if (e.keyword === 'propertyNames' || e.keyword === 'if') continue;
    // A composite whose subtree has a more specific error stays silent.
    if (isComposite(e) && errors.some((o) => o !== e && !isComposite(o) && !insideComposite(o) && o.instancePath.startsWith(e.instancePath + '/'))) continue;
    const v = toViolation(e);
    const key = `${v.path.join('/')}|${v.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}

function toViolation(e: ErrorObject): SchemaViolation {
  const path = pointerToPath(e.instancePath);
  const custom = (e.parentSchema as { errorMessage?: string } | undefined)?.errorMessage;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: [...path, String(p['additionalProperty'])], atKey: true, message: `unknown field "${String(p['additionalProperty'])}"` };
    case 'required':
      return { path, atKey: false, message: `missing required field "${String(p['missingProperty'])}"` };
    case 'propertyNames':
      return { path: [...path, String(p['propertyName'])], atKey: true, message: `invalid key "${String(p['propertyName'])}"` };
    case 'pattern':
      if (e.propertyName !== undefined) {
        return { path: [...path, e.propertyName], atKey: true, message: `invalid key "${e.propertyName}": ${custom ?? `must match ${String(p['pattern'])}`}` };
      }
      return { path, atKey: false, message: custom ?? `must match ${String(p['pattern'])}` };
    case 'enum':
      return { path, atKey: false, message: `must be one of: ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path, atKey: false, message: `must be ${JSON.stringify(p['allowedValue'])}` };
    case 'type':
      return { path, atKey: false, message: `must be ${String(p['type']).replace(',', ' or ')}` };
    default: // maxProperties, minProperties, anyOf, oneOf, … : the schema's errorMessage, else Ajv's
      return { path, atKey: false, message: custom ?? e.message ?? e.keyword };
  }
}

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';
import { DEFAULT_NAMESPACE, type Broker, type Trigger } from '@sluice/core';
import { findKind, KINDS } from './kinds.js';
import { SchemaValidator, type SchemaViolation } from './schema-validator.js';

/** One configuration error, printed as `file:line:col: message`. */
export interface ConfigError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
  /** Stable code, e.g. SLUICE_CONFIG_SCHEMA. */
  readonly code: string;
}

/** Formats an error the way compilers do, so editors can jump to it. */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** A resource read from a file, with what is needed to point at any of its fields. */
export interface LoadedResource {
  readonly apiVersion: string;
  readonly kind: string;
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly value: Record<string, unknown>;
  readonly file: string;
  /** Position of the field at `path` (or of the document when the path does not exist). */
  position(path: readonly (string | number)[], atKey?: boolean): SourcePosition;
  /**
   * Position of the character at `offset` inside the string value at `path`: exact for one-line scalars and for
   * literal block scalars (`|`), whose lines are the value's lines; the scalar's start for other multi-line forms.
   */
  positionInValue(path: readonly (string | number)[], offset: number): { line: number; col: number };
}

/** Where a node starts; `quoted` tells whether a scalar's text starts one column after the position. */
export interface SourcePosition {
  readonly line: number;
  readonly col: number;
  readonly quoted: boolean;
}

/** Validated configuration: typed resources plus every one as loaded. */
export interface SluiceConfig {
  readonly resources: readonly LoadedResource[];
  readonly brokers: readonly Broker[];
  readonly triggers: readonly Trigger[];
}

/** A cross-resource check; returns errors with positions. Checks are registered by the packages that own the kinds. */
export type SemanticCheck = (config: SluiceConfig, report: ReportFn) => void;

/**
 * Reports an error at a field of a resource. `columnOffset` points inside a string value (e.g. at the failing
 * character of a CESQL or JSONata expression), counted in the value's characters; see `positionInValue`.
 */
export type ReportFn = (resource: LoadedResource, path: readonly (string | number)[], message: string, code?: string, columnOffset?: number) => void;

/** Result of loading files. */
export interface LoadResult {
  readonly config: SluiceConfig;
  readonly errors: readonly ConfigError[];
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Expands files and directories (recursively) into the list of YAML/JSON files, sorted. */
export function expandPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (p: string, explicit: boolean): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (!name.startsWith('.')) visit(join(p, name), false);
      }
    } else if (explicit || YAML_EXTENSIONS.has(extname(p))) {
      out.push(p);
    }
  };
  for (const p of paths) visit(p, true);
  return out;
}

/** The value node at `path` (as far as it exists) and the key node that names it. */
function nodeAt(doc: Document, path: readonly (string | number)[]): { node: Node | null | undefined; keyNode: Node | undefined; complete: boolean } {
  let node: Node | null | undefined = doc.contents as Node | null;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it: Pair) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(seg));
      if (!pair) return { node, keyNode, complete: false };
      keyNode = pair.key as Node;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as Node | null;
      keyNode = undefined;
    } else {
      return { node, keyNode, complete: false };
    }
  }
  return { node, keyNode, complete: true };
}

function makeValuePosition(doc: Document, lc: LineCounter, text: string, position: ReturnType<typeof makePosition>) {
  return (path: readonly (string | number)[], offset: number): { line: number; col: number } => {
    const { node, complete } = nodeAt(doc, path);
    const start = position(path);
    if (!complete || !isScalar(node) || typeof node.value !== 'string' || !node.range) return start;
    const value = node.value;
    const at = Math.max(0, Math.min(offset, value.length));
    const lineIndex = value.slice(0, at).split('\n').length - 1;
    const colInLine = at - (value.lastIndexOf('\n', at - 1) + 1);
    if (node.type === 'BLOCK_LITERAL') {
      // The header (`|`, `|-`, `|2`) ends its line; content line k is the k-th file line after it.
      const headerEnd = text.indexOf('\n', node.range[0]);
      if (headerEnd < 0) return start;
      const firstLine = lc.linePos(headerEnd + 1).line;
      const lines = text.slice(headerEnd + 1, node.range[1]).split('\n');
      const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
      return { line: firstLine + lineIndex, col: (Number.isFinite(indent) ? indent : 0) + colInLine + 1 };
    }
    if (lineIndex > 0 || node.type === 'BLOCK_FOLDED') return start;
    return { line: start.line, col: start.col + at + (start.quoted ? 1 : 0) };
  };
}

function makePosition(doc: Document, lc: LineCounter) {
  return (path: readonly (string | number)[], atKey = false): SourcePosition => {
    const { node, keyNode } = nodeAt(doc, path);
    const target = (atKey && keyNode) || node || keyNode;
    const offset = target?.range?.[0] ?? (doc.contents as Node | null)?.range?.[0] ?? 0;
    const { line, col } = lc.linePos(offset);
    const quoted = isScalar(target) && (target.type === 'QUOTE_DOUBLE' || target.type === 'QUOTE_SINGLE');
    return { line, col, quoted };
  };
}

/**
 * Loads every resource in the given files and directories: YAML parse, kind lookup, JSON-Schema validation, then
 * the semantic checks. Collects all errors instead of stopping at the first.
 */
export function loadConfig(paths: readonly string[], options: { validator?: SchemaValidator; checks?: readonly SemanticCheck[] } = {}): LoadResult {
  const validator = options.validator ?? new SchemaValidator();
  const errors: ConfigError[] = [];
  const resources: LoadedResource[] = [];
  let files: string[];
  try {
    files = expandPaths(paths);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { config: { resources: [], brokers: [], triggers: [] }, errors: [{ file: e.path ?? String(paths[0]), line: 1, col: 1, message: `cannot read: ${e.message}`, code: 'SLUICE_CONFIG_READ' }] };
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      errors.push({ file, line: 1, col: 1, message: `cannot read: ${(err as Error).message}`, code: 'SLUICE_CONFIG_READ' });
      continue;
    }
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [];
    if (!Array.isArray(docs)) {
      errors.push({ file, line: 1, col: 1, message: 'not a YAML stream', code: 'SLUICE_CONFIG_YAML' });
    }
    for (const doc of list) {
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const { line, col } = lc.linePos(e.pos[0]);
          errors.push({ file, line, col, message: `invalid YAML: ${e.message.split('\n')[0]}`, code: 'SLUICE_CONFIG_YAML' });
        }
        continue;
      }
      if (doc.contents === null) continue; // empty document between separators
      const position = makePosition(doc, lc);
      const positionInValue = makeValuePosition(doc, lc, text, position);
      const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
      if (value === null || value === undefined) continue; // a document with only comments or nothing
      const at = (path: readonly (string | number)[], message: string, code: string, atKey = false): void => {
        const { line, col } = position(path, atKey);
        errors.push({ file, line, col, message, code });
      };
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        at([], 'a resource must be a YAML mapping with apiVersion, kind, metadata', 'SLUICE_CONFIG_SCHEMA');
        continue;
      }
      const obj = value as Record<string, unknown>;
      const apiVersion = obj['apiVersion'];
      const kind = obj['kind'];
      if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
        at([], 'missing apiVersion or kind', 'SLUICE_CONFIG_SCHEMA');
        continue;
      }
      const info = findKind(apiVersion, kind);
      if (!info) {
        const known = KINDS.map((k) => `${k.apiVersions[0]} ${k.kind}`).join(', ');
        const sameKind = KINDS.find((k) => k.kind === kind);
        const message = sameKind
          ? `unsupported apiVersion "${apiVersion}" for kind ${kind} (use ${sameKind.apiVersions.join(' or ')})`
          : `unknown kind "${kind}" (apiVersion ${apiVersion}); supported: ${known}`;
        at(sameKind ? ['apiVersion'] : ['kind'], message, 'SLUICE_CONFIG_UNKNOWN_KIND');
        continue;
      }
      const violations: SchemaViolation[] = validator.validate(info, obj);
      const meta = (obj['metadata'] ?? {}) as { name?: unknown; namespace?: unknown };
      const label = `${kind}/${typeof meta.name === 'string' ? meta.name : '?'}`;
      for (const v of violations) {
        const where = v.path.length > 0 ? v.path.join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]') + ': ' : '';
        at(v.path, `${label}: ${where}${v.message}`, 'SLUICE_CONFIG_SCHEMA', v.atKey);
      }
      if (violations.length > 0) continue;
      const namespace = typeof meta.namespace === 'string' ? meta.namespace : DEFAULT_NAMESPACE;
      const name = meta.name as string;
      resources.push({ apiVersion, kind, key: `${namespace}/${name}`, namespace, name, value: obj, file, position, positionInValue });
    }
  }
  const config: SluiceConfig = {
    resources,
    brokers: resources.filter((r) => r.kind === 'Broker').map((r) => r.value as unknown as Broker),
    triggers: resources.filter((r) => r.kind === 'Trigger').map((r) => r.value as unknown as Trigger),
  };
  const report: ReportFn = (r, path, message, code = 'SLUICE_CONFIG_INVALID', columnOffset) => {
    const { line, col } = columnOffset === undefined ? r.position(path) : r.positionInValue(path, columnOffset);
    errors.push({ file: r.file, line, col, message: `${r.kind}/${r.name}: ${message}`, code });
  };
  for (const check of options.checks ?? []) check(config, report);
  errors.sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1));
  return { config, errors };
}

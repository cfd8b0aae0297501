import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';
import { DEFAULT_NAMESPACE, hasRedactedPassword, redactUrlsIn, type Broker, type ResourceKinds, type SluiceErrorCode, type Trigger } from '@sluice/core';
import { didYouMean, findKind, isEventingGroup, isPlumbing, KINDS, LEGACY_API_VERSIONS, REFUSED_KIND_REASONS } from './kinds.js';
import { SchemaValidator, type SchemaViolation } from './schema-validator.js';

/** One configuration error, printed as `file:line:col: message`. */
export interface ConfigError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
  /** Stable code, e.g. SLUICE_CONFIG_SCHEMA. */
  readonly code: SluiceErrorCode;
}

/** Formats an error the way compilers do, so editors can jump to it; a URL's password it quotes is shown as `***`. */
export function formatConfigError(e: ConfigError): string {
  return redactUrlsIn(`${e.file}:${e.line}:${e.col}: ${e.message}`);
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

/** A kind that has a schema in `schemas/` (and so a generated type in @sluice/core). */
export type ResourceKind = keyof ResourceKinds;

/** A loaded resource of one kind, its document typed as that kind's schema describes it. */
export type ResourceOf<K extends ResourceKind> = LoadedResource & { readonly kind: K; readonly value: ResourceKinds[K] };

/**
 * Whether a loaded resource is of `kind`; its `value` is then typed by the kind's schema (the types generated from
 * `schemas/`). Semantic checks also see resources whose schema errors were reported: a check that trusts a field's
 * type and throws on a malformed one is run again on the valid resources only (see {@link loadConfig}).
 */
export function isKind<K extends ResourceKind>(r: LoadedResource, kind: K): r is ResourceOf<K> {
  return r.kind === kind;
}

/** Something with a kind and a document, as a loaded resource has. */
export interface KindAndValue {
  readonly kind: string;
  readonly value: Record<string, unknown>;
}

/**
 * `R` as a union discriminated by `kind` over the kinds with a schema: `switch (t.kind)` then types `t.value` by the
 * kind's schema, as {@link isKind} does for one kind.
 */
export type TypedResource<R extends KindAndValue = LoadedResource> = { [K in ResourceKind]: R & { readonly kind: K; readonly value: ResourceKinds[K] } }[ResourceKind];

/**
 * A resource as a {@link TypedResource}. Only resources of a kind in {@link KINDS} are loaded, and each has a schema
 * (a unit test keeps the two lists equal); as with {@link isKind}, a check may see a resource the schema rejected.
 */
export function typed<R extends KindAndValue>(r: R): TypedResource<R> {
  return r as TypedResource<R>;
}

/** The resources of one kind, typed by its schema (see {@link isKind}). */
export function resourcesOfKind<K extends ResourceKind>(resources: readonly LoadedResource[], kind: K): ResourceOf<K>[] {
  return resources.filter((r): r is ResourceOf<K> => isKind(r, kind));
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

/**
 * A cross-resource check; reports errors (and, with `notice`, lines that are not errors: what is ignored, warnings)
 * with positions. Checks are registered by the packages that own the kinds.
 */
export type SemanticCheck = (config: SluiceConfig, report: ReportFn, notice: NoticeFn) => void;

/** Reports a line that is not an error (e.g. `ignored: …`), once, at a field of a resource. */
export type NoticeFn = (resource: LoadedResource, path: readonly (string | number)[], message: string) => void;

/** Something to tell the user that does not make the configuration invalid. */
export interface ConfigNotice {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/**
 * Reports an error at a field of a resource. `columnOffset` points inside a string value (e.g. at the failing
 * character of a CESQL or JSONata expression), counted in the value's characters; see `positionInValue`.
 */
export type ReportFn = (resource: LoadedResource, path: readonly (string | number)[], message: string, code?: SluiceErrorCode, columnOffset?: number) => void;

/**
 * Codes of references to resources that are not (yet) declared: Knative accepts such resources and shows them
 * NotReady until the dependency exists, so they are warnings unless `strict`.
 */
export const DANGLING_REFERENCE_CODES: ReadonlySet<string> = new Set(['SLUICE_CONFIG_UNKNOWN_BROKER', 'SLUICE_CONFIG_UNKNOWN_REF', 'SLUICE_CONFIG_UNKNOWN_CHANNEL']);

/** Result of loading files. */
export interface LoadResult {
  readonly config: SluiceConfig;
  readonly errors: readonly ConfigError[];
  /** References to resources not declared (yet): the resource runs NotReady until they exist. Errors unless `strict: false`. */
  readonly warnings: readonly ConfigError[];
  /** Lines that are not errors: what is ignored (`ignored: v1 Namespace x (cluster plumbing)`), in file order. */
  readonly notices: readonly ConfigNotice[];
  /** Lines to print once after the errors (e.g. the supported kinds, when an unknown kind was found). */
  readonly hints: readonly string[];
}

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  readonly validator?: SchemaValidator;
  readonly checks?: readonly SemanticCheck[];
  /** Descend into subdirectories of a directory given with -f (kubectl's `-R`). Default false. */
  readonly recursive?: boolean;
  /**
   * References to undeclared resources are errors (true) or warnings (false). Default true; `sluice validate` and
   * `sluice run` pass false unless `--strict`.
   */
  readonly strict?: boolean;
  /**
   * Manifests given as text (e.g. sent to the admin API by `sluice apply`), read after the files as explicit
   * manifests; `path` names them in errors.
   */
  readonly sources?: readonly { readonly path: string; readonly text: string }[];
  /**
   * Chooses the resources that make the configuration, before the semantic checks run on them (a running Sluice
   * layers what `sluice apply`/`delete` changed over the files). `sourceOf` tells the index in `sources` a resource
   * was read from, or -1 for the files.
   */
  readonly select?: (resources: readonly LoadedResource[], sourceOf: (r: LoadedResource) => number) => LoadedResource[];
}

const PLUMBING_SUMMARY = 'Namespace, ServiceAccount, RBAC, NetworkPolicy, Ingress, PodDisruptionBudget, HorizontalPodAutoscaler, …';

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** A file to read, and whether it was named on the command line (then it must be a manifest). */
export interface ManifestFile {
  readonly path: string;
  readonly explicit: boolean;
}

/**
 * Expands files and directories into the YAML/JSON files to read, sorted, as kubectl reads `-f`: the `.yaml`, `.yml`
 * and `.json` files of a directory, its subdirectories only when `recursive`; hidden entries and `node_modules` never.
 */
export function expandManifestPaths(paths: readonly string[], recursive = false): ManifestFile[] {
  const out: ManifestFile[] = [];
  const visit = (p: string, explicit: boolean, depth: number): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      if (!explicit && !recursive) return;
      for (const name of readdirSync(p).sort()) {
        if (name.startsWith('.') || name === 'node_modules') continue;
        visit(join(p, name), false, depth + 1);
      }
    } else if (explicit || YAML_EXTENSIONS.has(extname(p))) {
      out.push({ path: p, explicit });
    }
  };
  for (const p of paths) visit(p, true, 0);
  return out;
}

/** The value node at `path` (as far as it exists) and the key node that names it. */
function nodeAt(doc: Document, path: readonly (string | number)[]): { node: Node | null | undefined; keyNode: Node | undefined; complete: boolean } {
  let node: Node | null | undefined = doc.contents;
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

/** Expands files and directories into the list of YAML/JSON files (see {@link expandManifestPaths}). */
export function expandPaths(paths: readonly string[], recursive = false): string[] {
  return expandManifestPaths(paths, recursive).map((f) => f.path);
}

/** A path as a prefix-comparable key (`spec/net/sasl/`). */
function pathKey(path: readonly (string | number)[]): string {
  return path.map((p) => `${p}/`).join('');
}

/** YAML `null` values of mappings removed, as the API server treats them ("absent"). */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
    return out;
  }
  return value;
}

function hasKindOrApiVersion(doc: Document): boolean {
  return isMap(doc.contents) && doc.contents.items.some((it) => isScalar(it.key) && (it.key.value === 'kind' || it.key.value === 'apiVersion'));
}

function makePosition(doc: Document, lc: LineCounter) {
  return (path: readonly (string | number)[], atKey = false): SourcePosition => {
    const { node, keyNode } = nodeAt(doc, path);
    const target = (atKey && keyNode) || node || keyNode;
    const offset = target?.range?.[0] ?? doc.contents?.range?.[0] ?? 0;
    const { line, col } = lc.linePos(offset);
    const quoted = isScalar(target) && (target.type === 'QUOTE_DOUBLE' || target.type === 'QUOTE_SINGLE');
    return { line, col, quoted };
  };
}

/** The paths of the strings holding a URL whose password is the redaction mark `***` (see {@link hasRedactedPassword}). */
function redactedPasswordPaths(v: unknown, path: (string | number)[]): (string | number)[][] {
  if (typeof v === 'string') return hasRedactedPassword(v) ? [path] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => redactedPasswordPaths(x, [...path, i]));
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => redactedPasswordPaths(x, [...path, k]));
  return [];
}

/** What loading reports, in the order found (sorted by position at the end). */
interface Findings {
  readonly errors: ConfigError[];
  readonly warnings: ConfigError[];
  readonly notices: ConfigNotice[];
  readonly hints: Set<string>;
}

/** The resources read from the files. */
interface ReadResources {
  /**
   * Every resource with a kind and a name, schema errors or not: the semantic checks look at these too, so one pass
   * reports all errors of a resource (a schema error does not hide its reference, URI or CESQL errors).
   */
  readonly checked: LoadedResource[];
  /** The schema-valid ones. */
  readonly valid: LoadedResource[];
  /** Where the schema rejected each invalid resource (path keys). */
  readonly schemaPaths: Map<LoadedResource, string[]>;
  /** For a resource read from `options.sources`, its index there. */
  readonly origin: Map<LoadedResource, number>;
}

/** One file (or source text) to read; `explicit` when named by the user rather than found in a directory. */
interface ManifestInput {
  readonly path: string;
  readonly explicit: boolean;
  readonly text?: string | undefined;
}

/**
 * Loads every resource in the given files and directories: YAML parse, kind lookup, JSON-Schema validation, then
 * the semantic checks. Collects all errors instead of stopping at the first.
 */
export function loadConfig(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  const validator = options.validator ?? new SchemaValidator();
  const found: Findings = { errors: [], warnings: [], notices: [], hints: new Set() };
  let files: ManifestFile[];
  try {
    files = expandManifestPaths(paths, options.recursive ?? false);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      config: { resources: [], brokers: [], triggers: [] },
      errors: [{ file: e.path ?? String(paths[0]), line: 1, col: 1, message: `cannot read: ${e.message}`, code: 'SLUICE_CONFIG_READ' }],
      warnings: [],
      notices: [],
      hints: [],
    };
  }
  const read: ReadResources = { checked: [], valid: [], schemaPaths: new Map(), origin: new Map() };
  const inputs: ManifestInput[] = [...files, ...(options.sources ?? []).map((s) => ({ path: s.path, explicit: true, text: s.text }))];
  for (const [index, input] of inputs.entries()) {
    const sourceIndex = index >= files.length ? index - files.length : undefined;
    for (const loaded of readManifest(input, validator, found, read.schemaPaths)) {
      read.checked.push(loaded);
      if (sourceIndex !== undefined) read.origin.set(loaded, sourceIndex);
      if (!read.schemaPaths.has(loaded)) read.valid.push(loaded);
    }
  }
  const config = runChecks(read, options, found);
  const byPosition = (a: { file: string; line: number; col: number }, b: { file: string; line: number; col: number }): number =>
    a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1;
  return { config, errors: found.errors.sort(byPosition), warnings: found.warnings.sort(byPosition), notices: found.notices.sort(byPosition), hints: [...found.hints] };
}

/**
 * Reads one file's YAML documents: the resources that have a kind and a name, schema-valid or not (the schema's
 * complaints are reported, and the paths they point at are kept in `schemaPaths`).
 */
function readManifest(input: ManifestInput, validator: SchemaValidator, found: Findings, schemaPaths: Map<LoadedResource, string[]>): LoadedResource[] {
  const file = input.path;
  let text: string;
  try {
    text = input.text ?? readFileSync(file, 'utf8');
  } catch (err) {
    found.errors.push({ file, line: 1, col: 1, message: `cannot read: ${(err as Error).message}`, code: 'SLUICE_CONFIG_READ' });
    return [];
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    found.errors.push({ file, line: 1, col: 1, message: 'not a YAML stream', code: 'SLUICE_CONFIG_YAML' });
  }
  // A file found in a directory that holds no Kubernetes object at all (package.json, a CI workflow) is not a
  // manifest: kubectl would choke on it, but skipping it is what a user means by "apply this directory".
  if (!input.explicit && list.every((d) => d.errors.length === 0 && !hasKindOrApiVersion(d))) return [];
  const loaded: LoadedResource[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const { line, col } = lc.linePos(e.pos[0]);
        found.errors.push({ file, line, col, message: `invalid YAML: ${e.message.split('\n')[0]}`, code: 'SLUICE_CONFIG_YAML' });
      }
      continue;
    }
    if (doc.contents === null) continue; // empty document between separators
    const r = readDocument(doc, lc, text, file, validator, found, schemaPaths);
    if (r) loaded.push(r);
  }
  return loaded;
}

/** Reads one parsed YAML document: its kind looked up and its schema checked; the resource if it has a kind and a name. */
function readDocument(
  doc: Document.Parsed,
  lc: LineCounter,
  text: string,
  file: string,
  validator: SchemaValidator,
  found: Findings,
  schemaPaths: Map<LoadedResource, string[]>,
): LoadedResource | undefined {
  const position = makePosition(doc, lc);
  const positionInValue = makeValuePosition(doc, lc, text, position);
  const value = withoutNulls(doc.toJS({ maxAliasCount: 100 }) as unknown);
  if (value === null || value === undefined) return undefined; // a document with only comments or nothing
  const at = (path: readonly (string | number)[], message: string, code: SluiceErrorCode, atKey = false): void => {
    const { line, col } = position(path, atKey);
    found.errors.push({ file, line, col, message, code });
  };
  if (typeof value !== 'object' || Array.isArray(value)) {
    at([], 'a resource must be a YAML mapping with apiVersion, kind, metadata', 'SLUICE_CONFIG_SCHEMA');
    return undefined;
  }
  const obj = value as Record<string, unknown>;
  const apiVersion = obj['apiVersion'];
  const kind = obj['kind'];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    at([], 'missing apiVersion or kind', 'SLUICE_CONFIG_SCHEMA');
    return undefined;
  }
  const meta = (obj['metadata'] ?? {}) as { name?: unknown; namespace?: unknown };
  const info = findKind(apiVersion, kind);
  if (!info) {
    if (isPlumbing(apiVersion, kind)) {
      const { line, col } = position([]);
      const ns = typeof meta.namespace === 'string' && kind !== 'Namespace' ? `${meta.namespace}/` : '';
      found.notices.push({ file, line, col, message: `ignored: ${apiVersion} ${kind} ${ns}${typeof meta.name === 'string' ? meta.name : '?'} (cluster plumbing)` });
    } else {
      const unknown = unknownKind(apiVersion, kind);
      if (unknown.hint !== undefined) found.hints.add(unknown.hint);
      at([unknown.field], unknown.message, 'SLUICE_CONFIG_UNKNOWN_KIND');
    }
    return undefined;
  }
  const violations: SchemaViolation[] = validator.validate(info, obj);
  const label = `${kind}/${typeof meta.name === 'string' ? meta.name : '?'}`;
  for (const v of violations) {
    const where = v.path.length > 0 ? v.path.join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]') + ': ' : '';
    at(v.path, `${label}: ${where}${v.message}`, 'SLUICE_CONFIG_SCHEMA', v.atKey);
  }
  // A URL whose password is `***` is what the admin API and `sluice get` show in place of a secret: applied
  // back, it would replace the real password with three asterisks and deliveries would fail to authenticate.
  for (const path of redactedPasswordPaths(obj, [])) {
    at(
      path,
      `${label}: ${path.join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]')}: the URL's password is "***", the redacted value Sluice shows in place of a secret; write the real password (or keep it out of the URL)`,
      'SLUICE_CONFIG_INVALID',
    );
  }
  if (typeof meta.name !== 'string') return undefined;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : DEFAULT_NAMESPACE;
  const loaded: LoadedResource = { apiVersion, kind, key: `${namespace}/${meta.name}`, namespace, name: meta.name, value: obj, file, position, positionInValue };
  if (violations.length > 0)
    schemaPaths.set(
      loaded,
      violations.map((v) => pathKey(v.path)),
    );
  return loaded;
}

/** The error for a kind Sluice does not load: the field to point at, the message, and a hint naming what it loads. */
function unknownKind(apiVersion: string, kind: string): { field: 'apiVersion' | 'kind'; message: string; hint?: string } {
  const sameKind = KINDS.filter((k) => k.kind === kind);
  const legacy = LEGACY_API_VERSIONS[apiVersion];
  if (sameKind.length > 0 && legacy !== undefined && sameKind.some((k) => k.apiVersions.includes(legacy))) {
    return { field: 'apiVersion', message: `apiVersion "${apiVersion}" of ${kind} is no longer served by Knative: use ${legacy}` };
  }
  if (sameKind.length > 0) {
    return { field: 'apiVersion', message: `unsupported apiVersion "${apiVersion}" for kind ${kind} (use ${sameKind.flatMap((k) => k.apiVersions).join(' or ')})` };
  }
  const guess = didYouMean(kind, new Set(KINDS.map((k) => k.kind)));
  const why = REFUSED_KIND_REASONS[kind];
  const what = isEventingGroup(apiVersion) ? `kind ${kind} (${apiVersion}) is not supported by Sluice${why !== undefined ? `: ${why}` : ''}` : `unknown kind "${kind}" (apiVersion ${apiVersion})`;
  return {
    field: 'kind',
    message: `${what}${guess !== undefined ? `; did you mean ${guess}?` : ''}`,
    hint: `supported kinds: ${KINDS.map((k) => `${k.apiVersions[0]} ${k.kind}`).join(', ')}; ignored as cluster plumbing: ${PLUMBING_SUMMARY}`,
  };
}

/** The configuration of the given resources. */
function configOf(resources: LoadedResource[]): SluiceConfig {
  return { resources, brokers: resourcesOfKind(resources, 'Broker').map((r) => r.value), triggers: resourcesOfKind(resources, 'Trigger').map((r) => r.value) };
}

/** Chooses the resources (`options.select`) and runs the semantic checks on them; returns the configuration of the valid ones. */
function runChecks(read: ReadResources, options: LoadOptions, found: Findings): SluiceConfig {
  // Chosen among all the resources first, then among the schema-valid ones (a `select` may remember what it chose).
  const originOf = (r: LoadedResource): number => read.origin.get(r) ?? -1;
  const allChosen = read.checked.length === read.valid.length ? undefined : options.select ? options.select(read.checked, originOf) : read.checked;
  const chosen = options.select ? options.select(read.valid, originOf) : read.valid;
  const config = configOf(chosen);
  const report: ReportFn = (r, path, message, code = 'SLUICE_CONFIG_INVALID', columnOffset) => {
    const { line, col } = columnOffset === undefined ? r.position(path) : r.positionInValue(path, columnOffset);
    (DANGLING_REFERENCE_CODES.has(code) && options.strict === false ? found.warnings : found.errors).push({ file: r.file, line, col, message: `${r.kind}/${r.name}: ${message}`, code });
  };
  const notice: NoticeFn = (r, path, message) => {
    const { line, col } = r.position(path);
    found.notices.push({ file: r.file, line, col, message });
  };
  // The checks see every resource that has a kind and a name, including those with schema errors. A check that
  // cannot cope with a malformed resource (it throws) runs again on the schema-valid ones only; what it reported
  // before throwing is dropped, so nothing is reported twice. Where a schema error points, a check adds nothing
  // about that field or what contains it.
  const everything = allChosen ?? chosen;
  const all = configOf(everything);
  const invalid = new Set(everything.filter((r) => !chosen.includes(r)));
  for (const check of options.checks ?? []) {
    if (invalid.size === 0) {
      check(config, report, notice);
      continue;
    }
    const buffered: Array<() => void> = [];
    try {
      check(
        all,
        (r, path, message, code, columnOffset) => {
          // A field the schema rejected, or what contains it, is not judged again: the check saw a malformed value.
          const here = pathKey(path);
          if (read.schemaPaths.get(r)?.some((bad) => bad.startsWith(here) || here.startsWith(bad))) return;
          buffered.push(() => report(r, path, message, code, columnOffset));
        },
        (r, path, message) => buffered.push(() => notice(r, path, message)),
      );
    } catch {
      check(config, report, notice);
      continue;
    }
    for (const emit of buffered) emit();
  }
  return config;
}

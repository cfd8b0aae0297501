import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminError, groupOfApiVersion, resolveGroup, resolveKind, type ChangeOptions, type ChangeResult, type ConfigChanger, type ResourceId } from '@sluice/admin';
import type { ApplyReport, SluiceRuntime } from '@sluice/broker';
import { KINDS, resourcesOfKind, type LoadResult, type LoadedResource, type SluiceConfig } from '@sluice/config';
import { SluiceError, noopLogger, type Logger } from '@sluice/core';
import { loadAndCheck } from './load.js';
import { describeChange } from './reload.js';

/** The file in the data directory that keeps what `sluice apply` and `sluice delete` changed. */
export const APPLIED_FILE = 'applied.json';

/** What `apply`/`delete` changed over the `-f` files: applied documents, and file resources deleted. */
interface Overlay {
  readonly version: 1;
  /** Applied documents, with the file name they were applied from. */
  readonly applied: ReadonlyArray<{ readonly source: string; readonly value: Record<string, unknown> }>;
  /** Resources of the `-f` files deleted with `sluice delete`: left out until applied again. */
  readonly deleted: readonly ResourceId[];
}

const EMPTY: Overlay = { version: 1, applied: [], deleted: [] };

/** One identity per resource, as the API server has it: API group, kind, namespace, name. */
export function idOf(r: ResourceId): string {
  const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '';
  return `${group}|${r.kind}|${r.namespace}|${r.name}`;
}

function idFromValue(value: Record<string, unknown>): ResourceId {
  const meta = (value['metadata'] ?? {}) as { name?: string; namespace?: string };
  return { apiVersion: String(value['apiVersion']), kind: String(value['kind']), namespace: meta.namespace ?? 'default', name: String(meta.name) };
}

const plain = (r: ResourceId): ResourceId => ({ apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name });

/**
 * The configuration of a running `sluice run`: the `-f` files with what `sluice apply` and `sluice delete` changed
 * layered over them. Those changes are kept in the data directory ({@link APPLIED_FILE}), so they last across SIGHUP,
 * `--watch` and restarts, as `kubectl apply` lasts: an applied document replaces a file's resource of the same
 * identity, a deleted one is left out. Every change goes through the same checks as `run` and is applied live.
 */
export class LiveConfig implements ConfigChanger {
  #overlay: Overlay;
  #runtime: SluiceRuntime | undefined;
  /** Changes one at a time, in the order they came. */
  #chain: Promise<unknown> = Promise.resolve();
  readonly #path: string;

  constructor(
    private readonly options: {
      readonly files: readonly string[];
      readonly recursive: boolean;
      readonly strict: boolean;
      readonly dataDir: string;
      /** What `run` refuses besides errors (commands under --no-exec). */
      readonly refusals?: (config: SluiceConfig) => string[];
    },
  ) {
    this.#path = join(options.dataDir, APPLIED_FILE);
    this.#overlay = readOverlay(this.#path);
  }

  #logger: Logger = noopLogger;

  /** Connects the runtime the changes go to. */
  attach(runtime: SluiceRuntime, logger: Logger): void {
    this.#runtime = runtime;
    this.#logger = logger;
  }

  /**
   * The `-f` files with the recorded applies and deletes over them, checked as `run` checks them (at start, and on
   * SIGHUP and `--watch`, where the files may have changed and the recorded changes stay).
   */
  load(overlay: Overlay = this.#overlay): LoadResult {
    const applied = overlay.applied.map((a) => ({ path: `${a.source} (applied)`, text: JSON.stringify(a.value) }));
    const deleted = new Set(overlay.deleted.map(idOf));
    return loadAndCheck(this.options.files, {
      recursive: this.options.recursive,
      strict: this.options.strict,
      sources: applied,
      // An applied document replaces a file's resource of the same identity; deleted ones are left out.
      select: (resources, sourceOf) => {
        const applies = new Set(resources.filter((r) => sourceOf(r) >= 0).map(idOf));
        return resources.filter((r) => !deleted.has(idOf(r)) && (sourceOf(r) >= 0 || !applies.has(idOf(r))));
      },
    });
  }

  apply(files: readonly { readonly path: string; readonly text: string }[], options: ChangeOptions): Promise<ChangeResult> {
    return this.#serial(async () => {
      const runtime = this.#running();
      // The running resources (not the files again: an unsaved edit there is not part of this change) and the
      // request's, checked together; the request's win by identity.
      const current = runtime.config.resources;
      let requested: LoadedResource[] = [];
      const result = loadAndCheck([], {
        recursive: false,
        strict: this.options.strict,
        sources: [...current.map((r) => ({ path: r.file, text: JSON.stringify(r.value) })), ...files],
        select: (resources, sourceOf) => {
          requested = resources.filter((r) => sourceOf(r) >= current.length);
          const ids = new Set(requested.map(idOf));
          return resources.filter((r) => sourceOf(r) >= current.length || !ids.has(idOf(r)));
        },
      });
      this.#throwOnErrors(result);
      // What the request's files hold and Sluice ignores (cluster plumbing, fields without effect), as validate lists it.
      const paths = new Set(files.map((f) => f.path));
      const ignored = [...new Set(result.notices.filter((n) => paths.has(n.file)).map((n) => n.message))];
      if (requested.length === 0) {
        // Only cluster plumbing (RBAC, ServiceAccounts, Namespaces): nothing to change, and the answer says so.
        if (ignored.length > 0) return { resources: [], restarted: [], discarded: [], failed: [], dryRun: options.dryRun, ignored };
        throw adminError('SLUICE_BAD_REQUEST', 'no resources found in the given files');
      }
      const ids = new Set(requested.map(idOf));
      const overlay: Overlay = {
        version: 1,
        applied: [...this.#overlay.applied.filter((a) => !ids.has(idOf(idFromValue(a.value)))), ...requested.map((r) => ({ source: r.file, value: r.value }))],
        deleted: this.#overlay.deleted.filter((d) => !ids.has(idOf(d))),
      };
      // From now on they are applied resources (as `get` shows their source), as after a restart.
      const labelled = result.config.resources.map((r) => (requested.includes(r) ? { ...r, file: `${r.file} (applied)` } : r));
      const report = await runtime.apply({ ...result.config, resources: labelled }, options);
      if (!options.dryRun) this.#commit(overlay, 'apply', report);
      const changes = new Map(report.resources.map((c) => [idOf(c), c.change] as const));
      return {
        ...this.#result(
          report,
          requested.map((r) => ({ ...plain(r), change: changes.get(idOf(r)) ?? 'unchanged' })),
          options.dryRun,
        ),
        ignored,
      };
    });
  }

  delete(resources: readonly { readonly kind: string; readonly namespace: string; readonly name: string }[], options: ChangeOptions): Promise<ChangeResult> {
    return this.#serial(async () => {
      const runtime = this.#running();
      const current = runtime.config.resources;
      const kinds = KINDS.map((k) => k.kind);
      const targets: ResourceId[] = [];
      for (const want of resources) {
        const kind = resolveKind(want.kind, kinds);
        if (kind === undefined) throw adminError('SLUICE_UNKNOWN_KIND', `unknown resource kind "${want.kind}"`);
        const group = resolveGroup(want.kind, kind, kinds);
        const found = current.filter(
          (r) =>
            r.kind === kind && (group === undefined || groupOfApiVersion(String((r.value as { apiVersion?: unknown }).apiVersion)) === group) && r.namespace === want.namespace && r.name === want.name,
        );
        if (found.length === 0) throw adminError('SLUICE_NOT_FOUND', `${kind} ${want.namespace}/${want.name} not found`);
        for (const r of found) if (!targets.some((t) => idOf(t) === idOf(r))) targets.push(plain(r));
      }
      const ids = new Set(targets.map(idOf));
      const left = current.filter((r) => !ids.has(idOf(r)));
      const next: SluiceConfig = {
        resources: left,
        brokers: resourcesOfKind(left, 'Broker').map((r) => r.value),
        triggers: resourcesOfKind(left, 'Trigger').map((r) => r.value),
      };
      // A resource the files declare stays deleted (recorded); one that only was applied is simply dropped.
      const fromFiles = new Set(this.load(EMPTY).config.resources.map(idOf));
      const overlay: Overlay = {
        version: 1,
        applied: this.#overlay.applied.filter((a) => !ids.has(idOf(idFromValue(a.value)))),
        deleted: [...this.#overlay.deleted.filter((d) => !ids.has(idOf(d))), ...targets.filter((t) => fromFiles.has(idOf(t)))],
      };
      const report = await runtime.apply(next, options);
      if (!options.dryRun) this.#commit(overlay, 'delete', report);
      return this.#result(
        report,
        targets.map((t) => ({ ...t, change: 'deleted' as const })),
        options.dryRun,
      );
    });
  }

  /**
   * Runs `fn` in turn with the changes (SIGHUP and `--watch` reloads go through here), so a reload reads the files
   * and the recorded changes only after an apply or delete before it has finished.
   */
  inTurn(fn: () => Promise<void>): Promise<void> {
    return this.#serial(fn);
  }

  #running(): SluiceRuntime {
    if (!this.#runtime?.ready) throw adminError('SLUICE_NOT_READY', 'Sluice is starting or stopping');
    return this.#runtime;
  }

  #throwOnErrors(result: LoadResult): void {
    const refused = result.errors.length === 0 ? (this.options.refusals?.(result.config) ?? []) : [];
    if (result.errors.length === 0 && refused.length === 0) return;
    const errors = result.errors.map((e) => ({ file: e.file, line: e.line, col: e.col, message: e.message, code: e.code }));
    const lines = [...result.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`), ...refused];
    throw adminError('SLUICE_CONFIG_INVALID', lines.join('\n'), { errors, refused });
  }

  #commit(overlay: Overlay, what: string, report: ApplyReport): void {
    this.#overlay = overlay;
    try {
      mkdirSync(this.options.dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(`${this.#path}.tmp`, JSON.stringify(overlay, null, 2) + '\n', { mode: 0o600 });
      renameSync(`${this.#path}.tmp`, this.#path);
    } catch (err) {
      this.#logger.error({ file: this.#path, err }, `${what}: applied, but not recorded in ${this.#path}: the change is lost at the next restart`);
    }
    const line = describeChange(report);
    this.#logger.info({ change: what }, `${what}: ${line ?? 'configuration unchanged'}`);
  }

  #result(report: ApplyReport, resources: ChangeResult['resources'], dryRun: boolean): ChangeResult {
    return {
      resources,
      restarted: report.restarted,
      discarded: report.discarded.map((d) => ({ resource: d.resource, retries: d.retries, backlog: d.backlog, unread: d.unread, outcome: d.outcome })),
      failed: report.failed,
      dryRun,
    };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    // The runtime's refusals answer with their code's status (409 SLUICE_FORCE_REQUIRED, 422 SLUICE_CONFIG_INVALID).
    return run;
  }
}

function readOverlay(path: string): Overlay {
  if (!existsSync(path)) return EMPTY;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SluiceError('SLUICE_CONFIG_READ', `${path}: cannot read what sluice apply/delete recorded (${(err as Error).message}); fix or remove the file`);
  }
  const o = parsed as Partial<Overlay>;
  if (o.version !== 1 || !Array.isArray(o.applied) || !Array.isArray(o.deleted))
    throw new SluiceError('SLUICE_CONFIG_READ', `${path}: not a file sluice apply/delete wrote (version 1 expected); fix or remove the file`);
  return { version: 1, applied: o.applied, deleted: o.deleted };
}

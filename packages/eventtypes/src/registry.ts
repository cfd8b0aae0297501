import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { lazyLibrarySync, type CloudEvent } from '@sluice/core';
import type { IngressRef } from '@sluice/plugin';

/** better-sqlite3, required when the first registry opens: `sluice validate` never loads it. */
const sqliteLibrary = lazyLibrarySync('better-sqlite3', () => createRequire(import.meta.url)('better-sqlite3') as typeof Database);

/** One event type seen at an ingress. */
export interface SeenEventType {
  /** Knative's generated name: `et-<addressable>-<md5 of type, source, namespace, addressable>`. */
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly source: string;
  readonly schema: string | undefined;
  readonly reference: { readonly apiVersion: string; readonly kind: string; readonly name: string };
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
}

/** Options of {@link EventTypeRegistry}. */
export interface EventTypeRegistryOptions {
  /** SQLite file (`:memory:` in tests). */
  readonly path: string;
  /** Most types kept; a type seen when the registry is full is counted as overflow, not stored (default 1,000). */
  readonly maxTypes?: number;
  readonly now?: () => number;
}

/**
 * Knative's name of an auto-created EventType (EV `generateEventTypeName`): `et-<name>-<md5 hex>`, made a DNS-1123
 * subdomain (lower case, other characters dropped, at most 253).
 */
export function eventTypeName(addressable: string, namespace: string, type: string, source: string): string {
  const suffix = createHash('md5')
    .update(type + source + namespace + addressable)
    .digest('hex');
  return `et-${addressable}-${suffix}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '')
    .slice(0, 253)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

/**
 * The event types seen at brokers and channels, in memory for the hot path and in SQLite for restarts: `record` only
 * touches a Map; `flush` (every second, and on close) writes the changed rows in one transaction. Bounded: at most
 * `maxTypes` rows, so a flood of random types can exhaust neither memory nor disk — further types are counted in
 * `overflow` and dropped.
 */
export class EventTypeRegistry {
  readonly #db: Database.Database;
  readonly #types = new Map<string, SeenEventType>();
  readonly #dirty = new Set<string>();
  readonly #max: number;
  readonly #now: () => number;
  #overflow = 0;
  readonly #upsert: Database.Statement;

  constructor(options: EventTypeRegistryOptions) {
    this.#max = options.maxTypes ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#db = new (sqliteLibrary('the EventType registry'))(options.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS event_types (
      namespace TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL, schema TEXT,
      ref_api_version TEXT NOT NULL, ref_kind TEXT NOT NULL, ref_name TEXT NOT NULL,
      first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (namespace, name))`);
    this.#upsert = this.#db.prepare(`INSERT INTO event_types VALUES (@namespace, @name, @type, @source, @schema, @refApiVersion, @refKind, @refName, @firstSeen, @lastSeen, @count)
      ON CONFLICT (namespace, name) DO UPDATE SET last_seen = excluded.last_seen, count = excluded.count, schema = COALESCE(excluded.schema, schema)`);
    const rows = this.#db.prepare('SELECT * FROM event_types ORDER BY first_seen LIMIT ?').all(this.#max) as Array<Record<string, string | number | null>>;
    for (const r of rows) {
      const t: SeenEventType = {
        name: String(r['name']),
        namespace: String(r['namespace']),
        type: String(r['type']),
        source: String(r['source']),
        schema: r['schema'] === null ? undefined : String(r['schema']),
        reference: { apiVersion: String(r['ref_api_version']), kind: String(r['ref_kind']), name: String(r['ref_name']) },
        firstSeen: Number(r['first_seen']),
        lastSeen: Number(r['last_seen']),
        count: Number(r['count']),
      };
      this.#types.set(`${t.namespace}/${t.name}`, t);
    }
  }

  /** Records the events an ingress accepted; returns the types seen for the first time. */
  record(ref: IngressRef, events: readonly CloudEvent[]): SeenEventType[] {
    const created: SeenEventType[] = [];
    const now = this.#now();
    for (const e of events) {
      const type = String(e.attributes['type']);
      const source = String(e.attributes['source']);
      const schemaAttr = e.attributes['dataschema'] ?? e.attributes['schemaurl'];
      const name = eventTypeName(ref.name, ref.namespace, type, source);
      const key = `${ref.namespace}/${name}`;
      const known = this.#types.get(key);
      if (known) {
        this.#types.set(key, { ...known, lastSeen: now, count: known.count + 1, schema: known.schema ?? (schemaAttr === undefined ? undefined : String(schemaAttr)) });
        this.#dirty.add(key);
        continue;
      }
      if (this.#types.size >= this.#max) {
        this.#overflow++;
        continue;
      }
      const t: SeenEventType = {
        name,
        namespace: ref.namespace,
        type,
        source,
        schema: schemaAttr === undefined ? undefined : String(schemaAttr),
        reference: { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name },
        firstSeen: now,
        lastSeen: now,
        count: 1,
      };
      this.#types.set(key, t);
      this.#dirty.add(key);
      created.push(t);
    }
    return created;
  }

  /** Every recorded type. */
  list(): SeenEventType[] {
    return [...this.#types.values()];
  }

  /** Types not recorded because the registry was full, since start. */
  get overflow(): number {
    return this.#overflow;
  }

  /** Writes the changed rows in one transaction. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    const rows = [...this.#dirty].map((k) => this.#types.get(k)!);
    this.#dirty.clear();
    this.#db.transaction(() => {
      for (const t of rows) {
        this.#upsert.run({
          namespace: t.namespace,
          name: t.name,
          type: t.type,
          source: t.source,
          schema: t.schema ?? null,
          refApiVersion: t.reference.apiVersion,
          refKind: t.reference.kind,
          refName: t.reference.name,
          firstSeen: t.firstSeen,
          lastSeen: t.lastSeen,
          count: t.count,
        });
      }
    })();
  }

  /** Flushes and closes the database. */
  close(): void {
    this.flush();
    this.#db.close();
  }
}

import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { checkDestination, checkRefApiVersion, KINDS, type SemanticCheck, type SluiceConfig } from '@sluice/config';
import { runsFrom, type ComponentFactory, type PublishedResource, type RuntimeComponent, type RuntimeContext, type SluicePlugin } from '@sluice/plugin';
import { EventTypeRegistry, type SeenEventType } from './registry.js';

/** Knative's feature flag (ConfigMap `knative-eventing/config-features`) that turns auto-creation on. */
export const AUTO_CREATE_FLAG = 'eventtype-auto-create';
/** Where Knative keeps its feature flags. */
export const FEATURES_CONFIG_MAP = { namespace: 'knative-eventing', name: 'config-features' } as const;
const FLAG_VALUES = ['enabled', 'disabled', 'allowed'];

/** Whether the configuration turns `eventtype-auto-create` on (`enabled` in `knative-eventing/config-features`). */
export function autoCreateEnabled(config: SluiceConfig): boolean {
  const cm = config.resources.find((r) => r.kind === 'ConfigMap' && r.namespace === FEATURES_CONFIG_MAP.namespace && r.name === FEATURES_CONFIG_MAP.name);
  return (cm?.value['data'] as Record<string, unknown> | undefined)?.[AUTO_CREATE_FLAG] === 'enabled';
}

/** The EventType (v1beta3, as Knative auto-creates them) of a recorded type, with when and how often it was seen. */
export function toResource(t: SeenEventType): PublishedResource {
  return {
    apiVersion: 'eventing.knative.dev/v1beta3',
    kind: 'EventType',
    metadata: { name: t.name, namespace: t.namespace, ownerReferences: [{ ...t.reference }] },
    spec: {
      reference: { ...t.reference, namespace: t.namespace },
      description: 'Event Type auto-created by controller',
      attributes: [
        { name: 'type', value: t.type, required: true },
        { name: 'source', value: t.source, required: true },
        { name: 'schemadata', value: t.schema ?? '', required: true },
        { name: 'specversion', value: '1.0', required: true },
        { name: 'id', required: false },
      ],
    },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      firstSeen: new Date(t.firstSeen).toISOString(),
      lastSeen: new Date(t.lastSeen).toISOString(),
      count: t.count,
    },
  };
}

/** Options of {@link EventTypeRecorder}. */
export interface EventTypeRecorderOptions {
  readonly maxTypes?: number;
  readonly flushIntervalMs?: number;
  /** Database file; default `<data dir>/eventtypes.db`. */
  readonly path?: string;
}

/**
 * Knative's `eventtype-auto-create` for `sluice run`: every event a broker or channel accepted is recorded by
 * type, source and addressable (see {@link EventTypeRegistry}); new and changed types are written every second and
 * published as EventType resources, which the admin API lists with the declared ones.
 */
export class EventTypeRecorder implements RuntimeComponent {
  readonly name = 'EventType auto-create';
  readonly #options: EventTypeRecorderOptions;
  #registry: EventTypeRegistry | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ctx: RuntimeContext | undefined;

  constructor(options: EventTypeRecorderOptions = {}) {
    this.#options = options;
  }

  register(ctx: RuntimeContext): void {
    if (this.#ctx) return;
    this.#ctx = ctx;
    const dir = ctx.dataDir ?? '.sluice';
    mkdirSync(dir, { recursive: true });
    const registry = new EventTypeRegistry({ path: this.#options.path ?? join(dir, 'eventtypes.db'), maxTypes: this.#options.maxTypes ?? 1000, now: ctx.now });
    this.#registry = registry;
    for (const t of registry.list()) ctx.publishResource?.(toResource(t));
    let warnedOverflow = 0;
    ctx.onIngress?.((ref, events) => {
      const created = registry.record(ref, events);
      for (const t of created)
        ctx.logger.info({ eventType: `${t.namespace}/${t.name}`, type: t.type, source: t.source, reference: `${t.reference.kind}/${t.reference.name}` }, 'EventType auto-created');
      if (registry.overflow > warnedOverflow) {
        if (warnedOverflow === 0) ctx.logger.warn({ maxTypes: this.#options.maxTypes ?? 1000 }, 'EventType auto-create: the registry is full; further new types are not recorded');
        warnedOverflow = registry.overflow;
      }
    });
  }

  async start(ctx: RuntimeContext): Promise<void> {
    this.register(ctx);
    this.#timer = setInterval(() => this.#flush(), this.#options.flushIntervalMs ?? 1000);
    this.#timer.unref();
  }

  #flush(): void {
    const registry = this.#registry;
    if (!registry) return;
    try {
      registry.flush();
      for (const t of registry.list()) this.#ctx?.publishResource?.(toResource(t));
    } catch (err) {
      this.#ctx?.logger.error({ err }, 'EventType auto-create: cannot write the registry');
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#registry?.close();
    this.#registry = undefined;
  }
}

const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/**
 * Checks of EventTypes and the auto-create flag: a `reference` (or v1beta2 `broker`) names a declared resource of a
 * kind Sluice runs; v1beta3 attribute names are CloudEvents attribute names; the flag's value is one Knative knows.
 */
export function eventTypeChecks(): SemanticCheck {
  return (config, report) => {
    const declared = new Set(config.resources.map((r) => `${r.kind}:${r.key}`));
    const known = new Set(KINDS.map((k) => k.kind));
    for (const r of config.resources) {
      if (r.kind === 'ConfigMap' && r.namespace === FEATURES_CONFIG_MAP.namespace && r.name === FEATURES_CONFIG_MAP.name) {
        const raw = (r.value['data'] as Record<string, unknown> | undefined)?.[AUTO_CREATE_FLAG];
        const v = typeof raw === 'string' ? raw : JSON.stringify(raw); // ConfigMap data is strings (the schema says so)
        if (raw !== undefined && !FLAG_VALUES.includes(v)) report(r, ['data', AUTO_CREATE_FLAG], `${AUTO_CREATE_FLAG} must be one of ${FLAG_VALUES.join(', ')}, not "${v}"`, 'SLUICE_CONFIG_INVALID');
      }
      if (r.kind !== 'EventType') continue;
      const spec = (r.value['spec'] ?? {}) as {
        reference?: { apiVersion?: string; group?: string; kind: string; name: string; namespace?: string };
        broker?: string;
        attributes?: Array<{ name: string }>;
      };
      if (spec.reference) {
        const ns = spec.reference.namespace ?? r.namespace;
        if (!known.has(spec.reference.kind)) report(r, ['spec', 'reference', 'kind'], `reference kind "${spec.reference.kind}" is not one Sluice runs`);
        else {
          // A KReference, validated as Knative validates one: apiVersion needed, and the kind's.
          checkRefApiVersion(r, ['spec', 'reference'], spec.reference, report);
          // Declared later (apply in pieces): a warning, as for any reference.
          if (!declared.has(`${spec.reference.kind}:${ns}/${spec.reference.name}`))
            report(r, ['spec', 'reference', 'name'], `${spec.reference.kind} "${ns}/${spec.reference.name}" is not declared in the configuration`, 'SLUICE_CONFIG_UNKNOWN_REF');
        }
      }
      // v1beta2's `broker` is a name, not a KReference: it has no apiVersion to check.
      if (spec.broker !== undefined)
        checkDestination(r, ['spec'], { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: spec.broker } }, declared, (res, path, message, code) =>
          report(res, path.slice(0, 1).concat('broker'), message, code),
        );
      (spec.attributes ?? []).forEach((a, i) => {
        if (!ATTRIBUTE_NAME.test(a.name)) report(r, ['spec', 'attributes', i, 'name'], `"${a.name}" is not a CloudEvents attribute name (lower-case letters and digits)`);
      });
    }
  };
}

/** The factory `sluice run` passes to the runtime: the recorder, when the configuration enables auto-creation. */
export const eventTypeComponents: ComponentFactory = (config) => (autoCreateEnabled(config) ? [runsFrom(new EventTypeRecorder(), [])] : []); // its registry is its own: kept across changes

/** EventType, as one plugin of `sluice`. */
export const eventTypePlugin: SluicePlugin = { name: 'eventtypes', checks: () => [eventTypeChecks()], components: eventTypeComponents };

// Constants and helpers around Knative resources. Their shapes are generated from schemas/ (schema-types.ts).
import { DNS_LABEL_PATTERN, type ObjectMeta } from './schema-types.js';

/** The default namespace when `metadata.namespace` is unset. */
export const DEFAULT_NAMESPACE = 'default';

/** Broker class annotation and the values Sluice understands. */
export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';

/** Trigger ordering annotation of Knative's Kafka broker. */
export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';

/**
 * The value of a `delivery.order` annotation, in any case as Knative's Kafka dispatcher reads it: true for
 * `ordered`, false for `unordered`, undefined when unset, null for any other value (an error).
 */
export function parseDeliveryOrder(value: string | undefined): boolean | undefined | null {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  return v === 'ordered' ? true : v === 'unordered' ? false : null;
}

/** `namespace/name` of a namespaced object, the key Sluice uses everywhere. */
export function objectKey(meta: ObjectMeta): string {
  return `${meta.namespace ?? DEFAULT_NAMESPACE}/${meta.name}`;
}

/** A resource named on the command line as kn names a sink: `KIND:NAME[:NAMESPACE]`. */
export interface KindName<K extends string> {
  readonly kind: K;
  readonly name: string;
  /** Undefined when the argument names none (the caller's `-n` or the default applies). */
  readonly namespace: string | undefined;
}

const DNS_LABEL = DNS_LABEL_PATTERN.slice(1, -1);

/**
 * Parses `KIND:NAME[:NAMESPACE]` (kn's sink syntax) for one of `kinds`; with `defaultKind`, a bare `NAME[:NAMESPACE]`
 * is that kind. NAME and NAMESPACE are DNS labels. Undefined when the value has another shape: the caller's usage
 * error says which shapes it takes.
 */
export function parseKindName<K extends string>(value: string, kinds: readonly K[], defaultKind?: K): KindName<K> | undefined {
  // The kinds are spelled out: with a default kind, `NAME:NAMESPACE` must not read NAME as a kind.
  const g = new RegExp(`^(?:(?<kind>${kinds.join('|')}):)?(?<name>${DNS_LABEL})(?::(?<namespace>${DNS_LABEL}))?$`).exec(value)?.groups;
  if (!g) return undefined;
  const kind = (g['kind'] ?? defaultKind) as K | undefined;
  if (kind === undefined) return undefined;
  return { kind, name: g['name']!, namespace: g['namespace'] };
}

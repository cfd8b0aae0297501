// Constants and helpers around Knative resources. Their shapes are generated from schemas/ (schema-types.ts).
import type { ObjectMeta } from './schema-types.js';

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

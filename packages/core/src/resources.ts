// Knative resource shapes as Sluice reads them from YAML. Field names are exactly Knative's.

/** `duck/v1 KReference`. */
export interface KReference {
  kind: string;
  name: string;
  apiVersion?: string;
  namespace?: string;
  group?: string;
  address?: string;
}

/** `duck/v1 Destination`: an absolute `uri`, or a `ref` with an optional relative `uri`. */
export interface Destination {
  ref?: KReference;
  uri?: string;
  CACerts?: string;
  audience?: string;
}

/** `duck/v1 DeliverySpec`. Durations are ISO-8601 strings. */
export interface DeliverySpec {
  deadLetterSink?: Destination;
  retry?: number;
  backoffPolicy?: 'linear' | 'exponential';
  backoffDelay?: string;
  timeout?: string;
  retryAfterMax?: string;
  format?: 'json' | 'binary';
}

/** Kubernetes object metadata, the parts Sluice uses. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A CloudEvents Subscriptions API filter: exactly one dialect per object. */
export interface SubscriptionsAPIFilter {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: SubscriptionsAPIFilter[];
  any?: SubscriptionsAPIFilter[];
  not?: SubscriptionsAPIFilter;
  cesql?: string;
}

/** `eventing.knative.dev/v1 Broker`. */
export interface Broker {
  apiVersion: 'eventing.knative.dev/v1';
  kind: 'Broker';
  metadata: ObjectMeta;
  spec?: { config?: KReference; delivery?: DeliverySpec };
}

/** `eventing.knative.dev/v1 Trigger`. */
export interface Trigger {
  apiVersion: 'eventing.knative.dev/v1';
  kind: 'Trigger';
  metadata: ObjectMeta;
  spec: {
    broker?: string;
    brokerRef?: KReference;
    filter?: { attributes?: Record<string, string> };
    filters?: SubscriptionsAPIFilter[];
    subscriber: Destination;
    delivery?: DeliverySpec;
  };
}

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

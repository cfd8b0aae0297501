import type { DeliverySpec, Destination, ObjectMeta } from '@sluice/core';
import type { CloudEventOverrides } from '@sluice/sources';

/** `duck/v1 CloudEventOverrides`, shared with the other sources. */
export type { CloudEventOverrides };

/** `corev1.SecretKeySelector`: one key of a Secret (resolved as docs/kafka-source.md describes). */
export interface SecretKeySelector {
  name: string;
  key: string;
  optional?: boolean;
}

/** `bindings/v1 SecretValueFromSource`. */
export interface SecretValueFromSource {
  secretKeyRef?: SecretKeySelector;
}

/** `bindings/v1 KafkaSASLSpec`. */
export interface KafkaSASLSpec {
  enable?: boolean;
  user?: SecretValueFromSource;
  password?: SecretValueFromSource;
  /** A secret whose value is `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (Knative keeps even the type in a Secret). */
  type?: SecretValueFromSource;
  roleARN?: SecretValueFromSource;
  tokenProvider?: SecretValueFromSource;
}

/** `bindings/v1 KafkaTLSSpec`. */
export interface KafkaTLSSpec {
  enable?: boolean;
  cert?: SecretValueFromSource;
  key?: SecretValueFromSource;
  caCert?: SecretValueFromSource;
}

/** `bindings/v1 KafkaNetSpec`. */
export interface KafkaNetSpec {
  sasl?: KafkaSASLSpec;
  tls?: KafkaTLSSpec;
}


/** `sources.knative.dev/v1 KafkaSource` spec (v1beta1 is read the same way). */
export interface KafkaSourceSpec {
  bootstrapServers: string[];
  topics: string[];
  consumerGroup?: string;
  consumers?: number;
  initialOffset?: 'earliest' | 'latest';
  ordering?: 'ordered' | 'unordered';
  delivery?: DeliverySpec;
  net?: KafkaNetSpec;
  sink: Destination;
  ceOverrides?: CloudEventOverrides;
}

/** `sources.knative.dev/v1 KafkaSource`. */
export interface KafkaSource {
  apiVersion: 'sources.knative.dev/v1' | 'sources.knative.dev/v1beta1';
  kind: 'KafkaSource';
  metadata: ObjectMeta & { uid?: string };
  spec: KafkaSourceSpec;
}

/** The `type` of a record that is not already a CloudEvent, as Knative wraps it. */
export const KAFKA_EVENT_TYPE = 'dev.knative.kafka.event';

/** Label that selects how record keys are read (`string`, `int`, `float`, `byte-array`). */
export const KEY_TYPE_LABEL = 'kafkasources.sources.knative.dev/key-type';

/** Values of {@link KEY_TYPE_LABEL}. */
export const KEY_TYPES = ['string', 'int', 'float', 'byte-array'] as const;

/** How a record key is deserialized. */
export type KeyType = (typeof KEY_TYPES)[number];

/** The SASL mechanisms Sluice supports (the values of the `net.sasl.type` secret). */
export const SASL_TYPES = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

/** A supported SASL mechanism. */
export type SaslType = (typeof SASL_TYPES)[number];

/** The `source` of a wrapped record, exactly as Knative builds it (`KafkaEventSource`). */
export function kafkaEventSource(namespace: string, name: string, topic: string): string {
  return `/apis/v1/namespaces/${namespace}/kafkasources/${name}#${topic}`;
}

/**
 * The consumer group when `spec.consumerGroup` is unset. Knative stores a random `knative-kafka-source-<uuid>` in the
 * object; without an API server to remember it, Sluice derives a stable one so a restart resumes where it stopped.
 * `_` separates namespace and name because neither may contain it.
 */
export function defaultConsumerGroup(namespace: string, name: string): string {
  return `knative-kafka-source-${namespace}_${name}`;
}

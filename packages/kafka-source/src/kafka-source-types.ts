// KafkaSource's shapes are generated from schemas/kafkasource.json (@sluice/core), re-exported for this package's users.
export type { CloudEventOverrides, KafkaNetSpec, KafkaSASLSpec, KafkaSource, KafkaSourceSpec, KafkaTLSSpec, SecretKeySelector, SecretValueFromSource } from '@sluice/core';

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

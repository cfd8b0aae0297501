import type { ObjectMeta } from '@sluice/core';

/** `eventing.knative.dev/v1alpha1 KafkaSink` spec (eventing-kafka-broker's CRD). */
export interface KafkaSinkSpec {
  topic: string;
  bootstrapServers: string[];
  /** Created with these when either is set; otherwise the topic must exist. */
  numPartitions?: number;
  replicationFactor?: number;
  /** Default `binary`. */
  contentMode?: 'binary' | 'structured';
  auth?: { secret?: { ref?: { name: string } } };
}

/** `eventing.knative.dev/v1alpha1 KafkaSink`. */
export interface KafkaSink {
  apiVersion: 'eventing.knative.dev/v1alpha1';
  kind: 'KafkaSink';
  metadata: ObjectMeta;
  spec: KafkaSinkSpec;
}

/** First path segment of every KafkaSink's address: `/kafkasinks/{namespace}/{name}`. */
export const KAFKA_SINK_ROUTE = 'kafkasinks';

/** Address of a KafkaSink under a runtime's base URL. */
export const kafkaSinkUrl = (baseUrl: string, namespace: string, name: string): string => `${baseUrl}/${KAFKA_SINK_ROUTE}/${namespace}/${name}`;

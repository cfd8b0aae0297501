// KafkaSink's shapes are generated from schemas/kafkasink.json (@sluice/core), re-exported for this package's users.
export type { KafkaSink, KafkaSinkSpec } from '@sluice/core';

/** First path segment of every KafkaSink's address: `/kafkasinks/{namespace}/{name}`. */
export const KAFKA_SINK_ROUTE = 'kafkasinks';

/** Address of a KafkaSink under a runtime's base URL. */
export const kafkaSinkUrl = (baseUrl: string, namespace: string, name: string): string => `${baseUrl}/${KAFKA_SINK_ROUTE}/${namespace}/${name}`;

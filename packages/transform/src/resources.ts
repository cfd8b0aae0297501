import type { Destination, ObjectMeta } from '@sluice/core';

/** A JSONata transformation (`spec.jsonata`, `spec.reply.jsonata`). */
export interface JsonataTransformation {
  expression: string;
}

/** How the sink's response is answered (`spec.reply`); only valid with a sink. */
export interface EventTransformReply {
  jsonata?: JsonataTransformation;
  /** Answer the sink's status with an empty body. */
  discard?: boolean;
}

/** `spec` of Knative's EventTransform. */
export interface EventTransformSpec {
  jsonata: JsonataTransformation;
  sink?: Destination;
  reply?: EventTransformReply;
}

/** `eventing.knative.dev/v1alpha1 EventTransform`. */
export interface EventTransform {
  apiVersion: 'eventing.knative.dev/v1alpha1';
  kind: 'EventTransform';
  metadata: ObjectMeta;
  spec: EventTransformSpec;
}

/** First path segment of every transform's address: `/transforms/{namespace}/{name}`. */
export const TRANSFORM_ROUTE = 'transforms';

/** Address of an EventTransform under a runtime's base URL. */
export const transformUrl = (baseUrl: string, namespace: string, name: string): string => `${baseUrl}/${TRANSFORM_ROUTE}/${namespace}/${name}`;

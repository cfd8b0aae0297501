// EventTransform's shapes are generated from schemas/eventtransform.json (@sluice/core), re-exported for this package's
// users.
export type { EventTransform, EventTransformReply, EventTransformSpec, JsonataTransformation } from '@sluice/core';

/** First path segment of every transform's address: `/transforms/{namespace}/{name}`. */
export const TRANSFORM_ROUTE = 'transforms';

/** Address of an EventTransform under a runtime's base URL. */
export const transformUrl = (baseUrl: string, namespace: string, name: string): string => `${baseUrl}/${TRANSFORM_ROUTE}/${namespace}/${name}`;

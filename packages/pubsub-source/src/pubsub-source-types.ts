// CloudPubSubSource's shapes are generated from schemas/cloudpubsubsource.json (@sluice/core), re-exported for this
// package's users.
export type { CloudEventOverrides, CloudPubSubSource, CloudPubSubSourceSpec, SecretKeySelector } from '@sluice/core';

/** The `type` of every event (knative-gcp `CloudPubSubMessagePublishedEventType`). */
export const PUBSUB_EVENT_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The `dataschema` of every event (knative-gcp `CloudPubSubEventDataSchema`). */
export const PUBSUB_DATA_SCHEMA = 'https://raw.githubusercontent.com/googleapis/google-cloudevents/master/proto/google/events/cloud/pubsub/v1/data.proto';

/** knative-gcp's defaults. */
export const DEFAULT_ACK_DEADLINE = '30s';
/** knative-gcp's default retention (7 days), as a Go duration. */
export const DEFAULT_RETENTION_DURATION = '168h';

/** The `source` of the events, exactly as knative-gcp builds it (`CloudPubSubEventSource`). */
export function pubsubEventSource(project: string, topic: string): string {
  return `//pubsub.googleapis.com/projects/${project}/topics/${topic}`;
}

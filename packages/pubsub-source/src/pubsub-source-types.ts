import type { Destination, ObjectMeta } from '@sluice/core';
import type { CloudEventOverrides } from '@sluice/sources';

/** `duck/v1 CloudEventOverrides`, shared with the other sources. */
export type { CloudEventOverrides };

/** `corev1.SecretKeySelector`. */
export interface SecretKeySelector {
  name: string;
  key: string;
  optional?: boolean;
}


/** `events.cloud.google.com/v1 CloudPubSubSource` spec (v1beta1 is read the same way). */
export interface CloudPubSubSourceSpec {
  /** Topic ID (not the full `projects/…/topics/…` name). */
  topic: string;
  project?: string;
  /** Service-account key JSON; unset = the emulator or Application Default Credentials. */
  secret?: SecretKeySelector;
  /** Accepted and ignored: a Kubernetes service account (Workload Identity) does not exist outside a cluster. */
  serviceAccountName?: string;
  /** Go duration, default `30s`. */
  ackDeadline?: string;
  retainAckedMessages?: boolean;
  /** Go duration, default `168h` (7 days). */
  retentionDuration?: string;
  sink: Destination;
  ceOverrides?: CloudEventOverrides;
}

/** `events.cloud.google.com/v1 CloudPubSubSource`. */
export interface CloudPubSubSource {
  apiVersion: 'events.cloud.google.com/v1' | 'events.cloud.google.com/v1beta1';
  kind: 'CloudPubSubSource';
  metadata: ObjectMeta;
  spec: CloudPubSubSourceSpec;
}

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

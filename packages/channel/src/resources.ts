// Knative's messaging.knative.dev and flows.knative.dev resource shapes as Sluice reads them from YAML. Field names are
// exactly Knative's.
import type { DeliverySpec, Destination, KReference, ObjectMeta } from '@sluice/core';

/** `messaging.knative.dev/v1` (Channel, InMemoryChannel, Subscription) and the KafkaChannel versions. */
export const MESSAGING_V1 = 'messaging.knative.dev/v1';
/** KafkaChannel's storage version; `messaging.knative.dev/v1` is served too. */
export const MESSAGING_V1BETA1 = 'messaging.knative.dev/v1beta1';
/** `flows.knative.dev/v1` (Sequence, Parallel). */
export const FLOWS_V1 = 'flows.knative.dev/v1';

/** The kinds that are channels: each has an address and a log, and Subscriptions can name it. */
export const CHANNEL_KINDS = ['Channel', 'InMemoryChannel', 'KafkaChannel'] as const;
/** A channel kind. */
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
/** The kinds a `channelTemplate` (and so a generic Channel, a Sequence or a Parallel) may be backed by. */
export type BackingKind = Exclude<ChannelKind, 'Channel'>;
/** The flow kinds. */
export const FLOW_KINDS = ['Sequence', 'Parallel'] as const;
/** Every kind this package runs. */
export const CHANNEL_PACKAGE_KINDS: readonly string[] = [...CHANNEL_KINDS, 'Subscription', ...FLOW_KINDS];

/** apiVersions each backing kind accepts (in a channelTemplate and as a resource). */
export const BACKING_API_VERSIONS: Readonly<Record<BackingKind, readonly string[]>> = {
  InMemoryChannel: [MESSAGING_V1],
  KafkaChannel: [MESSAGING_V1BETA1, MESSAGING_V1],
};

/** The template a Channel, Sequence or Parallel uses when it sets none (Knative's `default-ch-config`). */
export const DEFAULT_CHANNEL_TEMPLATE: ChannelTemplateSpec = { apiVersion: MESSAGING_V1, kind: 'InMemoryChannel' };

/** Knative's InMemoryChannel annotation: ack before fan-out. Accepted; Sluice always acks after the durable write. */
export const ASYNC_HANDLER_ANNOTATION = 'messaging.knative.dev/async-handler';
/** Sluice's opt-out of durability for an InMemoryChannel (or a Channel backed by one): `memory` or `durable`. */
export const DURABILITY_ANNOTATION = 'sluice.dev/durability';
/** The Kafka broker's ordering annotation, honoured on Subscriptions (`ordered` / `unordered`). */
export const SUBSCRIPTION_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';

/** KafkaChannel defaults (Knative's `kafka-channel-config`). */
export const KAFKA_CHANNEL_DEFAULTS = { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' } as const;

/** The spec of a backing channel inside a `channelTemplate`. */
export interface ChannelTemplateInnerSpec {
  delivery?: DeliverySpec;
  numPartitions?: number;
  replicationFactor?: number;
  retentionDuration?: string;
}

/** `ChannelTemplateSpec`: the kind (and spec) of the channels a Channel, Sequence or Parallel creates. */
export interface ChannelTemplateSpec {
  apiVersion: string;
  kind: BackingKind;
  spec?: ChannelTemplateInnerSpec;
}

/** `messaging.knative.dev/v1 Channel`. */
export interface Channel {
  apiVersion: typeof MESSAGING_V1;
  kind: 'Channel';
  metadata: ObjectMeta;
  spec?: { channelTemplate?: ChannelTemplateSpec; delivery?: DeliverySpec };
}

/** `messaging.knative.dev/v1 InMemoryChannel`. */
export interface InMemoryChannel {
  apiVersion: typeof MESSAGING_V1;
  kind: 'InMemoryChannel';
  metadata: ObjectMeta;
  spec?: { delivery?: DeliverySpec };
}

/** `messaging.knative.dev/v1beta1` (or `v1`) `KafkaChannel`. */
export interface KafkaChannel {
  apiVersion: typeof MESSAGING_V1BETA1 | typeof MESSAGING_V1;
  kind: 'KafkaChannel';
  metadata: ObjectMeta;
  spec?: { numPartitions?: number; replicationFactor?: number; retentionDuration?: string; delivery?: DeliverySpec };
}

/** `messaging.knative.dev/v1 Subscription`. */
export interface Subscription {
  apiVersion: typeof MESSAGING_V1;
  kind: 'Subscription';
  metadata: ObjectMeta;
  spec: { channel: KReference; subscriber?: Destination; reply?: Destination; delivery?: DeliverySpec };
}

/** One step of a Sequence: a Destination plus its own delivery. */
export interface SequenceStep extends Destination {
  delivery?: DeliverySpec;
}

/** `flows.knative.dev/v1 Sequence`. */
export interface Sequence {
  apiVersion: typeof FLOWS_V1;
  kind: 'Sequence';
  metadata: ObjectMeta;
  spec: { steps: SequenceStep[]; channelTemplate?: ChannelTemplateSpec; reply?: Destination };
}

/** One branch of a Parallel. */
export interface ParallelBranch {
  filter?: Destination;
  subscriber: Destination;
  reply?: Destination;
  delivery?: DeliverySpec;
}

/** `flows.knative.dev/v1 Parallel`. */
export interface Parallel {
  apiVersion: typeof FLOWS_V1;
  kind: 'Parallel';
  metadata: ObjectMeta;
  spec: { branches: ParallelBranch[]; channelTemplate?: ChannelTemplateSpec; reply?: Destination };
}

/** Whether a kind is one of the channel kinds. */
export function isChannelKind(kind: string): kind is ChannelKind {
  return (CHANNEL_KINDS as readonly string[]).includes(kind);
}

// Constants of Knative's messaging.knative.dev and flows.knative.dev kinds. Their shapes are generated from schemas/
// (@sluice/core).
import type { ChannelTemplateSpec } from '@sluice/core';

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

/** Whether a kind is one of the channel kinds. */
export function isChannelKind(kind: string): kind is ChannelKind {
  return (CHANNEL_KINDS as readonly string[]).includes(kind);
}

// Kafka names as Knative's Kafka broker spells them (KB control-plane/pkg/apis/config/features.go,
// reconciler/broker/broker.go), so a Sluice deployment and a Knative one can share a cluster's conventions.
import { parseLogName } from '@sluice/core';

/** Annotation naming a broker's topic that exists already (Knative: `kafka.eventing.knative.dev/external.topic`). */
export const EXTERNAL_TOPIC_ANNOTATION = 'kafka.eventing.knative.dev/external.topic';

/** Broker class value served by this package (Knative's `Kafka`). */
export const KAFKA_BROKER_CLASS = 'Kafka';

/**
 * Knative's other name for the Kafka class: a data plane per namespace, whose `spec.config` ConfigMap must be in the
 * broker's own namespace. Every Sluice broker already has its own Kafka clients, so only the config rule differs.
 */
export const KAFKA_NAMESPACED_BROKER_CLASS = 'KafkaNamespaced';

/** Every broker class value served by this package. */
export const KAFKA_BROKER_CLASSES: readonly string[] = [KAFKA_BROKER_CLASS, KAFKA_NAMESPACED_BROKER_CLASS];

/** Knative's default topic of a broker, `knative-broker-<namespace>-<name>` (`brokers.topic.template` may change it). */
export function brokerTopicName(namespace: string, name: string): string {
  return `knative-broker-${namespace}-${name}`;
}

/** Knative's default consumer group of a trigger, `knative-trigger-<namespace>-<name>` (`triggers.consumergroup.template` may change it). */
export function triggerGroupId(namespace: string, name: string): string {
  return `knative-trigger-${namespace}-${name}`;
}

/** Topic holding a consumer group's scheduled retries (a Sluice addition; Knative retries in memory). */
export function retryTopicName(groupId: string): string {
  return `${groupId}-retry`;
}

/** Topic holding a broker's dead letters, shared by every instance (a Sluice addition): `<broker topic>-dead-letters`. */
export function deadLetterTopicName(brokerTopic: string): string {
  return `${brokerTopic}-dead-letters`;
}

const VALID_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** Whether a string is a legal Kafka topic name (letters, digits, `.`, `_`, `-`; at most 249 characters). */
export function isValidTopicName(topic: string): boolean {
  return VALID_TOPIC.test(topic) && topic !== '.' && topic !== '..';
}

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]/g, '-');
}

/** Default log → topic mapping: `broker:<ns>/<name>` (the runtime's log names) → Knative's broker topic. */
export function defaultTopicFor(log: string): string {
  const broker = parseLogName(log, 'broker');
  return broker ? brokerTopicName(broker.namespace, broker.name) : sanitize(log);
}

/** Default group → Kafka group id mapping: `trigger:<ns>/<name>` (the runtime's group names) → Knative's group. */
export function defaultGroupIdFor(group: string): string {
  const trigger = parseLogName(group, 'trigger');
  return trigger ? triggerGroupId(trigger.namespace, trigger.name) : sanitize(group);
}

import { BROKER_CLASS_ANNOTATION, DEFAULT_NAMESPACE, DELIVERY_ORDER_ANNOTATION, parseDeliveryOrder } from '@sluice/core';
import { resourcesOfKind, type SemanticCheck } from '@sluice/config';
import { resolveKafkaBrokerConfig } from './broker-config.js';
import {
  BROKERS_TOPIC_TEMPLATE_KEY,
  CHANNELS_TOPIC_TEMPLATE_KEY,
  TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY,
  brokerTopicFor,
  channelTopicFor,
  resolveKafkaFeatures,
  triggerGroupIdFor,
} from './kafka-features.js';
import { EXTERNAL_TOPIC_ANNOTATION, KAFKA_BROKER_CLASSES, isValidTopicName, retryTopicName } from './topic-names.js';

/** Options of {@link kafkaChecks}. */
export interface KafkaChecksOptions {
  /** Environment consulted for `KAFKA_BROKERS` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Semantic checks for Kafka-class brokers (`Kafka` and `KafkaNamespaced`): `spec.config` names a declared v1 ConfigMap with known, valid keys; the
 * broker has bootstrap servers (ConfigMap or `KAFKA_BROKERS`); the external-topic annotation is a legal topic name;
 * the triggers' `kafka.eventing.knative.dev/delivery.order` is `ordered` or `unordered`; `config-kafka-features`
 * has known keys and name templates that parse and give every Kafka broker and trigger a legal, distinct name.
 */
export function kafkaChecks(options: KafkaChecksOptions = {}): SemanticCheck {
  return (config, report, notice) => {
    const env = options.env ?? process.env;
    const kafkaBrokers = new Set<string>();
    const reported = new Set<string>();
    for (const r of resourcesOfKind(config.resources, 'Broker')) {
      const broker = r.value;
      if (!KAFKA_BROKER_CLASSES.includes(broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION] ?? '')) continue;
      kafkaBrokers.add(r.key);
      const { problems } = resolveKafkaBrokerConfig(broker, config.resources, env, r);
      for (const p of problems) {
        const target = p.resource ?? r;
        // A ConfigMap shared by several brokers is reported once.
        const id = `${target.kind}:${target.key}:${p.path.join('.')}:${p.message}`;
        if (reported.has(id)) continue;
        reported.add(id);
        report(target, p.path, p.message, 'SLUICE_CONFIG_KAFKA');
      }
    }
    const { features, problems: featureProblems } = resolveKafkaFeatures(config.resources);
    for (const p of featureProblems) report(p.resource, p.path, p.message, 'SLUICE_CONFIG_KAFKA', p.offset);
    const featuresMap = config.resources.find((x) => x.kind === 'ConfigMap' && x.key === features.configMap);
    // Two brokers (or triggers) whose templates give the same name would share a topic (or consumer group): each
    // trigger would then get a share of the other's events. Knative's defaults cannot collide; a template can.
    const topics = new Map<string, string>();
    for (const r of resourcesOfKind(config.resources, 'Broker')) {
      if (!kafkaBrokers.has(r.key)) continue;
      const broker = r.value;
      if (broker.metadata.annotations?.[EXTERNAL_TOPIC_ANNOTATION] !== undefined) continue;
      const topic = brokerTopicFor(features, r.namespace ?? DEFAULT_NAMESPACE, r.name);
      const first = topics.get(topic);
      if (first !== undefined) {
        const key = features.keys[BROKERS_TOPIC_TEMPLATE_KEY];
        report(
          featuresMap && key ? featuresMap : r,
          featuresMap && key ? ['data', key] : ['metadata', 'name'],
          `brokers ${first} and ${r.key} get the same topic "${topic}"; the template must tell them apart`,
          'SLUICE_CONFIG_KAFKA',
        );
      } else topics.set(topic, r.key);
    }
    const groups = new Map<string, string>();
    for (const r of resourcesOfKind(config.resources, 'Trigger')) {
      const trigger = r.value;
      const brokerKey = `${trigger.spec.brokerRef?.namespace ?? r.namespace ?? DEFAULT_NAMESPACE}/${trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? ''}`;
      if (!kafkaBrokers.has(brokerKey)) continue;
      const groupId = triggerGroupIdFor(features, r.namespace ?? DEFAULT_NAMESPACE, r.name);
      const key = features.keys[TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY];
      const [target, path] = featuresMap && key ? [featuresMap, ['data', key]] : [r, ['metadata', 'name']];
      // The group id also names the trigger's retry topic (`<group>-retry`), so it must make a legal topic name.
      if (!isValidTopicName(retryTopicName(groupId))) {
        report(
          target,
          path,
          `${key ?? 'the consumer group'} gives trigger ${r.key} the group "${groupId}", whose retry topic "${retryTopicName(groupId)}" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)`,
          'SLUICE_CONFIG_KAFKA',
        );
        continue;
      }
      const first = groups.get(groupId);
      if (first !== undefined) report(target, path, `triggers ${first} and ${r.key} get the same consumer group "${groupId}"; the template must tell them apart`, 'SLUICE_CONFIG_KAFKA');
      else groups.set(groupId, r.key);
    }
    const channelKey = features.keys[CHANNELS_TOPIC_TEMPLATE_KEY];
    if (featuresMap && channelKey !== undefined) {
      const example = config.resources.find((x) => x.kind === 'KafkaChannel');
      const shown = example ? ` (for KafkaChannel ${example.key} it gives "${channelTopicFor(features, example.namespace ?? DEFAULT_NAMESPACE, example.name)}")` : '';
      notice(featuresMap, ['data', channelKey], `${channelKey}: checked, but KafkaChannels are backed by the embedded store, so it names no topic${shown}`);
    }
    for (const r of resourcesOfKind(config.resources, 'Trigger')) {
      const trigger = r.value;
      const brokerKey = `${trigger.spec.brokerRef?.namespace ?? r.namespace ?? DEFAULT_NAMESPACE}/${trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? ''}`;
      if (!kafkaBrokers.has(brokerKey)) continue;
      const order = trigger.metadata.annotations?.[DELIVERY_ORDER_ANNOTATION];
      if (parseDeliveryOrder(order) === null) {
        report(r, ['metadata', 'annotations', DELIVERY_ORDER_ANNOTATION], `${DELIVERY_ORDER_ANNOTATION} must be "ordered" or "unordered", got "${order}"`, 'SLUICE_CONFIG_KAFKA');
      }
    }
  };
}

import { BROKER_CLASS_ANNOTATION, DEFAULT_NAMESPACE, DELIVERY_ORDER_ANNOTATION, parseDeliveryOrder, type Broker, type Trigger } from '@sluice/core';
import type { SemanticCheck } from '@sluice/config';
import { resolveKafkaBrokerConfig } from './broker-config.js';
import { KAFKA_BROKER_CLASSES } from './topic-names.js';

/** Options of {@link kafkaChecks}. */
export interface KafkaChecksOptions {
  /** Environment consulted for `KAFKA_BROKERS` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}


/**
 * Semantic checks for Kafka-class brokers (`Kafka` and `KafkaNamespaced`): `spec.config` names a declared v1 ConfigMap with known, valid keys; the
 * broker has bootstrap servers (ConfigMap or `KAFKA_BROKERS`); the external-topic annotation is a legal topic name;
 * the triggers' `kafka.eventing.knative.dev/delivery.order` is `ordered` or `unordered`.
 */
export function kafkaChecks(options: KafkaChecksOptions = {}): SemanticCheck {
  return (config, report) => {
    const env = options.env ?? process.env;
    const kafkaBrokers = new Set<string>();
    const reported = new Set<string>();
    for (const r of config.resources) {
      if (r.kind !== 'Broker') continue;
      const broker = r.value as unknown as Broker;
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
    for (const r of config.resources) {
      if (r.kind !== 'Trigger') continue;
      const trigger = r.value as unknown as Trigger;
      const brokerKey = `${trigger.spec.brokerRef?.namespace ?? r.namespace ?? DEFAULT_NAMESPACE}/${trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? ''}`;
      if (!kafkaBrokers.has(brokerKey)) continue;
      const order = trigger.metadata.annotations?.[DELIVERY_ORDER_ANNOTATION];
      if (parseDeliveryOrder(order) === null) {
        report(r, ['metadata', 'annotations', DELIVERY_ORDER_ANNOTATION], `${DELIVERY_ORDER_ANNOTATION} must be "ordered" or "unordered", got "${order}"`, 'SLUICE_CONFIG_KAFKA');
      }
    }
  };
}

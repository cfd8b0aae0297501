import type { SluicePlugin } from '@sluice/plugin';
import { kafkaBrokerClass } from './broker-class.js';
import { kafkaChecks } from './kafka-checks.js';
import { KAFKA_BROKER_CLASSES } from './topic-names.js';

/** The `Kafka` and `KafkaNamespaced` broker classes (one implementation), as one plugin of `sluice`. */
export const kafkaBrokerPlugin: SluicePlugin = {
  name: 'kafka-store',
  checks: () => [kafkaChecks()],
  brokerClasses: (config) => {
    const kafka = kafkaBrokerClass(config);
    return Object.fromEntries(KAFKA_BROKER_CLASSES.map((cls) => [cls, kafka]));
  },
};

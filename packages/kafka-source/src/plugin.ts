import type { SluicePlugin } from '@sluice/plugin';
import { kafkaSourceChecks } from './checks.js';
import { kafkaSourceComponents } from './components.js';

/** KafkaSource, as one plugin of `sluice`. */
export const kafkaSourcePlugin: SluicePlugin = { name: 'kafka-source', checks: () => [kafkaSourceChecks()], components: kafkaSourceComponents };

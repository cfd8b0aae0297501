import { runsFrom, type ComponentFactory, type SluicePlugin } from '@sluice/plugin';
import { SecretStore } from '@sluice/config';
import { kafkaSinkChecks } from './checks.js';
import { KafkaSinkComponent } from './kafka-sink-component.js';
import type { KafkaSink } from './resources.js';

/** The factory `sluice run` passes to the runtime: one component serving every KafkaSink of the configuration. */
export const kafkaSinkComponents: ComponentFactory = (config) => {
  const sinks = config.resources.filter((r) => r.kind === 'KafkaSink').map((r) => r.value as unknown as KafkaSink);
  return sinks.length === 0 ? [] : [runsFrom(new KafkaSinkComponent(sinks, { secrets: SecretStore.fromConfig(config) }), sinks)];
};

/** KafkaSink, as one plugin of `sluice`. */
export const kafkaSinkPlugin: SluicePlugin = { name: 'kafka-sink', checks: () => [kafkaSinkChecks()], components: kafkaSinkComponents };

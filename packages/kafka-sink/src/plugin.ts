import { runsFrom, type ComponentFactory, type SluicePlugin } from '@sluice/plugin';
import { SecretStore, resourcesOfKind } from '@sluice/config';
import { kafkaSinkChecks } from './checks.js';
import { KafkaSinkComponent } from './kafka-sink-component.js';

/** The factory `sluice run` passes to the runtime: one component serving every KafkaSink of the configuration. */
export const kafkaSinkComponents: ComponentFactory = (config) => {
  const sinks = resourcesOfKind(config.resources, 'KafkaSink').map((r) => r.value);
  return sinks.length === 0 ? [] : [runsFrom(new KafkaSinkComponent(sinks, { secrets: SecretStore.fromConfig(config) }), sinks)];
};

/** KafkaSink, as one plugin of `sluice`. */
export const kafkaSinkPlugin: SluicePlugin = { name: 'kafka-sink', checks: () => [kafkaSinkChecks()], components: kafkaSinkComponents };

import type { SluiceConfig } from '@sluice/config';
import { runsFrom, type ComponentFactory, type RuntimeComponent } from '@sluice/plugin';
import { KafkaSourceComponent, type KafkaSourceDeps } from './kafka-source.js';
import { SecretStore, resourcesOfKind } from '@sluice/config';

/** Builds a component per KafkaSource of a validated configuration; secrets come from its `v1 Secret` documents. */
export function createKafkaSourceComponents(config: SluiceConfig, deps: KafkaSourceDeps = {}): RuntimeComponent[] {
  const secrets = deps.secrets ?? SecretStore.fromConfig(config);
  return resourcesOfKind(config.resources, 'KafkaSource').map((r) => runsFrom(new KafkaSourceComponent(r.value, { ...deps, secrets }), [r.value]));
}

/** The factory `sluice run` passes to the runtime for KafkaSources. */
export const kafkaSourceComponents: ComponentFactory = (config) => createKafkaSourceComponents(config);

import type { SluiceConfig } from '@sluice/config';
import { runsFrom, type ComponentFactory, type RuntimeComponent } from '@sluice/plugin';
import { CloudPubSubSourceComponent, type CloudPubSubSourceDeps } from './pubsub-source.js';
import { SecretStore, resourcesOfKind } from '@sluice/config';

/** Builds a component per CloudPubSubSource of a validated configuration; secrets come from its `v1 Secret` documents. */
export function createPubSubSourceComponents(config: SluiceConfig, deps: CloudPubSubSourceDeps = {}): RuntimeComponent[] {
  const secrets = deps.secrets ?? SecretStore.fromConfig(config, deps.env ?? process.env);
  return resourcesOfKind(config.resources, 'CloudPubSubSource').map((r) => runsFrom(new CloudPubSubSourceComponent(r.value, { ...deps, secrets }), [r.value]));
}

/** The factory `sluice run` passes to the runtime for CloudPubSubSources. */
export const pubsubSourceComponents: ComponentFactory = (config) => createPubSubSourceComponents(config);

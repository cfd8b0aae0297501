import { typed, type SluiceConfig } from '@sluice/config';
import { runsFrom, type ComponentFactory, type RuntimeComponent } from '@sluice/plugin';
import { ContainerSourceComponent, missingSink, type ContainerSourceDeps } from './container-source.js';
import { PingSourceComponent, type PingSourceDeps } from './ping-source.js';
import { sinkBindings, SinkBindingComponent } from './sink-binding.js';
import { SecretStore } from '@sluice/config';
import { ConfigValues } from '@sluice/workloads';
import { FORGE_ROUTES, ForgeSourceComponent, type ForgeSourceDeps } from './forge-source.js';
import { WebhookRouter, WebhookSourceComponent, type WebhookSourceDeps } from './webhook-source.js';

/** Collaborators for every source of a configuration (tests inject clocks, timers, spawn). */
export interface SourceDeps {
  readonly ping?: PingSourceDeps;
  readonly container?: ContainerSourceDeps;
  readonly webhook?: WebhookSourceDeps;
  readonly forge?: ForgeSourceDeps;
}

/** Builds the runtime components of every source in a validated configuration. */
export function createSourceComponents(config: SluiceConfig, deps: SourceDeps = {}): RuntimeComponent[] {
  const out: RuntimeComponent[] = [];
  let values: ConfigValues | undefined;
  const router = new WebhookRouter();
  const forgeRouters = { GitHubSource: new WebhookRouter(FORGE_ROUTES.GitHubSource, 'GitHubSource'), GitLabSource: new WebhookRouter(FORGE_ROUTES.GitLabSource, 'GitLabSource') };
  const forgeDeps: ForgeSourceDeps = { secrets: SecretStore.fromConfig(config), ...deps.forge };
  for (const r of config.resources) {
    const t = typed(r);
    switch (t.kind) {
      case 'PingSource':
        out.push(runsFrom(new PingSourceComponent(t.value, deps.ping), [r.value]));
        break;
      case 'ContainerSource': {
        // Whether the sink exists is part of what the component runs from: adding the sink later restarts it.
        const sinkMissing = missingSink(config, r.namespace, t.value.spec.sink);
        out.push(runsFrom(new ContainerSourceComponent(t.value, { values: (values ??= new ConfigValues(config)), sinkMissing, ...deps.container }), [r.value, { sinkMissing }]));
        break;
      }
      case 'GitHubSource':
      case 'GitLabSource':
        out.push(runsFrom(new ForgeSourceComponent(t.value, forgeRouters[t.kind], forgeDeps), [r.value]));
        break;
      case 'WebhookSource':
        out.push(runsFrom(new WebhookSourceComponent(t.value, router, deps.webhook), [r.value]));
        break;
      default:
        break;
    }
  }
  for (const { binding } of sinkBindings(config)) out.push(runsFrom(new SinkBindingComponent(binding), [binding]));
  return out;
}

/** The factory `sluice run` passes to the runtime: PingSource, ContainerSource, SinkBinding, WebhookSource, GitHubSource, GitLabSource. */
export const sourceComponents: ComponentFactory = (config) => createSourceComponents(config);

import type { SluiceConfig } from '@sluice/config';
import { runsFrom, type ComponentFactory, type RuntimeComponent } from '@sluice/plugin';
import { ChannelComponent, type ChannelComponentOptions } from './channel-component.js';
import { buildTopology } from './topology.js';

/** Builds the runtime component of a validated configuration's channels, subscriptions and flows (none if it has none). */
export function createChannelComponents(config: SluiceConfig, options: ChannelComponentOptions = {}): RuntimeComponent[] {
  const topology = buildTopology(config.resources);
  if (topology.channels.size === 0 && topology.subscriptions.length === 0) return [];
  // EventPolicies too: a channel reports the policies that apply to it, so a change of them restarts it.
  const kinds = new Set(['Channel', 'InMemoryChannel', 'KafkaChannel', 'Subscription', 'Sequence', 'Parallel', 'EventPolicy']);
  return [
    runsFrom(
      new ChannelComponent(topology, options),
      config.resources.filter((r) => kinds.has(r.kind)).map((r) => r.value),
    ),
  ];
}

/** The factory `sluice run` passes to the runtime: Channel, InMemoryChannel, KafkaChannel, Subscription, Sequence, Parallel. */
export const channelComponents: ComponentFactory = (config) => createChannelComponents(config);

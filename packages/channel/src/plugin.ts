import type { SluicePlugin } from '@sluice/plugin';
import { channelChecks } from './checks.js';
import { channelComponents } from './components.js';

/** Channels, Subscriptions, Sequences and Parallels, as one plugin of `sluice`. */
export const channelPlugin: SluicePlugin = { name: 'channel', checks: () => [channelChecks()], components: channelComponents };

import type { SluicePlugin } from '@sluice/plugin';
import { cloudPubSubSourceChecks } from './checks.js';
import { pubsubSourceComponents } from './components.js';

/** CloudPubSubSource, as one plugin of `sluice`. */
export const pubsubSourcePlugin: SluicePlugin = { name: 'pubsub-source', checks: () => [cloudPubSubSourceChecks()], components: pubsubSourceComponents };

import type { SluicePlugin } from '@sluice/plugin';
import { sourceChecks } from './checks.js';
import { sourceComponents } from './components.js';

/** PingSource, ContainerSource, SinkBinding and WebhookSource, as one plugin of `sluice`. */
export const sourcesPlugin: SluicePlugin = { name: 'sources', checks: () => [sourceChecks()], components: sourceComponents };

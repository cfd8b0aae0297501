import type { SluicePlugin } from '@sluice/plugin';
import { transformChecks } from './checks.js';
import { transformComponents } from './components.js';

/** EventTransform, as one plugin of `sluice`. */
export const transformPlugin: SluicePlugin = { name: 'transform', checks: () => [transformChecks()], components: transformComponents };

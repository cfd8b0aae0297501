import { runsFrom, type ComponentFactory } from '@sluice/plugin';
import { EventTransformComponent } from './transform-component.js';
import type { EventTransform } from './resources.js';

/** The factory `sluice run` passes to the runtime: one component serving every EventTransform of the configuration. */
export const transformComponents: ComponentFactory = (config) => {
  const transforms = config.resources.filter((r) => r.kind === 'EventTransform').map((r) => r.value as unknown as EventTransform);
  return transforms.length === 0 ? [] : [runsFrom(new EventTransformComponent(transforms), transforms)];
};

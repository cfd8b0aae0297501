import { runsFrom, type ComponentFactory } from '@sluice/plugin';
import { EventTransformComponent } from './transform-component.js';
import { resourcesOfKind } from '@sluice/config';

/** The factory `sluice run` passes to the runtime: one component serving every EventTransform of the configuration. */
export const transformComponents: ComponentFactory = (config) => {
  const transforms = resourcesOfKind(config.resources, 'EventTransform').map((r) => r.value);
  return transforms.length === 0 ? [] : [runsFrom(new EventTransformComponent(transforms), transforms)];
};

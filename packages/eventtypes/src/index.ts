export { EventTypeRegistry, eventTypeName, type EventTypeRegistryOptions, type SeenEventType } from './registry.js';
export {
  AUTO_CREATE_FLAG,
  EventTypeRecorder,
  FEATURES_CONFIG_MAP,
  autoCreateEnabled,
  eventTypeChecks,
  eventTypeComponents,
  eventTypePlugin,
  toResource,
  type EventTypeRecorderOptions,
} from './eventtypes.js';

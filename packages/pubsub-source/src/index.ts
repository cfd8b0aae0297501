export {
  DEFAULT_ACK_DEADLINE,
  DEFAULT_RETENTION_DURATION,
  PUBSUB_DATA_SCHEMA,
  PUBSUB_EVENT_TYPE,
  pubsubEventSource,
  type CloudEventOverrides,
  type CloudPubSubSource,
  type CloudPubSubSourceSpec,
  type SecretKeySelector,
} from './pubsub-source-types.js';
export { formatRfc3339Nano, messageToEvent, pushEnvelope, type MessageContext, type PubSubMessageLike } from './message-event.js';
export { parseGoDuration } from './go-duration.js';
export { resolveSettings, subscriptionId, type PubSubSettings } from './pubsub-settings.js';
export { CloudPubSubSourceComponent, DEFAULT_MAX_MESSAGES, type CloudPubSubSourceDeps } from './pubsub-source.js';
export { createPubSubSourceComponents, pubsubSourceComponents } from './components.js';
export { cloudPubSubSourceChecks, type CloudPubSubSourceCheckOptions } from './checks.js';
export { pubsubSourcePlugin } from './plugin.js';

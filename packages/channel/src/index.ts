export { channelComponents, createChannelComponents } from './components.js';
export { channelChecks } from './checks.js';
export { CHANNEL_ROUTE, ChannelComponent, channelUrl, partitionOf, type ChannelComponentOptions } from './channel-component.js';
export { resolveSubscription, subscriptionDispatcher, type ResolvedSubscription, type SubscriptionDispatchDeps } from './subscription-dispatch.js';
export {
  addressChannelName,
  buildTopology,
  parallelBranchChannelName,
  parallelChannelName,
  parallelFilterSubscriptionName,
  parallelSubscriptionName,
  sequenceChannelName,
  sequenceSubscriptionName,
  type ChannelNode,
  type NameConflict,
  type ResourceInput,
  type SubscriptionNode,
  type Topology,
} from './topology.js';
export {
  ASYNC_HANDLER_ANNOTATION,
  BACKING_API_VERSIONS,
  CHANNEL_KINDS,
  CHANNEL_PACKAGE_KINDS,
  DEFAULT_CHANNEL_TEMPLATE,
  DURABILITY_ANNOTATION,
  FLOWS_V1,
  FLOW_KINDS,
  KAFKA_CHANNEL_DEFAULTS,
  MESSAGING_V1,
  MESSAGING_V1BETA1,
  SUBSCRIPTION_ORDER_ANNOTATION,
  isChannelKind,
  type BackingKind,
  type ChannelKind,
} from './resources.js';
export { channelPlugin } from './plugin.js';

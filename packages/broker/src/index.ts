export { ARRIVAL_TIME_EXTENSION, DEFAULT_MAX_TTL, TTL_EXTENSION, admitEvent, withoutTtl } from './admission.js';
export { DEFAULT_SERVICE_URL_TEMPLATE, DestinationResolver, type ResolverOptions } from './destination-resolver.js';
export { createIngressHandler, readBody, sendError, type IngressBackend, type IngressOptions } from './http-ingress.js';
export { TriggerDispatcher, type DispatcherDeps, type SubscriptionTarget } from './trigger-dispatcher.js';
export { StatusRegistry } from './status-registry.js';
export {
  EMBEDDED_BROKER_CLASSES,
  SluiceRuntime,
  type BrokerClass,
  type BrokerInfo,
  type ComponentFactory,
  type RuntimeComponent,
  type RuntimeContext,
  type RuntimeOptions,
} from './runtime.js';

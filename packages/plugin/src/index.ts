export { DEFAULT_SERVICE_URL_TEMPLATE, DestinationResolver, type ResolverOptions } from './destination-resolver.js';
export { kafkajsLogCreator, type KafkajsLogEntry } from './kafkajs-logger.js';
export { kafkajsLibrary, loadKafkajs, type KafkajsModule } from './kafkajs-loader.js';
export { SASL_MECHANISMS, bootstrapBrokers, kafkaTls, type KafkaSasl, type KafkaTls, type SaslMechanism } from './kafka-client.js';
export {
  EMBEDDED_BROKER_CLASSES,
  pluginChecks,
  pluginRuntimeOptions,
  runsFrom,
  type AuthVerdict,
  type ComponentFactory,
  type IngressAuthTarget,
  type IngressObserver,
  type IngressRef,
  type PublishedResource,
  type DeliveryRecorder,
  type DeliverySource,
  type RouteHandler,
  type RuntimeComponent,
  type RuntimeContext,
  type SluicePlugin,
} from './plugin.js';
export type { BrokerClass } from '@sluice/store';

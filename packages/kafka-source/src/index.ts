export {
  KAFKA_EVENT_TYPE,
  KEY_TYPES,
  KEY_TYPE_LABEL,
  SASL_TYPES,
  defaultConsumerGroup,
  kafkaEventSource,
  type CloudEventOverrides,
  type KafkaNetSpec,
  type KafkaSASLSpec,
  type KafkaSource,
  type KafkaSourceSpec,
  type KafkaTLSSpec,
  type KeyType,
  type SaslType,
  type SecretKeySelector,
  type SecretValueFromSource,
} from './kafka-source-types.js';
export {
  deserializeKey,
  headerExtensionName,
  javaFloatingString,
  recordToEvent,
  wrapRecord,
  type KafkaHeaderValue,
  type KafkaRecord,
  type MappedRecord,
  type MappingOptions,
  type RecordShape,
} from './record-event.js';
export { resolveNet, type ResolvedNet } from './kafka-auth.js';
export { OffsetWindow } from './offset-window.js';
export { DEFAULT_MAX_IN_FLIGHT_PER_PARTITION, KafkaSourceComponent, type KafkaSourceDeps } from './kafka-source.js';
export { createKafkaSourceComponents, kafkaSourceComponents } from './components.js';
export { kafkaSourceChecks, type KafkaSourceCheckOptions } from './checks.js';
export { kafkaSourcePlugin } from './plugin.js';

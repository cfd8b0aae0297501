export { KafkaEventStore, type KafkaEventStoreOptions, type KafkaLogTopic, type KafkaTopicSettings } from './kafka-event-store.js';
export { kafkaBrokerClass, type KafkaBrokerClassOptions } from './broker-class.js';
export { kafkaChecks, type KafkaChecksOptions } from './kafka-checks.js';
export {
  BOOTSTRAP_SERVERS_KEY,
  DEFAULT_CONFIG_MAP,
  KAFKA_BROKERS_ENV,
  PARTITIONS_KEY,
  REPLICATION_FACTOR_KEY,
  RETENTION_MS_KEY,
  parseBootstrapServers,
  resolveKafkaBrokerConfig,
  type KafkaBrokerConfig,
  type KafkaConfigProblem,
} from './broker-config.js';
export {
  EXTERNAL_TOPIC_ANNOTATION,
  KAFKA_BROKER_CLASS,
  KAFKA_BROKER_CLASSES,
  KAFKA_NAMESPACED_BROKER_CLASS,
  brokerTopicName,
  deadLetterTopicName,
  defaultGroupIdFor,
  defaultTopicFor,
  isValidTopicName,
  retryTopicName,
  triggerGroupId,
} from './topic-names.js';
export { decodeRecord, encodeRecord, type DecodedRecord } from './record-codec.js';
export { kafkaBrokerPlugin } from './plugin.js';
export {
  BROKERS_TOPIC_TEMPLATE_KEY,
  CHANNELS_TOPIC_TEMPLATE_KEY,
  DEFAULT_KAFKA_FEATURES,
  KAFKA_FEATURES_CONFIG_MAP,
  TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY,
  brokerTopicFor,
  channelTopicFor,
  groupIdMapping,
  resolveKafkaFeatures,
  triggerGroupIdFor,
  type KafkaFeatures,
  type KafkaFeaturesProblem,
} from './kafka-features.js';
export { NAME_TEMPLATE_FIELDS, isNameTemplateError, parseNameTemplate, renderNameTemplate, type NameTemplate, type NameTemplateData, type NameTemplateError } from './name-template.js';

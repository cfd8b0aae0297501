export { KAFKA_SINK_ROUTE, kafkaSinkUrl, type KafkaSink, type KafkaSinkSpec } from './resources.js';
export { eventToRecord, type SinkRecord } from './record.js';
export { resolveSinkAuth, type ResolvedAuth } from './auth.js';
export { SinkProducer, type SinkProducerOptions } from './sink-producer.js';
export { KafkaSinkComponent, type KafkaSinkDeps } from './kafka-sink-component.js';
export { kafkaSinkChecks, type KafkaSinkCheckOptions } from './checks.js';
export { kafkaSinkComponents, kafkaSinkPlugin } from './plugin.js';

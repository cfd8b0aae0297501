export {
  CIRCUIT_OPENED,
  CIRCUIT_STATE,
  CIRCUIT_WAITING,
  DEAD_LETTERED_EVENTS,
  DEAD_LETTER_ATTEMPTS,
  DROPPED_EVENTS,
  EVENT_COUNT,
  EVENT_DISPATCH_LATENCIES,
  EVENT_PROCESSING_LATENCIES,
  LATENCY_BUCKETS_MS,
  MAX_EVENT_TYPES,
  PrometheusMetrics,
  RETRY_EVENT_COUNT,
  SOURCE_DEAD_LETTERED,
  SOURCE_LAST_SUCCESS,
  STORE_GROUP_COMMIT_EVENTS,
  STORE_WRITE_DURATION,
  TRIGGER_BACKLOG,
  TRIGGER_IN_FLIGHT,
  TRIGGER_OLDEST_PENDING_AGE,
  TRIGGER_RETRYING,
  type BacklogFigures,
  type CircuitFigures,
  type PrometheusMetricsOptions,
} from './prometheus-metrics.js';
export { metricsHandler } from './metrics-handler.js';
export { startTracer, tracerFromEnv, tracingSettingsFromEnv, type ClosableTracer, type SamplerName, type SamplerSettings, type TracingSettings } from './otel-tracer.js';
export { LOG_LEVELS, createLogger, defaultLogFormat, prettyLine, type LogFormat, type LoggerOptions } from './logging.js';

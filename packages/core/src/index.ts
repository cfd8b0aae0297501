export { SluiceError, isSluiceError, type SluiceErrorOptions } from './errors.js';
export { lazyLibrary, lazyLibrarySync, type LibraryLoader } from './library-loader.js';
export { ERROR_CODES, errorStatus, isErrorCode, type ErrorCodeInfo, type SluiceErrorCode } from './error-codes.js';
export { Backoff, realTimers, settleWithin, sleep, type Clock, type ClockTimers, type Sleep, type TimerHandle, type Timers } from './timers.js';
export { SPEC_VERSIONS, attributeString, isJsonMediaType, isUriReference, validTimestamp, validateEvent, type AttributeValue, type CloudEvent } from './event.js';
export {
  decodeHttp,
  detectHttpMode,
  encodeBatch,
  encodeBinary,
  encodeStructured,
  eventFromJson,
  eventToJson,
  looksLikeCloudEvent,
  type EncodedHttpMessage,
  type HeaderMap,
  type HttpMode,
} from './http-codec.js';
export { isIsoDuration, parseIsoDuration } from './duration.js';
export { FILTER_DIALECTS, compileCesqlFilter, compileSubscriptionsFilter, compileTriggerFilter, type CesqlCompiler, type EventPredicate, type FilterOptions } from './filter.js';
export {
  BROKER_DEFAULT_DELIVERY,
  DELIVERY_DEFAULTS,
  backoffMs,
  classifyStatus,
  parseRetryAfter,
  resolveDelivery,
  retryDelayMs,
  setsDeliveryOptions,
  toDeliveryPolicy,
  type DeliveryPolicy,
  type ResolvedDelivery,
  type StatusClass,
} from './delivery-policy.js';
export * from './resources.js';
export * from './schema-types.js';
export { noopLogger, type Logger } from './logger.js';
export { CESQL_ERROR_CODES, CesqlError, compileCesql, type CesqlErrorKind, type CesqlEvent, type CesqlProgram, type CesqlResult, type CesqlValue } from './cesql/index.js';
export { falseCondition, readyCondition, summarizeStatus, trueCondition, unknownCondition, type Condition, type ConditionStatus, type DeliveryFigures, type ResourceStatus } from './status.js';
export {
  TRACEPARENT_EXTENSION,
  TRACESTATE_EXTENSION,
  cloudEventSpanAttributes,
  eventTraceContext,
  isTraceparent,
  noopMetrics,
  noopTracer,
  traceHeaders,
  type DispatchFigures,
  type DispatchLabels,
  type DispatchMetrics,
  type DropReason,
  type IngressMetrics,
  type Metrics,
  type SourceLabels,
  type SourceMetrics,
  type SpanAttributes,
  type SpanHandle,
  type SpanKindName,
  type StoreMetrics,
  type TraceContext,
  type Tracer,
} from './observability.js';
export {
  CIRCUIT_BREAKER_BACKOFF_ANNOTATION,
  CIRCUIT_BREAKER_DEFAULTS,
  CIRCUIT_BREAKER_FAILURES_ANNOTATION,
  CIRCUIT_BREAKER_MAX_BACKOFF_ANNOTATION,
  circuitBreakerProblems,
  circuitBreakerSettings,
  type CircuitBreakerProblem,
  type CircuitBreakerSettings,
} from './circuit-breaker-settings.js';
export { apiGroup, childName, oidcAudience, oidcServiceAccountName, oidcSubject } from './oidc-identity.js';
export { LOG_NAME_KINDS, brokerLog, channelLog, logName, parseLogName, subscriptionGroup, triggerGroup, type LogIdentity, type LogNameKind } from './log-names.js';
export { REDACTED_PASSWORD, hasRedactedPassword, redactCredentials, redactUrl, redactUrlsIn } from './redact.js';

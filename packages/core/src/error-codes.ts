/** What the table says about one error code. */
export interface ErrorCodeInfo {
  /** The HTTP status of an answer carrying this code; absent for codes that never are an HTTP answer on purpose. */
  readonly status?: number;
}

/**
 * Every `SLUICE_…` error code Sluice reports, with the HTTP status an answer carrying it has. The one place a code is
 * declared: `SluiceError`, the HTTP error answers and the configuration problems only take a key of this table, and
 * `docs/errors.md` is checked against it by a test (each code described, with this status). A new code goes here and
 * into that document.
 */
export const ERROR_CODES = {
  // Answers of the ingress (brokers, channels, the addressable components, the webhook sources).
  SLUICE_EVENT_INVALID: { status: 400 },
  SLUICE_EVENT_MALFORMED: { status: 400 },
  SLUICE_EVENT_UNSUPPORTED_FORMAT: { status: 400 },
  SLUICE_EVENT_TTL_EXCEEDED: { status: 400 },
  SLUICE_BAD_PATH: { status: 400 },
  SLUICE_TOO_MANY_HEADERS: { status: 431 },
  SLUICE_TOO_MANY_CONNECTIONS: { status: 503 },
  SLUICE_UNAUTHORIZED: { status: 401 },
  SLUICE_FORBIDDEN: { status: 403 },
  SLUICE_BROKER_NOT_FOUND: { status: 404 },
  SLUICE_CHANNEL_NOT_FOUND: { status: 404 },
  SLUICE_NOT_FOUND: { status: 404 },
  SLUICE_METHOD_NOT_ALLOWED: { status: 405 },
  SLUICE_BODY_TOO_LARGE: { status: 413 },
  SLUICE_RATE_LIMITED: { status: 429 },
  SLUICE_STORE_OVERLOADED: { status: 503 },
  SLUICE_STORE_WRITE_FAILED: { status: 503 },
  SLUICE_STORE_FULL: { status: 503 },
  SLUICE_STORE_BACKLOG_FULL: { status: 429 },
  SLUICE_STORE_CLOSED: { status: 503 },
  SLUICE_NOT_READY: { status: 503 },
  SLUICE_TRANSFORM_NOT_FOUND: { status: 404 },
  SLUICE_TRANSFORM_FAILED: { status: 500 },
  SLUICE_TRANSFORM_INVALID_EVENT: { status: 500 },
  SLUICE_TRANSFORM_SINK_UNREACHABLE: { status: 502 },
  SLUICE_KAFKA_SINK_NOT_FOUND: { status: 404 },
  SLUICE_KAFKA_SINK_WRITE_FAILED: { status: 503 },
  SLUICE_KAFKA_SINK_OVERLOADED: { status: 503 },
  SLUICE_KAFKA_SINK_CLOSED: { status: 503 },
  SLUICE_JOBSINK_NOT_FOUND: { status: 404 },
  SLUICE_JOBSINK_JOB_NOT_FOUND: { status: 404 },
  SLUICE_JOBSINK_QUEUE_FULL: { status: 429 },
  SLUICE_WEBHOOK_NOT_FOUND: { status: 404 },
  SLUICE_WEBHOOK_UNAUTHORIZED: { status: 401 },
  SLUICE_WEBHOOK_SIGNATURE_INVALID: { status: 401 },
  SLUICE_WEBHOOK_INVALID: { status: 400 },
  SLUICE_WEBHOOK_REPLAYED: { status: 409 },
  SLUICE_SINK_REFUSED: { status: 502 },
  SLUICE_SINK_UNAVAILABLE: { status: 503 },
  SLUICE_INTERNAL: { status: 500 },

  // Answers of the admin API.
  SLUICE_BAD_REQUEST: { status: 400 },
  SLUICE_CESQL_INVALID: { status: 400 },
  SLUICE_ARCHIVE_OFF: { status: 409 },
  SLUICE_UNKNOWN_KIND: { status: 404 },
  SLUICE_DESTINATION_FORBIDDEN: { status: 403 },
  SLUICE_FORCE_REQUIRED: { status: 409 },
  SLUICE_CONFIG_INVALID: { status: 422 },
  SLUICE_ADMIN_UNAUTHORIZED: { status: 401 },
  SLUICE_ADMIN_FORBIDDEN: { status: 403 },
  SLUICE_ADMIN_HOST: { status: 403 },
  SLUICE_ADMIN_CROSS_ORIGIN: { status: 403 },

  // The command line.
  SLUICE_ADMIN_LISTEN: {},
  SLUICE_ADMIN_TOKEN_FILE: {},
  SLUICE_DATA_DIR_LOCKED: {},
  SLUICE_USAGE: {},
  SLUICE_BIND_USAGE: {},

  // Configuration problems (`sluice validate`, `sluice run`; SLUICE_CONFIG_INVALID is also the admin API's answer to a
  // live change it refuses, hence its status).
  SLUICE_CONFIG_READ: {},
  SLUICE_CONFIG_YAML: {},
  SLUICE_CONFIG_UNKNOWN_KIND: {},
  SLUICE_CONFIG_SCHEMA: {},
  SLUICE_CONFIG_UNKNOWN_BROKER: {},
  SLUICE_CONFIG_UNKNOWN_CHANNEL: {},
  SLUICE_CONFIG_UNKNOWN_REF: {},
  SLUICE_CONFIG_WRONG_CHANNEL_KIND: {},
  SLUICE_CONFIG_WORKLOAD: {},
  SLUICE_CONFIG_KAFKA: {},
  SLUICE_CONFIG_KAFKA_AUTH: {},
  SLUICE_CONFIG_KAFKA_SOURCE: {},
  SLUICE_CONFIG_PUBSUB_SOURCE: {},
  SLUICE_CONFIG_DUPLICATE: {},
  SLUICE_CONFIG_CESQL: {},
  SLUICE_CONFIG_KAFKA_SINK: {},
  SLUICE_CONFIG_JSONATA: {},
  SLUICE_CONFIG_SCHEDULE: {},
  SLUICE_CONFIG_TIMEZONE: {},
  SLUICE_CONFIG_SECRET: {},
  SLUICE_CONFIG_SOURCE_INVALID: {},
  SLUICE_CONFIG_UNSUPPORTED_SUBJECT: {},

  // The runtime and the libraries.
  SLUICE_STORE_OPEN_FAILED: {},
  SLUICE_STORE_UNAVAILABLE: {},
  SLUICE_STORE_FORMAT_TOO_NEW: {},
  SLUICE_STORE_CORRUPT: {},
  SLUICE_STORE_NOT_FOUND: {},
  SLUICE_STORE_GROUP_BUSY: {},
  SLUICE_TLS_INVALID: {},
  SLUICE_OIDC_KEY_INVALID: {},
  SLUICE_ANNOTATION_INVALID: {},
  SLUICE_BROKER_CLASS_UNSUPPORTED: {},
  SLUICE_PLUGIN_CONFLICT: {},
  SLUICE_LIBRARY_UNAVAILABLE: {},
  SLUICE_DESTINATION_KIND_TAKEN: {},
  SLUICE_DEAD_LETTERS_UNAVAILABLE: {},
  SLUICE_EGRESS_RULE_INVALID: {},
  SLUICE_DESTINATION_INVALID: {},
  SLUICE_DESTINATION_UNRESOLVABLE: {},
  SLUICE_DURATION_INVALID: {},
  SLUICE_FILTER_INVALID: {},
  SLUICE_CESQL_PARSE: {},
  SLUICE_CESQL_MISSING_FUNCTION: {},
  SLUICE_CESQL_MATH: {},
  SLUICE_CESQL_CAST: {},
  SLUICE_CESQL_MISSING_ATTRIBUTE: {},
  SLUICE_CESQL_FUNCTION_EVALUATION: {},
  SLUICE_CESQL_GENERIC: {},
  SLUICE_REPLY_FAILED: {},
  SLUICE_TRANSFORM_EXPRESSION: {},
  SLUICE_KAFKA_CONFIG: {},
  SLUICE_KAFKA_TOPIC_MISSING: {},
  SLUICE_KAFKA_SINK_TOPIC: {},
  SLUICE_KAFKA_SINK_TOPIC_MISSING: {},
  SLUICE_KAFKA_SINK_UNAVAILABLE: {},
  SLUICE_KAFKA_SOURCE_CONFIG: {},
  SLUICE_PUBSUB_SOURCE_CONFIG: {},
  SLUICE_JOBSINK_CONTAINER: {},
  SLUICE_JOBSINK_ENV: {},
  SLUICE_JOBSINK_NO_ENGINE: {},
  SLUICE_SOURCE_SCHEDULE_INVALID: {},
  SLUICE_SOURCE_SECRET_UNAVAILABLE: {},
  SLUICE_SOURCE_SECRET_INVALID: {},
  SLUICE_SOURCE_OVERRIDE_INVALID: {},
} as const satisfies Readonly<Record<`SLUICE_${string}`, ErrorCodeInfo>>;

/** A stable error code: a key of {@link ERROR_CODES}. */
export type SluiceErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is one of {@link ERROR_CODES} (for codes read back from JSON or another process). */
export function isErrorCode(code: unknown): code is SluiceErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** The HTTP status of an answer carrying `code`: the table's, else 500 (a code that is no answer on purpose). */
export function errorStatus(code: SluiceErrorCode): number {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.status ?? 500;
}

// Knative-style resource status: a list of conditions (knative.dev/pkg `apis.Condition`), one of which is `Ready`.

/** `True`, `False` or `Unknown`, as Kubernetes spells condition statuses. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** One condition of a resource's status (`type`, `status`, `reason`, `message`, `lastTransitionTime`). */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** One CamelCase word, set when the status is not True. */
  readonly reason?: string;
  readonly message?: string;
  /** ISO-8601 time of the last change of `status`. */
  readonly lastTransitionTime?: string;
  /** `Warning` or `Info` for conditions that do not count towards Ready (Knative's non-terminal conditions). */
  readonly severity?: 'Warning' | 'Info';
}

/** The status block of a resource: conditions plus kind-specific fields (`address`, `subscriberUri`, …). */
export interface ResourceStatus {
  readonly conditions: readonly Condition[];
  readonly [field: string]: unknown;
}

/** A condition that holds. */
export function trueCondition(type: string): Condition {
  return { type, status: 'True' };
}

/** A condition that does not hold, with Knative's `reason` (CamelCase) and a human message. */
export function falseCondition(type: string, reason: string, message: string): Condition {
  return { type, status: 'False', reason, message };
}

/** A condition not known yet (e.g. a source still connecting). */
export function unknownCondition(type: string, reason: string, message: string): Condition {
  return { type, status: 'Unknown', reason, message };
}

/**
 * Builds a status whose `Ready` condition summarises the others as Knative's condition sets do: Ready is False when
 * any dependent condition is False (taking its reason and message), else Unknown when any is Unknown, else True.
 * Conditions with a severity do not count.
 */
export function summarizeStatus(conditions: readonly Condition[], fields: Record<string, unknown> = {}): ResourceStatus {
  const dependents = conditions.filter((c) => c.type !== 'Ready');
  const counted = dependents.filter((c) => c.severity === undefined);
  const failed = counted.find((c) => c.status === 'False');
  const unknown = counted.find((c) => c.status === 'Unknown');
  const ready: Condition = failed
    ? { type: 'Ready', status: 'False', ...(failed.reason ? { reason: failed.reason } : {}), ...(failed.message ? { message: failed.message } : {}) }
    : unknown
      ? { type: 'Ready', status: 'Unknown', ...(unknown.reason ? { reason: unknown.reason } : {}), ...(unknown.message ? { message: unknown.message } : {}) }
      : { type: 'Ready', status: 'True' };
  return { ...fields, conditions: [ready, ...dependents] };
}

/** The `Ready` condition of a status (Unknown when it has none). */
export function readyCondition(status: ResourceStatus | undefined): Condition {
  return status?.conditions.find((c) => c.type === 'Ready') ?? { type: 'Ready', status: 'Unknown', reason: 'NoStatus', message: 'no status reported yet' };
}

/** Live delivery figures of one Trigger or Subscription (its consumer group). */
export interface DeliveryFigures {
  /** Events accepted by the broker/channel and not yet read by this consumer. */
  readonly backlog: number;
  /** Deliveries running now (subscriber or dead-letter sink). */
  readonly inFlight: number;
  /** Events waiting for a retry. */
  readonly retrying: number;
  /** Age in ms of the oldest event not yet finished (backlog, in flight or retrying); null when none. */
  readonly oldestPendingAgeMs: number | null;
  /** Events the subscriber accepted (2xx), since the process started. */
  readonly delivered: number;
  /** Failed attempts (non-2xx or transport error), since the process started. */
  readonly failed: number;
  /** Events given to the dead-letter sink. */
  readonly deadLettered: number;
  /** Events dropped after the last retry (no dead-letter sink). */
  readonly dropped: number;
  /** Deliveries per second over the last minute. */
  readonly deliveredPerSecond: number;
  /** Failed attempts per second over the last minute. */
  readonly failedPerSecond: number;
  /** ISO time of the last accepted delivery; null when none since the process started. */
  readonly lastSuccess: string | null;
  /** The last failed attempt: HTTP status (null for a transport error), reason, an excerpt of the body, and when. */
  readonly lastError: { readonly status: number | null; readonly reason: string; readonly body: string; readonly time: string; readonly deadLetterSink: boolean } | null;
}

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

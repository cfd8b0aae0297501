import { isIsoDuration, parseIsoDuration } from './duration.js';

/** Consecutive failed attempts at a destination that open its circuit; `0` turns the breaker off. */
export const CIRCUIT_BREAKER_FAILURES_ANNOTATION = 'sluice.dev/circuit-breaker-failures';
/** How long an opened circuit waits before it lets one probe event through (ISO-8601 duration). */
export const CIRCUIT_BREAKER_BACKOFF_ANNOTATION = 'sluice.dev/circuit-breaker-backoff';
/** Cap of the open period, which doubles after every failed probe (ISO-8601 duration). */
export const CIRCUIT_BREAKER_MAX_BACKOFF_ANNOTATION = 'sluice.dev/circuit-breaker-max-backoff';

/** How a destination's circuit breaker behaves. */
export interface CircuitBreakerSettings {
  /** Consecutive failures that open the circuit; 0 = never open. */
  readonly failures: number;
  /** First open period, in ms. */
  readonly backoffMs: number;
  /** Longest open period, in ms. */
  readonly maxBackoffMs: number;
}

/** Defaults when neither the Trigger nor its Broker sets the annotations. */
export const CIRCUIT_BREAKER_DEFAULTS: CircuitBreakerSettings = { failures: 5, backoffMs: 1000, maxBackoffMs: 30_000 };

/** A bad circuit-breaker annotation: which one, and why. */
export interface CircuitBreakerProblem {
  readonly annotation: string;
  readonly message: string;
}

type Annotations = Readonly<Record<string, string>> | undefined;

/** Problems with the circuit-breaker annotations of one resource (empty when they are valid or absent). */
export function circuitBreakerProblems(annotations: Annotations): CircuitBreakerProblem[] {
  const problems: CircuitBreakerProblem[] = [];
  const failures = annotations?.[CIRCUIT_BREAKER_FAILURES_ANNOTATION];
  if (failures !== undefined && !/^\d{1,6}$/.test(failures)) {
    problems.push({
      annotation: CIRCUIT_BREAKER_FAILURES_ANNOTATION,
      message: `annotation ${CIRCUIT_BREAKER_FAILURES_ANNOTATION} must be a whole number ≥ 0 (0 turns the breaker off), got "${failures}"`,
    });
  }
  for (const name of [CIRCUIT_BREAKER_BACKOFF_ANNOTATION, CIRCUIT_BREAKER_MAX_BACKOFF_ANNOTATION]) {
    const v = annotations?.[name];
    if (v !== undefined && (!isIsoDuration(v) || parseIsoDuration(v) <= 0)) {
      problems.push({ annotation: name, message: `annotation ${name} must be an ISO-8601 duration > 0 (e.g. PT1S, PT30S), got "${v}"` });
    }
  }
  return problems;
}

/**
 * The settings of a Trigger's (or Subscription's) breakers: each annotation on the Trigger wins over the same one on
 * its Broker (or Channel), which wins over {@link CIRCUIT_BREAKER_DEFAULTS}. Annotations must have been checked with
 * {@link circuitBreakerProblems}; an invalid one falls back to the default.
 */
export function circuitBreakerSettings(own: Annotations, parent: Annotations): CircuitBreakerSettings {
  const pick = (name: string): string | undefined => own?.[name] ?? parent?.[name];
  const duration = (name: string, fallback: number): number => {
    const v = pick(name);
    return v !== undefined && isIsoDuration(v) && parseIsoDuration(v) > 0 ? parseIsoDuration(v) : fallback;
  };
  const f = pick(CIRCUIT_BREAKER_FAILURES_ANNOTATION);
  const failures = f !== undefined && /^\d{1,6}$/.test(f) ? Number(f) : CIRCUIT_BREAKER_DEFAULTS.failures;
  const backoffMs = duration(CIRCUIT_BREAKER_BACKOFF_ANNOTATION, CIRCUIT_BREAKER_DEFAULTS.backoffMs);
  const maxBackoffMs = Math.max(backoffMs, duration(CIRCUIT_BREAKER_MAX_BACKOFF_ANNOTATION, CIRCUIT_BREAKER_DEFAULTS.maxBackoffMs));
  return { failures, backoffMs, maxBackoffMs };
}

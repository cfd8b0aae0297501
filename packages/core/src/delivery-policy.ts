import { parseIsoDuration } from './duration.js';
import type { DeliverySpec, Destination } from './schema-types.js';

/** Delivery settings resolved to numbers, as the dispatcher uses them. */
export interface DeliveryPolicy {
  /** Retries after the first attempt (attempts = retry + 1). */
  retry: number;
  backoffPolicy: 'linear' | 'exponential';
  backoffDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Cap on a subscriber's Retry-After for 429/503; undefined = Retry-After ignored (Knative's default). */
  retryAfterMaxMs: number | undefined;
  /** Egress encoding forced by `delivery.format`; undefined = binary. */
  format: 'json' | 'binary' | undefined;
}

/** Sluice's defaults for fields a DeliverySpec leaves unset (documented in docs/delivery.md). */
export const DELIVERY_DEFAULTS = {
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.2S',
  timeout: 'PT30S',
} as const;

/** What a Broker without `spec.delivery` gets, as Knative's `config-br-defaults` gives it. */
export const BROKER_DEFAULT_DELIVERY: DeliverySpec = { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' };

const POLICY_FIELDS = ['retry', 'backoffPolicy', 'backoffDelay', 'timeout', 'retryAfterMax', 'format'] as const;

/** Whether a DeliverySpec sets any field other than the dead-letter sink. */
export function setsDeliveryOptions(spec: DeliverySpec | undefined): boolean {
  return spec !== undefined && POLICY_FIELDS.some((f) => spec[f] !== undefined);
}

/** Turns a DeliverySpec into numbers, applying Sluice's defaults. */
export function toDeliveryPolicy(spec: DeliverySpec | undefined): DeliveryPolicy {
  return {
    retry: spec?.retry ?? 0,
    backoffPolicy: spec?.backoffPolicy ?? DELIVERY_DEFAULTS.backoffPolicy,
    backoffDelayMs: parseIsoDuration(spec?.backoffDelay ?? DELIVERY_DEFAULTS.backoffDelay),
    timeoutMs: parseIsoDuration(spec?.timeout ?? DELIVERY_DEFAULTS.timeout),
    retryAfterMaxMs: spec?.retryAfterMax === undefined ? undefined : parseIsoDuration(spec.retryAfterMax),
    format: spec?.format,
  };
}

/** The delivery a subscriber gets and where its failures go. */
export interface ResolvedDelivery {
  policy: DeliveryPolicy;
  deadLetterSink: Destination | undefined;
}

/**
 * Knative's precedence: a Trigger (or Subscription) that sets any delivery option replaces the Broker's (Channel's)
 * options as a whole; the dead-letter sink falls back to the Broker's on its own.
 */
export function resolveDelivery(own: DeliverySpec | undefined, parent: DeliverySpec | undefined): ResolvedDelivery {
  return {
    policy: toDeliveryPolicy(setsDeliveryOptions(own) ? own : parent),
    deadLetterSink: own?.deadLetterSink ?? parent?.deadLetterSink,
  };
}

/**
 * Wait before retry number `k` (1-based): linear d, 2d, 3d…; exponential d, 2d, 4d… (the API's documented shape).
 */
export function backoffMs(policy: DeliveryPolicy, k: number): number {
  const d = policy.backoffDelayMs;
  return policy.backoffPolicy === 'linear' ? d * k : d * 2 ** (k - 1);
}

/** How a delivery attempt's HTTP status is treated. */
export type StatusClass = 'success' | 'retry' | 'final';

/** Knative's retry rule: 2xx success; 404, 408, 409, 429 and 5xx retried; other 4xx and 3xx final. */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'success';
  if (status >= 500 || status === 404 || status === 408 || status === 409 || status === 429) return 'retry';
  if (status < 200) return 'retry'; // unknown codes SHOULD be retried
  return 'final';
}

/** Parses a Retry-After header (delay-seconds or HTTP-date) into milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Wait before retry `k` after a failed attempt: the backoff, or a longer Retry-After on 429/503 when the policy
 * honours it (retryAfterMax set and non-zero), capped by retryAfterMax.
 */
export function retryDelayMs(policy: DeliveryPolicy, k: number, status: number | undefined, retryAfterMs: number | undefined): number {
  const backoff = backoffMs(policy, k);
  const cap = policy.retryAfterMaxMs;
  if (cap === undefined || cap === 0 || retryAfterMs === undefined || (status !== 429 && status !== 503)) return backoff;
  return Math.max(backoff, Math.min(retryAfterMs, cap));
}

import { classifyStatus, looksLikeCloudEvent, parseRetryAfter, retryDelayMs, sleep as realSleep, type CloudEvent, type DeliveryPolicy, type Sleep } from '@sluice/core';
import { redactUrl } from '@sluice/core';
import { parseReply, type EventSender, type OidcTarget } from './http-sender.js';

/** The outcome of one delivery attempt, as a value. */
export type AttemptOutcome =
  | { readonly kind: 'success'; readonly status: number; readonly reply: CloudEvent | undefined }
  | {
      readonly kind: 'retry' | 'final';
      /** HTTP status, or undefined for a transport error. */
      readonly status: number | undefined;
      /** Response body, or the error text for a transport error. */
      readonly body: Buffer | undefined;
      readonly reason: string;
      readonly retryAfterMs: number | undefined;
    };

/** Where and how to deliver. */
export interface DeliveryTarget {
  readonly url: string;
  /** Extra headers, e.g. `Prefer: reply` and `Kn-Namespace`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whether a CloudEvent in a 2xx response is a reply to handle (true for subscribers, false for dead-letter sinks). */
  readonly expectReply: boolean;
  /** The destination's audience and the sender's identity, for an OIDC token (when the feature is on). */
  readonly oidc?: OidcTarget | undefined;
}

/** Delivers an event once and classifies the result by Knative's rules. */
export async function deliverOnce(sender: EventSender, target: DeliveryTarget, event: CloudEvent, policy: DeliveryPolicy, nowMs: number): Promise<AttemptOutcome> {
  const res = await sender.send(target.url, event, { timeoutMs: policy.timeoutMs, format: policy.format, headers: target.headers ?? {}, ...(target.oidc ? { oidc: target.oidc } : {}) });
  if (!res.ok) {
    return { kind: 'retry', status: undefined, body: Buffer.from(`dispatch error: ${res.error.message}`), reason: res.error.message, retryAfterMs: undefined };
  }
  const cls = classifyStatus(res.status);
  if (cls === 'success') {
    if (!target.expectReply) return { kind: 'success', status: res.status, reply: undefined };
    if (res.overLimit !== undefined && looksLikeCloudEvent(res.headers)) {
      // A reply is an event like any other: it obeys the ingress body limit, and is never stored cut short.
      const reason = `reply body exceeds the limit of ${res.overLimit} bytes`;
      return { kind: 'retry', status: 502, body: Buffer.from(reason), reason, retryAfterMs: undefined };
    }
    const parsed = parseReply(res.headers, res.body);
    if ('invalid' in parsed) {
      // Knative's broker answers 502 for a malformed reply so that the delivery is retried or dead-lettered.
      return { kind: 'retry', status: 502, body: Buffer.from(parsed.invalid), reason: parsed.invalid, retryAfterMs: undefined };
    }
    return { kind: 'success', status: res.status, reply: parsed.reply };
  }
  const retryAfter = res.headers['retry-after'];
  return {
    kind: cls,
    status: res.status,
    body: res.body,
    reason: `HTTP ${res.status}`,
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, nowMs),
  };
}

/** Knative's cap on `knativeerrordata`: the response body is cut to this many bytes, then base64-encoded. */
export const ERROR_DATA_MAX_BYTES = 1024;

/**
 * The event a dead-letter sink receives: the original plus `knativeerrordest`, `knativeerrorcode`, `knativeerrordata`.
 * A password in the failed URL is replaced by `***`: the event goes to another party and into the dead-letter store.
 */
export function deadLetterEvent(event: CloudEvent, failedUrl: string, outcome: AttemptOutcome): CloudEvent {
  const attributes: CloudEvent['attributes'] = { ...event.attributes, knativeerrordest: failedUrl.includes('@') ? redactUrl(failedUrl) : failedUrl };
  if (outcome.kind !== 'success') {
    attributes['knativeerrorcode'] = String(outcome.status ?? 500);
    if (outcome.body && outcome.body.length > 0) {
      attributes['knativeerrordata'] = outcome.body.subarray(0, ERROR_DATA_MAX_BYTES).toString('base64');
    }
  }
  return { attributes, data: event.data };
}

/**
 * Delivers with the policy's retries and backoff, in memory (used where no durable retry schedule is needed, e.g. a
 * source's own sends). Returns the last outcome and the number of attempts.
 */
export async function deliverWithRetries(
  sender: EventSender,
  target: DeliveryTarget,
  event: CloudEvent,
  policy: DeliveryPolicy,
  options: {
    sleep?: Sleep;
    now?: () => number;
    signal?: AbortSignal;
    /** Told of each attempt's outcome and whether it will be retried (metrics). */
    onAttempt?: ((outcome: AttemptOutcome, retried: boolean) => void) | undefined;
  } = {},
): Promise<{ outcome: AttemptOutcome; attempts: number }> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  let attempts = 0;
  for (;;) {
    const outcome = await deliverOnce(sender, target, event, policy, now());
    attempts++;
    const last = outcome.kind !== 'retry' || attempts > policy.retry || options.signal?.aborted === true;
    options.onAttempt?.(outcome, !last);
    if (last) return { outcome, attempts };
    await sleep(retryDelayMs(policy, attempts, outcome.status, outcome.retryAfterMs), options.signal);
  }
}

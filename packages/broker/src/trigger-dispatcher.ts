import { isSluiceError, retryDelayMs, type CloudEvent, type EventPredicate, type Logger, type ResolvedDelivery } from '@sluice/core';
import { deadLetterEvent, deliverOnce, type AttemptOutcome, type EventSender } from '@sluice/delivery';
import type { Disposition, LogRecord } from '@sluice/store';
import { TTL_EXTENSION, withoutTtl } from './admission.js';

/** What a dispatcher needs to know about its subscription. */
export interface SubscriptionTarget {
  /** `namespace/name` of the Trigger (or Subscription), for logs. */
  readonly key: string;
  readonly namespace: string;
  readonly subscriberUrl: string;
  readonly deadLetterUrl: string | undefined;
  readonly delivery: ResolvedDelivery;
  readonly filter: EventPredicate;
}

/** Collaborators of a {@link TriggerDispatcher}. */
export interface DispatcherDeps {
  readonly sender: EventSender;
  /**
   * Takes a subscriber's reply: a Trigger re-ingests it into its broker (with the TTL guard), a Subscription sends it
   * to its `reply` destination. Resolves once the reply is safe; a rejection fails the original delivery.
   */
  readonly handleReply: (reply: CloudEvent) => Promise<void>;
  readonly now: () => number;
  readonly logger: Logger;
  /** Called after every finished attempt (metrics). */
  readonly onAttempt?: (target: SubscriptionTarget, outcome: AttemptOutcome, durationMs: number, deadLetter: boolean) => void;
}

/** Upper bound on the wait between attempts at a failing dead-letter sink: it is retried until it accepts. */
const MAX_DEAD_LETTER_RETRY_MS = 5 * 60_000;

/**
 * Delivers one record of a Trigger: subscriber attempts with the delivery policy (retries are handed back to the
 * store, so they survive restarts), then the dead-letter sink. A dead-letter sink that keeps failing is retried with
 * capped backoff rather than dropping the event; without a dead-letter sink an exhausted event is dropped and logged,
 * as Knative does.
 *
 * Attempts 0..retry go to the subscriber; higher attempt numbers are dead-letter attempts of the record's event,
 * which then already carries the knativeerror* extensions.
 */
export class TriggerDispatcher {
  constructor(
    private readonly target: SubscriptionTarget,
    private readonly deps: DispatcherDeps,
  ) {}

  /** Handler for the store's consumer. */
  readonly handle = async (record: LogRecord): Promise<Disposition> => {
    const { policy } = this.target.delivery;
    if (record.attempt > policy.retry) return this.#deadLetterAttempt(record.event, record.attempt);
    const { event, ttl } = withoutTtl(record.event);
    const started = this.deps.now();
    const outcome = await deliverOnce(
      this.deps.sender,
      { url: this.target.subscriberUrl, expectReply: true, headers: { prefer: 'reply', 'kn-namespace': this.target.namespace } },
      event,
      policy,
      started,
    );
    this.deps.onAttempt?.(this.target, outcome, this.deps.now() - started, false);
    if (outcome.kind === 'success') {
      if (outcome.reply) {
        const reply = ttl === undefined ? outcome.reply : { attributes: { ...outcome.reply.attributes, [TTL_EXTENSION]: ttl }, data: outcome.reply.data };
        try {
          await this.deps.handleReply(reply);
        } catch (err) {
          if (isSluiceError(err, 'SLUICE_EVENT_TTL_EXCEEDED')) {
            // The loop guard did its job: the reply is dropped, the original delivery succeeded.
            this.deps.logger.warn({ trigger: this.target.key, ceId: reply.attributes['id'], ceType: reply.attributes['type'] }, err.message);
            return DONE;
          }
          // Knative: when the reply cannot be stored or delivered the original delivery fails and is retried; the
          // dead-letter event then names the reply destination (a SluiceError's details.destination/status).
          const details = isSluiceError(err) ? err.details : undefined;
          const failedUrl = typeof details?.['destination'] === 'string' ? details['destination'] : undefined;
          const status = typeof details?.['status'] === 'number' ? details['status'] : undefined;
          this.deps.logger.warn({ trigger: this.target.key, err: (err as Error).message, ceId: event.attributes['id'] }, 'reply not accepted');
          return this.#retryOrDeadLetter(
            event,
            record.attempt,
            { kind: 'retry', status, body: Buffer.from(String((err as Error).message)), reason: 'reply rejected', retryAfterMs: undefined },
            failedUrl,
          );
        }
      }
      return DONE;
    }
    return this.#retryOrDeadLetter(event, record.attempt, outcome);
  };

  async #retryOrDeadLetter(
    event: CloudEvent,
    attempt: number,
    outcome: Exclude<AttemptOutcome, { kind: 'success' }>,
    failedUrl: string = this.target.subscriberUrl,
  ): Promise<Disposition> {
    const { policy } = this.target.delivery;
    if (outcome.kind === 'retry' && attempt < policy.retry) {
      const k = attempt + 1;
      return { kind: 'retry', attempt: k, dueAt: this.deps.now() + retryDelayMs(policy, k, outcome.status, outcome.retryAfterMs) };
    }
    const log = { trigger: this.target.key, ceId: event.attributes['id'], ceType: event.attributes['type'], status: outcome.status, reason: outcome.reason, attempts: attempt + 1 };
    if (this.target.deadLetterUrl === undefined) {
      this.deps.logger.warn(log, 'delivery failed and no dead-letter sink is configured: event dropped');
      return DONE;
    }
    this.deps.logger.info(log, 'delivery failed: sending to the dead-letter sink');
    return this.#deadLetterAttempt(deadLetterEvent(event, failedUrl, outcome), policy.retry + 1);
  }

  async #deadLetterAttempt(event: CloudEvent, attempt: number): Promise<Disposition> {
    const { policy } = this.target.delivery;
    const url = this.target.deadLetterUrl;
    if (url === undefined) return DONE; // the configuration lost its dead-letter sink since the retry was stored
    const started = this.deps.now();
    const outcome = await deliverOnce(this.deps.sender, { url, expectReply: false, headers: { 'kn-namespace': this.target.namespace } }, event, policy, started);
    this.deps.onAttempt?.(this.target, outcome, this.deps.now() - started, true);
    if (outcome.kind === 'success') return DONE;
    const k = attempt - policy.retry; // 1 for the first dead-letter retry
    const delay = Math.min(MAX_DEAD_LETTER_RETRY_MS, retryDelayMs(policy, Math.min(k, 20), outcome.status, outcome.retryAfterMs) || 1000);
    this.deps.logger.error({ trigger: this.target.key, ceId: event.attributes['id'], deadLetterSink: url, status: outcome.status, reason: outcome.reason, nextAttemptInMs: delay }, 'dead-letter sink refused the event; will retry');
    return { kind: 'retry', attempt: attempt + 1, dueAt: this.deps.now() + delay, event };
  }
}

const DONE: Disposition = { kind: 'done' };

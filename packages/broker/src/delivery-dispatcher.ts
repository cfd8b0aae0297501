import {
  CIRCUIT_BREAKER_DEFAULTS,
  TRACEPARENT_EXTENSION,
  TRACESTATE_EXTENSION,
  cloudEventSpanAttributes,
  eventTraceContext,
  isSluiceError,
  noopMetrics,
  noopTracer,
  retryDelayMs,
  traceHeaders,
  type CircuitBreakerSettings,
  type CloudEvent,
  type DispatchMetrics,
  type EventPredicate,
  type Logger,
  type Metrics,
  type ResolvedDelivery,
  type SpanHandle,
  type TraceContext,
  type Tracer,
} from '@sluice/core';
import {
  BREAKER_SHUT,
  CircuitBreaker,
  attemptVerdict,
  deadLetterEvent,
  deliverOnce,
  type AttemptOutcome,
  type BreakerTimers,
  type CircuitSnapshot,
  type CircuitState,
  type EventSender,
  type OidcTarget,
  type Permit,
} from '@sluice/delivery';
import type { Disposition, LogRecord } from '@sluice/store';
import { ARRIVAL_TIME_EXTENSION, TTL_EXTENSION, withoutTtl } from './admission.js';
import { SubscriberHealth } from './subscriber-health.js';

/** What a dispatcher needs to know about its subscription. */
export interface SubscriptionTarget {
  /** `namespace/name` of the Trigger (or Subscription), for logs. */
  readonly key: string;
  readonly namespace: string;
  readonly subscriberUrl: string;
  readonly deadLetterUrl: string | undefined;
  readonly delivery: ResolvedDelivery;
  readonly filter: EventPredicate;
  /**
   * What happens to an event whose delivery is exhausted: `exhausted` (default) keeps it in the broker's dead-letter
   * store when there is no dead-letter sink; `always` also keeps a copy of what the sink accepted; `off` drops it
   * with a warning, as Knative does.
   */
  readonly deadLetterStore?: DeadLetterStoreMode;
  /** Metric labels; default: namespace and name from `key`, broker unknown. */
  readonly labels?: { readonly broker: string; readonly kind: 'Trigger' | 'Subscription' };
  /** Settings of the subscriber's and the dead-letter sink's circuit breakers (default {@link CIRCUIT_BREAKER_DEFAULTS}). */
  readonly circuitBreaker?: CircuitBreakerSettings;
  /** The subscriber's OIDC audience and the Trigger's (Subscription's) identity, when the subscriber has an audience. */
  readonly subscriberOidc?: OidcTarget;
  /** The same for the dead-letter sink. */
  readonly deadLetterOidc?: OidcTarget;
}

/** The circuit of one destination of a dispatcher, as the admin API and metrics show it. */
export interface DestinationCircuit extends CircuitSnapshot {
  /** `namespace/name` of the Trigger (or Subscription). */
  readonly trigger: string;
  readonly role: 'subscriber' | 'deadLetterSink';
}

/** When a broker keeps exhausted events in its dead-letter store (the `sluice.dev/dead-letter-store` annotation). */
export type DeadLetterStoreMode = 'exhausted' | 'always' | 'off';

/** Collaborators of a {@link DeliveryDispatcher}. */
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
  /** Metric hooks (default none). */
  readonly metrics?: Metrics;
  /** Spans of delivery attempts and replies (default none). */
  readonly tracer?: Tracer;
  /** Called when a destination's circuit changes state (it is logged as well). */
  readonly onCircuitChange?: (circuit: DestinationCircuit, previous: CircuitState) => void;
  /** Timers of the circuit breakers (tests); real timers by default. */
  readonly breakerTimers?: BreakerTimers;
  /** Called when an event is dropped after its last attempt because there is no dead-letter sink. */
  readonly onDropped?: (target: SubscriptionTarget, event: CloudEvent) => void;
}

/** Upper bound on the wait between attempts at a failing dead-letter sink: it is retried until it accepts. */
const MAX_DEAD_LETTER_RETRY_MS = 5 * 60_000;

/**
 * Delivers one record of a Trigger or Subscription: subscriber attempts with the delivery policy (retries are handed back to the
 * store, so they survive restarts), then the dead-letter sink. A dead-letter sink that keeps failing is retried with
 * capped backoff rather than dropping the event; without a dead-letter sink an exhausted event is dropped and logged,
 * as Knative does.
 *
 * Attempts 0..retry go to the subscriber; higher attempt numbers are dead-letter attempts of the record's event,
 * which then already carries the knativeerror* extensions.
 *
 * Each destination has a circuit breaker: while it is open, records wait in the handler without an attempt (the
 * store reads no further than the in-flight limit, so the rest of the backlog stays on disk, and the wait spends none
 * of the event's retry budget), and one probe goes out after the breaker's backoff.
 */
export class DeliveryDispatcher {
  readonly #metrics: DispatchMetrics;
  readonly #tracer: Tracer;
  readonly #health: SubscriberHealth;
  readonly #deadLetterHealth: SubscriberHealth | undefined;
  readonly #subscriberHeaders: Readonly<Record<string, string>>;
  readonly #deadLetterHeaders: Readonly<Record<string, string>>;
  /** Records in the handler now. */
  #inFlight = 0;
  /** Records in the handler that already failed at least once, or wait for an open circuit. */
  #retriesInFlight = 0;
  /** Log positions of records this dispatcher scheduled for a retry and has not finished (for gauges and logs). */
  readonly #retrying = new Set<number>();
  readonly #subscriberBreaker: CircuitBreaker;
  readonly #deadLetterBreaker: CircuitBreaker | undefined;

  constructor(
    private readonly target: SubscriptionTarget,
    private readonly deps: DispatcherDeps,
  ) {
    const [namespace = target.namespace, name = target.key] = target.key.split('/');
    const kind = target.labels?.kind ?? 'Trigger';
    this.#metrics = (deps.metrics ?? noopMetrics).dispatch({ namespace, broker: target.labels?.broker ?? '', trigger: name, kind }, () => this.figures());
    this.#tracer = deps.tracer ?? noopTracer;
    const owner = { [kind === 'Trigger' ? 'trigger' : 'subscription']: target.key };
    this.#health = new SubscriberHealth(deps.logger, { ...owner, subscriber: target.subscriberUrl }, deps.now, () => this.#retrying.size);
    this.#deadLetterHealth =
      target.deadLetterUrl === undefined
        ? undefined
        : new SubscriberHealth(deps.logger, { ...owner, deadLetterSink: target.deadLetterUrl }, deps.now, () => this.#retrying.size, undefined, {
            noun: 'dead-letter sink',
            url: target.deadLetterUrl,
            level: 'error',
          });
    this.#subscriberHeaders = { prefer: 'reply', 'kn-namespace': target.namespace };
    this.#deadLetterHeaders = { 'kn-namespace': target.namespace };
    const settings = target.circuitBreaker ?? CIRCUIT_BREAKER_DEFAULTS;
    this.#subscriberBreaker = this.#breaker(target.subscriberUrl, 'subscriber', settings);
    this.#deadLetterBreaker = target.deadLetterUrl === undefined ? undefined : this.#breaker(target.deadLetterUrl, 'deadLetterSink', settings);
  }

  /** The circuits of the subscriber and the dead-letter sink. */
  circuits(): DestinationCircuit[] {
    const out = [this.#circuit(this.#subscriberBreaker.snapshot(), 'subscriber')];
    if (this.#deadLetterBreaker) out.push(this.#circuit(this.#deadLetterBreaker.snapshot(), 'deadLetterSink'));
    return out;
  }

  /**
   * Lets every record that waits for an open circuit go back to the store as a retry at its current attempt (no
   * budget spent), so a consumer can close without waiting for the breaker. Call before closing the consumer.
   */
  close(): void {
    this.#subscriberBreaker.shut();
    this.#deadLetterBreaker?.shut();
  }

  /** Live figures: records in the handler and records waiting for a retry. */
  figures(): { inFlight: number; retrying: number } {
    return { inFlight: this.#inFlight, retrying: this.#retrying.size };
  }

  /**
   * Records being attempted again right now, or waiting for the subscriber's circuit: owed like stored retries,
   * though the store counts them in flight (a live delete of the trigger asks for --force for them too).
   */
  get retriesInFlight(): number {
    return this.#retriesInFlight;
  }

  /** Handler for the store's consumer. */
  readonly handle = async (record: LogRecord): Promise<Disposition> => {
    this.#inFlight++;
    const retry = record.attempt > 0;
    if (retry) this.#retriesInFlight++;
    let disposition: Disposition;
    try {
      disposition = await this.#handle(record);
    } finally {
      this.#inFlight--;
      if (retry) this.#retriesInFlight--;
    }
    if (disposition.kind === 'retry') this.#retrying.add(record.seq);
    else this.#retrying.delete(record.seq);
    return disposition;
  };

  async #handle(record: LogRecord): Promise<Disposition> {
    const { policy } = this.target.delivery;
    if (record.attempt > policy.retry) return this.#deadLetterAttempt(record.event, record.attempt, record.firstAttemptAt);
    // A first attempt held back by an open circuit is owed as a retry is (see retriesInFlight).
    if (record.attempt === 0) this.#retriesInFlight++;
    const permit = await this.#subscriberBreaker.acquire(); // never rejects: it resolves to a permit or BREAKER_SHUT
    if (record.attempt === 0) this.#retriesInFlight--;
    if (permit === BREAKER_SHUT) return { kind: 'retry', attempt: record.attempt, dueAt: this.deps.now(), ...(record.firstAttemptAt === undefined ? {} : { firstAttemptAt: record.firstAttemptAt }) };
    const { event, ttl } = withoutTtl(record.event);
    const started = this.deps.now();
    const first = record.attempt === 0 ? started : record.firstAttemptAt;
    const eventType = String(event.attributes['type']);
    if (record.attempt === 0) {
      const arrival = event.attributes[ARRIVAL_TIME_EXTENSION];
      if (typeof arrival === 'string') this.#metrics.processing(Math.max(0, started - Date.parse(arrival)));
    }
    // The event's trace context (distributed-tracing extension) is the parent of this attempt; without tracing it is
    // still passed on as the traceparent header, so the subscriber's spans join the producer's trace.
    const parent = eventTraceContext(event.attributes);
    let span: SpanHandle | undefined;
    let headers = this.#subscriberHeaders;
    if (this.#tracer.enabled) {
      span = this.#tracer.startSpan(`deliver ${this.target.key}`, 'client', parent, { ...cloudEventSpanAttributes(event), 'url.full': this.target.subscriberUrl, 'sluice.attempt': record.attempt });
      headers = Object.assign({}, headers, traceHeaders(span.context));
    } else if (parent) {
      headers = Object.assign({}, headers, traceHeaders(parent));
    }
    const outcome = await attemptUnder(this.#subscriberBreaker, permit, () =>
      deliverOnce(this.deps.sender, { url: this.target.subscriberUrl, expectReply: true, headers, oidc: this.target.subscriberOidc }, event, policy, started),
    );
    const duration = this.deps.now() - started;
    this.#metrics.attempt(eventType, outcome.status, duration);
    this.deps.onAttempt?.(this.target, outcome, duration, false);
    if (span) endSpan(span, outcome);
    this.deps.logger.debug(
      { trigger: this.target.key, ceId: event.attributes['id'], ceType: eventType, attempt: record.attempt, status: outcome.status, durationMs: duration, outcome: outcome.kind },
      'delivery attempt',
    );
    if (outcome.kind === 'success') {
      this.#health.succeeded();
      if (outcome.reply) {
        let reply = ttl === undefined ? outcome.reply : { attributes: { ...outcome.reply.attributes, [TTL_EXTENSION]: ttl }, data: outcome.reply.data };
        // The reply continues the trace of the delivery that caused it, unless it carries a context of its own.
        let replySpan: SpanHandle | undefined;
        if (span) replySpan = this.#tracer.startSpan(`reply ${this.target.key}`, 'producer', span.context, cloudEventSpanAttributes(reply));
        const replyContext: TraceContext | undefined = replySpan?.context ?? parent;
        if (replyContext && reply.attributes[TRACEPARENT_EXTENSION] === undefined) {
          const attributes: CloudEvent['attributes'] = { ...reply.attributes, [TRACEPARENT_EXTENSION]: replyContext.traceparent };
          if (replyContext.tracestate) attributes[TRACESTATE_EXTENSION] = replyContext.tracestate;
          reply = { attributes, data: reply.data };
        }
        try {
          await this.deps.handleReply(reply);
          replySpan?.end();
        } catch (err) {
          replySpan?.end((err as Error).message);
          if (isSluiceError(err, 'SLUICE_EVENT_TTL_EXCEEDED')) {
            // The loop guard did its job: the reply is dropped, the original delivery succeeded.
            this.#metrics.dropped('reply_ttl_exceeded');
            this.deps.logger.warn({ trigger: this.target.key, ceId: reply.attributes['id'], ceType: reply.attributes['type'] }, err.message);
            return DONE;
          }
          // Knative: when the reply cannot be stored or delivered the original delivery fails and is retried; the
          // dead-letter event then names the reply destination (a SluiceError's details.destination/status).
          const details = isSluiceError(err) ? err.details : undefined;
          const failedUrl = typeof details?.['destination'] === 'string' ? details['destination'] : undefined;
          const status = typeof details?.['status'] === 'number' ? details['status'] : undefined;
          this.deps.logger.warn({ trigger: this.target.key, err, ceId: event.attributes['id'] }, 'reply not accepted');
          return this.#retryOrDeadLetter(
            event,
            record.attempt,
            first,
            { kind: 'retry', status, body: Buffer.from(String((err as Error).message)), reason: 'reply rejected', retryAfterMs: undefined },
            failedUrl,
          );
        }
      }
      return DONE;
    }
    this.#health.failed(outcome);
    return this.#retryOrDeadLetter(event, record.attempt, first, outcome);
  }

  async #retryOrDeadLetter(
    event: CloudEvent,
    attempt: number,
    first: number | undefined,
    outcome: Exclude<AttemptOutcome, { kind: 'success' }>,
    failedUrl: string = this.target.subscriberUrl,
  ): Promise<Disposition> {
    const { policy } = this.target.delivery;
    const firstAttempt = first === undefined ? {} : { firstAttemptAt: first };
    if (outcome.kind === 'retry' && attempt < policy.retry) {
      const k = attempt + 1;
      return { kind: 'retry', attempt: k, dueAt: this.deps.now() + retryDelayMs(policy, k, outcome.status, outcome.retryAfterMs), ...firstAttempt };
    }
    const log = { trigger: this.target.key, ceId: event.attributes['id'], ceType: event.attributes['type'], status: outcome.status, reason: outcome.reason, attempts: attempt + 1 };
    const dead = deadLetterEvent(event, failedUrl, outcome);
    if (this.target.deadLetterUrl === undefined) {
      if ((this.target.deadLetterStore ?? 'exhausted') === 'off') {
        this.#metrics.dropped('no_dead_letter_sink');
        this.deps.logger.warn(log, 'delivery failed and no dead-letter sink is configured: event dropped');
        this.deps.onDropped?.(this.target, event);
        return DONE;
      }
      this.deps.logger.warn(log, 'delivery failed and no dead-letter sink is configured: event kept in the dead-letter store');
      return { kind: 'dead-letter', event: dead, reason: outcome.reason, attempts: attempt + 1, firstAttemptAt: first, lastAttemptAt: this.deps.now() };
    }
    this.deps.logger.info(log, 'delivery failed: sending to the dead-letter sink');
    return this.#deadLetterAttempt(dead, policy.retry + 1, first);
  }

  async #deadLetterAttempt(event: CloudEvent, attempt: number, first: number | undefined): Promise<Disposition> {
    const { policy } = this.target.delivery;
    const url = this.target.deadLetterUrl;
    const breaker = this.#deadLetterBreaker;
    if (url === undefined || breaker === undefined) {
      // The configuration lost its dead-letter sink since the retry was stored: keep the event instead.
      if ((this.target.deadLetterStore ?? 'exhausted') === 'off') return DONE;
      const reason = `HTTP ${String(event.attributes['knativeerrorcode'] ?? 500)}`;
      return { kind: 'dead-letter', event, reason, attempts: attempt, firstAttemptAt: first, lastAttemptAt: this.deps.now() };
    }
    const permit = await breaker.acquire();
    if (permit === BREAKER_SHUT) return { kind: 'retry', attempt, dueAt: this.deps.now(), event, ...(first === undefined ? {} : { firstAttemptAt: first }) };
    const started = this.deps.now();
    const parent = eventTraceContext(event.attributes);
    let span: SpanHandle | undefined;
    let headers = this.#deadLetterHeaders;
    if (this.#tracer.enabled) {
      span = this.#tracer.startSpan(`dead-letter ${this.target.key}`, 'client', parent, { ...cloudEventSpanAttributes(event), 'url.full': url, 'sluice.attempt': attempt });
      headers = Object.assign({}, headers, traceHeaders(span.context));
    } else if (parent) {
      headers = Object.assign({}, headers, traceHeaders(parent));
    }
    const outcome = await attemptUnder(breaker, permit, () => deliverOnce(this.deps.sender, { url, expectReply: false, headers, oidc: this.target.deadLetterOidc }, event, policy, started));
    const duration = this.deps.now() - started;
    this.#metrics.deadLetterAttempt(outcome.status, duration);
    this.deps.onAttempt?.(this.target, outcome, duration, true);
    if (span) endSpan(span, outcome);
    if (outcome.kind === 'success') {
      this.#deadLetterHealth?.succeeded();
      if (this.target.deadLetterStore !== 'always') return DONE;
      const code = event.attributes['knativeerrorcode'];
      const reason = `${code === undefined ? 'delivery failed' : `HTTP ${String(code)}`}; the dead-letter sink accepted it`;
      return { kind: 'dead-letter', event, reason, attempts: attempt + 1, firstAttemptAt: first, lastAttemptAt: this.deps.now() };
    }
    const k = attempt - policy.retry; // 1 for the first dead-letter retry
    const delay = Math.min(MAX_DEAD_LETTER_RETRY_MS, retryDelayMs(policy, Math.min(k, 20), outcome.status, outcome.retryAfterMs) || 1000);
    // One error line per failure streak (and a summary while it lasts); each refusal at debug.
    this.#deadLetterHealth?.failed(outcome);
    this.deps.logger.debug(
      { trigger: this.target.key, ceId: event.attributes['id'], deadLetterSink: url, status: outcome.status, reason: outcome.reason, nextAttemptInMs: delay },
      'dead-letter sink refused the event; will retry',
    );
    return { kind: 'retry', attempt: attempt + 1, dueAt: this.deps.now() + delay, event, ...(first === undefined ? {} : { firstAttemptAt: first }) };
  }

  #breaker(url: string, role: DestinationCircuit['role'], settings: CircuitBreakerSettings): CircuitBreaker {
    return new CircuitBreaker(
      url,
      settings,
      (snapshot, previous) => {
        const circuit = this.#circuit(snapshot, role);
        const log = { trigger: this.target.key, destination: url, role, consecutiveFailures: snapshot.consecutiveFailures, waiting: snapshot.waiting };
        if (snapshot.state === 'open') {
          this.deps.logger.warn(
            { ...log, probeInMs: (snapshot.probeAt ?? 0) - this.deps.now(), opened: snapshot.opened },
            previous === 'half-open' ? 'circuit stays open: the probe failed' : 'circuit open: destination is failing, events wait in the backlog',
          );
        } else if (snapshot.state === 'closed') {
          this.deps.logger.info(log, 'circuit closed: destination answers again');
        } else {
          this.deps.logger.debug(log, 'circuit half-open: sending one probe event');
        }
        this.deps.onCircuitChange?.(circuit, previous);
      },
      this.deps.breakerTimers,
    );
  }

  #circuit(snapshot: CircuitSnapshot, role: DestinationCircuit['role']): DestinationCircuit {
    return { ...snapshot, trigger: this.target.key, role };
  }
}

/** Makes one attempt under a breaker's permit and counts its verdict (a throw counts as a failure). */
async function attemptUnder(breaker: CircuitBreaker, permit: Permit, send: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
  let outcome: AttemptOutcome;
  try {
    outcome = await send();
  } catch (err) {
    breaker.record(permit, 'failure');
    throw err;
  }
  breaker.record(permit, attemptVerdict(outcome));
  return outcome;
}

const DONE: Disposition = { kind: 'done' };

function endSpan(span: SpanHandle, outcome: AttemptOutcome): void {
  if (outcome.status !== undefined) span.setAttributes({ 'http.response.status_code': outcome.status });
  span.end(outcome.kind === 'success' ? undefined : outcome.reason);
}

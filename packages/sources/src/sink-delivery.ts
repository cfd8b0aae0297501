import { noopLogger, sleep as realSleep, type CloudEvent, type DeliveryPolicy, type Logger, type Sleep, type SourceMetrics } from '@sluice/core';
import { meterAttempts } from './source-sink.js';
import { deadLetterEvent, deliverWithRetries, type AttemptOutcome, type EventSender, type OidcTarget } from '@sluice/delivery';

/** What became of an event: the record may be committed (message acked) unless it is `retry-later`. */
export type SinkDeliveryResult = 'accepted' | 'dead-lettered' | 'retry-later';

/** Where a source's events go and how. */
export interface SinkDeliveryOptions {
  readonly sender: EventSender;
  readonly sinkUrl: string;
  readonly deadLetterUrl: string | undefined;
  readonly policy: DeliveryPolicy;
  /** Sent as `Kn-Namespace`, as Knative's adapters do. */
  readonly namespace: string;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Waits between retries; the default stops waiting when the signal aborts. */
  readonly sleep?: Sleep;
  /** The sink's and the dead-letter sink's audiences with the source's identity, for OIDC tokens. */
  readonly oidc?: OidcTarget | undefined;
  readonly deadLetterOidc?: OidcTarget | undefined;
  /** Where the sends are counted (Knative's source metrics): `sourceMetrics(ctx, source, namespace)`. */
  readonly metrics?: SourceMetrics | undefined;
}


/**
 * Sends a source's events to its sink with the source's delivery policy (retries and backoff from
 * `deliverWithRetries`), then to the dead-letter sink when the sink gave up. The caller commits only on `accepted`
 * or `dead-lettered`: an event is never dropped, not even one the sink rejects with a non-retryable status when no
 * dead-letter sink is set (Knative would drop it; Sluice keeps it and retries later, see docs).
 * Replies are discarded, as Knative's sources discard them.
 */
export class SinkDelivery {
  readonly #o: SinkDeliveryOptions;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #logger: Logger;

  constructor(options: SinkDeliveryOptions) {
    this.#o = options;
    this.#headers = { 'kn-namespace': options.namespace };
    this.#logger = options.logger ?? noopLogger;
  }

  /** The sink's URL. */
  get sinkUrl(): string {
    return this.#o.sinkUrl;
  }

  /** Delivers one event; `signal` (stop) ends the retries early with `retry-later`. */
  async deliver(event: CloudEvent, signal: AbortSignal): Promise<SinkDeliveryResult> {
    const sleep = this.#o.sleep ?? realSleep;
    const now = this.#o.now ?? Date.now;
    const { outcome } = await deliverWithRetries(this.#o.sender, { url: this.#o.sinkUrl, headers: this.#headers, expectReply: false, oidc: this.#o.oidc }, event, this.#o.policy, {
      sleep,
      now,
      signal,
      onAttempt: meterAttempts(this.#o.metrics, event),
    });
    if (outcome.kind === 'success') return 'accepted';
    if (signal.aborted) return 'retry-later';
    const id = event.attributes['id'];
    if (this.#o.deadLetterUrl === undefined) {
      this.#logger.warn({ ceId: id, sink: this.#o.sinkUrl, ...describe(outcome) }, 'sink did not accept the event and there is no dead-letter sink: keeping it to retry later');
      return 'retry-later';
    }
    const dead = deadLetterEvent(event, this.#o.sinkUrl, outcome);
    const dl = await deliverWithRetries(this.#o.sender, { url: this.#o.deadLetterUrl, headers: this.#headers, expectReply: false, oidc: this.#o.deadLetterOidc }, dead, this.#o.policy, { sleep, now, signal });
    if (dl.outcome.kind === 'success') {
      this.#o.metrics?.deadLettered();
      this.#logger.info({ ceId: id, sink: this.#o.sinkUrl, deadLetterSink: this.#o.deadLetterUrl, ...describe(outcome) }, 'event dead-lettered');
      return 'dead-lettered';
    }
    this.#logger.warn({ ceId: id, deadLetterSink: this.#o.deadLetterUrl, ...describe(dl.outcome) }, 'dead-letter sink did not accept the event either: keeping it to retry later');
    return 'retry-later';
  }
}

function describe(outcome: AttemptOutcome): Record<string, unknown> {
  return outcome.kind === 'success' ? { status: outcome.status } : { status: outcome.status ?? null, reason: outcome.reason };
}

import {
  DEFAULT_NAMESPACE,
  apiGroup,
  noopLogger,
  oidcSubject,
  sleep as realSleep,
  toDeliveryPolicy,
  type CloudEvent,
  type DeliveryPolicy,
  type DeliverySpec,
  type Destination,
  type Logger,
  type ObjectMeta,
  type Sleep,
  type SourceMetrics,
} from '@sluice/core';
import { deadLetterEvent, deliverWithRetries, type AttemptOutcome, type EventSender, type OidcTarget } from '@sluice/delivery';
import type { RuntimeContext } from '@sluice/plugin';
import { destinationAudience } from '@sluice/broker';

/**
 * How sources retry their sends, as Knative's adapters do (sdk-go: 5 retries, exponential from 50 ms), with Sluice's
 * per-attempt timeout. Which responses are retried follows Sluice's delivery rules (docs/sources.md).
 */
export const SOURCE_DELIVERY: DeliverySpec = {
  retry: 5,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.05S',
  timeout: 'PT30S',
};

/** How the sink failed an event: its last answer, after the retries. */
export interface SinkFailure {
  /** Last HTTP status, or undefined when the sink could not be reached. */
  readonly status: number | undefined;
  /** Whether the last failure was of a retryable kind (sink down or overloaded) rather than a refusal. */
  readonly retryable: boolean;
  readonly reason: string;
  /** Start of the sink's response body (or of the transport error), for logs and error bodies. */
  readonly excerpt: string;
  readonly attempts: number;
}

/**
 * What became of one event a source sent to its sink, as a value. `accepted`: the sink took it. `dead-lettered`: the
 * sink did not, the dead-letter sink did (the failure is the sink's). `undelivered`: neither took it; the source
 * answers its sender with that, or keeps the event (no commit, no ack) to send it again.
 */
export type SinkOutcome = { readonly kind: 'accepted'; readonly status: number; readonly attempts: number } | ({ readonly kind: 'dead-lettered' | 'undelivered' } & SinkFailure);

/** The dead-letter sink of a source that keeps what it could not deliver. */
export interface DeadLetterTarget {
  readonly url: string;
  /** The dead-letter sink's audience with the source's identity, for an OIDC token. */
  readonly oidc?: OidcTarget | undefined;
}

/** Options of {@link SinkDelivery}. */
export type SinkDeliveryOptions = {
  readonly sender: EventSender;
  /** The resolved sink URL. */
  readonly url: string;
  /** Namespace of the source, sent as `Kn-Namespace` like Knative adapters do. */
  readonly namespace: string;
  readonly logger?: Logger;
  /** Default: {@link SOURCE_DELIVERY}. */
  readonly policy?: DeliveryPolicy;
  /** Waits between retries; the default stops waiting when the signal aborts. */
  readonly sleep?: Sleep;
  readonly now?: () => number;
  /** The sink's audience and the source's identity, for an OIDC token (see {@link sourceOidc}). */
  readonly oidc?: OidcTarget | undefined;
  /** Where the sends are counted (Knative's source metrics); see {@link sourceMetrics}. */
  readonly metrics?: SourceMetrics | undefined;
} & (
  | {
      /** The event's sender gets the outcome (webhook and forge sources answer it; the ping source retries itself). */
      readonly undelivered: 'answer';
    }
  | {
      /**
       * The source keeps an event no sink took (Kafka: no commit; Pub/Sub: no ack) and sends it again later: never
       * dropped, not even one the sink refuses for good when there is no dead-letter sink (Knative would drop it).
       */
      readonly undelivered: 'keep';
      readonly deadLetter?: DeadLetterTarget | undefined;
    }
);

/** How one {@link SinkDelivery.deliver} call runs. */
export interface DeliverOptions {
  /** Stops retrying (the attempt in flight finishes); the event is then `undelivered`. */
  readonly signal?: AbortSignal | undefined;
  /** The caller sends the event again when this fails in a retryable way (metrics count that as a retry, not an outcome). */
  readonly keepTrying?: boolean;
}

/**
 * The metric hooks of one source, labelled as Knative labels its source metrics (`name`, `namespace_name`,
 * `resource_group` such as `pingsources.sources.knative.dev`); undefined when metrics are off.
 */
export function sourceMetrics(
  ctx: Pick<RuntimeContext, 'metrics'>,
  source: { readonly apiVersion: string; readonly kind: string; readonly metadata: { readonly name: string } },
  namespace: string,
): SourceMetrics | undefined {
  return ctx.metrics?.source?.({
    namespace,
    name: source.metadata.name,
    resourceGroup: `${source.kind.toLowerCase()}s.${apiGroup(source.apiVersion) || 'core'}`,
  });
}

/**
 * The OIDC target of a source's sends to `dest`: the destination's audience and the source's identity as Knative
 * names it (`system:serviceaccount:<ns>:<name>-oidc-<group>-<kind>`); undefined when the destination has no audience.
 */
export function sourceOidc(source: { readonly apiVersion: string; readonly kind: string; readonly metadata: ObjectMeta }, dest: Destination | undefined): OidcTarget | undefined {
  const ns = source.metadata.namespace ?? DEFAULT_NAMESPACE;
  const audience = destinationAudience(dest, ns);
  if (audience === undefined) return undefined;
  return { audience, subject: oidcSubject(apiGroup(source.apiVersion), source.kind, ns, source.metadata.name) };
}

/**
 * Sends a source's events to its sink with the source's retries (the delivery package's retry loop), counts them
 * (Knative's source metrics: every retried attempt, the last one as the event's outcome), and says what became of
 * each as a {@link SinkOutcome}; never throws. What it does with an event the sink did not take is its one option,
 * `undelivered`: `answer` logs one clear line (status, body excerpt, event id) and leaves the rest to the caller;
 * `keep` tries the dead-letter sink, if any, and logs that the event is kept. Replies are discarded, as Knative's
 * sources discard them.
 */
export class SinkDelivery {
  readonly #o: SinkDeliveryOptions;
  readonly #policy: DeliveryPolicy;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #logger: Logger;

  constructor(options: SinkDeliveryOptions) {
    this.#o = options;
    this.#policy = options.policy ?? toDeliveryPolicy(SOURCE_DELIVERY);
    this.#headers = { 'kn-namespace': options.namespace };
    this.#logger = options.logger ?? noopLogger;
  }

  /** The sink URL. */
  get url(): string {
    return this.#o.url;
  }

  /** Delivers one event (see {@link DeliverOptions}). */
  async deliver(event: CloudEvent, options: DeliverOptions = {}): Promise<SinkOutcome> {
    const timing = {
      sleep: this.#o.sleep ?? realSleep,
      now: this.#o.now ?? Date.now,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const { outcome, attempts } = await deliverWithRetries(this.#o.sender, { url: this.#o.url, headers: this.#headers, expectReply: false, oidc: this.#o.oidc }, event, this.#policy, {
      ...timing,
      onAttempt: meterAttempts(this.#o.metrics, event, options.keepTrying === true),
    });
    const id = event.attributes['id'];
    if (outcome.kind === 'success') {
      if (this.#o.undelivered === 'answer') this.#logger.debug({ sink: this.#o.url, ceId: id, status: outcome.status, attempts }, 'event sent');
      return { kind: 'accepted', status: outcome.status, attempts };
    }
    const failure: SinkFailure = {
      status: outcome.status,
      retryable: outcome.kind === 'retry',
      reason: outcome.reason,
      excerpt: excerptOf(outcome.body),
      attempts,
    };
    if (this.#o.undelivered === 'answer') {
      const what = outcome.status === undefined ? outcome.reason : `HTTP ${outcome.status}`;
      this.#logger.warn(
        {
          sink: this.#o.url,
          ceId: id,
          ceType: event.attributes['type'],
          status: outcome.status,
          attempts,
          response: failure.excerpt,
        },
        `sink refused event ${String(id)}: ${what} after ${attempts} attempt${attempts === 1 ? '' : 's'}${failure.excerpt && outcome.status !== undefined ? `: ${failure.excerpt}` : ''}`,
      );
      return { kind: 'undelivered', ...failure };
    }
    // Stopping: the event stays with the source, and the dead-letter sink is not tried half-way through a shutdown.
    if (options.signal?.aborted === true) return { kind: 'undelivered', ...failure };
    const deadLetter = this.#o.deadLetter;
    if (deadLetter === undefined) {
      this.#logger.warn({ ceId: id, sink: this.#o.url, ...describe(outcome) }, 'sink did not accept the event and there is no dead-letter sink: keeping it to retry later');
      return { kind: 'undelivered', ...failure };
    }
    const dead = deadLetterEvent(event, this.#o.url, outcome);
    const dl = await deliverWithRetries(this.#o.sender, { url: deadLetter.url, headers: this.#headers, expectReply: false, oidc: deadLetter.oidc }, dead, this.#policy, timing);
    if (dl.outcome.kind === 'success') {
      this.#o.metrics?.deadLettered();
      this.#logger.info({ ceId: id, sink: this.#o.url, deadLetterSink: deadLetter.url, ...describe(outcome) }, 'event dead-lettered');
      return { kind: 'dead-lettered', ...failure };
    }
    this.#logger.warn({ ceId: id, deadLetterSink: deadLetter.url, ...describe(dl.outcome) }, 'dead-letter sink did not accept the event either: keeping it to retry later');
    return { kind: 'undelivered', ...failure };
  }
}

/**
 * The attempt hook that counts a source's sends: every retried attempt, and the last one as the event's outcome. A
 * caller that keeps a failed event to try again later counts its last retryable failure as a retry too.
 */
function meterAttempts(metrics: SourceMetrics | undefined, event: CloudEvent, keepTrying: boolean): ((outcome: AttemptOutcome, retried: boolean) => void) | undefined {
  if (!metrics) return undefined;
  const source = String(event.attributes['source']);
  const type = String(event.attributes['type']);
  return (outcome, retried) => {
    if (retried || (keepTrying && outcome.kind === 'retry')) metrics.retried(source, type, outcome.status);
    else metrics.sent(source, type, outcome.status);
  };
}

const EXCERPT_BYTES = 256;

/** The first bytes of a response body as one printable line. */
function excerptOf(body: Buffer | undefined): string {
  if (!body || body.length === 0) return '';
  const text = body
    .subarray(0, EXCERPT_BYTES)
    .toString('utf8')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim();
  return body.length > EXCERPT_BYTES ? `${text}…` : text;
}

function describe(outcome: AttemptOutcome): Record<string, unknown> {
  return outcome.kind === 'success' ? { status: outcome.status } : { status: outcome.status ?? null, reason: outcome.reason };
}

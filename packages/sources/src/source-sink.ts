import { DEFAULT_NAMESPACE, apiGroup, oidcSubject, sleep as realSleep, toDeliveryPolicy, type CloudEvent, type DeliveryPolicy, type DeliverySpec, type Destination, type Logger, type ObjectMeta, type Sleep, type SourceMetrics } from '@sluice/core';
import { deliverWithRetries, type AttemptOutcome, type EventSender, type OidcTarget } from '@sluice/delivery';
import type { RuntimeContext } from '@sluice/plugin';
import { destinationAudience } from '@sluice/broker';

/**
 * How sources retry their sends, as Knative's adapters do (sdk-go: 5 retries, exponential from 50 ms), with Sluice's
 * per-attempt timeout. Which responses are retried follows Sluice's delivery rules (docs/sources.md).
 */
export const SOURCE_DELIVERY: DeliverySpec = { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.05S', timeout: 'PT30S' };

/** The outcome of sending one event to a sink, with its retries. */
export type SinkResult =
  | { readonly ok: true; readonly status: number; readonly attempts: number }
  | {
      readonly ok: false;
      /** Last HTTP status, or undefined when the sink could not be reached. */
      readonly status: number | undefined;
      /** Whether the last failure was of a retryable kind (sink down or overloaded) rather than a refusal. */
      readonly retryable: boolean;
      readonly reason: string;
      /** Start of the sink's response body (or of the transport error), for logs and error bodies. */
      readonly excerpt: string;
      readonly attempts: number;
    };

/** Options of {@link SinkClient}. */
export interface SinkClientOptions {
  readonly sender: EventSender;
  /** The resolved sink URL. */
  readonly url: string;
  /** Namespace of the source, sent as `Kn-Namespace` like Knative adapters do. */
  readonly namespace: string;
  readonly logger: Logger;
  /** Default: {@link SOURCE_DELIVERY}. */
  readonly policy?: DeliveryPolicy;
  readonly sleep?: Sleep;
  readonly now?: () => number;
  /** The sink's audience and the source's identity, for an OIDC token (see {@link sourceOidc}). */
  readonly oidc?: OidcTarget | undefined;
  /** Where the sends are counted (Knative's source metrics); see {@link sourceMetrics}. */
  readonly metrics?: SourceMetrics | undefined;
}

/**
 * The metric hooks of one source, labelled as Knative labels its source metrics (`name`, `namespace_name`,
 * `resource_group` such as `pingsources.sources.knative.dev`); undefined when metrics are off.
 */
export function sourceMetrics(ctx: Pick<RuntimeContext, 'metrics'>, source: { readonly apiVersion: string; readonly kind: string; readonly metadata: { readonly name: string } }, namespace: string): SourceMetrics | undefined {
  return ctx.metrics?.source?.({ namespace, name: source.metadata.name, resourceGroup: `${source.kind.toLowerCase()}s.${apiGroup(source.apiVersion) || 'core'}` });
}

/**
 * The attempt hook that counts a source's sends: every retried attempt, and the last one as the event's outcome. The
 * one place source sends are metered (both {@link SinkClient} and {@link SinkDelivery} send through it).
 */
export function meterAttempts(metrics: SourceMetrics | undefined, event: CloudEvent, keepTrying = false): ((outcome: AttemptOutcome, retried: boolean) => void) | undefined {
  if (!metrics) return undefined;
  const source = String(event.attributes['source']);
  const type = String(event.attributes['type']);
  return (outcome, retried) => {
    // A caller that keeps a failed event to try again later counts its last retryable failure as a retry too.
    if (retried || (keepTrying && outcome.kind === 'retry')) metrics.retried(source, type, outcome.status);
    else metrics.sent(source, type, outcome.status);
  };
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

const EXCERPT_BYTES = 256;

/** The first bytes of a response body as one printable line. */
export function excerptOf(body: Buffer | undefined): string {
  if (!body || body.length === 0) return '';
  const text = body.subarray(0, EXCERPT_BYTES).toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return body.length > EXCERPT_BYTES ? `${text}…` : text;
}


/**
 * Sends a source's events to its sink with the source's own retries (the delivery package's retry loop), and logs
 * one clear line when the sink refuses: status, body excerpt, event id.
 */
export class SinkClient {
  readonly #o: SinkClientOptions;
  readonly #policy: DeliveryPolicy;

  constructor(options: SinkClientOptions) {
    this.#o = options;
    this.#policy = options.policy ?? toDeliveryPolicy(SOURCE_DELIVERY);
  }

  /** The sink URL. */
  get url(): string {
    return this.#o.url;
  }

  /**
   * Sends one event; never throws. An aborted signal stops retrying (the attempt in flight finishes). `keepTrying`:
   * the caller sends the event again when this fails in a retryable way (metrics count that as a retry, not an outcome).
   */
  async send(event: CloudEvent, signal?: AbortSignal, keepTrying = false): Promise<SinkResult> {
    const { outcome, attempts } = await deliverWithRetries(
      this.#o.sender,
      { url: this.#o.url, headers: { 'kn-namespace': this.#o.namespace }, expectReply: false, oidc: this.#o.oidc },
      event,
      this.#policy,
      { sleep: this.#o.sleep ?? realSleep, ...(this.#o.now ? { now: this.#o.now } : {}), ...(signal ? { signal } : {}), onAttempt: meterAttempts(this.#o.metrics, event, keepTrying) },
    );
    if (outcome.kind === 'success') {
      this.#o.logger.debug({ sink: this.#o.url, ceId: event.attributes['id'], status: outcome.status, attempts }, 'event sent');
      return { ok: true, status: outcome.status, attempts };
    }
    const excerpt = excerptOf(outcome.body);
    const what = outcome.status === undefined ? outcome.reason : `HTTP ${outcome.status}`;
    this.#o.logger.warn(
      {
        sink: this.#o.url,
        ceId: event.attributes['id'],
        ceType: event.attributes['type'],
        status: outcome.status,
        attempts,
        response: excerpt,
      },
      `sink refused event ${String(event.attributes['id'])}: ${what} after ${attempts} attempt${attempts === 1 ? '' : 's'}${excerpt && outcome.status !== undefined ? `: ${excerpt}` : ''}`,
    );
    return { ok: false, status: outcome.status, retryable: outcome.kind === 'retry', reason: outcome.reason, excerpt, attempts };
  }
}

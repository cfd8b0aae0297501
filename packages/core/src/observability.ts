// Metric and tracing hooks the data plane calls. Packages receive them injected and default to the no-op ones below;
// only the entry point (the CLI) wires real implementations (`@sluice/observability`), so libraries and tests pay
// nothing for them.

/** Labels that identify a Trigger (or a Subscription) in metrics; bound once per dispatcher, never per event. */
export interface DispatchLabels {
  readonly namespace: string;
  /** The broker of a Trigger, or the channel of a Subscription. */
  readonly broker: string;
  /** The Trigger's or Subscription's name. */
  readonly trigger: string;
  readonly kind: 'Trigger' | 'Subscription';
}

/** Why an event left a Trigger without being delivered or dead-lettered. */
export type DropReason = 'no_dead_letter_sink' | 'reply_ttl_exceeded';

/** Metric hooks of one Trigger or Subscription. `status` undefined means a transport error (refused, timeout). */
export interface DispatchMetrics {
  /** A subscriber attempt finished. */
  attempt(eventType: string, status: number | undefined, durationMs: number): void;
  /** Time from the event's arrival at the broker to its first attempt (Knative's processing latency). */
  processing(durationMs: number): void;
  /** A dead-letter sink attempt finished; a 2xx means the event was dead-lettered. */
  deadLetterAttempt(status: number | undefined, durationMs: number): void;
  /** An event was given up without being delivered or dead-lettered. */
  dropped(reason: DropReason): void;
}

/** Metric hooks of one broker's ingress. */
export interface IngressMetrics {
  /** One event (or one rejected request, `eventType` empty) was answered with `status` after `durationMs`. */
  event(eventType: string, status: number, durationMs: number): void;
}

/** Metric hooks of the embedded store. */
export interface StoreMetrics {
  /** An append became durable `durationMs` after it was handed to the store. */
  write(durationMs: number): void;
  /** One commit (one fsync when durable) made `events` events durable. */
  groupCommit(events: number): void;
  /**
   * A checkpoint of the write-ahead log ran: `walBytes` were written to the WAL since it last started over, and
   * `restarted` says it started over since the checkpoint before.
   */
  checkpoint(walBytes: number, restarted: boolean): void;
}

/** Labels that identify a source in metrics (Knative's source metrics); bound once per source, never per event. */
export interface SourceLabels {
  readonly namespace: string;
  readonly name: string;
  /** The source's resource and API group, e.g. `pingsources.sources.knative.dev`. */
  readonly resourceGroup: string;
}

/** Metric hooks of one source's sends to its sink. `status` undefined means a transport error (refused, timeout). */
export interface SourceMetrics {
  /** Sending one event to the sink ended (after its retries), with the status of the last attempt. */
  sent(eventSource: string, eventType: string, status: number | undefined): void;
  /** An attempt failed and is retried. */
  retried(eventSource: string, eventType: string, status: number | undefined): void;
  /** The sink did not take an event and the source's dead-letter sink did. */
  deadLettered(): void;
}

/** Live figures of one Trigger or Subscription, read when metrics are scraped. */
export interface DispatchFigures {
  /** Records handed to the dispatcher and not finished. */
  readonly inFlight: number;
  /** Records waiting for a retry (to the subscriber or to the dead-letter sink). */
  readonly retrying: number;
}

/** The metric hooks of a running Sluice. */
export interface Metrics {
  ingress(namespace: string, broker: string): IngressMetrics;
  /** `figures` is read at scrape time for the in-flight and retrying gauges. */
  dispatch(labels: DispatchLabels, figures?: () => DispatchFigures): DispatchMetrics;
  readonly store: StoreMetrics;
  /** Hooks of one source (absent: its sends are not recorded). */
  source?(labels: SourceLabels): SourceMetrics;
}

const NOOP_DISPATCH: DispatchMetrics = { attempt() {}, processing() {}, deadLetterAttempt() {}, dropped() {} };
const NOOP_INGRESS: IngressMetrics = { event() {} };
const NOOP_SOURCE: SourceMetrics = { sent() {}, retried() {}, deadLettered() {} };

/** Metrics that record nothing: the default everywhere except the CLI. */
export const noopMetrics: Metrics = {
  ingress: () => NOOP_INGRESS,
  dispatch: () => NOOP_DISPATCH,
  store: { write() {}, groupCommit() {}, checkpoint() {} },
  source: () => NOOP_SOURCE,
};

/** A W3C trace context as carried in `traceparent`/`tracestate` headers and CloudEvents extensions. */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate?: string | undefined;
}

/** The CloudEvents distributed-tracing extension attributes. */
export const TRACEPARENT_EXTENSION = 'traceparent';
/** See {@link TRACEPARENT_EXTENSION}. */
export const TRACESTATE_EXTENSION = 'tracestate';

/** Span kinds, as OpenTelemetry names them. */
export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

/** Attribute values a span takes. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** A started span. */
export interface SpanHandle {
  /** The span's own context, to propagate to the next hop. */
  readonly context: TraceContext;
  setAttributes(attributes: SpanAttributes): void;
  /** Ends the span; an error message marks it failed. */
  end(error?: string): void;
}

/** Starts spans. `enabled` false means every call is a no-op and callers skip building attributes. */
export interface Tracer {
  readonly enabled: boolean;
  startSpan(name: string, kind: SpanKindName, parent: TraceContext | undefined, attributes: SpanAttributes): SpanHandle;
}

const NOOP_SPAN: SpanHandle = { context: { traceparent: '' }, setAttributes() {}, end() {} };

/** A tracer that records nothing: the default. */
export const noopTracer: Tracer = { enabled: false, startSpan: () => NOOP_SPAN };

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** Whether a string is a syntactically valid W3C `traceparent` (all-zero ids are invalid). */
export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT.test(value) && !value.startsWith('ff') && !/^..-0{32}-|-0{16}-..$/.test(value);
}

/** The trace context an event carries in the distributed-tracing extension, if a valid one. */
export function eventTraceContext(attributes: Readonly<Record<string, unknown>>): TraceContext | undefined {
  const traceparent = attributes[TRACEPARENT_EXTENSION];
  if (!isTraceparent(traceparent)) return undefined;
  const tracestate = attributes[TRACESTATE_EXTENSION];
  return typeof tracestate === 'string' && tracestate !== '' ? { traceparent, tracestate } : { traceparent };
}

/** HTTP headers that carry a trace context to the next hop. */
export function traceHeaders(ctx: TraceContext): Record<string, string> {
  return ctx.tracestate ? { traceparent: ctx.traceparent, tracestate: ctx.tracestate } : { traceparent: ctx.traceparent };
}

/** OpenTelemetry's CloudEvents span attributes of an event. */
export function cloudEventSpanAttributes(event: { readonly attributes: Readonly<Record<string, unknown>> }): Record<string, string> {
  const a = event.attributes;
  const attrs: Record<string, string> = {
    'cloudevents.event_id': String(a['id']),
    'cloudevents.event_source': String(a['source']),
    'cloudevents.event_type': String(a['type']),
    'cloudevents.event_spec_version': String(a['specversion']),
  };
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- attribute values are scalars
  if (a['subject'] !== undefined) attrs['cloudevents.event_subject'] = String(a['subject']);
  return attrs;
}

import client from 'prom-client';
import type { DispatchFigures, DispatchLabels, DispatchMetrics, DropReason, IngressMetrics, Metrics, SourceLabels, SourceMetrics, StoreMetrics } from '@sluice/core';

// Metric names: Knative's where Knative has the metric (same name, unit and labels), `sluice_*` for the rest.
/** Knative's event counter (broker ingress and trigger deliveries). */
export const EVENT_COUNT = 'event_count';
/** Knative's dispatch latency histogram, in milliseconds. */
export const EVENT_DISPATCH_LATENCIES = 'event_dispatch_latencies';
/** Knative's processing latency histogram, in milliseconds (here: arrival at the broker → first attempt). */
export const EVENT_PROCESSING_LATENCIES = 'event_processing_latencies';
/** Events waiting for a retry, per Trigger/Subscription. */
export const TRIGGER_RETRYING = 'sluice_trigger_retrying';
/** Events being delivered now, per Trigger/Subscription. */
export const TRIGGER_IN_FLIGHT = 'sluice_trigger_in_flight';
/** Events not yet consumed by a Trigger/Subscription. */
export const TRIGGER_BACKLOG = 'sluice_trigger_backlog';
/** Age of the oldest event a Trigger/Subscription has not finished, in seconds. */
export const TRIGGER_OLDEST_PENDING_AGE = 'sluice_trigger_oldest_pending_age_seconds';
/** Attempts at dead-letter sinks. */
export const DEAD_LETTER_ATTEMPTS = 'sluice_dead_letter_attempts_total';
/** Events a dead-letter sink accepted. */
export const DEAD_LETTERED_EVENTS = 'sluice_dead_lettered_events_total';
/** Events given up without delivery or dead-letter. */
export const DROPPED_EVENTS = 'sluice_dropped_events_total';
/** 1 for the state each destination's circuit breaker is in (`closed`, `open`, `half-open`), 0 for the others. */
export const CIRCUIT_STATE = 'sluice_circuit_state';
/** Times a destination's circuit breaker opened. */
export const CIRCUIT_OPENED = 'sluice_circuit_opened_total';
/** Events held back by an open circuit. */
export const CIRCUIT_WAITING = 'sluice_circuit_waiting_events';
/** Time from an append to the store until it is durable, in seconds. */
export const STORE_WRITE_DURATION = 'sluice_store_write_duration_seconds';
/** Events made durable by one commit (one fsync). */
export const STORE_GROUP_COMMIT_EVENTS = 'sluice_store_group_commit_events';
/** Bytes written to the store's WAL since it last started over, as of the last checkpoint. */
export const STORE_WAL_BYTES = 'sluice_store_wal_bytes';
/** Times a checkpoint found the store's WAL started over. */
export const STORE_WAL_RESTARTS = 'sluice_store_wal_restarts_total';

/** Knative's source metric of retried sends (`event_count` counts each event's outcome). */
export const RETRY_EVENT_COUNT = 'retry_event_count';
/** Events a source's dead-letter sink took after its sink gave up. */
export const SOURCE_DEAD_LETTERED = 'sluice_source_dead_lettered_events_total';
/** When a source's sink last accepted an event. */
export const SOURCE_LAST_SUCCESS = 'sluice_source_last_success_timestamp_seconds';

/** Knative's latency buckets (milliseconds, 1-2-5 steps from 1 ms to 10 s). */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const STORE_WRITE_BUCKETS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const GROUP_COMMIT_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** Distinct `event_type` values kept per Trigger or broker; later ones are counted as `other` (bounded cardinality). */
export const MAX_EVENT_TYPES = 100;
const OTHER_EVENT_TYPE = 'other';

type Labels = Record<string, string>;

/** A histogram's state: plain numbers on the hot path, turned into Prometheus series at scrape time. */
class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

interface Series {
  readonly labels: Labels;
  count: number;
  readonly latency: Histogram;
}

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric family read from Sluice's accumulators at scrape time (prom-client calls `get`). */
class Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => MetricValue[],
  ) {}
  readonly aggregator = 'sum';
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.read() };
  }
}

function histogramValues(name: string, labels: Labels, h: Histogram, out: MetricValue[]): void {
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(h.bounds[i]) }, value: cumulative });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
}

/** Knative's `response_code_class`: `2xx`, `5xx`, …; a transport error (no response) is code 0, class `error`. */
function codeLabels(status: number | undefined): { response_code: string; response_code_class: string } {
  return status === undefined ? { response_code: '0', response_code_class: 'error' } : { response_code: String(status), response_code_class: `${Math.floor(status / 100)}xx` };
}

/** Series of one Trigger/broker keyed by event type and status, with a bound on distinct event types. */
class SeriesSet {
  readonly series = new Map<string, Series>();
  readonly #types = new Set<string>();
  /**
   * The same series by event type, then status: the lookup of every event (ingress and each attempt) builds no key
   * string (a concatenated key cost a string and its hash per lookup, twice per event).
   */
  readonly #byType = new Map<string, Map<number, Series>>();
  constructor(private readonly base: Labels) {}
  get(eventType: string, status: number | undefined): Series {
    const code = status ?? 0;
    let byStatus = this.#byType.get(eventType);
    const known = byStatus?.get(code);
    if (known !== undefined) return known;
    if (byStatus === undefined) {
      // Beyond the bound, types are looked up by key: a flood of distinct types grows this index no further.
      if (this.#byType.size >= MAX_EVENT_TYPES * 2) return this.#lookup(eventType, status);
      this.#byType.set(eventType, (byStatus = new Map<number, Series>()));
    }
    const s = this.#lookup(eventType, status);
    byStatus.set(code, s);
    return s;
  }
  /** The series by its label key, creating it (or aliasing `other` past the bound on event types). */
  #lookup(eventType: string, status: number | undefined): Series {
    const key = `${eventType}\u0000${status ?? 0}`;
    let s = this.series.get(key);
    if (s === undefined) {
      let type = eventType;
      if (!this.#types.has(type)) {
        if (this.#types.size >= MAX_EVENT_TYPES) type = OTHER_EVENT_TYPE;
        else this.#types.add(type);
      }
      const otherKey = `${type}\u0000${status ?? 0}`;
      s = this.series.get(otherKey);
      if (s === undefined) {
        s = { labels: { ...this.base, event_type: type, ...codeLabels(status) }, count: 0, latency: new Histogram(LATENCY_BUCKETS_MS) };
        this.series.set(otherKey, s);
      }
      if (otherKey !== key) this.series.set(key, s);
    }
    return s;
  }
  /** Each series once (aliases of `other` point at the same object). */
  unique(): Set<Series> {
    return new Set(this.series.values());
  }
}

interface DispatchState {
  readonly labels: Labels;
  readonly attempts: SeriesSet;
  readonly processing: Histogram;
  readonly deadLetter: Map<string, { labels: Labels; count: number }>;
  deadLettered: number;
  readonly dropped: Map<DropReason, number>;
  figures: (() => DispatchFigures) | undefined;
}

interface Counted {
  readonly labels: Labels;
  count: number;
}

/** The sends of one source: counts by event source, type and status, bounded like the event types of a trigger. */
interface SourceState {
  readonly base: Labels;
  readonly sent: Map<string, Counted>;
  readonly retried: Map<string, Counted>;
  readonly pairs: Set<string>;
  deadLettered: number;
  lastSuccessMs: number | undefined;
}

/** Live figures of one Trigger/Subscription from its consumer group in the store (read at scrape time). */
export interface BacklogFigures {
  readonly labels: DispatchLabels;
  readonly backlog: number;
  /** Seconds; undefined when nothing is pending. */
  readonly oldestPendingAgeSeconds: number | undefined;
  /** When given, these replace the dispatcher's own counts in the in-flight and retrying gauges (the store's are exact across restarts). */
  readonly inFlight?: number;
  readonly retrying?: number;
}

/** One destination's circuit breaker, provided by the runtime (read at scrape time). */
export interface CircuitFigures {
  /** `namespace/name` of the Trigger or Subscription. */
  readonly trigger: string;
  readonly role: 'subscriber' | 'deadLetterSink';
  readonly state: string;
  readonly opened: number;
  readonly waiting: number;
}

const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;

/** Options of {@link PrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Also export prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC, handles). Default true. */
  processMetrics?: boolean;
}

function dispatchBase(l: DispatchLabels): Labels {
  return { namespace_name: l.namespace, broker_name: l.broker, trigger_name: l.trigger, container_name: l.kind === 'Trigger' ? 'filter' : 'dispatcher' };
}

/**
 * {@link Metrics} exported in the Prometheus text format through prom-client's registry. The hot path only bumps
 * numbers in objects bound once per Trigger/broker (no label hashing per event, unlike prom-client's own counters,
 * see docs/benchmarks.md); prom-client reads them when `/metrics` is scraped, next to its process metrics.
 */
export class PrometheusMetrics implements Metrics {
  /** The registry to serve: `await registry.metrics()` with `registry.contentType`. */
  readonly registry = new client.Registry();
  readonly #ingress = new Map<string, SeriesSet>();
  readonly #dispatch: DispatchState[] = [];
  readonly #storeWrite = new Histogram(STORE_WRITE_BUCKETS_S);
  readonly #groupCommit = new Histogram(GROUP_COMMIT_BUCKETS);
  #wal: { bytes: number; restarts: number } | undefined;
  readonly #sources: SourceState[] = [];
  #backlog: (() => Iterable<BacklogFigures>) | undefined;
  #circuits: (() => Iterable<CircuitFigures>) | undefined;

  constructor(options: PrometheusMetricsOptions = {}) {
    const families = [
      new Family(
        EVENT_COUNT,
        'Number of events received by a broker (container_name="ingress") or sent to a subscriber (container_name="filter" for Triggers, "dispatcher" for Subscriptions), or sent by a source to its sink (labels name, resource_group, event_source)',
        'counter',
        () => this.#counts(),
      ),
      new Family(RETRY_EVENT_COUNT, 'Attempts of a source to send an event to its sink that failed and were retried', 'counter', () =>
        this.#sources.flatMap((st) => [...st.retried.values()].map((c) => ({ labels: c.labels, value: c.count }))),
      ),
      new Family(SOURCE_DEAD_LETTERED, "Events a source's dead-letter sink took after its sink did not", 'counter', () => this.#sources.map((st) => ({ labels: st.base, value: st.deadLettered }))),
      new Family(SOURCE_LAST_SUCCESS, "When a source's sink last accepted an event (Unix seconds)", 'gauge', () =>
        this.#sources.filter((st) => st.lastSuccessMs !== undefined).map((st) => ({ labels: st.base, value: st.lastSuccessMs! / 1000 })),
      ),
      new Family(EVENT_DISPATCH_LATENCIES, 'Time spent answering an event at the ingress, or dispatching it to a subscriber, in milliseconds', 'histogram', () => this.#latencies()),
      new Family(EVENT_PROCESSING_LATENCIES, "Time from an event's arrival at the broker to its first delivery attempt, in milliseconds", 'histogram', () =>
        this.#dispatch.flatMap((d) => {
          const out: MetricValue[] = [];
          histogramValues(EVENT_PROCESSING_LATENCIES, d.labels, d.processing, out);
          return out;
        }),
      ),
      new Family(TRIGGER_IN_FLIGHT, 'Events being delivered now', 'gauge', () => this.#live('inFlight')),
      new Family(TRIGGER_RETRYING, 'Events waiting for a retry (to the subscriber or the dead-letter sink)', 'gauge', () => this.#live('retrying')),
      new Family(TRIGGER_BACKLOG, 'Events accepted by the broker and not yet consumed by the trigger', 'gauge', () =>
        [...(this.#backlog?.() ?? [])].map((f) => ({ labels: dispatchBase(f.labels), value: f.backlog })),
      ),
      new Family(TRIGGER_OLDEST_PENDING_AGE, 'Age of the oldest event the trigger has not finished, in seconds (0 when none)', 'gauge', () =>
        [...(this.#backlog?.() ?? [])].map((f) => ({ labels: dispatchBase(f.labels), value: f.oldestPendingAgeSeconds ?? 0 })),
      ),
      new Family(DEAD_LETTER_ATTEMPTS, 'Attempts to send an event to a dead-letter sink, by response code', 'counter', () =>
        this.#dispatch.flatMap((d) => [...d.deadLetter.values()].map((v) => ({ labels: v.labels, value: v.count }))),
      ),
      new Family(DEAD_LETTERED_EVENTS, 'Events a dead-letter sink accepted', 'counter', () => this.#dispatch.map((d) => ({ labels: d.labels, value: d.deadLettered }))),
      new Family(DROPPED_EVENTS, 'Events given up without delivery or dead-letter (reason: no_dead_letter_sink, reply_ttl_exceeded)', 'counter', () =>
        this.#dispatch.flatMap((d) => [...d.dropped].map(([reason, value]) => ({ labels: { ...d.labels, reason }, value }))),
      ),
      new Family(CIRCUIT_STATE, 'State of the circuit breaker in front of a destination: 1 for the current state (closed, open, half-open)', 'gauge', () =>
        this.#circuitValues((c, labels) => CIRCUIT_STATES.map((state) => ({ labels: { ...labels, state }, value: c.state === state ? 1 : 0 }))),
      ),
      new Family(CIRCUIT_OPENED, 'Times the circuit breaker in front of a destination opened', 'counter', () => this.#circuitValues((c, labels) => [{ labels, value: c.opened }])),
      new Family(CIRCUIT_WAITING, 'Events held back by an open circuit breaker', 'gauge', () => this.#circuitValues((c, labels) => [{ labels, value: c.waiting }])),
      new Family(STORE_WRITE_DURATION, 'Time from an append to the embedded store until it is durable (fsync), in seconds', 'histogram', () => {
        const out: MetricValue[] = [];
        histogramValues(STORE_WRITE_DURATION, {}, this.#storeWrite, out);
        return out;
      }),
      new Family(STORE_GROUP_COMMIT_EVENTS, 'Events made durable by one commit of the embedded store (group commit size)', 'histogram', () => {
        const out: MetricValue[] = [];
        histogramValues(STORE_GROUP_COMMIT_EVENTS, {}, this.#groupCommit, out);
        return out;
      }),
      new Family(STORE_WAL_BYTES, "Bytes written to the embedded store's write-ahead log since it last started over, at the last checkpoint", 'gauge', () =>
        this.#wal ? [{ labels: {}, value: this.#wal.bytes }] : [],
      ),
      new Family(STORE_WAL_RESTARTS, "Times the embedded store's write-ahead log started over from its beginning (seen at a checkpoint)", 'counter', () =>
        this.#wal ? [{ labels: {}, value: this.#wal.restarts }] : [],
      ),
    ];
    for (const f of families) this.registry.registerMetric(f as unknown as client.Metric);
    if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: this.registry });
  }

  /** Sets where the backlog and oldest-pending-age gauges come from (the store's per-group figures). */
  setBacklogSource(source: () => Iterable<BacklogFigures>): void {
    this.#backlog = source;
  }

  /** In-flight or retrying per trigger: the store's figures where the backlog source gives them, else the dispatcher's. */
  #live(field: 'inFlight' | 'retrying'): MetricValue[] {
    const fromStore = new Map<string, number>();
    for (const f of this.#backlog?.() ?? []) {
      const v = f[field];
      if (v !== undefined) fromStore.set(labelKey(dispatchBase(f.labels)), v);
    }
    return this.#dispatch.filter((d) => d.figures || fromStore.has(labelKey(d.labels))).map((d) => ({ labels: d.labels, value: fromStore.get(labelKey(d.labels)) ?? d.figures!()[field] }));
  }

  /** Sets where the circuit-breaker metrics come from (the runtime's breakers). */
  setCircuitSource(source: () => Iterable<CircuitFigures>): void {
    this.#circuits = source;
  }

  #circuitValues(values: (c: CircuitFigures, labels: Labels) => MetricValue[]): MetricValue[] {
    return [...(this.#circuits?.() ?? [])].flatMap((c) => {
      const [namespace = '', name = c.trigger] = c.trigger.split('/');
      return values(c, { namespace_name: namespace, trigger_name: name, role: c.role === 'deadLetterSink' ? 'dead_letter_sink' : 'subscriber' });
    });
  }

  /** The exposition text and its content type, for a `/metrics` handler. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  ingress(namespace: string, broker: string): IngressMetrics {
    const key = `${namespace}/${broker}`;
    let set = this.#ingress.get(key);
    if (!set) this.#ingress.set(key, (set = new SeriesSet({ namespace_name: namespace, broker_name: broker, trigger_name: '', container_name: 'ingress' })));
    const s = set;
    return {
      event(eventType, status, durationMs) {
        const series = s.get(eventType, status);
        series.count++;
        series.latency.observe(durationMs);
      },
    };
  }

  dispatch(labels: DispatchLabels, figures?: () => DispatchFigures): DispatchMetrics {
    const base = dispatchBase(labels);
    // A Trigger started again under the same name (a reload) continues its counters; its live figures are the new ones.
    let state = this.#dispatch.find((d) => sameLabels(d.labels, base));
    if (state) {
      state.figures = figures;
    } else {
      state = { labels: base, attempts: new SeriesSet(base), processing: new Histogram(LATENCY_BUCKETS_MS), deadLetter: new Map(), deadLettered: 0, dropped: new Map(), figures };
      this.#dispatch.push(state);
    }
    const st = state;
    return {
      attempt(eventType, status, durationMs) {
        const series = st.attempts.get(eventType, status);
        series.count++;
        series.latency.observe(durationMs);
      },
      processing(durationMs) {
        st.processing.observe(durationMs);
      },
      deadLetterAttempt(status) {
        const code = codeLabels(status);
        let c = st.deadLetter.get(code.response_code);
        if (!c) st.deadLetter.set(code.response_code, (c = { labels: { ...base, ...code }, count: 0 }));
        c.count++;
        if (status !== undefined && status >= 200 && status < 300) st.deadLettered++;
      },
      dropped(reason) {
        st.dropped.set(reason, (st.dropped.get(reason) ?? 0) + 1);
      },
    };
  }

  source(labels: SourceLabels): SourceMetrics {
    const base: Labels = { namespace_name: labels.namespace, name: labels.name, resource_group: labels.resourceGroup };
    // A source started again under the same name (a reload) continues its counters.
    let state = this.#sources.find((st) => st.base['namespace_name'] === base['namespace_name'] && st.base['name'] === base['name'] && st.base['resource_group'] === base['resource_group']);
    if (!state) this.#sources.push((state = { base, sent: new Map(), retried: new Map(), pairs: new Set(), deadLettered: 0, lastSuccessMs: undefined }));
    const st = state;
    const count = (into: Map<string, Counted>, eventSource: string, eventType: string, status: number | undefined): void => {
      let pair = `${eventSource}\u0000${eventType}`;
      if (!st.pairs.has(pair)) {
        if (st.pairs.size >= MAX_EVENT_TYPES) {
          eventSource = OTHER_EVENT_TYPE;
          eventType = OTHER_EVENT_TYPE;
          pair = `${OTHER_EVENT_TYPE}\u0000${OTHER_EVENT_TYPE}`;
        } else st.pairs.add(pair);
      }
      const key = `${pair}\u0000${status ?? 0}`;
      let c = into.get(key);
      if (!c) into.set(key, (c = { labels: { ...base, event_source: eventSource, event_type: eventType, ...codeLabels(status) }, count: 0 }));
      c.count++;
    };
    return {
      sent(eventSource, eventType, status) {
        count(st.sent, eventSource, eventType, status);
        if (status !== undefined && status >= 200 && status < 300) st.lastSuccessMs = Date.now();
      },
      retried(eventSource, eventType, status) {
        count(st.retried, eventSource, eventType, status);
      },
      deadLettered() {
        st.deadLettered++;
      },
    };
  }

  readonly store: StoreMetrics = {
    write: (durationMs) => this.#storeWrite.observe(durationMs / 1000),
    groupCommit: (events) => this.#groupCommit.observe(events),
    checkpoint: (walBytes, restarted) => {
      this.#wal = { bytes: walBytes, restarts: (this.#wal?.restarts ?? 0) + (restarted ? 1 : 0) };
    },
  };

  #sets(): SeriesSet[] {
    return [...this.#ingress.values(), ...this.#dispatch.map((d) => d.attempts)];
  }

  #counts(): MetricValue[] {
    const brokers = this.#sets().flatMap((set) => [...set.unique()].map((s) => ({ labels: s.labels, value: s.count })));
    return [...brokers, ...this.#sources.flatMap((st) => [...st.sent.values()].map((c) => ({ labels: c.labels, value: c.count })))];
  }

  #latencies(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const set of this.#sets()) for (const s of set.unique()) histogramValues(EVENT_DISPATCH_LATENCIES, s.labels, s.latency, out);
    return out;
  }
}

function labelKey(l: Labels): string {
  return `${l['namespace_name']}\u0000${l['broker_name']}\u0000${l['trigger_name']}\u0000${l['container_name']}`;
}

function sameLabels(a: Labels, b: Labels): boolean {
  return a['namespace_name'] === b['namespace_name'] && a['broker_name'] === b['broker_name'] && a['trigger_name'] === b['trigger_name'] && a['container_name'] === b['container_name'];
}

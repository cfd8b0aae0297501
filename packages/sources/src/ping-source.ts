import { randomUUID } from 'node:crypto';
import { Backoff, DEFAULT_NAMESPACE, SluiceError, noopLogger, sleep, type Clock, type CloudEvent, type Logger, type PingSource, type PingSourceSpec, type Timers } from '@sluice/core';
import type { RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { applyCeOverrides, checkOverrideKey } from './ce-overrides.js';

export type { PingSource, PingSourceSpec };
import { CronScheduler } from './cron-scheduler.js';
import { isScheduleProblem, parseSchedule, type Schedule } from './cron-schedule.js';
import { SinkDelivery, sourceMetrics, sourceOidc } from './sink-delivery.js';
import type { SpecProblem } from './spec-problem.js';

/** The `type` of every event a PingSource emits. */
export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** The `source` of a PingSource's events, exactly as Knative sets it. */
export function pingEventSource(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function jsonObjectProblem(text: string): string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? undefined : 'must be a JSON object when contentType is application/json';
  } catch (err) {
    return `is not valid JSON but contentType is application/json: ${(err as Error).message}`;
  }
}

/**
 * Checks what the schema cannot (paths from the resource root): the schedule and time zone (same parser as at run time), `data`/`dataBase64`
 * exclusivity, base64 syntax and JSON data, with Knative's rules (`ping_validation.go`).
 */
export function checkPingSpec(spec: PingSourceSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  let parsed = parseSchedule(spec.schedule, spec.timezone);
  if (isScheduleProblem(parsed) && parsed.field === 'timezone') {
    problems.push({ path: ['spec', 'timezone'], message: parsed.message, code: 'SLUICE_CONFIG_TIMEZONE' });
    // Report a bad schedule too, not only the first problem.
    parsed = parseSchedule(spec.schedule);
  }
  if (isScheduleProblem(parsed)) {
    problems.push({
      path: ['spec', 'schedule'],
      message: `invalid schedule: ${parsed.message}`,
      code: 'SLUICE_CONFIG_SCHEDULE',
      ...(parsed.offset !== undefined ? { offset: parsed.offset } : {}),
    });
  }
  const json = spec.contentType === 'application/json';
  if (spec.data && spec.dataBase64) {
    problems.push({ path: ['spec', 'dataBase64'], message: 'data and dataBase64 are mutually exclusive: set only one' });
  } else if (spec.dataBase64) {
    if (!BASE64.test(spec.dataBase64) || spec.dataBase64.length % 4 !== 0) {
      problems.push({ path: ['spec', 'dataBase64'], message: 'is not valid base64 (standard alphabet, padded)' });
    } else if (json) {
      const err = jsonObjectProblem(Buffer.from(spec.dataBase64, 'base64').toString('utf8'));
      if (err) problems.push({ path: ['spec', 'dataBase64'], message: `decoded data ${err}` });
    }
  } else if (spec.data && json) {
    const err = jsonObjectProblem(spec.data);
    if (err) problems.push({ path: ['spec', 'data'], message: err });
  }
  for (const key of Object.keys(spec.ceOverrides?.extensions ?? {})) {
    const err = checkOverrideKey(key);
    if (err) problems.push({ path: ['spec', 'ceOverrides', 'extensions', key], message: err });
  }
  return problems;
}

/** The payload a PingSource sends: `data` as UTF-8, or `dataBase64` decoded, or none. */
export function pingPayload(spec: PingSourceSpec): Buffer | undefined {
  if (spec.dataBase64) return Buffer.from(spec.dataBase64, 'base64');
  if (spec.data) return Buffer.from(spec.data, 'utf8');
  return undefined;
}

/** Builds the event a PingSource emits at `timeMs`, as Knative's `mtping` adapter does. */
export function makePingEvent(source: PingSource, id: string, timeMs: number): CloudEvent {
  const ns = source.metadata.namespace ?? DEFAULT_NAMESPACE;
  const attributes: CloudEvent['attributes'] = {
    specversion: '1.0',
    id,
    type: PING_EVENT_TYPE,
    source: pingEventSource(ns, source.metadata.name),
    time: new Date(timeMs).toISOString(),
  };
  const data = pingPayload(source.spec);
  if (data !== undefined && source.spec.contentType) attributes['datacontenttype'] = source.spec.contentType;
  return applyCeOverrides({ attributes, data }, source.spec.ceOverrides);
}

/** Ping events kept for a sink that cannot take them yet, per source; beyond it new ticks are lost (logged). */
const MAX_WAITING_EVENTS = 1000;
const KEEP_TRYING_FIRST_MS = 1000;
const KEEP_TRYING_MAX_MS = 30_000;

/** Collaborators of {@link PingSourceComponent}; production defaults when unset. */
export interface PingSourceDeps {
  readonly now?: Clock;
  readonly timers?: Timers;
  readonly newId?: () => string;
}

/** Runs one PingSource inside `sluice run`: a cron scheduler that sends one event per tick to the sink. */
export class PingSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #source: PingSource;
  readonly #schedule: Schedule;
  readonly #deps: PingSourceDeps;
  #scheduler: CronScheduler | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #logger: Logger = noopLogger;
  /** Events whose sink could not take them yet, sent again until it does. */
  #waiting = 0;

  constructor(source: PingSource, deps: PingSourceDeps = {}) {
    const ns = source.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.name = `PingSource ${ns}/${source.metadata.name}`;
    this.#source = source;
    const parsed = parseSchedule(source.spec.schedule, source.spec.timezone);
    if (isScheduleProblem(parsed)) throw new SluiceError('SLUICE_SOURCE_SCHEDULE_INVALID', `${this.name}: invalid ${parsed.field}: ${parsed.message}`);
    this.#schedule = parsed;
    this.#deps = deps;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const ns = this.#source.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.#logger = ctx.logger.child({ source: this.name });
    const sink = new SinkDelivery({
      undelivered: 'answer',
      sender: ctx.sender,
      url: ctx.resolver.resolve(this.#source.spec.sink, ns),
      namespace: ns,
      logger: this.#logger,
      oidc: sourceOidc(this.#source, this.#source.spec.sink),
      metrics: sourceMetrics(ctx, this.#source, ns),
    });
    const now = this.#deps.now ?? ctx.now;
    const newId = this.#deps.newId ?? randomUUID;
    this.#scheduler = new CronScheduler(
      this.#schedule,
      () => {
        const event = makePingEvent(this.#source, newId(), now());
        if (this.#waiting >= MAX_WAITING_EVENTS) {
          this.#logger.error({ ceId: event.attributes['id'], waiting: this.#waiting }, `ping event lost: ${this.#waiting} events already wait for the sink`);
          return;
        }
        const p = this.#deliver(sink, event);
        this.#inFlight.add(p);
        void p.finally(() => this.#inFlight.delete(p));
      },
      { now, ...(this.#deps.timers ? { timers: this.#deps.timers } : {}) },
    );
    const first = this.#scheduler.start();
    // Knative's PingSource status: SinkProvided and the resolved sinkUri (kn source ping describe shows it).
    ctx.reportStatus('PingSource', ns, this.#source.metadata.name, [{ type: 'SinkProvided', status: 'True' }], { sinkUri: sink.url });
    this.#logger.info(
      { schedule: this.#schedule.expression, timezone: this.#schedule.timezone, sink: sink.url, next: first === undefined ? null : new Date(first).toISOString() },
      'ping source scheduled',
    );
  }

  /**
   * Sends one tick's event. When the sink cannot take it yet (it does not exist yet, is down, answers 404, 429 or
   * 5xx) after the source's retries, the event is kept and sent again, 1 s doubling to 30 s between tries, until the
   * sink takes it: a sink declared or started after the source gets every event. A refusal (another 4xx) is final.
   */
  async #deliver(sink: SinkDelivery, event: CloudEvent): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff(KEEP_TRYING_FIRST_MS, KEEP_TRYING_MAX_MS);
    let counted = false;
    try {
      for (;;) {
        const r = await sink.deliver(event, { signal, keepTrying: true });
        if (r.kind === 'accepted') {
          if (counted) this.#logger.info({ ceId: event.attributes['id'], sink: sink.url }, 'the sink took a ping event it could not take before');
          return;
        }
        if (!r.retryable) {
          this.#logger.error({ ceId: event.attributes['id'], status: r.status }, 'ping event lost (the sink refused it)');
          return;
        }
        if (signal.aborted) {
          this.#logger.warn({ ceId: event.attributes['id'] }, 'ping event not sent: the source stopped while its sink could not take it');
          return;
        }
        if (!counted) {
          counted = true;
          this.#waiting++;
          if (this.#waiting === 1)
            this.#logger.warn(
              { sink: sink.url, status: r.status ?? null, reason: r.reason },
              `the sink cannot take ping events yet (${r.status === undefined ? r.reason : `HTTP ${r.status}`}): they are kept and sent again until it does (at most ${MAX_WAITING_EVENTS} wait)`,
            );
        }
        await sleep(backoff.next(), signal);
      }
    } finally {
      if (counted) this.#waiting--;
    }
  }

  async stop(): Promise<void> {
    this.#scheduler?.stop();
    // Stop retrying; let the attempts in flight finish so nothing is cut mid-request.
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }
}

import { SluiceError, TRACEPARENT_EXTENSION, TRACESTATE_EXTENSION, type AttributeValue, type CloudEvent, type TraceContext } from '@sluice/core';

/** Extension carrying the reply hop budget (Knative's loop guard). */
export const TTL_EXTENSION = 'knativebrokerttl';
/** Extension set to the time the broker received the event. */
export const ARRIVAL_TIME_EXTENSION = 'knativearrivaltime';
/** Hop budget given to events that arrive without one (Knative's default). */
export const DEFAULT_MAX_TTL = 255;

/**
 * Prepares an accepted event for the broker log as Knative's ingress does: sets `knativearrivaltime`, and gives the
 * event a hop budget or spends one hop of it. Throws SLUICE_EVENT_TTL_EXCEEDED when the budget is gone.
 * `trace` (the request's trace context) is stored as the distributed-tracing extension when the event has none, so
 * every delivery, reply and dead-letter of the event continues that trace.
 */
export function admitEvent(event: CloudEvent, nowMs: number, maxTtl = DEFAULT_MAX_TTL, trace?: TraceContext): CloudEvent {
  // Object.assign, not a spread: V8 gives a spread copy a map that the two properties added below turn slow
  // (measured: 4–5 µs per event with the spread, 0.7–0.8 µs like this, with the cached timestamp below).
  const attributes: Record<string, AttributeValue> = Object.assign({}, event.attributes);
  if (trace && attributes[TRACEPARENT_EXTENSION] === undefined) {
    attributes[TRACEPARENT_EXTENSION] = trace.traceparent;
    if (trace.tracestate) attributes[TRACESTATE_EXTENSION] = trace.tracestate;
  }
  const raw = attributes[TTL_EXTENSION];
  if (raw === undefined) {
    attributes[TTL_EXTENSION] = maxTtl;
  } else {
    const ttl = typeof raw === 'number' ? raw : Number.parseInt(String(raw), 10);
    if (!Number.isFinite(ttl)) {
      throw new SluiceError('SLUICE_EVENT_INVALID', `extension ${TTL_EXTENSION} must be an integer, got ${JSON.stringify(raw)}`);
    }
    const next = Math.min(ttl, maxTtl) - 1;
    if (next <= 0) {
      throw new SluiceError('SLUICE_EVENT_TTL_EXCEEDED', `event ${String(attributes['id'])} dropped: ${TTL_EXTENSION} exhausted (reply loop?)`);
    }
    attributes[TTL_EXTENSION] = next;
  }
  attributes[ARRIVAL_TIME_EXTENSION] = isoTime(nowMs);
  return { attributes, data: event.data };
}

let lastMs = Number.NaN;
let lastIso = '';
let lastSecond = Number.NaN;
/** `2026-12-06T16:40:55.` of the last second formatted. */
let secondPrefix = '';

/**
 * `new Date(ms).toISOString()`, remembered for the last millisecond, and for the last second up to its milliseconds:
 * a `Date` and its formatting (about 1 µs) once a second instead of once an event.
 */
function isoTime(ms: number): string {
  if (ms === lastMs) return lastIso;
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond || !Number.isInteger(ms)) {
    const iso = new Date(ms).toISOString(); // also what a fractional ms or a year beyond 9999 gives
    lastSecond = Number.isInteger(ms) && iso.length === 24 ? second : Number.NaN;
    secondPrefix = iso.slice(0, 20);
    lastMs = ms;
    lastIso = iso;
    return iso;
  }
  const milli = ms - second * 1000;
  lastIso = `${secondPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  lastMs = ms;
  return lastIso;
}

/** The event a subscriber sees: the broker's hop budget is internal and removed (Knative's filter does the same). */
export function withoutTtl(event: CloudEvent): { event: CloudEvent; ttl: number | undefined } {
  const raw = event.attributes[TTL_EXTENSION];
  if (raw === undefined) return { event, ttl: undefined };
  // Every trigger of a broker delivers the same stored event: strip it once and share the result (and with it the
  // sender's cached encoding).
  let stripped = (event as StrippedCache)[STRIPPED];
  if (!stripped) {
    // Copied without the key rather than deleted from a copy: a delete turns the object into a slow dictionary, which
    // every encoding of the event then iterates. A for-in loop, not Object.entries: no array of pairs per event.
    const attributes: Record<string, AttributeValue> = {};
    const source = event.attributes;
    for (const k in source) if (k !== TTL_EXTENSION) attributes[k] = source[k]!;
    stripped = { attributes, data: event.data };
    // Kept on the event itself, not in a WeakMap: a hidden property costs less than half of a WeakMap entry, and
    // the collector has no ephemerons to trace (docs/benchmarks.md, "CPU per event"). Non-enumerable, so a spread or
    // Object.assign of the event never carries it to another event. A frozen event (a plugin's) is stripped each time.
    if (Object.isExtensible(event)) Object.defineProperty(event, STRIPPED, { value: stripped });
  }
  return { event: stripped, ttl: typeof raw === 'number' ? raw : Number.parseInt(String(raw), 10) };
}

const STRIPPED = Symbol('sluice.withoutTtl');
type StrippedCache = CloudEvent & { [STRIPPED]?: CloudEvent };

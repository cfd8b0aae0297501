import express, { type Request, type Response, type Router } from 'express';
import { compileCesqlFilter, logName, type CloudEvent, type EventPredicate } from '@sluice/core';
import { adminError } from './errors.js';

/** What a tail follows: a broker, or a channel (any channel kind), by namespace and name. */
export interface TailTarget {
  readonly kind: 'broker' | 'channel';
  readonly namespace: string;
  readonly name: string;
}

/** An event as the tail streams it: attributes, and data as text (or base64 when it is not UTF-8 text). */
export interface TailedEvent {
  /** `Kind namespace/name` of the ingress that accepted it. */
  readonly at: string;
  readonly attributes: Record<string, unknown>;
  readonly data?: string;
  readonly data_base64?: string;
  /** Set on events sent from what the broker still keeps (`since`), before the live ones. */
  readonly retained?: true;
}

/** An event a broker still keeps, with its position in the broker's log. */
export interface RetainedEvent {
  readonly seq: number;
  readonly event: CloudEvent;
}

/** The running Sluice as the tail route needs it (implemented over the runtime by the CLI). */
export interface TailAdmin {
  /** The resource's display kind (`Broker`, `InMemoryChannel`, …) when it is declared, else undefined. */
  find(target: TailTarget): string | undefined;
  /** Copies events accepted at `target` from now on that match to `send`, until the returned function is called. */
  listen(target: TailTarget, matches: EventPredicate, send: (event: CloudEvent) => void): () => void;
  /**
   * One page of what a broker still keeps (its archive, then its log), in log order after `afterSeq`: `events`
   * accepted at or after `since` (epoch ms), and `scanned`, the last position looked at (undefined when there is
   * nothing more). Undefined when the target keeps no archive.
   */
  retained(target: TailTarget, since: number, afterSeq: number, limit: number): { readonly events: readonly RetainedEvent[]; readonly scanned: number | undefined } | undefined;
  /**
   * What a broker whose archive is read asynchronously (a Kafka-class broker's topic) keeps of the events accepted in
   * [since, until], a page at a time in log order; asked when {@link retained} answers undefined. Undefined when the
   * target keeps no such archive.
   */
  retainedPages?(target: TailTarget, since: number, until: number): AsyncIterable<readonly RetainedEvent[]> | undefined;
}

/** A tail being followed, as `GET /api/v1/tails` lists it. */
interface OpenTail {
  /** `broker:ns/name` or `channel:ns/name` (the name of the log it follows). */
  readonly target: string;
  readonly filter?: string;
  /** When it began (ISO-8601). */
  readonly since: string;
}

/** Events one tail client may have unsent before further events are skipped (and counted): a slow client never grows memory. */
const TAIL_BACKLOG_BYTES = 1024 * 1024;
/** Live events held while the retained ones are sent; beyond it they are skipped and counted. */
const HELD_LIVE_EVENTS = 10_000;
const RETAINED_PAGE = 500;
/** Retained events accepted this close before the tail began may also arrive live (they were being stored). */
const RECENT_MS = 10_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function tailed(at: string, event: CloudEvent, retained: boolean): TailedEvent {
  const extra = retained ? { retained: true as const } : {};
  if (event.data === undefined) return { at, attributes: event.attributes, ...extra };
  try {
    return { at, attributes: event.attributes, data: utf8.decode(event.data), ...extra };
  } catch {
    return { at, attributes: event.attributes, data_base64: event.data.toString('base64'), ...extra };
  }
}

/** `since` as epoch ms or an ISO-8601 time. */
function sinceOf(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms)) throw adminError('SLUICE_BAD_REQUEST', `since must be an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

const arrival = (e: CloudEvent): number => {
  const t = e.attributes['knativearrivaltime'];
  return typeof t === 'string' ? Date.parse(t) : NaN;
};
const keyOf = (e: CloudEvent): string => `${String(e.attributes['source'])}\u0000${String(e.attributes['id'])}`;

/**
 * `GET /api/v1/brokers/{ns}/{name}/events` and `GET /api/v1/channels/{ns}/{name}/events` (`?filter=CESQL`,
 * `&since=TIME`): Server-Sent Events of what that broker or channel accepts from now on, `event: cloudevent` with a
 * {@link TailedEvent} each. The tail is an observer of the ingress: it creates no subscription and stores nothing, so
 * a client that goes away leaves nothing behind. With `since`, what the broker still keeps from that time (its archive
 * and its log) comes first, marked `retained`; a target that keeps no archive says so in an `event: notice`.
 * `event: live` separates the two; `event: skipped` counts events a slow client missed. Mount at `/api/v1`.
 */
export function tailRoutes(admin: () => TailAdmin): Router {
  const router = express.Router();
  const open = new Set<OpenTail>();
  // `GET /api/v1/tails`: the tails open now (an operator can see who follows what; one that ended is gone).
  router.get('/tails', (_req, res) => {
    res.json({ items: [...open] });
  });
  const tail = (a: TailAdmin, target: TailTarget, req: Request, res: Response): void => {
    const entry: OpenTail = {
      target: logName(target),
      ...(typeof req.query['filter'] === 'string' && req.query['filter'] !== '' ? { filter: req.query['filter'] } : {}),
      since: new Date().toISOString(),
    };
    follow(a, target, req, res, () => open.add(entry));
    res.on('close', () => open.delete(entry));
  };
  router.get('/brokers/:namespace/:name/events', (req, res) => tail(admin(), { kind: 'broker', namespace: String(req.params['namespace']), name: String(req.params['name']) }, req, res));
  router.get('/channels/:namespace/:name/events', (req, res) => tail(admin(), { kind: 'channel', namespace: String(req.params['namespace']), name: String(req.params['name']) }, req, res));
  return router;
}

function follow(a: TailAdmin, target: TailTarget, req: Request, res: Response, opened: () => void): void {
  const kind = a.find(target);
  if (kind === undefined) throw adminError('SLUICE_NOT_FOUND', `${target.kind} ${target.namespace}/${target.name} not found`);
  const matches = filterOf(req.query['filter']);
  const since = sinceOf(req.query['since']);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': tailing\n\n');
  opened();
  const stream = new TailStream(res, `${kind} ${target.namespace}/${target.name}`, matches, since !== undefined);
  // Live events are listened to before the retained ones are read, so none falls between the two.
  const stop = a.listen(target, stream.matches, (event) => stream.live(event));
  // The response's close (the client went away, or the server stops): the listener goes with it.
  res.on('close', () => {
    stream.closed = true;
    stop();
  });
  if (since !== undefined) sendRetained(a, target, since, stream);
}

/** The `filter` query parameter as a predicate (every event when there is none). */
function filterOf(value: unknown): EventPredicate {
  const filter = typeof value === 'string' ? value.trim() : '';
  if (filter === '') return () => true;
  let matches: EventPredicate;
  try {
    matches = compileCesqlFilter(filter);
  } catch (err) {
    const position = (err as { position?: unknown }).position;
    throw adminError('SLUICE_CESQL_INVALID', `filter: ${(err as Error).message}`, typeof position === 'number' ? { position } : {});
  }
  return (e) => {
    try {
      return matches(e);
    } catch {
      return false; // an expression that fails on one event does not match it (as a trigger's filter)
    }
  };
}

/**
 * One tail's event stream. While the retained events are sent, live ones wait (bounded). An event accepted just
 * before the tail began can be read both ways: `recent` (retained events of the last seconds before the start) keeps
 * it from being sent twice.
 */
class TailStream {
  closed = false;
  /** When the tail began (epoch ms): retained events are those accepted before. */
  readonly started = Date.now();
  #skipped = 0;
  #held: CloudEvent[] | undefined;
  readonly #recent = new Set<string>();

  constructor(
    private readonly res: Response,
    readonly at: string,
    readonly matches: EventPredicate,
    holdLive: boolean,
  ) {
    if (holdLive) this.#held = [];
  }

  /** A live event that matched. */
  live(event: CloudEvent): void {
    if (this.#held) {
      if (this.#held.length < HELD_LIVE_EVENTS) this.#held.push(event);
      else this.#skipped++;
    } else if (this.#recent.size === 0 || !this.#recent.delete(keyOf(event))) this.#write(event, false);
  }

  /** Retained events, in log order; those accepted after the tail began reach it live. */
  retained(events: readonly RetainedEvent[]): void {
    for (const r of events) {
      const t = arrival(r.event);
      if (!(t < this.started) || !this.matches(r.event)) continue;
      if (t >= this.started - RECENT_MS) this.#recent.add(keyOf(r.event));
      this.#write(r.event, true);
    }
  }

  /** The retained events are sent: the live ones held meanwhile follow, then each as it comes. */
  goLive(): void {
    const waiting = this.#held ?? [];
    this.#held = undefined;
    this.res.write('event: live\ndata: {}\n\n');
    for (const e of waiting) this.live(e);
  }

  notice(message: string): void {
    this.res.write(`event: notice\ndata: ${JSON.stringify(message)}\n\n`);
  }

  #write(event: CloudEvent, retained: boolean): void {
    if (this.res.writableLength > TAIL_BACKLOG_BYTES) {
      this.#skipped++;
      return;
    }
    if (this.#skipped > 0) {
      this.res.write(`event: skipped\ndata: ${this.#skipped}\n\n`);
      this.#skipped = 0;
    }
    this.res.write(`event: cloudevent\ndata: ${JSON.stringify(tailed(this.at, event, retained))}\n\n`);
  }
}

/** Sends what the target still keeps since `since` (a page at a time, never more than a page in memory), then goes live. */
function sendRetained(a: TailAdmin, target: TailTarget, since: number, stream: TailStream): void {
  const first = a.retained(target, since, 0, RETAINED_PAGE);
  const pages = first ? undefined : a.retainedPages?.(target, since, stream.started);
  if (pages) {
    // Read a page at a time (the topic is read only as fast as the pages are sent), then go live.
    void (async () => {
      try {
        for await (const p of pages) {
          if (stream.closed) return;
          stream.retained(p);
        }
      } catch (err) {
        stream.notice(`reading what ${stream.at} keeps failed (${(err as Error).message}): only live events are shown from here`);
      }
      if (!stream.closed) stream.goLive();
    })();
    return;
  }
  if (!first) {
    stream.notice(`${stream.at} keeps no archive (the sluice.dev/archive-retention annotation of a Broker): only live events are shown`);
    stream.goLive();
    return;
  }
  // Pages are read one per loop turn, so a large archive neither blocks the process nor holds more than a page.
  const page = (p: NonNullable<ReturnType<TailAdmin['retained']>>): void => {
    if (stream.closed) return;
    stream.retained(p.events);
    if (p.scanned === undefined) return stream.goLive();
    const after = p.scanned;
    setImmediate(() => {
      if (stream.closed) return;
      const next = a.retained(target, since, after, RETAINED_PAGE);
      if (next) page(next);
      else stream.goLive();
    });
  };
  page(first);
}

import express, { type Request, type Router } from 'express';
import { compileCesqlFilter, type CloudEvent, type EventPredicate } from '@sluice/core';
import { adminError } from './errors.js';

/** A dead letter as the admin API shows it. */
export interface DeadLetterView {
  readonly id: number;
  /** `namespace/name` of the broker. */
  readonly broker: string;
  /** `namespace/name` of the trigger whose delivery failed. */
  readonly trigger: string;
  readonly reason: string;
  readonly attempts: number;
  readonly replays: number;
  /** ISO times. */
  readonly firstAttemptAt: string | undefined;
  readonly lastAttemptAt: string;
  readonly storedAt: string;
  readonly event: CloudEvent;
}

/** Which dead letters of a broker a request means (all given conditions hold). */
export interface DeadLetterSelection {
  /** `namespace/name` of a trigger. */
  readonly trigger?: string;
  /** `storedAt` range, epoch ms, inclusive. */
  readonly from?: number;
  readonly to?: number;
  readonly type?: string;
  readonly source?: string;
  /** A CESQL expression over the stored event. */
  readonly filter?: string;
}

/** What a replay did. */
export interface ReplayReport {
  /** Delivered and removed from the store. */
  readonly replayed: number;
  /** Failed again: back in the store with the new error. */
  readonly failed: number;
  /** Not attempted: the trigger no longer exists and no `to` was given. */
  readonly skipped: number;
}

/** The dead-letter stores of a running Sluice, for the admin API (implemented over the runtime by the CLI). */
export interface DeadLetterAdmin {
  /** `namespace/name` of every broker with its dead-letter figures. */
  brokers(): ReadonlyArray<{ readonly broker: string; readonly count: number; readonly bytes: number; readonly dropped: number }>;
  /** One page in id order after `afterId` (store-side conditions only: trigger and time). */
  page(broker: string, selection: DeadLetterSelection, afterId: number, limit: number): DeadLetterView[];
  get(broker: string, id: number): DeadLetterView | undefined;
  /** Replays the given letters to their trigger's subscriber (or `to`), at most `rate` per second. */
  replay(broker: string, ids: readonly number[], options: { readonly to?: string; readonly rate: number }): Promise<ReplayReport>;
  purge(broker: string, ids: readonly number[]): Promise<number>;
}

const PAGE = 500;
const MAX_RATE = 10_000;

function num(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw adminError('SLUICE_BAD_REQUEST', `${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

/** A time as epoch ms or ISO-8601. */
function time(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number') return value;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms)) throw adminError('SLUICE_BAD_REQUEST', `${name} must be an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function selectionOf(src: Record<string, unknown>): DeadLetterSelection {
  const trigger = str(src['trigger']);
  const from = time(src['from'], 'from');
  const to = time(src['to'], 'to');
  const type = str(src['type']);
  const source = str(src['source']);
  const filter = str(src['filter']);
  return {
    ...(trigger === undefined ? {} : { trigger }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(type === undefined ? {} : { type }),
    ...(source === undefined ? {} : { source }),
    ...(filter === undefined ? {} : { filter }),
  };
}

/** The event-side conditions (type, source, CESQL) as one predicate; a bad CESQL expression is a 400. */
function predicateOf(sel: DeadLetterSelection): EventPredicate {
  let cesql: EventPredicate | undefined;
  if (sel.filter !== undefined) {
    try {
      cesql = compileCesqlFilter(sel.filter);
    } catch (err) {
      throw adminError('SLUICE_CESQL_INVALID', `filter: ${(err as Error).message}`);
    }
  }
  return (e) => (sel.type === undefined || e.attributes['type'] === sel.type) && (sel.source === undefined || e.attributes['source'] === sel.source) && (cesql === undefined || cesql(e));
}

/**
 * Walks a broker's dead letters that match `sel`, a page at a time (memory stays bounded whatever the store holds),
 * handing each page's matches to `act`, until `limit` matched.
 */
async function walk(admin: DeadLetterAdmin, broker: string, sel: DeadLetterSelection, limit: number, act: (page: DeadLetterView[]) => Promise<void> | void): Promise<number> {
  const matches = predicateOf(sel);
  let after = 0;
  let seen = 0;
  for (;;) {
    const page = admin.page(broker, sel, after, PAGE);
    if (page.length === 0) return seen;
    after = page[page.length - 1]!.id;
    const hit = page.filter((l) => matches(l.event)).slice(0, limit - seen);
    seen += hit.length;
    if (hit.length > 0) await act(hit);
    if (seen >= limit || page.length < PAGE) return seen;
  }
}

function brokerOf(admin: DeadLetterAdmin, req: Request): string {
  const broker = `${String(req.params['namespace'])}/${String(req.params['broker'])}`;
  if (!admin.brokers().some((b) => b.broker === broker)) throw adminError('SLUICE_NOT_FOUND', `broker ${broker} not found`);
  return broker;
}

/** The ids a replay or purge request names: `ids`, or a selection with `all: true` (so an empty body does nothing). */
async function idsOf(admin: DeadLetterAdmin, broker: string, body: Record<string, unknown>): Promise<number[]> {
  if (Array.isArray(body['ids'])) {
    return body['ids'].map((v) => {
      const n = num(v, 'ids[]');
      if (n === undefined || !Number.isInteger(n)) throw adminError('SLUICE_BAD_REQUEST', `ids must be integers, got ${JSON.stringify(v)}`);
      return n;
    });
  }
  const sel = selectionOf(body);
  if (body['all'] !== true && Object.keys(sel).length === 0) {
    throw adminError('SLUICE_BAD_REQUEST', 'name the dead letters: "ids", a selection (trigger, from, to, type, source, filter), or "all": true');
  }
  const ids: number[] = [];
  await walk(admin, broker, sel, Number.MAX_SAFE_INTEGER, (page) => void ids.push(...page.map((l) => l.id)));
  return ids;
}

/**
 * Routes of the dead-letter stores, to mount at `/api/v1/deadletters`:
 * - `GET /` — brokers with their dead-letter count, bytes and drops;
 * - `GET /{ns}/{broker}?trigger=&from=&to=&type=&source=&filter=&limit=&after=` — a page of dead letters (`next` = the
 *   `after` of the next page);
 * - `GET /{ns}/{broker}/{id}` — one dead letter;
 * - `POST /{ns}/{broker}/replay` `{ids | selection | all, destination?, rate?}` — replays, returns a {@link ReplayReport};
 * - `POST /{ns}/{broker}/purge` `{ids | selection | all}` — removes, returns `{purged}`.
 */
export function deadLetterRoutes(admin: () => DeadLetterAdmin): Router {
  const router = express.Router();
  router.get('/', (_req, res) => {
    res.json({ items: admin().brokers() });
  });
  router.get('/:namespace/:broker', async (req, res) => {
    const a = admin();
    const broker = brokerOf(a, req);
    const q = req.query as Record<string, unknown>;
    const limit = Math.min(num(q['limit'], 'limit') ?? 100, 10_000);
    const after = num(q['after'], 'after') ?? 0;
    const sel = selectionOf(q);
    const matches = predicateOf(sel);
    const items: DeadLetterView[] = [];
    let cursor = after;
    let more = false;
    // Pages until `limit` matches; `next` lets the client continue where this stopped.
    for (;;) {
      const page = a.page(broker, sel, cursor, PAGE);
      for (const l of page) {
        cursor = l.id;
        if (!matches(l.event)) continue;
        items.push(l);
        if (items.length >= limit) break;
      }
      if (items.length >= limit) {
        more = a.page(broker, sel, cursor, 1).length > 0;
        break;
      }
      if (page.length < PAGE) break;
    }
    res.json({ items, ...(more ? { next: cursor } : {}) });
  });
  router.get('/:namespace/:broker/:id', (req, res) => {
    const a = admin();
    const broker = brokerOf(a, req);
    const id = num(req.params['id'], 'id');
    const letter = id === undefined ? undefined : a.get(broker, id);
    if (!letter) throw adminError('SLUICE_NOT_FOUND', `no dead letter ${String(req.params['id'])} in broker ${broker}`);
    res.json(letter);
  });
  router.post('/:namespace/:broker/replay', async (req, res) => {
    const a = admin();
    const broker = brokerOf(a, req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const rate = num(body['rate'], 'rate') ?? 100;
    if (rate <= 0 || rate > MAX_RATE) throw adminError('SLUICE_BAD_REQUEST', `rate must be between 0 and ${MAX_RATE} events per second, got ${rate}`);
    const to = str(body['destination']);
    if (to !== undefined && !/^https?:\/\//.test(to)) throw adminError('SLUICE_BAD_REQUEST', `destination must be an http(s) URL, got ${JSON.stringify(to)}`);
    const ids = await idsOf(a, broker, body);
    res.json(await a.replay(broker, ids, { rate, ...(to === undefined ? {} : { to }) }));
  });
  router.post('/:namespace/:broker/purge', async (req, res) => {
    const a = admin();
    const broker = brokerOf(a, req);
    const ids = await idsOf(a, broker, (req.body ?? {}) as Record<string, unknown>);
    res.json({ purged: await a.purge(broker, ids) });
  });
  return router;
}

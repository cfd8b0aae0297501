import express, { type Router } from 'express';
import { compileCesqlFilter, type EventPredicate } from '@sluice/core';
import { adminError } from './errors.js';

/** What an archive replay did. */
export interface ArchiveReplayResult {
  /** Archived events in the time range that passed the filter. */
  readonly events: number;
  readonly replayed: number;
  /** Failed deliveries, kept as dead letters of their trigger. */
  readonly failed: number;
}

/** The archives of a running Sluice, for the admin API. */
export interface ArchiveAdmin {
  /** `namespace/name` of every broker, and whether it keeps an archive. */
  brokers(): ReadonlyArray<{ readonly broker: string; readonly archived: boolean; readonly count: number; readonly bytes: number }>;
  replay(broker: string, options: { readonly from: number; readonly to: number; readonly trigger?: string; readonly filter?: EventPredicate; readonly rate: number }): Promise<ArchiveReplayResult>;
}

function time(value: unknown, name: string): number {
  const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (s === '' || !Number.isFinite(ms)) throw adminError('SLUICE_BAD_REQUEST', `${name} must be an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

/**
 * `GET /api/v1/archive`: brokers, whether they archive, and how many events (bytes) their archive holds.
 * `POST /api/v1/archive/{ns}/{broker}/replay` `{from, to, trigger?, filter?, rate?}`: re-delivers the broker's
 * archived events accepted in [from, to] (to one trigger `ns/name`, or every trigger whose filter matches), answering
 * with an {@link ArchiveReplayResult} when done. Mount at `/api/v1/archive`.
 */
export function archiveRoutes(admin: () => ArchiveAdmin): Router {
  const router = express.Router();
  router.get('/', (_req, res) => {
    res.json({ items: admin().brokers() });
  });
  router.post('/:namespace/:broker/replay', async (req, res) => {
    const a = admin();
    const broker = `${String(req.params['namespace'])}/${String(req.params['broker'])}`;
    const known = a.brokers().find((b) => b.broker === broker);
    if (!known) throw adminError('SLUICE_NOT_FOUND', `broker ${broker} not found`);
    if (!known.archived) throw adminError('SLUICE_ARCHIVE_OFF', `broker ${broker} keeps no archive (set the sluice.dev/archive-retention annotation)`);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const from = time(body['from'], 'from');
    const to = time(body['to'], 'to');
    if (to < from) throw adminError('SLUICE_BAD_REQUEST', 'to is before from');
    const rate = body['rate'] === undefined ? 100 : Number(body['rate']);
    if (!Number.isFinite(rate) || rate <= 0 || rate > 10_000) throw adminError('SLUICE_BAD_REQUEST', `rate must be between 0 and 10000 events per second, got ${JSON.stringify(body['rate'])}`);
    let filter: EventPredicate | undefined;
    if (typeof body['filter'] === 'string' && body['filter'] !== '') {
      try {
        filter = compileCesqlFilter(body['filter']);
      } catch (err) {
        throw adminError('SLUICE_CESQL_INVALID', `filter: ${(err as Error).message}`);
      }
    }
    const trigger = typeof body['trigger'] === 'string' && body['trigger'] !== '' ? body['trigger'] : undefined;
    res.json(await a.replay(broker, { from, to, rate, ...(trigger ? { trigger } : {}), ...(filter ? { filter } : {}) }));
  });
  return router;
}

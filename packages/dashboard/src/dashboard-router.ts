import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { adminError, type ControlPlane } from '@sluice/admin';
import { compileCesqlFilter, type EventPredicate } from '@sluice/core';
import type { EventTail } from './event-tail.js';

/**
 * The built web assets: beside the package's `dist/` in the repository and in the installed package (the bundle of
 * `scripts/pack.mjs` sits in `dist/` with `assets/` beside it), so no build step is needed where Sluice runs.
 */
export const ASSETS_DIR = fileURLToPath(new URL('../assets/', import.meta.url));

/** Options of {@link dashboardRouter}. */
export interface DashboardOptions {
  /** Interval of the live snapshots on `/ui/api/stream` (default 1 s). */
  readonly intervalMs?: number;
  /** Where the built assets are (default {@link ASSETS_DIR}). */
  readonly assetsDir?: string;
  /** The live tail of accepted events (`/ui/api/tail`); without it that route answers 404. */
  readonly tail?: EventTail;
}

/** Events one tail client may have unsent before it is told it fell behind and further events are skipped. */
const TAIL_BACKLOG_BYTES = 1024 * 1024;

/**
 * The dashboard, mounted on the admin server at `/ui`: the single-page app, and `GET /ui/api/stream`, a Server-Sent
 * Events stream of every resource with its status and live figures, once per interval (a snapshot, so a client that
 * reconnects needs nothing else). The app reads and acts through the admin API's own routes; the dashboard adds no
 * power of its own.
 */
export function dashboardRouter(plane: () => ControlPlane | undefined, options: DashboardOptions = {}): Router {
  const router = express.Router();
  const intervalMs = options.intervalMs ?? 1000;
  const assets = options.assetsDir ?? ASSETS_DIR;

  router.get('/api/stream', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (): void => {
      const p = plane();
      const snapshot = p ? { at: Date.now(), ready: p.readiness(), resources: p.resources() } : { at: Date.now(), starting: true };
      res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    };
    send();
    const timer = setInterval(send, intervalMs);
    req.on('close', () => clearInterval(timer));
  });

  // GET /ui/api/tail?broker=ns/name[&filter=CESQL]: Server-Sent Events of what that broker (or channel) accepts from
  // now on. A slow page is not allowed to grow memory: past TAIL_BACKLOG_BYTES unsent, events are skipped and counted.
  router.get('/api/tail', (req, res) => {
    const tail = options.tail;
    if (!tail) throw adminError(404, 'SLUICE_NOT_FOUND', 'the event tail is not enabled');
    const at = typeof req.query['broker'] === 'string' ? req.query['broker'] : '';
    const m = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(at);
    if (!m) throw adminError(400, 'SLUICE_BAD_REQUEST', `broker must be namespace/name, got ${JSON.stringify(at)}`);
    let matches: EventPredicate = () => true;
    const filter = typeof req.query['filter'] === 'string' ? req.query['filter'].trim() : '';
    if (filter !== '') {
      try {
        matches = compileCesqlFilter(filter);
      } catch (err) {
        throw adminError(400, 'SLUICE_CESQL_INVALID', `filter: ${(err as Error).message}`, { cause: String(err) });
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': tailing\n\n');
    let skipped = 0;
    const stop = tail.listen(m[1]!, m[2]!, matches, (event) => {
      if (res.writableLength > TAIL_BACKLOG_BYTES) {
        skipped++;
        return;
      }
      if (skipped > 0) {
        res.write(`event: skipped\ndata: ${skipped}\n\n`);
        skipped = 0;
      }
      res.write(`event: cloudevent\ndata: ${JSON.stringify(event)}\n\n`);
    });
    req.on('close', stop);
  });

  if (existsSync(assets)) {
    router.use(express.static(assets, { index: 'index.html', maxAge: 0 }));
  } else {
    router.get('/', (_req, res) => {
      res.status(503).type('text/plain').send('the dashboard assets are not built: run `npm run build` in the repository\n');
    });
  }
  return router;
}

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import type { ControlPlane } from '@sluice/admin';

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
}

/**
 * The dashboard's data, mounted on the admin server at `/ui` behind its authentication: `GET /ui/api/stream`, a
 * Server-Sent Events stream of every resource with its status and live figures, once per interval (a snapshot, so a
 * client that reconnects needs nothing else). The page itself is {@link dashboardAssets}. The app reads and acts through the admin API's own routes; the dashboard adds no
 * power of its own; its live event tail is the admin API's `GET /api/v1/{brokers|channels}/{ns}/{name}/events`.
 */
export function dashboardRouter(plane: () => ControlPlane | undefined, options: DashboardOptions = {}): Router {
  const router = express.Router();
  const intervalMs = options.intervalMs ?? 1000;

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

  return router;
}

/**
 * The single-page app's static files, to mount at `/ui` with `AdminServer.mountPublic`: they hold no data of the
 * running Sluice, so a browser can load the page before it has a token.
 */
export function dashboardAssets(options: Pick<DashboardOptions, 'assetsDir'> = {}): Router {
  const router = express.Router();
  const assets = options.assetsDir ?? ASSETS_DIR;
  if (existsSync(assets)) {
    router.use(express.static(assets, { index: 'index.html', maxAge: 0 }));
  } else {
    router.get('/', (_req, res) => {
      res.status(503).type('text/plain').send('the dashboard assets are not built: run `npm run build` in the repository\n');
    });
  }
  return router;
}

import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { SluiceError, errorStatus, isSluiceError, noopLogger, redactCredentials, redactUrlsIn, type Logger } from '@sluice/core';
import { identityOf, type AdminAuth } from './admin-auth.js';
import type { ControlPlane } from './control-plane.js';
import { adminError } from './errors.js';
import { resourceRoutes } from './resources-api.js';

/** Default address of the admin API: loopback only, one above the quickstart's event-display port range. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
/** Default port of the admin API (the quickstart uses 8080 for ingress and 8081 for the event display). */
export const DEFAULT_ADMIN_PORT = 8090;

/** Options of {@link AdminServer.start}. */
export interface AdminServerOptions {
  readonly host?: string;
  /** 0 picks a free port (tests run many Sluice processes at once). */
  readonly port?: number;
  /** The running Sluice; may be set later with {@link AdminServer.setControlPlane} (readiness is 503 until then). */
  readonly plane?: ControlPlane;
  readonly logger?: Logger;
  /**
   * Who may read and change (docs/security.md#the-admin-api). Without it every request is allowed: for tests and
   * embedding; `sluice run` always sets it.
   */
  readonly auth?: AdminAuth;
  /**
   * The server to listen with, made without a request handler: an HTTPS server for TLS (the CLI makes it with the
   * ingress's reloading certificate support). Default a plain HTTP server.
   */
  readonly server?: Server | HttpsServer;
}

/** The HTTP status of an error thrown by a route: its code's, else express's (400 for malformed bodies), else 500. */
function statusOf(err: unknown): number {
  if (isSluiceError(err)) return errorStatus(err.code);
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
}

/**
 * The admin HTTP API: an express app on its own port (never the ingress port), JSON in and out, JSON errors.
 * Other packages add routes with {@link mount} (e.g. `/metrics`); they are served before the JSON 404.
 */
export class AdminServer {
  readonly app: Express;
  readonly #server: Server | HttpsServer;
  readonly #extensions: Router;
  readonly #public: Router;
  readonly #tls: boolean;
  readonly #logger: Logger;
  #plane: ControlPlane | undefined;
  #url = '';

  private constructor(options: AdminServerOptions) {
    this.#plane = options.plane;
    this.#logger = options.logger ?? noopLogger;
    const app = express();
    app.disable('x-powered-by');
    app.set('json spaces', 2);
    // Every answer: no framing by another site (clickjacking of the dashboard's buttons), no content sniffing, no
    // Referer leaving the admin origin, and nothing kept by caches.
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('content-security-policy', "frame-ancestors 'none'");
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('cache-control', 'no-store');
      next();
    });
    // No password of a URL (`http://user:password@host`) leaves through this API, whatever the role and the route:
    // every JSON answer, text answer and streamed chunk (the dashboard's snapshots, tail) shows it as `***`. The
    // running configuration keeps the real value; `edit` applies YAML and never needs to read a secret back.
    app.use((_req: Request, res: Response, next: NextFunction) => {
      const json = res.json.bind(res);
      res.json = (body?: unknown) => json(redactCredentials(body));
      const send = res.send.bind(res);
      res.send = (body?: unknown) => send(typeof body === 'string' ? redactUrlsIn(body) : body);
      const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
      res.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? redactUrlsIn(chunk) : chunk, ...rest)) as Response['write'];
      next();
    });
    app.get('/livez', (_req, res) => void res.type('text/plain').send('ok\n'));
    app.get('/readyz', (_req, res) => {
      const r = this.#plane?.readiness() ?? { ready: false, reasons: ['starting'] };
      res.status(r.ready ? 200 : 503).json({ ready: r.ready, reasons: r.reasons });
    });
    // What carries no data (the dashboard's page and scripts) is served before authentication, so a browser can load
    // the page that then asks for a token.
    if (options.auth) app.use(options.auth.hostCheck());
    this.#public = express.Router();
    app.use(this.#public);
    // THE authorization point: everything below needs `view` for GET/HEAD/OPTIONS and `edit` for any other method
    // (admin-auth.ts). A route added with mount() or below is covered without doing anything.
    if (options.auth) {
      app.use(options.auth.middleware());
      // Each change is logged with who made it.
      const logger = this.#logger;
      app.use((req: Request, res: Response, next: NextFunction) => {
        if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
          logger.info({ method: req.method, path: req.path, by: identityOf(res)?.name }, `admin API: ${req.method} ${req.path} by ${identityOf(res)?.name ?? 'unknown'}`);
        }
        next();
      });
    }
    // Bodies are parsed only once the caller is known: an unauthenticated request costs no parsing.
    app.use(express.json({ limit: '8mb' }));
    // Who the caller is, as `kubectl auth whoami` asks: the dashboard enables its actions from the role.
    app.get('/api/v1/whoami', (_req, res) => {
      const identity = identityOf(res);
      res.json(identity ?? { name: 'anonymous', role: 'edit', anonymous: true });
    });
    // Mounted routes come before the resource routes, so a package can serve `/api/v1/<something>` of its own.
    this.#extensions = express.Router();
    app.use(this.#extensions);
    app.use(
      '/api/v1',
      resourceRoutes(() => this.#requirePlane()),
    );
    app.use((req: Request, _res: Response, next: NextFunction) => next(adminError('SLUICE_NOT_FOUND', `no admin endpoint ${req.method} ${req.path}`)));
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      const status = statusOf(err);
      const code = isSluiceError(err) ? err.code : status === 400 ? 'SLUICE_BAD_REQUEST' : 'SLUICE_INTERNAL';
      if (status >= 500) this.#logger.error({ err, path: req.path }, 'admin API error');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const details = isSluiceError(err) ? Object.fromEntries(Object.entries(err.details ?? {}).filter(([k]) => k !== 'status')) : {};
      res.status(status).json({ error: { code, message: (err as Error).message ?? String(err), ...(Object.keys(details).length > 0 ? { details } : {}) } });
    });
    this.app = app;
    this.#tls = options.server !== undefined && 'setSecureContext' in options.server;
    this.#server = options.server ?? createServer();
    this.#server.on('request', app);
  }

  /** Starts listening; rejects with SLUICE_ADMIN_LISTEN naming the address when the port cannot be bound. */
  static async start(options: AdminServerOptions = {}): Promise<AdminServer> {
    const admin = new AdminServer(options);
    const host = options.host ?? DEFAULT_ADMIN_HOST;
    const port = options.port ?? DEFAULT_ADMIN_PORT;
    await new Promise<void>((resolve, reject) => {
      admin.#server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(
          new SluiceError('SLUICE_ADMIN_LISTEN', `cannot serve the admin API on ${host}:${port}: ${why} (set --admin-port/SLUICE_ADMIN_PORT; 0 picks a free port)`, {
            cause: err,
          }),
        );
      });
      admin.#server.listen(port, host, () => resolve());
    });
    const addr = admin.#server.address() as AddressInfo;
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    admin.#url = `${admin.#tls ? 'https' : 'http'}://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${addr.port}`;
    return admin;
  }

  /** Base URL, e.g. `http://127.0.0.1:8090`. */
  get url(): string {
    return this.#url;
  }

  /** Connects the running Sluice (the API answers 503 SLUICE_NOT_READY until then). */
  setControlPlane(plane: ControlPlane): void {
    this.#plane = plane;
  }

  /**
   * Adds routes from another package or component, e.g. `admin.mount('/metrics', handler)` or a whole express
   * Router at `/api/v1/deadletters`. Mounted routes are served after `/livez` and `/readyz`, before the resource
   * routes and the JSON 404.
   */
  mount(path: string, ...handlers: RequestHandler[]): void {
    this.#extensions.use(path, ...handlers);
  }

  /**
   * Adds routes served without authentication, before every other route: only for what carries no data of the
   * running Sluice (the dashboard's static page and scripts). Anything that reads or changes state goes to {@link mount}.
   */
  mountPublic(path: string, ...handlers: RequestHandler[]): void {
    this.#public.use(path, ...handlers);
  }

  /** Stops listening and closes open connections (streams such as `tail` included). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #requirePlane(): ControlPlane {
    if (!this.#plane) throw adminError('SLUICE_NOT_READY', 'Sluice is starting');
    return this.#plane;
  }
}

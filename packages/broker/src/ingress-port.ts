import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteHandler } from '@sluice/plugin';
import { isRefused } from './connection-limits.js';
import { MAX_HEADER_FIELDS, refuse, sendError, tooManyHeaders } from './http-ingress.js';
import { DISCOVERY_PATH, JWKS_PATH, type OidcIssuer } from './oidc-issuer.js';

/** What the ingress port serves besides its guards, read at each request (the runtime replaces them while running). */
export interface PortHandlers {
  /** Sluice's OIDC issuer, whose discovery document and keys the port serves (when OIDC sending is on). */
  issuer(): OidcIssuer | undefined;
  /** Broker ingress: `/{namespace}/{broker}`. */
  ingress(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void>;
  /** The route a component registered for a first path segment (channels, sinks, sources), if any. */
  route(first: string): RouteHandler | undefined;
  /** Whether the runtime is ready (readyz). */
  ready(): boolean;
}

/**
 * Every request of the ingress port: OIDC discovery, broker ingress (`/{ns}/{name}`), component routes
 * (`/{kind}/{ns}/{name}…`), then health (livez, healthz, readyz), or a 400/404 for what nothing serves.
 */
export function serveRequest(req: IncomingMessage, res: ServerResponse, handlers: PortHandlers): void {
  if (isRefused(req.socket)) {
    req.socket.destroy(); // already answered 503 by the connection caps
    return;
  }
  if (tooManyHeaders(req)) {
    refuse(req, res, 'SLUICE_TOO_MANY_HEADERS', `more than ${MAX_HEADER_FIELDS} header fields`, { connection: 'close' });
    return;
  }
  const path = (req.url ?? '/').split('?')[0]!;
  const issuer = handlers.issuer();
  if (issuer !== undefined && (path === DISCOVERY_PATH || path === JWKS_PATH)) {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(path === JWKS_PATH ? issuer.jwks() : issuer.discovery()));
    return;
  }
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.length === 2) {
    void handlers.ingress(req, res, segments);
    return;
  }
  const route = segments.length > 2 ? handlers.route(segments[0]!) : undefined;
  if (route) {
    route(req, res, segments.slice(1));
    return;
  }
  req.resume();
  if (segments.length === 1 && (segments[0] === 'livez' || segments[0] === 'healthz')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  } else if (segments.length === 1 && segments[0] === 'readyz') {
    const ready = handlers.ready();
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
  } else if (segments.length > 2) {
    sendError(res, 'SLUICE_BAD_PATH', 'expected /{namespace}/{broker}');
  } else {
    sendError(res, 'SLUICE_NOT_FOUND', `no endpoint ${path}`);
  }
}

/**
 * Listens on `port` and `host`; resolves with the port's base URL: the address taken, loopback for a wildcard (the
 * URL Sluice gives its own components and prints).
 */
export async function listen(server: Server, port: number, host: string, tls: boolean): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const address = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${tls ? 'https' : 'http'}://${address === '0.0.0.0' || address === '[::]' ? '127.0.0.1' : address}:${addr.port}`;
}

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@sluice/core';

/** Connection limits and timeouts of the HTTP server. */
export interface ConnectionLimits {
  /** Open connections at once, all clients together (default 1000). 0 disables the cap. */
  maxConnections: number;
  /** Open connections at once from one client address (default 512). 0 disables the cap. */
  maxConnectionsPerClient: number;
  /** Time a client has to send the request headers, from the moment it connects (default 15 s). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body (default 60 s). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (default 65 s, above common client pool timeouts). */
  keepAliveTimeoutMs: number;
}

/** The defaults of {@link ConnectionLimits}, documented in docs/security.md. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1000,
  maxConnectionsPerClient: 512,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
};

/** Marks a socket refused by the caps: any request parsed on it before it closes is not served. */
export const REFUSED = Symbol('sluice.refused');

function refusal(message: string): string {
  const body = JSON.stringify({ error: { code: 'SLUICE_TOO_MANY_CONNECTIONS', message } });
  return 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: application/json\r\n' + `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * Applies the timeouts to a node:http server and enforces the connection caps. A connection over a cap is answered
 * at once with a complete `503` (code SLUICE_TOO_MANY_CONNECTIONS, `Retry-After: 1`) and closed, instead of being
 * dropped or left to exhaust file descriptors; refusals are logged at most once a second with a count. The work is per
 * connection, never per request.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, logger: Logger, tls = false): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Keep every header field: the ingress refuses requests with too many (see MAX_HEADER_FIELDS) instead of Node
  // silently dropping the excess. Their total size stays bounded by Node's header size limit.
  server.maxHeadersCount = 0;
  if (limits.maxConnections === 0 && limits.maxConnectionsPerClient === 0) return;
  let open = 0;
  const perClient = new Map<string, number>();
  let refused = 0;
  let lastLog = 0;
  // Prepended so that a refused socket is marked before node:http attaches its parser.
  server.prependListener('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const mine = perClient.get(client) ?? 0;
    const overGlobal = limits.maxConnections > 0 && open >= limits.maxConnections;
    const overClient = limits.maxConnectionsPerClient > 0 && mine >= limits.maxConnectionsPerClient;
    if (overGlobal || overClient) {
      (socket as Socket & { [REFUSED]?: boolean })[REFUSED] = true;
      const what = overGlobal ? `the server has ${open} connections open (limit ${limits.maxConnections})` : `client ${client} has ${mine} connections open (limit ${limits.maxConnectionsPerClient})`;
      socket.on('error', () => undefined);
      if (tls) {
        socket.destroy(); // no TLS session yet: an HTTP answer would be garbage to the client; the log says why
      } else {
        socket.end(refusal(`connection refused: ${what}`));
        socket.destroySoon();
      }
      refused++;
      const now = Date.now();
      if (now - lastLog >= 1000) {
        logger.warn({ refused, client, open, limit: overGlobal ? limits.maxConnections : limits.maxConnectionsPerClient }, `connections refused: ${what}`);
        lastLog = now;
        refused = 0;
      }
      return;
    }
    open++;
    perClient.set(client, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (perClient.get(client) ?? 1) - 1;
      if (n <= 0) perClient.delete(client);
      else perClient.set(client, n);
    });
  });
}

/** Whether a request arrived on a connection the caps refused (it must not be served). */
export function isRefused(socket: Socket): boolean {
  return (socket as Socket & { [REFUSED]?: boolean })[REFUSED] === true;
}

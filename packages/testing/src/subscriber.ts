import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHttp, type CloudEvent } from '@sluice/core';
import { waitFor } from './wait.js';

/** One request a subscriber received. */
export interface Received {
  readonly method: string;
  /** The request path and query, e.g. `/hook?x=1`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The decoded event, or undefined if the request was not a valid CloudEvent. */
  readonly event: CloudEvent | undefined;
  /** `Date.now()` when the body was complete. */
  readonly at: number;
  /** The status the subscriber answered with (undefined while hanging). */
  status?: number;
}

/** How a subscriber answers: status, headers and body; default 202 with no body. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Never answer (the connection stays open until the client gives up). */
  hang?: boolean;
  /** Answer only after this many milliseconds (a slow subscriber: deliveries stay in flight meanwhile). */
  delayMs?: number;
}

/** A real HTTP subscriber on a free loopback port that records every request. */
export interface Subscriber {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  readonly received: Received[];
  /** Ids of the events received, in arrival order. */
  ids(): string[];
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a subscriber; `respond` decides each answer (by request number, 0-based). */
export async function startSubscriber(respond: (received: Received, index: number) => Reply = () => ({})): Promise<Subscriber> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let event: CloudEvent | undefined;
      try {
        event = decodeHttp(req.headers, body)[0];
      } catch {
        event = undefined;
      }
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        event,
        at: Date.now(),
      };
      const index = received.length;
      received.push(r);
      const reply = respond(r, index);
      if (reply.hang) return;
      const answer = (): void => {
        r.status = reply.status ?? 202;
        res.writeHead(r.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.delayMs === undefined) answer();
      else setTimeout(answer, reply.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    received,
    ids: () => received.map((r) => String(r.event?.attributes['id'])),
    waitForCount: async (n, timeoutMs = 20_000) => {
      await waitFor(
        () => received.length >= n,
        () => `${n} requests at ${url} (got ${received.length})`,
        timeoutMs,
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Posts a binary-mode CloudEvent; returns status and body text. */
export async function postEvent(
  url: string,
  attrs: Record<string, string>,
  data: string | Buffer = '',
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'content-type': 'application/json',
    ...extraHeaders,
  };
  for (const [k, v] of Object.entries(attrs)) headers[`ce-${k}`] = v;
  const res = await fetch(url, { method: 'POST', headers, body: data });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Binary-mode headers for a reply event. */
export function replyHeaders(attrs: Record<string, string>, contentType = 'application/json'): Record<string, string> {
  const headers: Record<string, string> = { 'ce-specversion': '1.0', 'content-type': contentType };
  for (const [k, v] of Object.entries(attrs)) headers[`ce-${k}`] = v;
  return headers;
}

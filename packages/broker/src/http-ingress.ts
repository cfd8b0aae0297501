import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  cloudEventSpanAttributes,
  decodeHttp,
  DNS_LABEL_PATTERN,
  errorStatus,
  eventTraceContext,
  isSluiceError,
  isTraceparent,
  noopLogger,
  noopMetrics,
  noopTracer,
  SluiceError,
  type CloudEvent,
  type IngressMetrics,
  type Logger,
  type Metrics,
  type SluiceErrorCode,
  type SpanHandle,
  type TraceContext,
  type Tracer,
} from '@sluice/core';

import type { AuthVerdict } from '@sluice/plugin';

export type { AuthVerdict };

/** What the ingress needs from the runtime. */
export interface IngressBackend {
  /** Whether the runtime accepts events (false while starting or draining). */
  readonly ready: boolean;
  /** Whether a broker exists. */
  hasBroker(namespace: string, name: string): boolean;
  /**
   * Checks a request's `Authorization` header for a broker; present only when some broker requires credentials, so
   * an open setup pays nothing.
   */
  authenticate?(namespace: string, name: string, req: IncomingMessage): AuthVerdict | Promise<AuthVerdict>;
  /** Seconds a client must wait before sending to a broker again (0: go on); present only when a broker is limited. */
  rateLimit?(namespace: string, name: string, req: IncomingMessage): number;
  /** Admits and durably stores events with the request's trace context; rejects with a SluiceError. */
  accept(namespace: string, name: string, events: CloudEvent[], trace: TraceContext | undefined): Promise<void>;
}

/** Ingress limits. */
export interface IngressOptions {
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes: number;
  /** Per-broker event counts and latencies (default none). */
  metrics?: Metrics;
  /** Ingress spans (default none). */
  tracer?: Tracer;
  /** Each request at debug (default none). */
  logger?: Logger;
}

/** The W3C trace context of a request's headers, if valid. */
function requestTraceContext(headers: IncomingMessage['headers']): TraceContext | undefined {
  const traceparent = headers['traceparent'];
  if (!isTraceparent(traceparent)) return undefined;
  const tracestate = headers['tracestate'];
  return typeof tracestate === 'string' && tracestate !== '' ? { traceparent, tracestate } : { traceparent };
}

/**
 * Most header fields a request may carry. The server keeps every field (`maxHeadersCount: 0`; their total size is
 * bounded by Node's 16 KiB header limit) so that a request over this count is refused rather than silently cut to
 * Node's default 1,000 fields, which would drop CloudEvents extensions without a word.
 */
export const MAX_HEADER_FIELDS = 1000;

/** A Kubernetes name segment: a DNS-1123 label, at most 63 characters (the schemas' `dnsLabel`). */
const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

/** Whether a request carries more header fields than {@link MAX_HEADER_FIELDS} (answered 431). */
export function tooManyHeaders(req: IncomingMessage): boolean {
  return req.rawHeaders.length > MAX_HEADER_FIELDS * 2;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends a JSON error body `{"error":{"code","message"}}` with the code's HTTP status (`ERROR_CODES`); 503s and 429s carry Retry-After. */
export function sendError(res: ServerResponse, code: SluiceErrorCode, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = errorStatus(code);
  const extra = status === 503 || status === 429 ? { 'retry-after': '1', ...headers } : headers;
  sendJson(res, status, { error: { code, message } }, extra);
}

/** Turns a request away without reading its body: the body is drained (so the connection can be reused) and the error sent. */
export function refuse(req: IncomingMessage, res: ServerResponse, code: SluiceErrorCode, message: string, headers: Record<string, string> = {}): void {
  req.resume();
  sendError(res, code, message, headers);
}

/** What a component's addressable route `/{route}/{namespace}/{name}` (EventTransform, KafkaSink, …) serves. */
export interface AddressableRoute<T> {
  /** The first path segment, e.g. `transforms`. */
  readonly route: string;
  /** The kind named in errors, e.g. `EventTransform`. */
  readonly kind: string;
  /** The error code of an unknown name, e.g. `SLUICE_TRANSFORM_NOT_FOUND`. */
  readonly notFoundCode: SluiceErrorCode;
  lookup(namespace: string, name: string): T | undefined;
  /** False while starting or draining: requests get 503. */
  accepting(): boolean;
}

/**
 * The resource a POST to an addressable route is for, or undefined once the request was answered: 400 for a path that
 * is not `{namespace}/{name}` in DNS labels, 404 for an unknown name, 405 for another method, 503 while not accepting.
 */
export function addressableTarget<T>(req: IncomingMessage, res: ServerResponse, rest: readonly string[], route: AddressableRoute<T>): T | undefined {
  const [namespace, name] = rest;
  if (rest.length !== 2 || !DNS_LABEL.test(namespace!) || !DNS_LABEL.test(name!)) {
    refuse(req, res, 'SLUICE_BAD_PATH', `expected /${route.route}/{namespace}/{name} with lower-case DNS names`);
    return undefined;
  }
  const target = route.lookup(namespace!, name!);
  if (target === undefined) {
    refuse(req, res, route.notFoundCode, `no ${route.kind} ${namespace}/${name}`);
    return undefined;
  }
  if (req.method !== 'POST') {
    refuse(req, res, 'SLUICE_METHOD_NOT_ALLOWED', `method ${req.method} not allowed; use POST`, { allow: 'POST' });
    return undefined;
  }
  if (!route.accepting()) {
    refuse(req, res, 'SLUICE_NOT_READY', `the ${route.kind} is not ready (starting or draining)`);
    return undefined;
  }
  return target;
}

/** Reads a request body up to `limit` bytes; rejects with SLUICE_BODY_TOO_LARGE beyond it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new SluiceError('SLUICE_BODY_TOO_LARGE', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new SluiceError('SLUICE_BODY_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The broker ingress, `POST /{namespace}/{broker}`, following Knative's data-plane contract: 202 once durably stored;
 * 400 invalid event or path; 404 unknown broker; 405 other methods; 413 too large; 503 + Retry-After when the store
 * cannot keep up or the runtime is not ready. `OPTIONS` answers the CloudEvents webhook handshake.
 */
export function createIngressHandler(backend: IngressBackend, options: IngressOptions) {
  const metrics = options.metrics ?? noopMetrics;
  const brokerMetrics = new Map<string, IngressMetrics>();
  const metricsOf = (namespace: string, name: string): IngressMetrics => {
    const key = `${namespace}/${name}`;
    let m = brokerMetrics.get(key);
    if (!m) brokerMetrics.set(key, (m = metrics.ingress(namespace, name)));
    return m;
  };
  return async (req: IncomingMessage, res: ServerResponse, segments: readonly string[]): Promise<void> => {
    const [namespace, name] = segments as [string, string];
    if (!admitRequest(backend, req, res, namespace, name)) return;
    let authorize: ((events: readonly CloudEvent[]) => string | undefined) | undefined;
    if (backend.authenticate) {
      const pending = backend.authenticate(namespace, name, req);
      const verdict = pending instanceof Promise ? await pending : pending;
      if (!verdict.ok) {
        refuse(req, res, 'SLUICE_UNAUTHORIZED', verdict.message, { 'www-authenticate': 'Bearer realm="sluice", Basic realm="sluice", charset="UTF-8"' });
        return;
      }
      authorize = verdict.authorize;
    }
    if (req.method !== 'POST') {
      refuse(req, res, 'SLUICE_METHOD_NOT_ALLOWED', `method ${req.method} not allowed; use POST`, { allow: 'POST, OPTIONS' });
      return;
    }
    if (!backend.ready) {
      refuse(req, res, 'SLUICE_NOT_READY', 'broker is not ready (starting or draining)');
      return;
    }
    return receiveEvents(backend, options, metricsOf(namespace, name), req, res, namespace, name, authorize);
  };
}

/**
 * The checks before authentication: the path, the broker, the webhook handshake (`OPTIONS`) and the client's rate
 * limit. False when the request was answered.
 */
function admitRequest(backend: IngressBackend, req: IncomingMessage, res: ServerResponse, namespace: string, name: string): boolean {
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) {
    refuse(req, res, 'SLUICE_BAD_PATH', 'expected /{namespace}/{broker} with lower-case DNS names of at most 63 characters');
    return false;
  }
  if (!backend.hasBroker(namespace, name)) {
    refuse(req, res, 'SLUICE_BROKER_NOT_FOUND', `no broker ${namespace}/${name}`);
    return false;
  }
  if (req.method === 'OPTIONS') {
    const origin = req.headers['webhook-request-origin'];
    res.writeHead(200, {
      allow: 'POST, OPTIONS',
      'webhook-allowed-origin': typeof origin === 'string' ? origin : '*',
      'webhook-allowed-rate': '*',
      'content-length': 0,
    });
    res.end();
    return false;
  }
  if (backend.rateLimit) {
    const wait = backend.rateLimit(namespace, name, req);
    if (wait > 0) {
      refuse(req, res, 'SLUICE_RATE_LIMITED', `too many requests from this client to broker ${namespace}/${name}`, { 'retry-after': String(wait) });
      return false;
    }
  }
  return true;
}

/** Reads, decodes, authorizes and stores the events of an admitted request; answers 202 or the error, with metrics and a span. */
async function receiveEvents(
  backend: IngressBackend,
  options: IngressOptions,
  m: IngressMetrics,
  req: IncomingMessage,
  res: ServerResponse,
  namespace: string,
  name: string,
  authorize: ((events: readonly CloudEvent[]) => string | undefined) | undefined,
): Promise<void> {
  const tracer = options.tracer ?? noopTracer;
  const logger = options.logger ?? noopLogger;
  const started = performance.now();
  let events: CloudEvent[] = [];
  let span: SpanHandle | undefined;
  try {
    const body = await readBody(req, options.maxBodyBytes);
    events = decodeHttp(req.headers, body);
    const refused = authorize?.(events);
    if (refused !== undefined) throw new SluiceError('SLUICE_FORBIDDEN', refused);
    // The request's traceparent header, else the first event's distributed-tracing extension, is the parent.
    let trace = requestTraceContext(req.headers);
    if (tracer.enabled) {
      const attributes = events.length === 1 ? cloudEventSpanAttributes(events[0]!) : {};
      span = tracer.startSpan(`ingress ${namespace}/${name}`, 'server', trace ?? (events[0] ? eventTraceContext(events[0].attributes) : undefined), {
        ...attributes,
        'messaging.system': 'knative',
        'messaging.destination.name': `${namespace}/${name}`,
        'messaging.batch.message_count': events.length,
      });
      trace = span.context;
    }
    if (events.length > 0) await backend.accept(namespace, name, events, trace);
    res.writeHead(202, { 'content-length': 0 });
    res.end();
    finish(202, undefined);
  } catch (err) {
    const code = isSluiceError(err) ? err.code : 'SLUICE_INTERNAL';
    const status = errorStatus(code);
    sendError(res, code, (err as Error).message);
    finish(status, (err as Error).message);
  }

  function finish(status: number, error: string | undefined): void {
    const duration = performance.now() - started;
    if (events.length === 0) m.event('', status, duration);
    for (const e of events) m.event(String(e.attributes['type']), status, duration);
    if (span) {
      span.setAttributes({ 'http.response.status_code': status });
      span.end(error);
    }
    logger.debug({ broker: `${namespace}/${name}`, events: events.length, status, durationMs: Math.round(duration * 1000) / 1000, ...(error ? { err: error } : {}) }, 'ingress request');
  }
}

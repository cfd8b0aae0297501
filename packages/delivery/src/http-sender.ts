import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import { SluiceError, lazyLibrarySync, decodeHttp, encodeBinary, encodeStructured, looksLikeCloudEvent, type CloudEvent, type EncodedHttpMessage, type HeaderMap } from '@sluice/core';
import type { EgressGuard } from './egress-guard.js';

/** undici, required by the first sender built: `sluice validate`, which builds none, never loads it. */
const undiciLibrary = lazyLibrarySync('undici', () => createRequire(import.meta.url)('undici') as typeof import('undici'));
/** undici's response-header parser (what its `request()` gives as `headers`), set by the first sender built. */
let parseHeaders: ((raw: Buffer[]) => HeaderMap) | undefined;

/** The result of one HTTP attempt: a response, or a transport error (connection refused, timeout, …). */
export type AttemptResponse =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: HeaderMap;
      /** The body, cut at the limit when it was longer (see `overLimit`). */
      readonly body: Buffer;
      /** Set to the limit when the body was longer than it: the rest was not read. */
      readonly overLimit?: number;
    }
  | { readonly ok: false; readonly error: Error };

/** Options of one send. */
export interface SendOptions {
  timeoutMs: number;
  /** `json` sends structured mode; anything else binary. */
  format?: 'json' | 'binary' | undefined;
  /** Extra request headers (Prefer, Kn-Namespace, traceparent …). */
  headers?: Readonly<Record<string, string>>;
  /** Response bodies are read up to this many bytes (default: the sender's); a longer one is flagged `overLimit`. */
  maxResponseBytes?: number;
  /**
   * The destination's OIDC audience and the sender's identity: with a token source (Knative's `authentication-oidc`
   * feature on) the request carries `Authorization: Bearer <JWT>` for them; without one it is ignored.
   */
  oidc?: OidcTarget | undefined;
}

/** Who an OIDC token is for (`aud`, the destination's audience) and whom it names (`sub`, the sending resource). */
export interface OidcTarget {
  readonly audience: string;
  readonly subject: string;
}

/** Mints (or reuses) a bearer token for an audience and subject; must be cheap when called per delivery. */
export interface TokenSource {
  token(audience: string, subject: string): string;
}

/** Options of {@link UndiciSender}. */
export interface UndiciSenderOptions {
  /** Longest response body read (default 4 MiB); the runtime sets its ingress limit, so replies obey it too. */
  maxResponseBytes?: number;
  /** Where deliveries may go; checked per URL (once) and per connection (DNS answers). Default: no guard. */
  egress?: EgressGuard;
  /** Signs OIDC tokens for sends that name an audience (see {@link SendOptions.oidc}); default none. */
  tokens?: TokenSource;
}

/** Sends CloudEvents over HTTP. The production implementation is {@link UndiciSender}; tests may pass their own. */
export interface EventSender {
  send(url: string, event: CloudEvent, options: SendOptions): Promise<AttemptResponse>;
  close(): Promise<void>;
}

/** {@link EventSender} over an undici Agent (keep-alive connection pools per origin). */
export class UndiciSender implements EventSender {
  readonly #dispatcher: Dispatcher;
  readonly #maxResponseBytes: number;
  readonly #egress: EgressGuard | undefined;
  #tokens: TokenSource | undefined;
  /** Egress verdict per URL (undefined: allowed), so the guard costs one map lookup per send. */
  readonly #verdicts = new Map<string, string | undefined>();

  constructor(dispatcher?: Dispatcher, options: UndiciSenderOptions = {}) {
    this.#maxResponseBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
    this.#egress = options.egress;
    this.#tokens = options.tokens;
    const connect = options.egress ? { timeout: 10_000, lookup: options.egress.lookup } : { timeout: 10_000 };
    const undici = undiciLibrary('HTTP delivery');
    parseHeaders ??= undici.util.parseHeaders as (raw: Buffer[]) => HeaderMap;
    this.#dispatcher = dispatcher ?? new undici.Agent({ connections: 128, keepAliveTimeout: 30_000, pipelining: 1, connect });
  }

  /** Headers added to every request to one origin (the runtime's own ingress credentials). */
  #originHeaders: Map<string, Readonly<Record<string, string>>> | undefined;

  /** Connections to these origins trust these CAs (roots plus a destination's `CACerts`, or Sluice's own cert). */
  #originDispatchers: Map<string, Dispatcher> | undefined;

  /**
   * Connections to `origin` verify the server certificate against `ca` (PEM list) instead of the system roots alone:
   * for a destination's `CACerts`, and for Sluice's own HTTPS ingress. Calling it again replaces the list.
   */
  setOriginTls(origin: string, ca: readonly string[]): void {
    const previous = this.#originDispatchers?.get(origin);
    const connect = this.#egress ? { timeout: 10_000, ca: [...ca], lookup: this.#egress.lookup } : { timeout: 10_000, ca: [...ca] };
    (this.#originDispatchers ??= new Map()).set(origin, new (undiciLibrary('HTTP delivery').Pool)(origin, { connections: 128, keepAliveTimeout: 30_000, pipelining: 1, connect }));
    void previous?.close().catch(() => undefined);
  }

  /** Adds `headers` to every request sent to `origin` (e.g. `http://127.0.0.1:8080`); request headers win. */
  setOriginHeaders(origin: string, headers: Readonly<Record<string, string>>): void {
    (this.#originHeaders ??= new Map()).set(origin, headers);
  }

  /** Sends that name an OIDC audience carry a token from `tokens` from now on (Knative's `authentication-oidc`). */
  setTokenSource(tokens: TokenSource): void {
    this.#tokens = tokens;
  }

  #denied(url: string, hostname: string): string | undefined {
    if (this.#egress === undefined) return undefined;
    if (this.#verdicts.has(url)) return this.#verdicts.get(url);
    const why = this.#egress.deniedHost(hostname);
    if (this.#verdicts.size > 10_000) this.#verdicts.clear();
    this.#verdicts.set(url, why);
    return why;
  }

  async send(url: string, event: CloudEvent, options: SendOptions): Promise<AttemptResponse> {
    const message = encoded(event, options.format === 'json' ? 'json' : 'binary');
    const target = parsedUrl(url);
    const denied = this.#denied(url, target.hostname);
    if (denied !== undefined) return { ok: false, error: new SluiceError('SLUICE_DESTINATION_FORBIDDEN', `destination refused: ${denied}`) };
    // An OIDC token replaces other credentials: the destination asked for one by giving an audience.
    const auth = options.oidc !== undefined && this.#tokens !== undefined ? `Bearer ${this.#tokens.token(options.oidc.audience, options.oidc.subject)}` : target.authorization;
    const own = this.#originHeaders?.get(target.origin);
    // Object.assign, not spreads: merging the event's headers with the dispatcher's by spreading cost 2.3 µs per
    // delivery against 0.3 µs (same keys, same order; header names are never `__proto__`).
    const headers: Record<string, string> =
      auth || own
        ? (Object.assign({}, message.headers, own, auth ? { authorization: auth } : undefined, options.headers) as Record<string, string>)
        : options.headers
          ? Object.assign({}, message.headers, options.headers)
          : message.headers;
    // The per-attempt timeout bounds the wait for the response headers and every gap in the response body (undici's
    // own timers, cheaper than an AbortSignal per request); connecting is bounded by the agent's connect timeout.
    const dispatcher = this.#originDispatchers?.get(target.origin) ?? this.#dispatcher;
    const max = options.maxResponseBytes ?? this.#maxResponseBytes;
    return new Promise<AttemptResponse>((resolve) => {
      const request = { origin: target.origin, path: target.path, method: 'POST' as const, headers, body: message.body, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs };
      const handler = new ResponseReader(max, options.timeoutMs, resolve);
      try {
        dispatcher.dispatch(request, handler);
      } catch (err) {
        handler.onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([...(this.#originDispatchers?.values() ?? [])].map((d) => d.close()));
    await this.#dispatcher.close();
  }
}

// Fan-out sends one event to many subscribers: encode it once per format. Events are never mutated after creation.
// The encoding is kept on the event as a hidden, non-enumerable property (cheaper than a WeakMap entry, and never
// copied by a spread of the event).
const ENCODED = { json: Symbol('sluice.encoded.json'), binary: Symbol('sluice.encoded.binary') } as const;
function encoded(event: CloudEvent, format: 'json' | 'binary'): EncodedHttpMessage {
  const key = ENCODED[format];
  let m = (event as unknown as Record<symbol, EncodedHttpMessage | undefined>)[key];
  if (!m) {
    m = format === 'json' ? encodeStructured(event) : encodeBinary(event);
    if (Object.isExtensible(event)) Object.defineProperty(event, key, { value: m }); // a frozen event is encoded each time
  }
  return m;
}

const EMPTY = Buffer.alloc(0);
interface ParsedUrl {
  origin: string;
  path: string;
  hostname: string;
  /** `Basic …` from the URL's userinfo: credentials in a subscriber URL are sent as basic auth, never dropped. */
  authorization: string | undefined;
}
const urlCache = new Map<string, ParsedUrl>();
function parsedUrl(url: string): ParsedUrl {
  let p = urlCache.get(url);
  if (p === undefined) {
    const u = new URL(url);
    const authorization = u.username !== '' || u.password !== '' ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined;
    p = { origin: u.origin, path: u.pathname + u.search, hostname: u.hostname, authorization };
    if (urlCache.size > 10_000) urlCache.clear();
    urlCache.set(url, p);
  }
  return p;
}

/**
 * Reads one response through undici's dispatch handler interface: the status, the headers (parsed as undici's
 * `request()` parses them) and the body, up to `max` bytes. A longer body is cut there and the request aborted, which
 * closes its connection, so a subscriber that answers with an endless body costs neither memory nor a pooled
 * connection forever. `request()` gave the same with a readable stream per response and an async iteration over it:
 * 1–2 µs more CPU per delivery of a 1 KiB event (bench/http-sender.mjs, docs/benchmarks.md).
 */
class ResponseReader implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: HeaderMap = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #abort: ((err?: Error) => void) | undefined;
  #settled = false;

  constructor(
    readonly max: number,
    readonly timeoutMs: number,
    readonly resolve: (response: AttemptResponse) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the response follows
    this.#status = statusCode;
    this.#headers = parseHeaders!(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return false;
    if (this.#size + chunk.length > this.max) {
      this.#chunks.push(chunk.subarray(0, this.max - this.#size));
      this.#finish(this.max);
      this.#abort?.(new Error(`response body over ${this.max} bytes`));
      return false;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    return true;
  }

  onComplete(): void {
    this.#finish(undefined);
  }

  onError(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      this.resolve({ ok: false, error: new Error(`timed out after ${this.timeoutMs} ms`, { cause: err }) });
    } else {
      this.resolve({ ok: false, error: err });
    }
  }

  #finish(overLimit: number | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    const chunks = this.#chunks;
    const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const response = { ok: true as const, status: this.#status, headers: this.#headers, body };
    this.resolve(overLimit === undefined ? response : { ...response, overLimit });
  }
}

/** A reply found in a 2xx response, or why the response is not a valid one. */
export type ReplyParse = { readonly reply: CloudEvent | undefined } | { readonly invalid: string };

/**
 * Reads a subscriber's 2xx response: a CloudEvent (binary or structured) is a reply; a body that claims to be a
 * CloudEvent but is not valid is an error; anything else is a plain success without reply.
 */
export function parseReply(headers: HeaderMap, body: Buffer): ReplyParse {
  if (!looksLikeCloudEvent(headers)) return { reply: undefined };
  try {
    const events = decodeHttp(headers, body);
    if (events.length !== 1) return { invalid: `a reply must be one event, got ${events.length}` };
    return { reply: events[0] };
  } catch (err) {
    return { invalid: `invalid reply event: ${(err as Error).message}` };
  }
}

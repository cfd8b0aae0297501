import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_NAMESPACE,
  errorStatus,
  isSluiceError,
  noopLogger,
  parseIsoDuration,
  SluiceError,
  toDeliveryPolicy,
  validateEvent,
  type CloudEvent,
  type DeliverySpec,
  type Destination,
  type Logger,
  type Clock,
  type ObjectMeta,
  type WebhookSource,
  type WebhookSourceSpec,
} from '@sluice/core';
import { readBody, refuse, sendError } from '@sluice/broker';
import type { RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { applyCeOverrides, checkOverrideKey } from './ce-overrides.js';
import { defaultSecretSources, resolveValue, type SecretSources, type ValueFromField } from './secret-value.js';
import {
  DEFAULT_SIGNATURE_TOLERANCE,
  standardWebhooksKey,
  MAX_SIGNATURE_TOLERANCE_MS,
  MIN_STANDARD_WEBHOOKS_KEY_BYTES,
  ReplayGuard,
  verifyGithubSignature,
  verifyStandardWebhooks,
  type SignatureCheck,
} from './signature.js';
import { SinkDelivery, sourceMetrics, sourceOidc } from './sink-delivery.js';
import type { SpecProblem } from './spec-problem.js';

export type { WebhookSource, WebhookSourceSpec };

/** Parts of the HTTP request TriggerMesh's WebhookSource can copy into extensions. */
export type ExtensionAttributesFrom = 'method' | 'path' | 'host' | 'queries' | 'headers';

/** First path segment of webhook URLs: `/webhooks/{namespace}/{name}`. */
export const WEBHOOK_ROUTE = 'webhooks';

/** Annotation raising or lowering the body limit of one webhook (bytes). */
export const MAX_BODY_ANNOTATION = 'sluice.dev/max-body-bytes';

/** Default body limit: the broker ingress default, since the event goes there next. */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

/**
 * The webhook source's retries towards its sink: short, because the webhook producer waits for the answer (worst case
 * about 9 s, under GitHub's 10 s limit). A producer that gets 502/503 retries on its own schedule.
 */
export const WEBHOOK_DELIVERY: DeliverySpec = { retry: 2, backoffPolicy: 'exponential', backoffDelay: 'PT0.05S', timeout: 'PT3S' };

/**
 * The sink delivery of a source a webhook sender waits on (WebhookSource, GitHubSource, GitLabSource): the sender is
 * answered with the sink's outcome, after {@link WEBHOOK_DELIVERY}'s quick retries. `url` is `sink` resolved.
 */
export function webhookSink(
  ctx: Pick<RuntimeContext, 'sender' | 'metrics'>,
  source: { readonly apiVersion: string; readonly kind: string; readonly metadata: ObjectMeta },
  sink: Destination,
  url: string,
  logger: Logger,
): SinkDelivery {
  const namespace = source.metadata.namespace ?? DEFAULT_NAMESPACE;
  return new SinkDelivery({
    undelivered: 'answer',
    sender: ctx.sender,
    url,
    namespace,
    logger,
    policy: toDeliveryPolicy(WEBHOOK_DELIVERY),
    oidc: sourceOidc(source, sink),
    metrics: sourceMetrics(ctx, source, namespace),
  });
}

/** Headers that carry a delivery id, used as the event `id` in this order (else a UUID). */
export const DELIVERY_ID_HEADERS: readonly string[] = ['ce-id', 'webhook-id', 'x-github-delivery', 'x-gitlab-event-uuid'];

// Credentials never become event attributes: the standard ones, and any header whose name says it carries a token, a
// secret, a password, an API key or a signature (X-Gitlab-Token, X-Api-Key, X-Hub-Signature-256, Webhook-Signature, …).
const PRIVATE_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
const CREDENTIAL_HEADER = /(^|-)(token|secret|password|passwd|api-?key|signature|auth|credentials?)(-|$)/;

/** Whether a request header may carry a credential (never copied into an event). */
export function isCredentialHeader(name: string): boolean {
  return PRIVATE_HEADERS.has(name) || CREDENTIAL_HEADER.test(name);
}

/** The `source` of a webhook's events: `spec.eventSource`, else TriggerMesh's default `{namespace}.{name}`. */
export function webhookEventSource(src: WebhookSource): string {
  return src.spec.eventSource ?? `${src.metadata.namespace ?? DEFAULT_NAMESPACE}.${src.metadata.name}`;
}

/** The path a webhook is served at. */
export function webhookPath(namespace: string, name: string): string {
  return `/${WEBHOOK_ROUTE}/${namespace}/${name}`;
}

/**
 * TriggerMesh's extension-name rule: lower-case, keep `[a-z0-9]`, cut to 20 characters; `data`, `path`, `method` and
 * `host` (reserved or already used) become `data0`.
 */
export function sanitizeExtensionName(name: string): string {
  let n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (n.length > 20) n = n.slice(0, 20);
  return n === 'data' || n === 'path' || n === 'method' || n === 'host' ? 'data0' : n;
}

/** The delivery id of a request, if it carries one. */
export function deliveryIdOf(headers: IncomingMessage['headers']): string | undefined {
  for (const h of DELIVERY_ID_HEADERS) {
    const v = headers[h];
    const s = Array.isArray(v) ? v[0] : v;
    if (s !== undefined && s !== '') return s;
  }
  return undefined;
}

/** The parts of a request a webhook event is made of. */
export interface WebhookRequest {
  readonly method: string;
  /** Path below `/webhooks/{namespace}/{name}`, starting with `/`. */
  readonly path: string;
  readonly host: string | undefined;
  readonly query: URLSearchParams;
  /** Header values by lower-case name (as node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

/** Builds the CloudEvent for a webhook request, as TriggerMesh's adapter does (docs/sources.md). */
export function makeWebhookEvent(src: WebhookSource, req: WebhookRequest, id: string, timeMs: number): CloudEvent {
  const a: CloudEvent['attributes'] = {
    specversion: '1.0',
    id,
    type: src.spec.eventType,
    source: webhookEventSource(src),
    time: new Date(timeMs).toISOString(),
  };
  const from = new Set(src.spec.eventExtensionAttributes?.from ?? []);
  const setMulti = (prefix: string, name: string, values: readonly string[]): void => {
    if (values.length === 1) a[sanitizeExtensionName(prefix + name)] = values[0]!;
    else values.forEach((v, i) => (a[sanitizeExtensionName(`${prefix}${name}${i}`)] = v));
  };
  if (from.has('path')) a['path'] = req.path;
  if (from.has('method')) a['method'] = req.method;
  if (from.has('host') && req.host !== undefined) a['host'] = req.host;
  if (from.has('queries')) {
    for (const key of new Set(req.query.keys())) setMulti('q', key, req.query.getAll(key));
  }
  if (from.has('headers')) {
    for (const [name, values] of Object.entries(req.headers)) {
      if (isCredentialHeader(name) || name === 'ce-id') continue;
      setMulti('h', name, values);
    }
  }
  const ct = req.headers['content-type']?.[0];
  if (ct !== undefined && ct !== '') a['datacontenttype'] = ct;
  return applyCeOverrides({ attributes: a, data: req.body.length > 0 ? req.body : undefined }, src.spec.ceOverrides);
}

/** Body limit of a webhook: the annotation, else the default. NaN when the annotation is invalid. */
export function maxBodyBytesOf(meta: ObjectMeta): number {
  const v = meta.annotations?.[MAX_BODY_ANNOTATION];
  if (v === undefined) return DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  return /^[1-9]\d*$/.test(v) ? Number(v) : Number.NaN;
}

const URI_REFERENCE = /^[^\s]+$/;

// An unparsable tolerance is the schema's to report; here only the bound.
function toleranceOver(tolerance: string): boolean {
  try {
    return parseIsoDuration(tolerance) > MAX_SIGNATURE_TOLERANCE_MS;
  } catch {
    return false;
  }
}

/**
 * Checks what the schema cannot; paths from the resource root. The password and signature secret are read from
 * `secrets` to prove they exist (what `sluice run` needs); with `false`, only literal values are checked.
 */
export function checkWebhookSource(src: WebhookSource, secrets: SecretSources | false = defaultSecretSources): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const s = src.spec;
  if (s.eventSource !== undefined && !URI_REFERENCE.test(s.eventSource)) {
    problems.push({ path: ['spec', 'eventSource'], message: 'eventSource must be a URI-reference (no spaces)' });
  }
  if ((s.basicAuthUsername === undefined) !== (s.basicAuthPassword === undefined)) {
    problems.push({
      path: ['spec', s.basicAuthUsername === undefined ? 'basicAuthPassword' : 'basicAuthUsername'],
      message: 'basic authentication needs both basicAuthUsername and basicAuthPassword',
    });
  }
  // valueFromSecret is always reported: no environment can make it work.
  const readable = (f: ValueFromField): boolean => secrets !== false || f.value !== undefined || f.valueFromSecret !== undefined;
  const sources: SecretSources = secrets === false ? { env: {}, readFile: () => '' } : secrets;
  if (s.basicAuthPassword !== undefined && readable(s.basicAuthPassword)) {
    const r = resolveValue(s.basicAuthPassword, sources);
    if (!r.ok) problems.push({ path: ['spec', 'basicAuthPassword', r.field], message: `basicAuthPassword: ${r.message}`, code: 'SLUICE_CONFIG_SECRET' });
  }
  if (s.signature !== undefined && readable(s.signature.secret)) {
    const r = resolveValue(s.signature.secret, sources);
    if (!r.ok) problems.push({ path: ['spec', 'signature', 'secret', r.field], message: `signature secret: ${r.message}`, code: 'SLUICE_CONFIG_SECRET' });
    else if (s.signature.type === 'standard-webhooks') {
      const key = standardWebhooksKey(r.value);
      if (key === undefined) problems.push({ path: ['spec', 'signature', 'secret'], message: 'a standard-webhooks secret is base64, optionally prefixed with whsec_' });
      else if (key.length < MIN_STANDARD_WEBHOOKS_KEY_BYTES) {
        problems.push({
          path: ['spec', 'signature', 'secret'],
          message: `a standard-webhooks key must be at least ${MIN_STANDARD_WEBHOOKS_KEY_BYTES} bytes (got ${key.length}): a short key can be guessed`,
        });
      }
    }
  }
  if (s.signature !== undefined) {
    if (s.signature.tolerance !== undefined && s.signature.type !== 'standard-webhooks') {
      problems.push({ path: ['spec', 'signature', 'tolerance'], message: 'tolerance applies to standard-webhooks signatures only (GitHub requests carry no timestamp)' });
    } else if (s.signature.tolerance !== undefined && toleranceOver(s.signature.tolerance)) {
      problems.push({ path: ['spec', 'signature', 'tolerance'], message: 'tolerance must be at most PT1H: a longer one lets a captured request be replayed for longer' });
    }
  }
  if (Number.isNaN(maxBodyBytesOf(src.metadata))) {
    problems.push({ path: ['metadata', 'annotations', MAX_BODY_ANNOTATION], message: `annotation ${MAX_BODY_ANNOTATION} must be a whole number of bytes > 0` });
  }
  for (const key of Object.keys(s.ceOverrides?.extensions ?? {})) {
    const err = checkOverrideKey(key);
    if (err) problems.push({ path: ['spec', 'ceOverrides', 'extensions', key], message: err });
  }
  return problems;
}

/** A request handler for one webhook path. */
export type WebhookRouteHandler = (req: IncomingMessage, res: ServerResponse, subpath: readonly string[]) => void;

/**
 * Serves `/webhooks/{namespace}/{name}/…` for every WebhookSource of a configuration on the runtime's server: the
 * runtime gives one route per prefix, so the sources share it through this router.
 */
/** A webhook's body, or undefined after answering 413 (and closing) when it is larger than `maxBytes`. */
export async function readWebhookBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Buffer | undefined> {
  try {
    return await readBody(req, maxBytes);
  } catch (err) {
    if (!isSluiceError(err, 'SLUICE_BODY_TOO_LARGE')) throw err;
    sendError(res, err.code, err.message, { connection: 'close' });
    return undefined;
  }
}

export class WebhookRouter {
  readonly #handlers = new Map<string, WebhookRouteHandler>();
  #registered = false;

  /** `prefix` is the first path segment; `kind` names what is missing in a 404 (GitHubSource, GitLabSource use their own). */
  constructor(
    private readonly prefix: string = WEBHOOK_ROUTE,
    private readonly kind: string = 'WebhookSource',
  ) {}

  /** Adds a webhook; registers the route with the runtime on first use. */
  attach(ctx: RuntimeContext, namespace: string, name: string, handler: WebhookRouteHandler): void {
    if (!this.#registered) {
      ctx.route(this.prefix, (req, res, rest) => this.#dispatch(req, res, rest));
      this.#registered = true;
    }
    this.#handlers.set(`${namespace}/${name}`, handler);
  }

  #dispatch(req: IncomingMessage, res: ServerResponse, rest: readonly string[]): void {
    const [ns, name, ...sub] = rest;
    const handler = this.#handlers.get(`${ns}/${name}`);
    if (!handler) {
      refuse(req, res, 'SLUICE_WEBHOOK_NOT_FOUND', `no ${this.kind} ${ns}/${name}`);
      return;
    }
    handler(req, res, sub);
  }
}

/** Collaborators of {@link WebhookSourceComponent}; production defaults when unset. */
export interface WebhookSourceDeps {
  readonly now?: Clock;
  readonly newId?: () => string;
  readonly secrets?: SecretSources;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * One WebhookSource inside `sluice run`: turns POSTs to `/webhooks/{namespace}/{name}` into CloudEvents, after basic
 * authentication and signature verification, and answers 202 only once the sink accepted the event.
 */
export class WebhookSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #src: WebhookSource;
  readonly #router: WebhookRouter;
  readonly #deps: WebhookSourceDeps;
  readonly #ns: string;
  #logger: Logger = noopLogger;
  #sink: SinkDelivery | undefined;
  #now: Clock = Date.now;
  #credentials: { user: Buffer; password: Buffer } | undefined;
  #verify: ((req: IncomingMessage, body: Buffer) => SignatureCheck) | undefined;
  /** webhook-ids accepted within the tolerance (standard-webhooks signatures only). */
  #replays: ReplayGuard | undefined;
  #maxBody = DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  #stopped = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(src: WebhookSource, router: WebhookRouter, deps: WebhookSourceDeps = {}) {
    this.#ns = src.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.name = `WebhookSource ${this.#ns}/${src.metadata.name}`;
    this.#src = src;
    this.#router = router;
    this.#deps = deps;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const s = this.#src.spec;
    this.#logger = ctx.logger.child({ source: this.name });
    this.#now = this.#deps.now ?? ctx.now;
    const secrets = this.#deps.secrets ?? defaultSecretSources;
    const read = (field: ValueFromField, what: string): string => {
      const r = resolveValue(field, secrets);
      if (!r.ok) throw new SluiceError('SLUICE_SOURCE_SECRET_UNAVAILABLE', `${this.name}: ${what}: ${r.message}`);
      return r.value;
    };
    if (s.basicAuthUsername !== undefined && s.basicAuthPassword !== undefined) {
      // Compared as digests so that the comparison is constant-time whatever the lengths.
      this.#credentials = { user: digest(s.basicAuthUsername), password: digest(read(s.basicAuthPassword, 'basicAuthPassword')) };
    }
    if (s.signature) {
      const secret = read(s.signature.secret, 'signature secret');
      if (s.signature.type === 'github') {
        this.#verify = (req, body) => verifyGithubSignature(secret, body, firstHeader(req, 'x-hub-signature-256'));
      } else {
        const key = standardWebhooksKey(secret);
        if (!key) throw new SluiceError('SLUICE_SOURCE_SECRET_INVALID', `${this.name}: a standard-webhooks secret is base64, optionally prefixed with whsec_`);
        if (key.length < MIN_STANDARD_WEBHOOKS_KEY_BYTES) {
          throw new SluiceError('SLUICE_SOURCE_SECRET_INVALID', `${this.name}: a standard-webhooks key must be at least ${MIN_STANDARD_WEBHOOKS_KEY_BYTES} bytes`);
        }
        const toleranceMs = parseIsoDuration(s.signature.tolerance ?? DEFAULT_SIGNATURE_TOLERANCE);
        if (toleranceMs > MAX_SIGNATURE_TOLERANCE_MS) throw new SluiceError('SLUICE_SOURCE_SECRET_INVALID', `${this.name}: signature tolerance must be at most PT1H`);
        this.#replays = new ReplayGuard(toleranceMs);
        this.#verify = (req, body) =>
          verifyStandardWebhooks(
            key,
            { id: firstHeader(req, 'webhook-id'), timestamp: firstHeader(req, 'webhook-timestamp'), signature: firstHeader(req, 'webhook-signature') },
            body,
            this.#now(),
            toleranceMs,
          );
      }
    }
    this.#maxBody = maxBodyBytesOf(this.#src.metadata);
    const sinkUrl = ctx.resolver.resolve(s.sink, this.#ns);
    this.#sink = webhookSink(ctx, this.#src, s.sink, sinkUrl, this.#logger);
    this.#router.attach(ctx, this.#ns, this.#src.metadata.name, (req, res, sub) => {
      const p = this.#handle(req, res, sub).catch((err: unknown) => {
        this.#logger.error({ err }, 'webhook handler failed');
        sendError(res, 'SLUICE_INTERNAL', 'internal error');
      });
      this.#inFlight.add(p);
      void p.finally(() => this.#inFlight.delete(p));
    });
    this.#logger.info(
      { url: ctx.url + webhookPath(this.#ns, this.#src.metadata.name), sink: sinkUrl, signature: s.signature?.type ?? 'none', basicAuth: this.#credentials !== undefined },
      'webhook source listening',
    );
  }

  async stop(): Promise<void> {
    // The route stays: until the server closes, late requests get 503 (retry later), not a misleading 404.
    this.#stopped = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  #checkBasicAuth(req: IncomingMessage): boolean {
    const creds = this.#credentials;
    if (!creds) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(firstHeader(req, 'authorization') ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return false;
    const userOk = timingSafeEqual(digest(decoded.slice(0, i)), creds.user);
    const passOk = timingSafeEqual(digest(decoded.slice(i + 1)), creds.password);
    return userOk && passOk;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, sub: readonly string[]): Promise<void> {
    if (!this.#admit(req, res)) return;
    const verified = await this.#readVerified(req, res);
    if (verified) await this.#emit(req, res, sub, verified.body, verified.replayId);
  }

  /** CORS, the OPTIONS handshake, the method, stopping and basic auth; false when the request was answered. */
  #admit(req: IncomingMessage, res: ServerResponse): boolean {
    const cors = this.#src.spec.corsAllowOrigin;
    if (cors !== undefined) res.setHeader('access-control-allow-origin', cors);
    if (req.method === 'OPTIONS') {
      req.resume();
      this.#options(req, res);
      return false;
    }
    if (req.method !== 'POST') {
      refuse(req, res, 'SLUICE_METHOD_NOT_ALLOWED', `method ${req.method} not allowed; use POST`, { allow: 'POST, OPTIONS' });
      return false;
    }
    if (this.#stopped) {
      refuse(req, res, 'SLUICE_NOT_READY', 'webhook source is stopping');
      return false;
    }
    if (!this.#checkBasicAuth(req)) {
      req.resume();
      this.#logger.warn({ remote: req.socket.remoteAddress }, 'webhook rejected: missing or wrong basic-auth credentials');
      sendError(res, 'SLUICE_WEBHOOK_UNAUTHORIZED', 'missing or wrong credentials', { 'www-authenticate': 'Basic realm="sluice", charset="UTF-8"' });
      return false;
    }
    return true;
  }

  /** The body, with its signature checked and its webhook-id claimed; undefined when the request was answered. */
  async #readVerified(req: IncomingMessage, res: ServerResponse): Promise<{ body: Buffer; replayId: string | undefined } | undefined> {
    const body = await readWebhookBody(req, res, this.#maxBody);
    if (body === undefined) return undefined;
    if (this.#verify) {
      const check = this.#verify(req, body);
      if (!check.ok) {
        this.#logger.warn({ remote: req.socket.remoteAddress, reason: check.reason }, 'webhook rejected: bad signature');
        sendError(res, 'SLUICE_WEBHOOK_SIGNATURE_INVALID', check.reason);
        return undefined;
      }
    }
    // A webhook-id is accepted once within the tolerance; it is given back if the event is not accepted, so the
    // sender's retry (same id, new timestamp) passes.
    const replayId = this.#replays ? firstHeader(req, 'webhook-id') : undefined;
    if (replayId !== undefined && !this.#replays!.claim(replayId, this.#now())) {
      this.#logger.warn({ remote: req.socket.remoteAddress, webhookId: replayId }, 'webhook rejected: replayed webhook-id');
      sendError(res, 'SLUICE_WEBHOOK_REPLAYED', `webhook-id ${replayId} was already accepted`);
      return undefined;
    }
    return { body, replayId };
  }

  /** Makes the event, sends it to the sink and answers with the outcome (a refused event gives its webhook-id back). */
  async #emit(req: IncomingMessage, res: ServerResponse, sub: readonly string[], body: Buffer, replayId: string | undefined): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const event = makeWebhookEvent(
      this.#src,
      {
        method: req.method ?? 'POST', // only POST gets here (#admit)
        path: '/' + sub.join('/'),
        host: req.headers.host,
        query: url.searchParams,
        headers: req.headersDistinct as Record<string, string[]>,
        body,
      },
      deliveryIdOf(req.headers) ?? (this.#deps.newId ?? randomUUID)(),
      this.#now(),
    );
    try {
      validateEvent(event);
    } catch (err) {
      if (replayId !== undefined) this.#replays!.release(replayId);
      sendError(res, 'SLUICE_EVENT_INVALID', `cannot make a valid CloudEvent from this request: ${(err as Error).message}`);
      return;
    }
    const result = await this.#sink!.deliver(event);
    if (result.kind !== 'accepted' && replayId !== undefined) this.#replays!.release(replayId);
    const eventId = String(event.attributes['id']);
    if (result.kind === 'accepted') {
      res.writeHead(202, { 'content-length': 0 });
      res.end();
      return;
    }
    // Details stay in the log: the producer is outside, it only needs to know whether to retry.
    if (result.retryable) {
      sendJson(
        res,
        errorStatus('SLUICE_SINK_UNAVAILABLE'),
        { error: { code: 'SLUICE_SINK_UNAVAILABLE', message: 'the event could not be delivered; retry later', eventId, sinkStatus: result.status ?? null } },
        { 'retry-after': '1' },
      );
    } else {
      sendJson(res, errorStatus('SLUICE_SINK_REFUSED'), { error: { code: 'SLUICE_SINK_REFUSED', message: 'the sink refused the event', eventId, sinkStatus: result.status ?? null } });
    }
  }

  // CloudEvents webhook abuse-protection handshake (CloudEvents HTTP Webhook spec §4), plus a CORS preflight answer when asked.
  #options(req: IncomingMessage, res: ServerResponse): void {
    const headers: Record<string, string | number> = { allow: 'POST, OPTIONS', 'content-length': 0 };
    const origin = firstHeader(req, 'webhook-request-origin');
    if (origin !== undefined) {
      headers['webhook-allowed-origin'] = origin;
      headers['webhook-allowed-rate'] = '*';
    }
    if (firstHeader(req, 'access-control-request-method') !== undefined) {
      headers['access-control-allow-methods'] = 'POST, OPTIONS';
      const asked = firstHeader(req, 'access-control-request-headers');
      if (asked !== undefined) headers['access-control-allow-headers'] = asked;
    }
    res.writeHead(200, headers);
    res.end();
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

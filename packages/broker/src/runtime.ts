import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  BROKER_CLASS_ANNOTATION,
  BROKER_DEFAULT_DELIVERY,
  SluiceError,
  circuitBreakerSettings,
  DEFAULT_NAMESPACE,
  DELIVERY_ORDER_ANNOTATION,
  parseDeliveryOrder,
  compileTriggerFilter,
  noopLogger,
  objectKey,
  resolveDelivery,
  type Broker,
  type CesqlCompiler,
  falseCondition,
  trueCondition,
  type CloudEvent,
  type EventPredicate,
  type Condition,
  type DeliveryFigures,
  type Destination,
  type Logger,
  type ResourceStatus,
  type Metrics,
  type TraceContext,
  type Tracer,
  type Trigger,
} from '@sluice/core';
import { SecretStore, type SluiceConfig } from '@sluice/config';
import { randomBytes } from 'node:crypto';
import { EgressGuard, UndiciSender, redactUrl, type EgressRules, type EventSender } from '@sluice/delivery';
import { DEFAULT_DEAD_LETTER_RETENTION, SqliteEventStore, lockDataDir, type SqliteEventStoreOptions, type BrokerClass, type Consumer, type DataDirLock, type DeadLetterStore, type EventStore } from '@sluice/store';
import { DestinationResolver, EMBEDDED_BROKER_CLASSES, type ComponentFactory, type DeliverySource, type IngressObserver, type IngressRef, type PublishedResource, type RouteHandler, type RuntimeComponent, type RuntimeContext } from '@sluice/plugin';
import { admitEvent } from './admission.js';
import { brokerRateLimiter, type ClientRateLimiter } from './rate-limit.js';
import { OidcVerifier, brokerAudience, type OidcOptions } from './oidc-verifier.js';
import { DISCOVERY_PATH, JWKS_PATH, OidcIssuer } from './oidc-issuer.js';
import { destinationAudiences, triggerOidc } from './oidc-sending.js';
import { createTlsServer, rootsPlus, watchTlsFiles, type TlsFiles } from './tls-ingress.js';
import type { Server as HttpsServer } from 'node:https';
import { CLIENT_CERT_ANNOTATION, brokerCredentials, type StaticCredentials } from './ingress-auth.js';
import type { TLSSocket } from 'node:tls';
import { applyConnectionLimits, DEFAULT_CONNECTION_LIMITS, isRefused, type ConnectionLimits } from './connection-limits.js';
import { createIngressHandler, MAX_HEADER_FIELDS, refuse, sendError, tooManyHeaders } from './http-ingress.js';
import { DeliveryCounters } from './delivery-counters.js';
import { StatusRegistry } from './status-registry.js';
import { TriggerDispatcher, type DestinationCircuit, type SubscriptionTarget } from './trigger-dispatcher.js';
import { deadLetterSettings, type DeadLetterSettings } from './dead-letter-settings.js';
import { replayDeadLetters, type ReplayOutcome } from './dead-letter-replay.js';
import { replayArchive, type ArchiveReplayReport } from './archive-replay.js';

/** Options of {@link SluiceRuntime.start}. */
export interface RuntimeOptions {
  port?: number;
  host?: string;
  /** Directory of the embedded store (created if missing). Default `.sluice`. */
  dataDir?: string;
  /** Largest accepted event body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Rule for `Service` refs, see DestinationResolver. */
  serviceUrlTemplate?: string;
  /** Events in flight per trigger (default 100). */
  maxInFlightPerTrigger?: number;
  /** Store durability; `none` only for benchmarks that measure the rest of the path. */
  durability?: 'fsync' | 'none';
  logger?: Logger;
  /** Storage port of the embedded broker class; default the SQLite store in `dataDir`. */
  store?: EventStore;
  /** Where every broker keeps its dead letters; default the embedded store when it is the SQLite store. */
  deadLetters?: DeadLetterStore;
  /**
   * Storage per broker class (the `eventing.knative.dev/broker.class` annotation), e.g. `Kafka`. Brokers without the
   * annotation, or with `MTChannelBasedBroker` / `Sluice`, use the embedded store.
   */
  brokerClasses?: Readonly<Record<string, BrokerClass>>;
  sender?: EventSender;
  cesql?: CesqlCompiler;
  now?: () => number;
  /** Metric hooks (default none; the CLI wires Prometheus). */
  metrics?: Metrics;
  /** Tracing (default none; the CLI wires OpenTelemetry when OTEL_* asks for it). */
  tracer?: Tracer;
  /** Factories of the components that run beside brokers (sources, channels, …). */
  components?: readonly ComponentFactory[];
  /** Backlog bounds per broker and tail-cache bounds of the embedded store (docs/security.md). */
  storeLimits?: Pick<SqliteEventStoreOptions, 'maxBacklogEvents' | 'maxBacklogBytes' | 'tailCacheBytes'>;
  /**
   * Where the default sender may deliver (docs/security.md): link-local and cloud metadata addresses are denied unless
   * allowed here. `false` turns the guard off. A Trigger whose subscriber or dead-letter sink is denied fails to start.
   */
  egress?: EgressRules | false;
  /**
   * Require an OIDC bearer token on every broker without static credentials: issued by one of these issuers, for the
   * broker's audience (`eventing.knative.dev/broker/{ns}/{name}`), verified against the issuer's JWKS.
   */
  oidc?: OidcOptions;
  /**
   * Knative's `authentication-oidc` feature on the sending side: every delivery to a destination with an `audience`
   * carries a JWT signed by Sluice's own issuer (`issuer`, default the ingress URL), whose discovery document and JWKS
   * are served on the ingress port. Off when unset; an `audience` in the configuration is then logged once as unused.
   */
  oidcSending?: { readonly issuer?: string; readonly lifetimeSeconds?: number };
  /** Serve HTTPS with these PEM files (reloaded when they change); addresses become `https://`. */
  tls?: TlsFiles;
  /** Connection caps and timeouts of the HTTP server; unset fields keep {@link DEFAULT_CONNECTION_LIMITS}. */
  connectionLimits?: Partial<ConnectionLimits>;
}

/** A broker as the runtime exposes it. */
export interface BrokerInfo {
  readonly namespace: string;
  readonly name: string;
  readonly url: string;
  readonly triggers: readonly string[];
}

const logName = (namespace: string, name: string): string => `broker:${namespace}/${name}`;

/** Knative marks DeadLetterSinkResolved True with reason DeadLetterSinkNotConfigured when there is none. */
function deadLetterCondition(url: string | undefined): Condition {
  return url === undefined
    ? { type: 'DeadLetterSinkResolved', status: 'True', reason: 'DeadLetterSinkNotConfigured', message: 'No dead letter sink is configured.' }
    : trueCondition('DeadLetterSinkResolved');
}

/** Runs a validated configuration: one HTTP server for every broker's ingress plus health, and a consumer per Trigger. */
export class SluiceRuntime {
  #ready = false;
  /** Whether broker ingress takes events (set before components start, cleared first on stop). */
  #accepting = false;
  readonly #consumers: Consumer[] = [];
  readonly #dispatchers: TriggerDispatcher[] = [];
  readonly #brokers = new Map<string, Broker>();
  readonly #triggersByBroker = new Map<string, Trigger[]>();
  readonly #routes = new Map<string, RouteHandler>();
  readonly #ingressObservers: IngressObserver[] = [];
  readonly #published = new Map<string, PublishedResource>();
  readonly #components: RuntimeComponent[] = [];
  /** Store of each broker, by `namespace/name`. */
  readonly #stores = new Map<string, EventStore>();
  /** Dead-letter settings of each broker, by `namespace/name`. */
  readonly #deadLetterSettings = new Map<string, DeadLetterSettings>();
  /** What each consumer group delivers to (for replays), by group name `trigger:ns/name`. */
  readonly #targets = new Map<string, { readonly target: SubscriptionTarget; readonly broker: string }>();
  #deadLetters: DeadLetterStore | undefined;
  #url = '';
  /** The data-directory lock, released once the store is closed. */
  #lock: DataDirLock | undefined;
  readonly #status = new StatusRegistry(() => this.now());
  /** Counters and consumer group of each Trigger and Subscription, by `Kind/namespace/name`. */
  readonly #deliveries = new Map<string, { counters: DeliveryCounters; source: DeliverySource }>();

  private constructor(
    private readonly config: SluiceConfig,
    private readonly options: RuntimeOptions,
    private readonly store: EventStore,
    private readonly sender: EventSender,
    private readonly server: Server,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Starts everything and resolves once ready. */
  static async start(config: SluiceConfig, options: RuntimeOptions = {}): Promise<SluiceRuntime> {
    const logger = options.logger ?? noopLogger;
    let store = options.store;
    // TLS first: a bad certificate must fail before anything else is opened.
    const tls = options.tls ? createTlsServer(options.tls) : undefined;
    let lock: DataDirLock | undefined;
    if (!store) {
      const dir = options.dataDir ?? '.sluice';
      // Owner-only: the store holds every event, and events may carry secrets (an existing directory keeps its mode).
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      lock = lockDataDir(dir); // one Sluice per data directory: a second would deliver every event again
      try {
        store = new SqliteEventStore({ path: join(dir, 'sluice.db'), durability: options.durability ?? 'fsync', logger, ...options.storeLimits, ...(options.metrics ? { metrics: options.metrics.store } : {}) });
      } catch (err) {
        lock.release();
        throw err;
      }
    }
    // Timeouts are enforced by a periodic check: once a second, so a short --headers-timeout is honoured promptly.
    const server = tls ? (tls.server as unknown as Server) : createServer({ connectionsCheckingInterval: 1000 });
    applyConnectionLimits(server, { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits }, logger, tls !== undefined);
    const egress = options.egress === false ? undefined : new EgressGuard(options.egress ?? {});
    const sender = options.sender ?? new UndiciSender(undefined, { maxResponseBytes: options.maxBodyBytes ?? 1024 * 1024, ...(egress ? { egress } : {}) });
    const runtime = new SluiceRuntime(config, options, store, sender, server, logger, options.now ?? Date.now);
    runtime.#egress = egress;
    runtime.#tlsCert = tls?.cert;
    runtime.#lock = lock;
    try {
      await runtime.#start();
    } catch (err) {
      // Release what did start (port, store, child processes of components) so the process can exit.
      await runtime.stop(1000).catch(() => undefined);
      throw err;
    }
    return runtime;
  }

  /** Base URL of the ingress, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    return this.#url;
  }

  /** Whether the runtime accepts events. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The brokers being served. */
  brokers(): BrokerInfo[] {
    return [...this.#brokers.values()].map((b) => {
      const ns = b.metadata.namespace ?? DEFAULT_NAMESPACE;
      return {
        namespace: ns,
        name: b.metadata.name,
        url: `${this.#url}/${ns}/${b.metadata.name}`,
        triggers: (this.#triggersByBroker.get(objectKey(b.metadata)) ?? []).map((t) => t.metadata.name),
      };
    });
  }

  /** The status of a resource as the runtime or its component reported it; undefined when none was reported. */
  status(kind: string, namespace: string, name: string): ResourceStatus | undefined {
    return this.#status.get(kind, namespace, name);
  }

  /** Live figures of a Trigger or Subscription: the store's view of its group plus delivery counters. */
  figures(kind: string, namespace: string, name: string): DeliveryFigures | undefined {
    const d = this.#deliveries.get(`${kind}/${namespace}/${name}`);
    if (!d) return undefined;
    return d.counters.figures(d.source.store.stats(d.source.log).groups[d.source.group]);
  }

  #trackDelivery(kind: string, namespace: string, name: string, source: DeliverySource): DeliveryCounters {
    const key = `${kind}/${namespace}/${name}`;
    // Counters outlive a restart of the consumer (reconfiguration): they count since the process started.
    const counters = this.#deliveries.get(key)?.counters ?? new DeliveryCounters(this.now);
    this.#deliveries.set(key, { counters, source });
    return counters;
  }

  /** The circuit breakers of every Trigger's subscriber and dead-letter sink (for the admin API and metrics). */
  circuits(): DestinationCircuit[] {
    return this.#dispatchers.flatMap((d) => d.circuits());
  }

  /** The store every broker keeps its dead letters in (undefined when the embedded store is not SQLite). */
  get deadLetters(): DeadLetterStore | undefined {
    return this.#deadLetters;
  }

  /** The trigger a consumer group delivers for (its subscriber, delivery policy and broker `ns/name`). */
  deliveryTarget(group: string): { readonly target: SubscriptionTarget; readonly broker: string } | undefined {
    return this.#targets.get(group);
  }

  /** Stores a reply into a broker (`ns/name`) as a subscriber's reply to a live delivery is. */
  acceptReply(broker: string, reply: CloudEvent): Promise<void> {
    const [ns, name] = broker.split('/') as [string, string];
    return this.#accept(ns, name, [reply]);
  }

  /** Events (and bytes) in a broker's archive; zeros when it keeps none. */
  archiveStats(broker: string): { count: number; bytes: number } {
    const [ns, name] = broker.split('/') as [string, string];
    return this.store instanceof SqliteEventStore && this.archivedBrokers().includes(broker) ? this.store.archiveStats(logName(ns, name)) : { count: 0, bytes: 0 };
  }

  /**
   * One page of what a broker (`ns/name`) still keeps of the events accepted at or after `since`: its archive, then
   * its log (for `sluice tail --since`). Undefined when the broker keeps no archive.
   */
  retainedEvents(broker: string, since: number, afterSeq: number, limit: number): ReturnType<SqliteEventStore['readRetained']> | undefined {
    const [ns, name] = broker.split('/') as [string, string];
    if (!(this.store instanceof SqliteEventStore) || !this.archivedBrokers().includes(broker)) return undefined;
    return this.store.readRetained(logName(ns, name), { from: since, afterSeq, limit });
  }

  /** Brokers (`ns/name`) that keep an archive of delivered events. */
  archivedBrokers(): string[] {
    return [...this.#deadLetterSettings].filter(([, s]) => s.archive !== undefined).map(([key]) => key);
  }

  /**
   * Re-delivers a broker's archived events accepted in [from, to] to one trigger (or every trigger) whose filter
   * matches, and `filter`, at most `rate` deliveries per second; live delivery continues meanwhile.
   */
  replayArchive(broker: string, options: { readonly from: number; readonly to: number; readonly trigger?: string; readonly filter?: EventPredicate; readonly rate: number }): Promise<ArchiveReplayReport> {
    const store = this.store;
    if (!(store instanceof SqliteEventStore) || !this.archivedBrokers().includes(broker)) {
      return Promise.reject(new SluiceError('SLUICE_ARCHIVE_OFF', `broker ${broker} keeps no archive (set the sluice.dev/archive-retention annotation)`, { details: { status: 409 } }));
    }
    const targets = [...this.#targets]
      .filter(([group, t]) => t.broker === broker && (options.trigger === undefined || group === `trigger:${options.trigger}`))
      .map(([group, t]) => ({ group, url: t.target.subscriberUrl, oidc: t.target.subscriberOidc, policy: t.target.delivery.policy, namespace: t.target.namespace, filter: t.target.filter }));
    if (options.trigger !== undefined && targets.length === 0) {
      return Promise.reject(new SluiceError('SLUICE_NOT_FOUND', `trigger ${options.trigger} of broker ${broker} not found`, { details: { status: 404 } }));
    }
    const [ns, name] = broker.split('/') as [string, string];
    return replayArchive({ archive: store, deadLetters: this.#deadLetters, sender: this.sender, now: this.now, logger: this.logger }, logName(ns, name), {
      from: options.from,
      to: options.to,
      targets,
      rate: options.rate,
      ...(options.filter ? { filter: options.filter } : {}),
    });
  }

  /**
   * Replays dead letters of a broker (`ns/name`) to their trigger's subscriber (or `to`) at most `rate` per second;
   * replies go into the broker as live replies do.
   */
  replayDeadLetters(broker: string, ids: readonly number[], options: { readonly to?: string; readonly rate: number }): Promise<ReplayOutcome> {
    const store = this.#deadLetters;
    if (!store) return Promise.reject(new SluiceError('SLUICE_DEAD_LETTERS_UNAVAILABLE', 'this runtime has no dead-letter store'));
    if (options.to !== undefined) {
      // The egress rules hold for replays too; a refused --to is the caller's error (403), said before any attempt.
      try {
        this.#egress?.checkUrl(options.to);
      } catch (err) {
        return Promise.reject(new SluiceError('SLUICE_DESTINATION_FORBIDDEN', (err as Error).message, { details: { status: 403 } }));
      }
    }
    const [ns, name] = broker.split('/') as [string, string];
    const targetOf = (group: string) => {
      const t = this.#targets.get(group);
      if (!t) return undefined;
      return { url: t.target.subscriberUrl, oidc: t.target.subscriberOidc, policy: t.target.delivery.policy, namespace: t.target.namespace, handleReply: (r: CloudEvent) => this.acceptReply(t.broker, r) };
    };
    return replayDeadLetters({ store, sender: this.sender, now: this.now, logger: this.logger, targetOf }, logName(ns, name), ids, options);
  }

  async #start(): Promise<void> {
    this.#deadLetters = this.options.deadLetters ?? (this.store instanceof SqliteEventStore ? this.store : undefined);
    for (const b of this.config.brokers) {
      const key = objectKey(b.metadata);
      const settings = deadLetterSettings(b, DEFAULT_DEAD_LETTER_RETENTION);
      this.#deadLetterSettings.set(key, settings);
      this.#deadLetters?.setDeadLetterRetention(logName(b.metadata.namespace ?? DEFAULT_NAMESPACE, b.metadata.name), settings.retention);
      if (settings.archive && this.store instanceof SqliteEventStore) this.store.setArchiveRetention(logName(b.metadata.namespace ?? DEFAULT_NAMESPACE, b.metadata.name), settings.archive);
      this.#brokers.set(key, b);
      this.#stores.set(key, this.#openStore(b));
    }
    for (const t of this.config.triggers) {
      const key = `${t.spec.brokerRef?.namespace ?? t.metadata.namespace ?? DEFAULT_NAMESPACE}/${t.spec.broker ?? t.spec.brokerRef!.name}`;
      const list = this.#triggersByBroker.get(key) ?? [];
      list.push(t);
      this.#triggersByBroker.set(key, list);
    }
    // Static credentials per broker (docs/security.md); Sluice's own components (sources, channels, triggers that
    // target a broker) send through the runtime's sender, which carries a random per-process token instead.
    const credentials = new Map<string, StaticCredentials>();
    const secrets = SecretStore.fromConfig(this.config);
    for (const [key, b] of this.#brokers) {
      const c = brokerCredentials(b, secrets);
      if (c) credentials.set(key, c);
    }
    // Brokers that require a client certificate (mTLS): the server asks every client for one, these brokers insist.
    const certBrokers = new Set<string>();
    for (const [key, b] of this.#brokers) {
      const v = b.metadata.annotations?.[CLIENT_CERT_ANNOTATION];
      if (v === undefined) continue;
      if (v !== 'required') throw new SluiceError('SLUICE_CONFIG_INVALID', `broker ${key}: annotation ${CLIENT_CERT_ANNOTATION} must be "required", got ${JSON.stringify(v)}`);
      if (!this.options.tls?.clientCaFile) throw new SluiceError('SLUICE_CONFIG_INVALID', `broker ${key}: ${CLIENT_CERT_ANNOTATION} needs HTTPS with client certificates (--tls-cert, --tls-key and --tls-client-ca)`);
      certBrokers.add(key);
    }
    const limiters = new Map<string, ClientRateLimiter>();
    for (const [key, b] of this.#brokers) {
      const l = brokerRateLimiter(b);
      if (l) limiters.set(key, l);
    }
    const internalAuth = `Bearer ${randomBytes(32).toString('base64url')}`;
    const oidc = this.options.oidc ? new OidcVerifier(this.options.oidc, this.logger) : undefined;
    this.#internalAuth = credentials.size > 0 || certBrokers.size > 0 || oidc !== undefined || limiters.size > 0 ? internalAuth : undefined;
    const ingress = createIngressHandler(
      {
        get ready() {
          return runtime.#accepting;
        },
        hasBroker: (ns, name) => this.#brokers.has(`${ns}/${name}`),
        ...(credentials.size > 0 || certBrokers.size > 0 || oidc !== undefined
          ? {
              authenticate: (ns: string, name: string, req: IncomingMessage) => {
                const key = `${ns}/${name}`;
                const authorization = req.headers.authorization;
                if (authorization === internalAuth) return { ok: true } as const;
                // A token Sluice's own issuer signed for this broker is one of Sluice's own sends.
                if (this.#issuer !== undefined && authorization?.startsWith('Bearer ') && this.#issuer.subjectOf(authorization.slice(7), brokerAudience(ns, name)) !== undefined) return { ok: true } as const;
                if (certBrokers.has(key) && (req.socket as TLSSocket).authorized !== true) {
                  return { ok: false, message: `broker ${key} requires a client certificate signed by the configured CA` } as const;
                }
                const creds = credentials.get(key);
                if (creds !== undefined) {
                  return creds.accepts(authorization) ? ({ ok: true } as const) : ({ ok: false, message: `broker ${key} requires credentials (Authorization: Bearer <token> or Basic)` } as const);
                }
                if (oidc === undefined) return { ok: true } as const;
                return oidc.verify(authorization, brokerAudience(ns, name)).then((v) => (v.ok ? ({ ok: true } as const) : ({ ok: false, message: `broker ${key}: ${v.message}` } as const)));
              },
            }
          : {}),
        ...(limiters.size > 0
          ? {
              // Sluice's own sends (its token) are not limited: they come from the same address as local producers.
              rateLimit: (ns: string, name: string, req: IncomingMessage) =>
                req.headers.authorization === internalAuth ? 0 : (limiters.get(`${ns}/${name}`)?.take(req.socket.remoteAddress ?? '') ?? 0),
            }
          : {}),
        accept: (ns, name, events, trace) => this.#accept(ns, name, events, trace),
      },
      {
        maxBodyBytes: this.options.maxBodyBytes ?? 1024 * 1024,
        logger: this.logger,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        ...(this.options.tracer ? { tracer: this.options.tracer } : {}),
      },
    );
    // The backend's `ready` getter has its own `this`; it reads the runtime's private state through this name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const runtime = this;
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (isRefused(req.socket)) {
        req.socket.destroy(); // already answered 503 by the connection caps
        return;
      }
      if (tooManyHeaders(req)) {
        refuse(req, res, 431, 'SLUICE_TOO_MANY_HEADERS', `more than ${MAX_HEADER_FIELDS} header fields`, { connection: 'close' });
        return;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      if (this.#issuer !== undefined && (path === DISCOVERY_PATH || path === JWKS_PATH)) {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(path === JWKS_PATH ? this.#issuer.jwks() : this.#issuer.discovery()));
        return;
      }
      const segments = path.split('/').filter((s) => s !== '');
      if (segments.length === 2) {
        void ingress(req, res, segments);
        return;
      }
      const route = segments.length > 2 ? this.#routes.get(segments[0]!) : undefined;
      if (route) {
        route(req, res, segments.slice(1));
        return;
      }
      req.resume();
      if (segments.length === 1 && (segments[0] === 'livez' || segments[0] === 'healthz')) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (segments.length === 1 && segments[0] === 'readyz') {
        res.writeHead(this.#ready ? 200 : 503, { 'content-type': 'text/plain' }).end(this.#ready ? 'ready\n' : 'not ready\n');
      } else if (segments.length > 2) {
        sendError(res, 400, 'SLUICE_BAD_PATH', 'expected /{namespace}/{broker}');
      } else {
        sendError(res, 404, 'SLUICE_NOT_FOUND', `no endpoint ${path}`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 8080, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.#url = `${this.#tlsCert !== undefined ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
    if (this.#tlsCert !== undefined && this.options.tls) {
      // Sluice's own sends to its ingress (triggers to brokers, sources, channels) trust its certificate, and follow
      // a reload.
      const own = new URL(this.#url).origin;
      const trustOwn = (cert: string): void => {
        if (this.sender instanceof UndiciSender) this.sender.setOriginTls(own, rootsPlus(cert));
      };
      trustOwn(this.#tlsCert);
      this.#unwatchTls = watchTlsFiles(this.server as unknown as HttpsServer, this.options.tls, this.logger, trustOwn);
    }
    this.#startOidcSending();
    if (this.#internalAuth !== undefined && this.sender instanceof UndiciSender) this.sender.setOriginHeaders(new URL(this.#url).origin, { authorization: this.#internalAuth });
    const resolver = new DestinationResolver({ ingressBaseUrl: this.#url, ...(this.options.serviceUrlTemplate ? { serviceUrlTemplate: this.options.serviceUrlTemplate } : {}) });
    const ctx: RuntimeContext = {
      url: this.#url,
      resolver,
      sender: this.sender,
      store: this.store,
      logger: this.logger,
      now: this.now,
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      ...(this.options.tracer ? { tracer: this.options.tracer } : {}),
      maxBodyBytes: this.options.maxBodyBytes ?? 1024 * 1024,
      route: (prefix, handler) => {
        if (this.#routes.has(prefix)) throw new Error(`route /${prefix} is already taken`);
        this.#routes.set(prefix, handler);
      },
      reportStatus: (kind, namespace, name, conditions, fields) => this.#status.set(kind, namespace, name, conditions, fields),
      dataDir: this.options.dataDir ?? '.sluice',
      onIngress: (observer) => this.#ingressObservers.push(observer),
      ingressAccepted: (ref, events) => this.#notifyIngress(ref, events),
      publishResource: (resource) => this.#published.set(`${resource.kind}/${resource.metadata.namespace}/${resource.metadata.name}`, resource),
      trackDelivery: (kind, namespace, name, where) => this.#trackDelivery(kind, namespace, name, where),
    };
    const components = (this.options.components ?? []).flatMap((factory) => factory(this.config));
    // Addresses first: a Trigger may point at a channel or flow that a component serves.
    for (const component of components) {
      if (component.register) {
        await component.register(ctx);
        this.#components.push(component); // registered components hold resources: stopped even if never started
      }
    }
    // Triggers applied before their Broker: Knative keeps them NotReady (BrokerDoesNotExist) until it exists.
    for (const [brokerKey, triggers] of this.#triggersByBroker) {
      if (this.#brokers.has(brokerKey)) continue;
      for (const t of triggers) {
        const ns = t.metadata.namespace ?? DEFAULT_NAMESPACE;
        const message = `Broker "${brokerKey}" does not exist`;
        this.#status.set('Trigger', ns, t.metadata.name, [falseCondition('BrokerReady', 'BrokerDoesNotExist', message)]);
        this.logger.warn({ trigger: `${ns}/${t.metadata.name}`, reason: 'BrokerDoesNotExist' }, `Trigger ${ns}/${t.metadata.name} is NotReady (BrokerDoesNotExist): ${message}`);
      }
    }
    for (const [brokerKey, broker] of this.#brokers) {
      const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
      const groups: string[] = [];
      for (const trigger of this.#triggersByBroker.get(brokerKey) ?? []) {
        groups.push(this.#startTrigger(broker, trigger, resolver));
      }
      await this.#stores.get(brokerKey)!.retainGroups(logName(ns, broker.metadata.name), groups);
      this.#reportBrokerStatus(broker, resolver);
    }
    // Brokers accept events before components start, so sources can send from their first moment.
    this.#accepting = true;
    for (const component of components) {
      await component.start(ctx);
      if (!component.register) this.#components.push(component);
      this.logger.info({ component: component.name }, 'started');
    }
    this.#ready = true;
  }

  /** Sluice's own OIDC issuer, when it signs tokens for its deliveries. */
  #issuer: OidcIssuer | undefined;

  /** Turns on OIDC tokens for deliveries (or says once that `audience` is unused when the feature is off). */
  #startOidcSending(): void {
    const o = this.options.oidcSending;
    if (o === undefined) {
      const unused = destinationAudiences(this.config);
      if (unused.length > 0) {
        this.logger.warn({ destinations: unused.slice(0, 10) }, `${unused.length} destination${unused.length === 1 ? ' sets' : 's set'} an OIDC audience, which is not used: OIDC tokens for deliveries are off (turn them on with --authentication-oidc)`);
      }
      return;
    }
    this.#issuer = new OidcIssuer({ issuer: o.issuer ?? this.#url, dir: this.options.dataDir ?? '.sluice', ...(o.lifetimeSeconds !== undefined ? { lifetimeSeconds: o.lifetimeSeconds } : {}) });
    if (this.sender instanceof UndiciSender) this.sender.setTokenSource(this.#issuer);
    this.logger.info({ issuer: this.#issuer.issuer, kid: this.#issuer.kid }, `OIDC tokens for deliveries: issuer ${this.#issuer.issuer}, JWKS at ${this.#issuer.issuer}${JWKS_PATH}`);
  }

  /** The egress guard of the default sender (undefined when turned off). */
  #egress: EgressGuard | undefined;
  /** The ingress certificate (PEM) when serving HTTPS. */
  #tlsCert: string | undefined;
  #unwatchTls: (() => void) | undefined;
  /** The per-process token Sluice's own sends carry when some broker requires credentials or client certificates. */
  #internalAuth: string | undefined;

  #startTrigger(broker: Broker, trigger: Trigger, resolver: DestinationResolver): string {
    const ns = trigger.metadata.namespace ?? DEFAULT_NAMESPACE;
    const brokerDelivery = broker.spec?.delivery ?? BROKER_DEFAULT_DELIVERY;
    const delivery = resolveDelivery(trigger.spec.delivery, brokerDelivery);
    const target: SubscriptionTarget = {
      key: `${ns}/${trigger.metadata.name}`,
      namespace: ns,
      subscriberUrl: resolver.resolve(trigger.spec.subscriber, ns),
      deadLetterUrl: delivery.deadLetterSink ? resolver.resolve(delivery.deadLetterSink, trigger.spec.delivery?.deadLetterSink ? ns : (broker.metadata.namespace ?? DEFAULT_NAMESPACE)) : undefined,
      delivery,
      filter: compileTriggerFilter(trigger.spec, this.options.cesql ? { cesql: this.options.cesql } : {}),
      labels: { broker: broker.metadata.name, kind: 'Trigger' },
      circuitBreaker: circuitBreakerSettings(trigger.metadata.annotations, broker.metadata.annotations),
      deadLetterStore: this.#deadLetterSettings.get(objectKey(broker.metadata))?.mode ?? 'exhausted',
      ...triggerOidc(trigger, delivery.deadLetterSink),
    };
    for (const url of [target.subscriberUrl, target.deadLetterUrl]) {
      if (url !== undefined) this.#egress?.checkUrl(url); // a denied destination is a configuration error: say so at start
    }
    // A destination's CACerts are trusted for its origin, besides the system roots (Knative's eventing-tls).
    for (const [dest, url] of [[trigger.spec.subscriber, target.subscriberUrl], [delivery.deadLetterSink, target.deadLetterUrl]] as const) {
      if (dest?.CACerts && url?.startsWith('https:') && this.sender instanceof UndiciSender) this.sender.setOriginTls(new URL(url).origin, rootsPlus(dest.CACerts));
    }
    const brokerNs = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
    const store = this.#stores.get(objectKey(broker.metadata))!;
    const counters = this.#trackDelivery('Trigger', ns, trigger.metadata.name, { store, log: logName(brokerNs, broker.metadata.name), group: `trigger:${target.key}` });
    const dispatcher = new TriggerDispatcher(target, {
      sender: this.sender,
      handleReply: (reply) => this.#accept(brokerNs, broker.metadata.name, [reply]),
      now: this.now,
      logger: this.logger,
      onAttempt: (_t, outcome, _ms, deadLetter) => counters.attempt(outcome, deadLetter),
      onDropped: () => counters.dropped(),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      ...(this.options.tracer ? { tracer: this.options.tracer } : {}),
    });
    this.#dispatchers.push(dispatcher);
    const ordered = parseDeliveryOrder(trigger.metadata.annotations?.[DELIVERY_ORDER_ANNOTATION]) === true;
    const group = `trigger:${target.key}`;
    this.#targets.set(group, { target, broker: `${brokerNs}/${broker.metadata.name}` });
    this.#consumers.push(
      store.consume(
        logName(brokerNs, broker.metadata.name),
        group,
        {
          maxInFlight: this.options.maxInFlightPerTrigger ?? 100,
          filter: target.filter,
          ...(ordered ? { orderingKey: (e: CloudEvent) => String(e.attributes['partitionkey'] ?? '') } : {}),
        },
        dispatcher.handle,
      ),
    );
    this.logger.info({ trigger: target.key, broker: `${brokerNs}/${broker.metadata.name}`, subscriber: redactUrl(target.subscriberUrl), ordered }, 'trigger ready');
    this.#status.set(
      'Trigger',
      ns,
      trigger.metadata.name,
      [
        trueCondition('BrokerReady'),
        trueCondition('DependencyReady'),
        trueCondition('SubscriberResolved'),
        trueCondition('SubscriptionReady'),
        deadLetterCondition(target.deadLetterUrl),
      ],
      { subscriberUri: target.subscriberUrl, ...(target.deadLetterUrl ? { deadLetterSinkUri: target.deadLetterUrl } : {}) },
    );
    return group;
  }

  /** Broker conditions as Knative's MT broker names them; ingress, filter (the triggers) and the address. */
  #reportBrokerStatus(broker: Broker, resolver: DestinationResolver): void {
    const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
    const url = `${this.#url}/${ns}/${broker.metadata.name}`;
    const conditions: Condition[] = [trueCondition('IngressReady'), trueCondition('FilterReady'), trueCondition('Addressable')];
    const fields: Record<string, unknown> = { address: { url } };
    const dls: Destination | undefined = broker.spec?.delivery?.deadLetterSink;
    if (dls) {
      try {
        fields['deadLetterSinkUri'] = resolver.resolve(dls, ns);
        conditions.push(trueCondition('DeadLetterSinkResolved'));
      } catch (err) {
        conditions.push(falseCondition('DeadLetterSinkResolved', 'Unresolvable', (err as Error).message));
      }
    } else {
      conditions.push(deadLetterCondition(undefined));
    }
    this.#status.set('Broker', ns, broker.metadata.name, conditions, fields);
  }

  #openStore(broker: Broker): EventStore {
    const cls = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
    if (cls === undefined || EMBEDDED_BROKER_CLASSES.includes(cls)) return this.store;
    const impl = this.options.brokerClasses?.[cls];
    if (!impl) throw new SluiceError('SLUICE_BROKER_CLASS_UNSUPPORTED', `broker ${objectKey(broker.metadata)}: class "${cls}" is not available`);
    return impl.open(broker, { logger: this.logger, ...(this.#deadLetters ? { deadLetters: this.#deadLetters } : {}) });
  }

  #accept(namespace: string, name: string, events: CloudEvent[], trace?: TraceContext): Promise<void> {
    const now = this.now();
    const admitted = events.map((e) => admitEvent(e, now, undefined, trace));
    const stored = this.#stores.get(`${namespace}/${name}`)!.append(logName(namespace, name), admitted);
    if (this.#ingressObservers.length === 0) return stored;
    return stored.then(() => this.#notifyIngress({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace, name }, events));
  }

  #notifyIngress(ref: IngressRef, events: readonly CloudEvent[]): void {
    for (const observer of this.#ingressObservers) {
      try {
        observer(ref, events);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'ingress observer failed');
      }
    }
  }

  /** Resources components made at run time (auto-created EventTypes, …), for the admin API. */
  published(): PublishedResource[] {
    return [...this.#published.values()];
  }

  /**
   * Graceful drain: stop accepting (readyz 503, ingress 503), let in-flight deliveries finish within `timeoutMs`,
   * flush the store and close.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#ready = false;
    this.#accepting = false;
    // Sources first, so nothing new arrives while deliveries drain.
    for (const c of this.#components.reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.logger.error({ component: c.name, err: (err as Error).message }, 'error while stopping');
      }
    }
    this.#unwatchTls?.();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Records waiting for an open circuit go back to the store at once instead of holding the drain up.
    for (const d of this.#dispatchers) d.close();
    await Promise.all(this.#consumers.map((c) => c.close(timeoutMs)));
    for (const store of new Set([this.store, ...this.#stores.values()])) await store.close();
    this.#lock?.release();
    this.#lock = undefined;
    await this.sender.close();
    this.server.closeAllConnections();
    await closed;
  }
}

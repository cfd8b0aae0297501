import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BROKER_CLASS_ANNOTATION,
  SluiceError,
  DEFAULT_NAMESPACE,
  brokerLog,
  noopLogger,
  objectKey,
  oidcSubject,
  triggerGroup,
  type Broker,
  type CesqlCompiler,
  falseCondition,
  trueCondition,
  type CloudEvent,
  type DeliveryFigures,
  type Logger,
  type ResourceStatus,
  type Metrics,
  type TraceContext,
  type Tracer,
  type Trigger,
} from '@sluice/core';
import type { SluiceConfig } from '@sluice/config';
import { randomBytes } from 'node:crypto';
import { EgressGuard, UndiciSender, redactUrl, type EgressRules, type EventSender } from '@sluice/delivery';
import {
  DEFAULT_DEAD_LETTER_RETENTION,
  SqliteEventStore,
  forgetStaleGroups,
  lockDataDir,
  type ForgottenGroup,
  type SqliteEventStoreOptions,
  type BrokerClass,
  type DataDirLock,
  type DeadLetterStore,
  type EventStore,
} from '@sluice/store';
import {
  DestinationResolver,
  EMBEDDED_BROKER_CLASSES,
  type ComponentFactory,
  type IngressAuthTarget,
  type DeliverySource,
  type IngressObserver,
  type IngressRef,
  type PublishedResource,
  type RouteHandler,
  type RuntimeComponent,
  type RuntimeContext,
} from '@sluice/plugin';
import { admitEvent } from './admission.js';
import { OidcVerifier, type OidcOptions } from './oidc-verifier.js';
import { JWKS_PATH, OidcIssuer } from './oidc-issuer.js';
import { DEFAULT_AUTHORIZATION_MODE, EventPolicies, brokerTarget, type AuthorizationMode } from './event-policy.js';
import { authenticateIngress, authorizeIngress } from './ingress-authorization.js';
import { OidcTokenFile, oidcTokenDir } from './oidc-token-file.js';
import { destinationAudiences, ownUriDestinations } from './oidc-sending.js';
import { createTlsServer, rootsPlus, watchTlsFiles, type TlsFiles } from './tls-ingress.js';
import type { Server as HttpsServer } from 'node:https';
import { applyConnectionLimits, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.js';
import { createIngressHandler, refuse, type AuthVerdict } from './http-ingress.js';
import { listen, serveRequest, type PortHandlers } from './ingress-port.js';
import { DeliveryCounters } from './delivery-counters.js';
import { brokerAccess, ingressGuard, type BrokerAccess } from './ingress-guard.js';
import { brokerStatus, triggerReadyStatus } from './resource-status.js';
import { triggerBroker, triggerFingerprint, triggerTarget } from './trigger-target.js';
import { componentScope, planComponents, type ComponentScope, type RunningComponent } from './component-host.js';
import { StatusRegistry } from './status-registry.js';
import { type DestinationCircuit, type SubscriptionTarget } from './delivery-dispatcher.js';
import { RunningTrigger, pendingOf } from './running-trigger.js';
import { sharedDeadLettersOf } from './dead-letter-router.js';
import { deadLetterSettings, type DeadLetterSettings } from './dead-letter-settings.js';
import { KeptEvents, type GroupTarget } from './kept-events.js';
import { diffResources, fingerprint, type ResourceChange } from './config-diff.js';

/** Options of {@link SluiceRuntime.start}. */
export interface RuntimeOptions {
  port?: number;
  host?: string;
  /** Directory of the embedded store (created if missing). Default `.sluice`. */
  dataDir?: string;
  /** Largest accepted event body (default 1 MiB). */
  maxBodyBytes?: number;
  /** The CPUs this process may use, for components' defaults (RuntimeContext.cpus); default `os.availableParallelism()`. */
  cpus?: number;
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
  /** Broker classes for a configuration; when given, used instead of `brokerClasses` for the configuration running. */
  brokerClassesFor?: (config: SluiceConfig) => Readonly<Record<string, BrokerClass>>;
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
   * are served on the ingress port. Brokers without static credentials then require an OIDC token (Sluice's own, or
   * from `oidc.issuers`) and authorize it by EventPolicy or `defaultAuthorizationMode` (Knative's default
   * allow-same-namespace). Off when unset; an `audience` in the configuration is then logged once as unused.
   */
  oidcSending?: { readonly issuer?: string; readonly lifetimeSeconds?: number; readonly defaultAuthorizationMode?: AuthorizationMode };
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

/** How long a changed or deleted Trigger's deliveries in flight may take to finish (each attempt has its own timeout). */
const DRAIN_TIMEOUT_MS = 300_000;

const EMPTY_CONFIG: SluiceConfig = { resources: [], brokers: [], triggers: [] };

/** Options of {@link SluiceRuntime.apply}. */
export interface ApplyOptions {
  /** Delete Triggers and Brokers that still owe events (their backlog is discarded, counted in the log). */
  readonly force?: boolean;
  /** Check and report what would change, change nothing. */
  readonly dryRun?: boolean;
}

/** What {@link SluiceRuntime.apply} changed. */
export interface ApplyReport {
  /** Every resource of the old and the new configuration, and what happened to it. */
  readonly resources: ResourceChange[];
  /** Components (sources, channels, …) that were replaced or started. */
  readonly restarted: string[];
  /** What deleted Triggers and Brokers still owed (kept as dead letters, or discarded). */
  readonly discarded: Array<ForgottenGroup & { readonly resource: string }>;
  /** Components and Triggers that could not start (they are NotReady; the rest of the change holds). */
  readonly failed: string[];
}

/** A running component that takes a change in place, and the component the change built for it. */
interface ComponentUpdate {
  readonly running: RunningComponent;
  readonly next: RuntimeComponent;
}

/** How a change is made: on start (any problem is fatal), live, or checked only. */
interface ReconcileMode {
  readonly force: boolean;
  readonly initial: boolean;
  readonly dryRun: boolean;
}

/** A checked change: what it removes and adds, the stores it opened, the brokers' access rules; problems refuse it. */
interface ReconcilePlan {
  readonly problems: string[];
  readonly forceNeeded: boolean;
  readonly opened: Map<string, EventStore>;
  readonly nextBrokers: Map<string, Broker>;
  readonly removedBrokers: string[];
  readonly nextTriggers: Map<string, Trigger>;
  readonly access: BrokerAccess;
}

/** A Trigger as a change wants it running: its broker, where it delivers and the fingerprint of all that. */
interface DesiredTrigger {
  readonly trigger: Trigger;
  readonly broker: Broker;
  readonly target: SubscriptionTarget;
  readonly fingerprint: string;
}

/** Runs a validated configuration: one HTTP server for every broker's ingress plus health, and a consumer per Trigger. */
export class SluiceRuntime {
  #ready = false;
  /** Whether broker ingress takes events (set before components start, cleared first on stop). */
  #accepting = false;
  /** The configuration running now (replaced by {@link apply}). */
  #config: SluiceConfig;
  /** Running Triggers by `namespace/name`. */
  readonly #triggers = new Map<string, RunningTrigger>();
  readonly #brokers = new Map<string, Broker>();
  readonly #triggersByBroker = new Map<string, Trigger[]>();
  readonly #routes = new Map<string, RouteHandler>();
  readonly #ingressObservers: IngressObserver[] = [];
  readonly #published = new Map<string, PublishedResource>();
  /** Running components, in start order. */
  #components: RunningComponent[] = [];
  /** Serves broker ingress; rebuilt when the brokers change. */
  #ingress: (req: IncomingMessage, res: ServerResponse, segments: string[]) => Promise<void> = async (req, res) => {
    refuse(req, res, 'SLUICE_NOT_READY', 'starting');
    return Promise.resolve();
  };
  #resolver: DestinationResolver | undefined;
  #oidc: OidcVerifier | undefined;
  /** The per-process token of Sluice's own sends (used when some broker requires credentials). */
  readonly #internalToken = `Bearer ${randomBytes(32).toString('base64url')}`;
  /** The reconfiguration in progress: one at a time, and stop waits for it. */
  #applying: Promise<unknown> = Promise.resolve();
  /** Store of each broker, by `namespace/name`. */
  readonly #stores = new Map<string, EventStore>();
  /** Dead-letter settings of each broker, by `namespace/name`. */
  readonly #deadLetterSettings = new Map<string, DeadLetterSettings>();
  /** What each consumer group delivers to (for replays), by group name `trigger:ns/name`. */
  readonly #targets = new Map<string, GroupTarget>();
  #deadLetters: DeadLetterStore | undefined;
  #url = '';
  /** The data-directory lock, released once the store is closed. */
  #lock: DataDirLock | undefined;
  readonly #status = new StatusRegistry(() => this.now());
  /** Counters and consumer group of each Trigger and Subscription, by `Kind/namespace/name`. */
  readonly #deliveries = new Map<string, { counters: DeliveryCounters; source: DeliverySource }>();
  /** What the brokers keep after delivery (archives, dead letters) and the replays from it. */
  readonly kept: KeptEvents;

  private constructor(
    config: SluiceConfig,
    private readonly options: RuntimeOptions,
    private readonly store: EventStore,
    private readonly sender: EventSender,
    private readonly server: Server,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.#config = config;
    this.kept = new KeptEvents({
      store,
      stores: this.#stores,
      settings: this.#deadLetterSettings,
      targets: this.#targets,
      deadLetters: () => this.#deadLetters,
      egress: () => this.#egress,
      acceptReply: (broker, reply) => this.acceptReply(broker, reply),
      sender,
      now,
      logger,
    });
  }

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
        store = new SqliteEventStore({
          path: join(dir, 'sluice.db'),
          durability: options.durability ?? 'fsync',
          logger,
          ...options.storeLimits,
          ...(options.metrics ? { metrics: options.metrics.store } : {}),
        });
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
    return [...this.#triggers.values()].flatMap((t) => t.circuits());
  }

  /** Stores a reply into a broker (`ns/name`) as a subscriber's reply to a live delivery is. */
  acceptReply(broker: string, reply: CloudEvent): Promise<void> {
    const [ns, name] = broker.split('/') as [string, string];
    return this.#accept(ns, name, [reply]);
  }

  /** Serves the ingress port, then reconciles the configuration from nothing; ready once everything started. */
  async #start(): Promise<void> {
    this.#deadLetters = this.options.deadLetters ?? (this.store instanceof SqliteEventStore ? this.store : undefined);
    this.#oidc = this.options.oidc ? new OidcVerifier(this.options.oidc, this.logger) : undefined;
    await this.#oidc?.load();
    const handlers: PortHandlers = {
      issuer: () => this.#issuer,
      ingress: (req, res, segments) => this.#ingress(req, res, segments),
      route: (first) => this.#routes.get(first),
      ready: () => this.#ready,
    };
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => serveRequest(req, res, handlers));
    this.#url = await listen(this.server, this.options.port ?? 8080, this.options.host ?? '127.0.0.1', this.#tlsCert !== undefined);
    this.#trustOwnCertificate();
    this.#startOidcSending();
    this.#resolver = new DestinationResolver({ ingressBaseUrl: this.#url, ...(this.options.serviceUrlTemplate ? { serviceUrlTemplate: this.options.serviceUrlTemplate } : {}) });
    await this.#reconcile(EMPTY_CONFIG, this.#config, { force: false, initial: true, dryRun: false });
    this.#ready = true;
  }

  /** Sluice's own sends to its ingress (triggers to brokers, sources, channels) trust its certificate, and follow a reload. */
  #trustOwnCertificate(): void {
    if (this.#tlsCert === undefined || !this.options.tls) return;
    const own = new URL(this.#url).origin;
    const trustOwn = (cert: string): void => {
      if (this.sender instanceof UndiciSender) this.sender.setOriginTls(own, rootsPlus(cert));
    };
    trustOwn(this.#tlsCert);
    this.#unwatchTls = watchTlsFiles(this.server as unknown as HttpsServer, this.options.tls, this.logger, trustOwn);
  }

  /**
   * Moves the running runtime to `next` without a restart (docs/operations.md, "Live reconfiguration"). `next` must be
   * a configuration that passed the same checks as `sluice run`'s. Brokers and Triggers are compared one by one,
   * components by their resources: what did not change keeps running untouched. A changed Trigger's consumer is
   * drained (its deliveries in flight finish and are acknowledged) and a new one continues its consumer group where
   * it stopped. Deleting a Trigger or Broker that still owes events needs `force`. Nothing changes when the change is
   * refused: the error lists every reason.
   */
  apply(next: SluiceConfig, options: ApplyOptions = {}): Promise<ApplyReport> {
    const run = this.#applying.then(() => {
      if (!this.#ready) throw new SluiceError('SLUICE_NOT_READY', 'sluice is not running (starting or stopping)', { retryable: true });
      return this.#reconcile(this.#config, next, { force: options.force === true, initial: false, dryRun: options.dryRun === true });
    });
    this.#applying = run.catch(() => undefined);
    return run;
  }

  /** The configuration running now. */
  get config(): SluiceConfig {
    return this.#config;
  }

  /** Builds the broker ingress for the current brokers (replacing the previous one). */
  #installIngress(access: BrokerAccess): void {
    const { credentials, certBrokers, limiters } = access;
    const oidc = this.#oidc;
    const internalAuth = this.#internalToken;
    // Knative's authentication-oidc feature: brokers require a token and authorize it by EventPolicy or default mode.
    const o = this.options.oidcSending;
    const policies = o ? new EventPolicies(this.#config, o.defaultAuthorizationMode ?? DEFAULT_AUTHORIZATION_MODE, this.options.cesql ? { cesql: this.options.cesql } : {}) : undefined;
    this.#policies = policies;
    if ((credentials.size > 0 || certBrokers.size > 0 || oidc !== undefined || limiters.size > 0 || policies !== undefined) && this.#internalAuth === undefined) {
      this.#internalAuth = internalAuth;
      if (this.sender instanceof UndiciSender) this.sender.setOriginHeaders(new URL(this.#url).origin, { authorization: internalAuth });
    }
    // The backend's `ready` getter has its own `this`; it reads the runtime's private state through this name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const runtime = this;
    const brokers = this.#brokers;
    const guard = ingressGuard({ access, internalAuth, oidc, issuer: this.#issuer, policies, brokerLabels: (key) => brokers.get(key)?.metadata.labels ?? {} });
    this.#ingress = createIngressHandler(
      {
        get ready() {
          return runtime.#accepting;
        },
        hasBroker: (ns, name) => brokers.has(`${ns}/${name}`),
        ...guard,
        accept: (ns, name, events, trace) => this.#accept(ns, name, events, trace),
      },
      {
        maxBodyBytes: this.options.maxBodyBytes ?? 1024 * 1024,
        logger: this.logger,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        ...(this.options.tracer ? { tracer: this.options.tracer } : {}),
      },
    );
  }

  /** The context of one component: what it registers through it is recorded in `scope`, to be released on stop. */
  #contextFor(scope: ComponentScope): RuntimeContext {
    return {
      url: this.#url,
      resolver: scope.resolver,
      sender: this.sender,
      store: this.store,
      logger: this.logger,
      now: this.now,
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      ...(this.options.tracer ? { tracer: this.options.tracer } : {}),
      maxBodyBytes: this.options.maxBodyBytes ?? 1024 * 1024,
      ...(this.options.cpus === undefined ? {} : { cpus: this.options.cpus }),
      route: (prefix, handler) => {
        if (this.#routes.has(prefix)) throw new SluiceError('SLUICE_PLUGIN_CONFLICT', `route /${prefix} is already taken`);
        this.#routes.set(prefix, handler);
        scope.routes.add(prefix);
      },
      reportStatus: (kind, namespace, name, conditions, fields) => {
        this.#status.set(kind, namespace, name, conditions, fields);
        scope.statuses.set(`${kind}/${namespace}/${name}`, [kind, namespace, name]);
      },
      dataDir: this.options.dataDir ?? '.sluice',
      onIngress: (observer) => {
        this.#ingressObservers.push(observer);
        scope.observers.add(observer);
      },
      ingressAccepted: (ref, events) => this.#notifyIngress(ref, events),
      publishResource: (resource) => {
        const key = `${resource.kind}/${resource.metadata.namespace}/${resource.metadata.name}`;
        this.#published.set(key, resource);
        scope.published.add(key);
      },
      trackDelivery: (kind, namespace, name, where) => {
        scope.deliveries.add(`${kind}/${namespace}/${name}`);
        return this.#trackDelivery(kind, namespace, name, where);
      },
      forget: (kind, namespace, name) => {
        const key = `${kind}/${namespace}/${name}`;
        this.#status.delete(kind, namespace, name);
        scope.statuses.delete(key);
        this.#deliveries.delete(key);
        scope.deliveries.delete(key);
      },
      // With authentication-oidc on, channels and flows authorize as brokers do; the policies are read at each
      // request, so a live change of EventPolicies applies to components that keep running.
      ...(this.options.oidcSending
        ? {
            authorizeIngress: (target: IngressAuthTarget, authorization: string | undefined): AuthVerdict | Promise<AuthVerdict> => {
              return authorizeIngress({ policies: this.#policies!, verifier: this.#oidc, issuer: this.#issuer }, target, authorization);
            },
            ingressPolicyStatus: (target: IngressAuthTarget) => this.#policies!.targetStatus(target),
            oidcTokenFile: (key: string, subject: string, audience: string) => new OidcTokenFile(oidcTokenDir(this.options.dataDir ?? '.sluice', key), this.#issuer!, audience, subject),
          }
        : this.#oidc !== undefined
          ? {
              // --oidc-issuer alone: every addressable requires a trusted token, as brokers do (no policies apply).
              authorizeIngress: (target: IngressAuthTarget, authorization: string | undefined): AuthVerdict | Promise<AuthVerdict> =>
                authenticateIngress(this.#oidc!, this.#internalToken, target, authorization),
            }
          : {}),
    };
  }

  /** Takes back what a stopped component registered: its routes 404 and its kinds and statuses are gone. */
  #release(scope: ComponentScope): void {
    for (const prefix of scope.routes) this.#routes.delete(prefix);
    for (let i = this.#ingressObservers.length - 1; i >= 0; i--) if (scope.observers.has(this.#ingressObservers[i]!)) this.#ingressObservers.splice(i, 1);
    for (const [kind, ns, name] of scope.statuses.values()) this.#status.delete(kind, ns, name);
    for (const key of scope.published) this.#published.delete(key);
    for (const key of scope.deliveries) this.#deliveries.delete(key);
    scope.resolver.release();
  }

  /**
   * Moves the runtime from `prev` to `next` in phases: plan and check (nothing changes until every check passed),
   * brokers, components, triggers, removed brokers, statuses; brokers accept events before components start.
   */
  async #reconcile(prev: SluiceConfig, next: SluiceConfig, mode: ReconcileMode): Promise<ApplyReport> {
    const plan = await this.#plan(prev, next, mode);
    if (plan.problems.length > 0) {
      await this.#closeOpened(plan.opened);
      const { problems } = plan;
      if (mode.initial) throw new SluiceError('SLUICE_CONFIG_INVALID', problems.join('; '));
      const onlyForce = plan.forceNeeded && problems.every((m) => m.includes('--force'));
      throw new SluiceError(onlyForce ? 'SLUICE_FORCE_REQUIRED' : 'SLUICE_CONFIG_INVALID', problems.join('\n'), { details: { problems } });
    }
    const report: ApplyReport = { resources: diffResources(prev, next), restarted: [], discarded: [], failed: [] };
    if (mode.dryRun) {
      await this.#closeOpened(plan.opened);
      return report;
    }
    this.#config = next;
    if (!mode.initial) this.#warnAboutAddedDestinations(prev, next);
    const addedBrokers = this.#applyBrokers(next, plan);
    const { fresh, updates } = await this.#reconcileComponents(next, mode, report);
    await this.#reconcileTriggers(prev, next, plan.nextTriggers, mode, report);
    await this.#removeBrokers(plan.removedBrokers, report);
    await this.#readyBrokers(addedBrokers);
    // ---- Brokers accept events before components start, so sources can send from their first moment.
    this.#accepting = true;
    await this.#startComponents(fresh, mode, report);
    await this.#updateComponents(updates, report);
    return report;
  }

  /** Checks a change against the running state and opens the stores of new brokers; changes nothing else. */
  async #plan(prev: SluiceConfig, next: SluiceConfig, mode: ReconcileMode): Promise<ReconcilePlan> {
    const problems: string[] = [];
    const nextBrokers = new Map(next.brokers.map((b) => [objectKey(b.metadata), b] as const));
    const removedBrokers = [...this.#brokers.keys()].filter((k) => !nextBrokers.has(k));
    const opened = await this.#openNewBrokers(nextBrokers, next, mode, problems);
    let forceNeeded = false;
    // Forced, nothing needs counting here: what is discarded is counted when it is.
    for (const key of mode.force ? [] : removedBrokers) {
      const [ns, name] = key.split('/') as [string, string];
      const p = await pendingOf(this.#stores.get(key)!, brokerLog(ns, name)).catch((err: unknown) => err as Error);
      if (p instanceof Error) {
        forceNeeded = true;
        problems.push(`broker ${key}: cannot read how many events it still owes (${p.message}); delete --force discards them`);
      } else if (p.backlog + p.retrying > 0) {
        forceNeeded = true;
        problems.push(`broker ${key} has ${p.backlog + p.retrying} events pending (backlog ${p.backlog}, retrying ${p.retrying}); delete --force discards them`);
      }
    }
    const nextTriggers = new Map(next.triggers.map((t) => [objectKey(t.metadata), t] as const));
    const prevTriggers = new Map(prev.triggers.map((t) => [objectKey(t.metadata), t] as const));
    for (const [key, t] of nextTriggers) {
      const before = prevTriggers.get(key);
      if (before && triggerBroker(before) !== triggerBroker(t)) problems.push(`trigger ${key}: spec.broker cannot change (Knative makes it immutable); delete the trigger, then apply it again`);
    }
    const deletedTriggers = [...this.#triggers.values()].filter((r) => !nextTriggers.has(r.key) && nextBrokers.has(r.brokerKey));
    for (const r of mode.force ? [] : deletedTriggers) {
      const discards = (r.store instanceof SqliteEventStore && this.#deadLetters === r.store) || sharedDeadLettersOf(r.store, r.log) ? 'moves them to the dead-letter store' : 'discards them';
      const p = await r.pending().catch((err: unknown) => err as Error);
      if (p instanceof Error) {
        forceNeeded = true;
        problems.push(`trigger ${r.key}: cannot read how many events it still owes (${p.message}); delete --force ${discards}`);
        continue;
      }
      if (p.backlog + p.retrying > 0) {
        forceNeeded = true;
        problems.push(`trigger ${r.key} has ${p.backlog + p.retrying} events pending (backlog ${p.backlog}, retrying ${p.retrying}); delete --force ${discards}`);
      }
    }
    const access = brokerAccess(nextBrokers, next, Boolean(this.options.tls?.clientCaFile), problems);
    return { problems, forceNeeded, opened, nextBrokers, removedBrokers, nextTriggers, access };
  }

  /** Opens the store of every broker not running yet; a broker's class may not change. */
  async #openNewBrokers(nextBrokers: ReadonlyMap<string, Broker>, next: SluiceConfig, mode: ReconcileMode, problems: string[]): Promise<Map<string, EventStore>> {
    const opened = new Map<string, EventStore>();
    const cls = (x: Broker): string => x.metadata.annotations?.[BROKER_CLASS_ANNOTATION] ?? '';
    for (const [key, b] of nextBrokers) {
      const before = this.#brokers.get(key);
      if (before && cls(before) !== cls(b))
        problems.push(`broker ${key}: the annotation ${BROKER_CLASS_ANNOTATION} cannot change (Knative makes it immutable); delete the broker, then apply it again`);
      else if (before) {
        // A running store whose names (e.g. Kafka topic, consumer groups) the change would alter refuses it.
        const running = this.#stores.get(key);
        const why =
          running && running !== this.store
            ? this.#brokerClasses(next)[cls(b)]?.conflicts?.(
                running,
                b,
                next.triggers.filter((t) => triggerBroker(t) === key),
              )
            : undefined;
        if (why !== undefined) problems.push(why);
      }
      if (!before) {
        // A new broker's store is opened now (a Kafka class reads its ConfigMap): a problem refuses the whole change.
        try {
          // A class loads its library with its first broker (e.g. kafkajs), before its first store opens.
          await this.#brokerClasses(next)[cls(b)]?.load?.(`broker ${key}`);
          opened.set(key, this.#openStore(b, next));
        } catch (err) {
          if (mode.initial) throw err;
          problems.push((err as Error).message);
        }
      }
    }
    return opened;
  }

  /** Closes the stores a refused or dry-run change opened. */
  async #closeOpened(opened: ReadonlyMap<string, EventStore>): Promise<void> {
    for (const store of opened.values()) if (store !== this.store) await store.close().catch(() => undefined);
  }

  /** Brokers: added ones are served from here on, removed ones answer 404 from here on. Returns the added keys. */
  #applyBrokers(next: SluiceConfig, plan: ReconcilePlan): string[] {
    for (const key of plan.removedBrokers) {
      const [ns, name] = key.split('/') as [string, string];
      this.#brokers.delete(key);
      this.#deadLetterSettings.delete(key);
      this.#status.delete('Broker', ns, name);
    }
    const addedBrokers: string[] = [];
    for (const [key, b] of plan.nextBrokers) {
      const ns = b.metadata.namespace ?? DEFAULT_NAMESPACE;
      const settings = deadLetterSettings(b, DEFAULT_DEAD_LETTER_RETENTION);
      this.#deadLetterSettings.set(key, settings);
      this.#deadLetters?.setDeadLetterRetention(brokerLog(ns, b.metadata.name), settings.retention);
      if (this.store instanceof SqliteEventStore) this.store.setArchiveRetention(brokerLog(ns, b.metadata.name), settings.archive);
      if (!this.#stores.has(key)) {
        this.#stores.set(key, plan.opened.get(key) ?? this.#openStore(b, next));
        addedBrokers.push(key);
      }
      this.#brokers.set(key, b);
    }
    this.#installIngress(plan.access);
    this.#triggersByBroker.clear();
    for (const t of next.triggers) {
      const key = triggerBroker(t);
      const list = this.#triggersByBroker.get(key) ?? [];
      list.push(t);
      this.#triggersByBroker.set(key, list);
    }
    return addedBrokers;
  }

  /**
   * Components: same name and resources (and nothing addressable moved) are kept; the rest are stopped and replaced,
   * and the new ones register. Returns the new ones, to be started once brokers accept events.
   */
  async #reconcileComponents(next: SluiceConfig, mode: ReconcileMode, report: ApplyReport): Promise<{ fresh: RunningComponent[]; updates: ComponentUpdate[] }> {
    const resolver = this.#resolver!;
    const built = (this.options.components ?? []).flatMap((factory) => factory(next));
    const shared = next.resources.filter((r) => r.kind === 'Secret' || r.kind === 'ConfigMap').map((r) => r.value);
    const wanted = built.map((component) => ({ component, fingerprint: component.resources === undefined ? undefined : fingerprint([component.name, component.resources, shared]) }));
    const { kept: pairs, updated } = planComponents(this.#components, wanted);
    const keptOld = new Set([...pairs.values(), ...updated.values()]);
    const stopping = this.#components.filter((r) => !keptOld.has(r));
    for (const r of [...stopping].reverse()) {
      try {
        await r.component.stop();
      } catch (err) {
        this.logger.error({ component: r.component.name, err }, 'error while stopping');
      }
      this.#release(r.scope);
      if (!mode.initial) this.logger.info({ component: r.component.name }, 'stopped (configuration changed)');
    }
    const running: RunningComponent[] = [];
    const fresh: RunningComponent[] = [];
    const updates: ComponentUpdate[] = [];
    wanted.forEach((w, i) => {
      const old = pairs.get(i);
      const up = updated.get(i);
      // An updated component keeps running with the change's fingerprint; the one built for the change is its input.
      const r = old ?? (up ? { component: up.component, fingerprint: w.fingerprint, scope: up.scope } : { component: w.component, fingerprint: w.fingerprint, scope: componentScope(resolver) });
      running.push(r);
      if (up) updates.push({ running: r, next: w.component });
      else if (!old) fresh.push(r);
    });
    this.#components = running;
    for (const r of fresh) {
      if (!r.component.register) continue;
      try {
        await r.component.register(this.#contextFor(r.scope));
      } catch (err) {
        if (mode.initial) throw err;
        report.failed.push(`${r.component.name}: ${(err as Error).message}`);
        this.logger.error({ component: r.component.name, err }, 'component failed to start');
      }
    }
    if (!mode.initial) report.restarted.push(...fresh.map((r) => r.component.name));
    return { fresh, updates };
  }

  /** Components that take a change in place restart only what changed (and say what); one that fails is reported. */
  async #updateComponents(updates: readonly ComponentUpdate[], report: ApplyReport): Promise<void> {
    for (const { running, next } of updates) {
      try {
        const restarted = await running.component.update!(next);
        report.restarted.push(...restarted);
        if (restarted.length > 0) this.logger.info({ component: running.component.name, restarted }, `${running.component.name}: restarted ${restarted.join(', ')} (configuration changed)`);
      } catch (err) {
        report.failed.push(`${running.component.name}: ${(err as Error).message}`);
        this.logger.error({ component: running.component.name, err }, 'component failed to take the change');
      }
    }
  }

  /** Starts new components; one that fails is NotReady on a live change (the rest of the change holds). */
  async #startComponents(fresh: readonly RunningComponent[], mode: ReconcileMode, report: ApplyReport): Promise<void> {
    for (const r of fresh) {
      try {
        await r.component.start(this.#contextFor(r.scope));
        this.logger.info({ component: r.component.name }, 'started');
      } catch (err) {
        if (mode.initial) throw err;
        report.failed.push(`${r.component.name}: ${(err as Error).message}`);
        this.logger.error({ component: r.component.name, err }, 'component failed to start');
      }
    }
  }

  /** Triggers: unchanged ones keep running; changed ones are drained and continue their group; deleted ones go. */
  async #reconcileTriggers(prev: SluiceConfig, next: SluiceConfig, nextTriggers: ReadonlyMap<string, Trigger>, mode: ReconcileMode, report: ApplyReport): Promise<void> {
    const desired = this.#desiredTriggers(nextTriggers, mode, report);
    const stop = [...this.#triggers.values()].filter((r) => desired.get(r.key)?.fingerprint !== r.fingerprint);
    await Promise.all(
      stop.map(async (r) => {
        await r.close(DRAIN_TIMEOUT_MS);
        this.#triggers.delete(r.key);
        this.#targets.delete(r.group);
      }),
    );
    for (const r of stop) {
      if (nextTriggers.has(r.key) || !this.#brokers.has(r.brokerKey)) continue;
      // Deleted: what its group still owed is counted (and kept as dead letters where the store keeps them).
      const forgotten = await r.forget();
      const [ns, name] = r.key.split('/') as [string, string];
      this.#status.delete('Trigger', ns, name);
      this.#deliveries.delete(`Trigger/${ns}/${name}`);
      if (forgotten) {
        report.discarded.push({ resource: `Trigger ${r.key}`, ...forgotten });
        this.#logDiscarded(`Trigger ${r.key}`, [forgotten]);
      }
    }
    for (const [key, d] of desired) {
      if (this.#triggers.get(key)?.fingerprint === d.fingerprint) continue;
      this.#startTrigger(d.broker, d.trigger, d.target, d.fingerprint);
    }
    this.#reportTriggersWithoutBroker(next);
    for (const t of prev.triggers) {
      const key = objectKey(t.metadata);
      if (!nextTriggers.has(key)) {
        this.#status.delete('Trigger', t.metadata.namespace ?? DEFAULT_NAMESPACE, t.metadata.name);
        this.#deliveries.delete(`Trigger/${t.metadata.namespace ?? DEFAULT_NAMESPACE}/${t.metadata.name}`);
      }
    }
  }

  /** What every Trigger whose broker runs should run as; one whose destination does not resolve is NotReady. */
  #desiredTriggers(nextTriggers: ReadonlyMap<string, Trigger>, mode: ReconcileMode, report: ApplyReport): Map<string, DesiredTrigger> {
    const resolver = this.#resolver!;
    const desired = new Map<string, DesiredTrigger>();
    for (const [key, t] of nextTriggers) {
      const broker = this.#brokers.get(triggerBroker(t));
      if (!broker) continue;
      let target: SubscriptionTarget;
      try {
        target = triggerTarget(broker, t, resolver, {
          ...(this.options.cesql ? { cesql: this.options.cesql } : {}),
          deadLetterStore: this.#deadLetterSettings.get(objectKey(broker.metadata))?.mode ?? 'exhausted',
          egress: this.#egress,
        });
      } catch (err) {
        // A subscriber whose kind nothing here serves yet (a channel ref with no channel declared) keeps the trigger
        // NotReady, as Knative does, at start as on a live change; any other error still stops the start.
        const unresolved = err instanceof SluiceError && err.code === 'SLUICE_DESTINATION_UNRESOLVABLE';
        if (mode.initial && !unresolved) throw err;
        const ns = t.metadata.namespace ?? DEFAULT_NAMESPACE;
        this.#status.set('Trigger', ns, t.metadata.name, [trueCondition('BrokerReady'), falseCondition('SubscriberResolved', 'Unresolvable', (err as Error).message)]);
        report.failed.push(`trigger ${key}: ${(err as Error).message}`);
        this.logger.error({ trigger: key, err }, `Trigger ${key} is NotReady: ${(err as Error).message}`);
        continue;
      }
      desired.set(key, {
        trigger: t,
        broker,
        target,
        fingerprint: triggerFingerprint(t, broker, target),
      });
    }
    return desired;
  }

  /** Triggers applied before their Broker: Knative keeps them NotReady (BrokerDoesNotExist) until it exists. */
  #reportTriggersWithoutBroker(next: SluiceConfig): void {
    for (const t of next.triggers) {
      const brokerKey = triggerBroker(t);
      if (this.#brokers.has(brokerKey)) continue;
      const ns = t.metadata.namespace ?? DEFAULT_NAMESPACE;
      const message = `Broker "${brokerKey}" does not exist`;
      this.#status.set('Trigger', ns, t.metadata.name, [falseCondition('BrokerReady', 'BrokerDoesNotExist', message)]);
      this.logger.warn({ trigger: `${ns}/${t.metadata.name}`, reason: 'BrokerDoesNotExist' }, `Trigger ${ns}/${t.metadata.name} is NotReady (BrokerDoesNotExist): ${message}`);
    }
  }

  /** Removed brokers: their triggers stopped before; every group of their log is forgotten, counted. */
  async #removeBrokers(removedBrokers: readonly string[], report: ApplyReport): Promise<void> {
    for (const key of removedBrokers) {
      const [ns, name] = key.split('/') as [string, string];
      const store = this.#stores.get(key)!;
      const log = brokerLog(ns, name);
      const forgotten = await store.forgetGroups(log, store.groups(log));
      for (const f of forgotten) report.discarded.push({ resource: `Broker ${key}`, ...f });
      this.#logDiscarded(`Broker ${key}`, forgotten);
      this.#stores.delete(key);
      if (store !== this.store && ![...this.#stores.values()].includes(store)) await store.close();
    }
  }

  /** A new broker's log is ready (topics exist on Kafka) and forgets groups of triggers removed while stopped; statuses. */
  async #readyBrokers(addedBrokers: readonly string[]): Promise<void> {
    const resolver = this.#resolver!;
    for (const [key, b] of this.#brokers) {
      const ns = b.metadata.namespace ?? DEFAULT_NAMESPACE;
      if (addedBrokers.includes(key)) {
        const groups = (this.#triggersByBroker.get(key) ?? []).map((t) => triggerGroup(t.metadata.namespace ?? DEFAULT_NAMESPACE, t.metadata.name));
        await forgetStaleGroups(this.#stores.get(key)!, brokerLog(ns, b.metadata.name), groups);
      }
      this.#reportBrokerStatus(b, resolver);
    }
    this.#reportPolicyStatus();
  }

  /** One line per deleted resource that still owed events: how many, and whether they were kept or discarded. */
  #logDiscarded(resource: string, forgotten: readonly ForgottenGroup[]): void {
    const retries = forgotten.reduce((n, f) => n + f.retries, 0);
    const events = forgotten.reduce((n, f) => n + f.backlog + f.unread, 0);
    if (retries + events === 0) return;
    const kept = forgotten.every((f) => f.outcome === 'dead-letters');
    const unread = forgotten.reduce((n, f) => n + f.unread, 0);
    this.logger.warn(
      { resource, retries, events, outcome: kept ? 'dead-letters' : 'discarded' },
      kept
        ? `${resource} deleted: ${retries} pending retries${unread > 0 ? ` kept in the dead-letter store; ${unread} unread events discarded` : ` and ${events} unread events kept in the dead-letter store (reason "trigger removed")`}`
        : `${resource} deleted: ${retries} pending retries and ${events} unread events discarded`,
    );
  }

  /** Sluice's own OIDC issuer, when it signs tokens for its deliveries. */
  #issuer: OidcIssuer | undefined;
  /** EventPolicies and the default authorization mode, with the authentication-oidc feature on. */
  #policies: EventPolicies | undefined;
  /** EventPolicies whose status was reported, by `namespace/name` (a reconfiguration removes the ones gone). */
  readonly #policyStatuses = new Set<string>();

  /** Each EventPolicy's status (Knative's conditions and `status.from`); policies no longer configured lose theirs. */
  #reportPolicyStatus(): void {
    const seen = new Set<string>();
    for (const p of this.#policies?.policyStatuses() ?? []) {
      this.#status.set('EventPolicy', p.namespace, p.name, p.conditions, p.from.length > 0 ? { from: p.from } : {});
      seen.add(`${p.namespace}/${p.name}`);
    }
    for (const key of this.#policyStatuses) {
      if (seen.has(key)) continue;
      const [ns, name] = key.split('/') as [string, string];
      this.#status.delete('EventPolicy', ns, name);
    }
    this.#policyStatuses.clear();
    for (const key of seen) this.#policyStatuses.add(key);
  }

  /**
   * Stores a Trigger's reply into its broker. With the authentication-oidc feature on, the reply is authorized as
   * Knative authorizes it, as a request from the Trigger's identity: a refused reply fails the delivery (403).
   */
  #acceptReply(broker: Broker, trigger: Trigger, reply: CloudEvent): Promise<void> {
    const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
    const name = broker.metadata.name;
    const check = this.#policies?.authorizer(
      brokerTarget(ns, name, broker.metadata.labels ?? {}),
      oidcSubject('eventing.knative.dev', 'Trigger', trigger.metadata.namespace ?? DEFAULT_NAMESPACE, trigger.metadata.name),
    );
    const why = check?.([reply]);
    if (why !== undefined) return Promise.reject(new SluiceError('SLUICE_FORBIDDEN', `reply refused: ${why}`, { details: { status: 403, destination: `${this.#url}/${ns}/${name}` } }));
    return this.#accept(ns, name, [reply]);
  }

  /** Turns on OIDC tokens for deliveries (or says once that `audience` is unused when the feature is off). */
  #startOidcSending(): void {
    const o = this.options.oidcSending;
    if (o === undefined) {
      this.#warnUnusedAudiences(destinationAudiences(this.config));
      return;
    }
    this.#issuer = new OidcIssuer({ issuer: o.issuer ?? this.#url, dir: this.options.dataDir ?? '.sluice', ...(o.lifetimeSeconds !== undefined ? { lifetimeSeconds: o.lifetimeSeconds } : {}) });
    if (this.sender instanceof UndiciSender) this.sender.setTokenSource(this.#issuer);
    this.#warnOwnUris(ownUriDestinations(this.config, this.#url));
    this.logger.info({ issuer: this.#issuer.issuer, kid: this.#issuer.kid }, `OIDC tokens for deliveries: issuer ${this.#issuer.issuer}, JWKS at ${this.#issuer.issuer}${JWKS_PATH}`);
  }

  /** Warns about destinations a live change adds as the start does: unused audiences (feature off), own-ingress uris (on). */
  #warnAboutAddedDestinations(prev: SluiceConfig, next: SluiceConfig): void {
    if (this.options.oidcSending === undefined) {
      const before = new Set(destinationAudiences(prev));
      this.#warnUnusedAudiences(destinationAudiences(next).filter((d) => !before.has(d)));
    } else {
      const before = new Set(ownUriDestinations(prev, this.#url));
      this.#warnOwnUris(ownUriDestinations(next, this.#url).filter((d) => !before.has(d)));
    }
  }

  /** Says that destinations set an `audience` that is not used (the authentication-oidc feature is off). */
  #warnUnusedAudiences(unused: readonly string[]): void {
    if (unused.length === 0) return;
    this.logger.warn(
      { destinations: unused.slice(0, 10) },
      `${unused.length} destination${unused.length === 1 ? ' sets' : 's set'} an OIDC audience, which is not used: OIDC tokens for deliveries are off (turn them on with --authentication-oidc)`,
    );
  }

  /** Says that destinations send to Sluice's own ingress through a `uri` without an `audience` (refused: no token). */
  #warnOwnUris(found: readonly string[]): void {
    if (found.length === 0) return;
    this.logger.warn(
      { destinations: found.slice(0, 10) },
      `${found.length} destination${found.length === 1 ? ' sends' : 's send'} to Sluice's own ingress through a uri without an audience: they carry no OIDC token and are refused (401); name the target with a ref, or set its audience`,
    );
  }

  /** The egress guard of the default sender (undefined when turned off). */
  #egress: EgressGuard | undefined;
  /** The ingress certificate (PEM) when serving HTTPS. */
  #tlsCert: string | undefined;
  #unwatchTls: (() => void) | undefined;
  /** The per-process token Sluice's own sends carry when some broker requires credentials or client certificates. */
  #internalAuth: string | undefined;

  #startTrigger(broker: Broker, trigger: Trigger, target: SubscriptionTarget, fingerprint: string): void {
    const ns = trigger.metadata.namespace ?? DEFAULT_NAMESPACE;
    const delivery = target.delivery;
    // A destination's CACerts are trusted for its origin, besides the system roots (Knative's eventing-tls).
    for (const [dest, url] of [
      [trigger.spec.subscriber, target.subscriberUrl],
      [delivery.deadLetterSink, target.deadLetterUrl],
    ] as const) {
      if (dest?.CACerts && url?.startsWith('https:') && this.sender instanceof UndiciSender) this.sender.setOriginTls(new URL(url).origin, rootsPlus(dest.CACerts));
    }
    const brokerNs = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
    const brokerKey = objectKey(broker.metadata);
    const store = this.#stores.get(brokerKey)!;
    const log = brokerLog(brokerNs, broker.metadata.name);
    const group = triggerGroup(ns, trigger.metadata.name);
    const counters = this.#trackDelivery('Trigger', ns, trigger.metadata.name, { store, log, group });
    this.#targets.set(group, { target, broker: brokerKey });
    const running = RunningTrigger.start(
      trigger,
      target,
      fingerprint,
      { store, log, group, brokerKey },
      {
        sender: this.sender,
        handleReply: (reply) => this.#acceptReply(broker, trigger, reply),
        now: this.now,
        logger: this.logger,
        counters,
        maxInFlight: this.options.maxInFlightPerTrigger,
        metrics: this.options.metrics,
        tracer: this.options.tracer,
      },
    );
    this.#triggers.set(target.key, running);
    const ordered = RunningTrigger.ordered(trigger);
    this.logger.info({ trigger: target.key, broker: brokerKey, subscriber: redactUrl(target.subscriberUrl), ordered }, 'trigger ready');
    const status = triggerReadyStatus(target);
    this.#status.set('Trigger', ns, trigger.metadata.name, status.conditions, status.fields);
  }

  /** Reports a broker's status ({@link brokerStatus}) at its ingress address. */
  #reportBrokerStatus(broker: Broker, resolver: DestinationResolver): void {
    const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
    const status = brokerStatus(broker, `${this.#url}/${ns}/${broker.metadata.name}`, resolver, this.#policies);
    this.#status.set('Broker', ns, broker.metadata.name, status.conditions, status.fields);
  }

  #brokerClasses(config: SluiceConfig): Readonly<Record<string, BrokerClass>> {
    return this.options.brokerClassesFor?.(config) ?? this.options.brokerClasses ?? {};
  }

  #openStore(broker: Broker, config: SluiceConfig): EventStore {
    const cls = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
    if (cls === undefined || EMBEDDED_BROKER_CLASSES.includes(cls)) return this.store;
    const impl = this.#brokerClasses(config)[cls];
    if (!impl) throw new SluiceError('SLUICE_BROKER_CLASS_UNSUPPORTED', `broker ${objectKey(broker.metadata)}: class "${cls}" is not available`);
    // A Kafka-class broker keeps its archive through its topic's retention, set when its store opens.
    const { archive, retention } = deadLetterSettings(broker, DEFAULT_DEAD_LETTER_RETENTION);
    return impl.open(broker, { logger: this.logger, ...(this.#deadLetters ? { deadLetters: this.#deadLetters } : {}), ...(archive ? { archive } : {}), deadLetterRetention: retention });
  }

  #accept(namespace: string, name: string, events: CloudEvent[], trace?: TraceContext): Promise<void> {
    const now = this.now();
    const admitted = events.map((e) => admitEvent(e, now, undefined, trace));
    const stored = this.#stores.get(`${namespace}/${name}`)!.append(brokerLog(namespace, name), admitted);
    if (this.#ingressObservers.length === 0) return stored;
    return stored.then(() => this.#notifyIngress({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace, name }, events));
  }

  #notifyIngress(ref: IngressRef, events: readonly CloudEvent[]): void {
    for (const observer of this.#ingressObservers) {
      try {
        observer(ref, events);
      } catch (err) {
        this.logger.error({ err }, 'ingress observer failed');
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
    await this.#applying; // a reconfiguration in progress finishes first
    this.#accepting = false;
    // Sources first, so nothing new arrives while deliveries drain.
    for (const { component: c } of [...this.#components].reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.logger.error({ component: c.name, err }, 'error while stopping');
      }
    }
    this.#unwatchTls?.();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Records waiting for an open circuit go back to the store at once instead of holding the drain up.
    await Promise.all([...this.#triggers.values()].map((t) => t.close(timeoutMs)));
    for (const store of new Set([this.store, ...this.#stores.values()])) await store.close();
    this.#lock?.release();
    this.#lock = undefined;
    await this.sender.close();
    this.server.closeAllConnections();
    await closed;
  }
}

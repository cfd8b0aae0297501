import type { IncomingMessage, ServerResponse } from 'node:http';
import { SluiceError, type CloudEvent, type Condition, type Logger, type Metrics, type ResourceStatus, type Tracer } from '@sluice/core';
import type { SemanticCheck, SluiceConfig } from '@sluice/config';
import type { AttemptOutcome, EventSender } from '@sluice/delivery';
import type { BrokerClass, EventStore } from '@sluice/store';
import type { DestinationResolver } from './destination-resolver.js';

/** Broker classes served by the embedded store. */
export const EMBEDDED_BROKER_CLASSES: readonly string[] = ['MTChannelBasedBroker', 'Sluice'];

/** Serves the requests under a prefix a component took; `rest` is the path's segments after the prefix. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, rest: readonly string[]) => void;

/** What a runtime component (sources, channels, …) gets from the runtime when it starts. */
export interface RuntimeContext {
  /** Base URL of the HTTP server, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly resolver: DestinationResolver;
  readonly sender: EventSender;
  readonly store: EventStore;
  readonly logger: Logger;
  readonly now: () => number;
  /** Metric hooks (no-op unless the entry point wired them). */
  readonly metrics?: Metrics;
  /** Tracer (no-op unless the entry point wired it). */
  readonly tracer?: Tracer;
  /** The largest event body the runtime accepts (`--max-body-bytes`); components with an ingress apply it too. */
  readonly maxBodyBytes: number;
  /**
   * Serves `/{prefix}/…` on the runtime's HTTP server. Prefixes must not be a valid two-segment broker path:
   * components use three or more segments (e.g. `/webhooks/{namespace}/{name}`).
   */
  route(prefix: string, handler: RouteHandler): void;
  /**
   * Reports the Knative-style conditions of a resource this component runs (`Ready` is derived from them), plus
   * status fields such as `sinkUri`; the admin API and `/readyz` show them.
   */
  reportStatus(kind: string, namespace: string, name: string, conditions: readonly Condition[], fields?: Record<string, unknown>): void;
  /** The data directory of `sluice run`, for components that keep files of their own. */
  readonly dataDir?: string;
  /**
   * The CPUs this process may use: the machine's, capped by its control group's CPU quota (a container's `--cpus`, a
   * pod's `limits.cpu`), for components that size their work by it. Absent: `os.availableParallelism()`.
   */
  readonly cpus?: number;
  /** Subscribes to every ingress's accepted events (brokers, and channels that report theirs). */
  onIngress?(observer: IngressObserver): void;
  /** Reports events a component's own ingress accepted (channels), so observers see them too. */
  ingressAccepted?(ref: IngressRef, events: readonly CloudEvent[]): void;
  /** Adds or replaces a resource made at run time; the admin API lists it with the configuration's. */
  publishResource?(resource: PublishedResource): void;
  /**
   * Registers the consumer group of a delivering resource (a Subscription) for the live figures of the admin API;
   * returns what to feed from its dispatcher (`onAttempt`, `onDropped`). Absent in contexts without an admin API.
   */
  trackDelivery?(kind: string, namespace: string, name: string, where: DeliverySource): DeliveryRecorder;
  /**
   * With the authentication-oidc feature on (absent when it is off): whether a request with this `Authorization`
   * header may send to an addressable a component serves, by the same rules as a Broker's ingress.
   */
  readonly authorizeIngress?: (target: IngressAuthTarget, authorization: string | undefined) => AuthVerdict | Promise<AuthVerdict>;
  /**
   * With the authentication-oidc feature on: keeps a token of Sluice's issuer for `subject` and `audience` in a file
   * (0600, renewed before it expires) for a process Sluice starts to send with; `key` names its directory. `close`
   * stops the renewal and removes the file.
   */
  readonly oidcTokenFile?: (key: string, subject: string, audience: string) => { readonly path: string; close(): void };
  /**
   * A resource this component ran is gone (a live change removed it, the component keeps running): its status and
   * delivery figures are removed. What a component registered is released anyway when it stops.
   */
  forget?(kind: string, namespace: string, name: string): void;
  /** With the authentication-oidc feature on: an addressable's `EventPoliciesReady` condition and `status.policies`. */
  readonly ingressPolicyStatus?: (target: IngressAuthTarget) => {
    readonly condition: Condition;
    readonly policies: readonly { readonly name: string; readonly apiVersion: string }[];
  };
}

/** Whether a request may send to an addressable, and why not (401); `authorize` checks the decoded events (403). */
export type AuthVerdict = { readonly ok: true; readonly authorize?: (events: readonly CloudEvent[]) => string | undefined } | { readonly ok: false; readonly message: string };

/**
 * An addressable whose ingress authenticates and authorizes requests as Knative's do with its authentication-oidc
 * feature on: a token for one of its `audiences` is required, then its EventPolicies (named by one of its `kinds`,
 * `{ group, kind }`, the first being what it is) or the default authorization mode decide. With `onlySubjects`, no
 * policy applies and only those subjects may send (the inner channels of a flow take only the flow's subscriptions).
 */
export interface IngressAuthTarget {
  readonly kinds: readonly { readonly group: string; readonly kind: string }[];
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly audiences: readonly string[];
  readonly onlySubjects?: readonly string[];
}

/** An addressable that takes events in (a Broker or a channel), as a Knative KReference. */
export interface IngressRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Told of the events an ingress accepted (after they were stored), e.g. to record their types. Must be cheap. */
export type IngressObserver = (ref: IngressRef, events: readonly CloudEvent[]) => void;

/** A resource a component makes at run time (e.g. an auto-created EventType), listed beside the configuration's. */
export interface PublishedResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly [field: string]: unknown };
  readonly spec?: unknown;
  readonly status?: ResourceStatus;
}

/** Where the figures of a delivering resource come from: its store, log and consumer group. */
export interface DeliverySource {
  readonly store: EventStore;
  readonly log: string;
  readonly group: string;
}

/** Takes what happens to the deliveries of one Trigger or Subscription. */
export interface DeliveryRecorder {
  /** A finished attempt at the subscriber (`deadLetter` false) or at the dead-letter sink. */
  attempt(outcome: AttemptOutcome, deadLetter: boolean): void;
  /** An event dropped after its last attempt (no dead-letter sink). */
  dropped(): void;
}

/** A part of a configuration that runs beside the brokers (sources, channels, …). */
export interface RuntimeComponent {
  /** e.g. `PingSource default/heartbeat`, for logs and errors. */
  readonly name: string;
  /**
   * The configuration documents this component runs from (its resources, and what it reads of others). A live
   * reconfiguration keeps a running component when the new configuration yields one with the same `name` and equal
   * `resources`, and replaces it otherwise; without `resources` it is replaced on every change. Everything it
   * registered through its context (routes, addressable kinds, Services, ingress observers, statuses, published
   * resources, delivery figures) is released when it stops.
   */
  readonly resources?: readonly unknown[];
  /**
   * Called before any Trigger starts: register the kinds this component makes addressable (channels, flows) or the
   * Services it runs (workloads).
   */
  register?(ctx: RuntimeContext): void | Promise<void>;
  start(ctx: RuntimeContext): Promise<void>;
  stop(): Promise<void>;
  /**
   * Takes a change in place (optional): `next` is the component a changed configuration built with the same `name`.
   * The running one restarts only the parts whose resources changed and keeps the rest (and its addresses) running;
   * it resolves with what it restarted, e.g. `Subscription default/orders`. Called once brokers accept events and
   * new components registered. Without it (or when an addressable component was replaced) the component is replaced.
   */
  update?(next: RuntimeComponent): Promise<readonly string[]>;
  /**
   * Whether {@link update} can take `next` in place (optional; default yes). A component whose addresses the change
   * would move answers no, and is replaced: the components that may have resolved those addresses are replaced too.
   */
  canUpdate?(next: RuntimeComponent): boolean;
}

/** Builds the components of a configuration; each plugin that runs something beside the brokers has one. */
export type ComponentFactory = (config: SluiceConfig) => RuntimeComponent[];

/**
 * One package's contribution to `sluice`: the semantic checks of the kinds it serves, the components it runs and the
 * broker classes it provides. The CLI lists its plugins in one registry and derives checks and runtime options from it.
 */
export interface SluicePlugin {
  /** e.g. `sources`, for logs and errors. */
  readonly name: string;
  /** Semantic checks run after schema validation by `sluice run` and `sluice validate`. */
  readonly checks?: () => readonly SemanticCheck[];
  /** Components that run beside the brokers. */
  readonly components?: ComponentFactory;
  /** Broker classes by their `eventing.knative.dev/broker.class` value, for one loaded configuration. */
  readonly brokerClasses?: (config: SluiceConfig) => Readonly<Record<string, BrokerClass>>;
}

/** The semantic checks of every plugin, in registry order. */
export function pluginChecks(plugins: readonly SluicePlugin[]): SemanticCheck[] {
  return plugins.flatMap((p) => p.checks?.() ?? []);
}

/** The runtime options that come from plugins: their component factories and broker classes, in registry order. */
export function pluginRuntimeOptions(
  plugins: readonly SluicePlugin[],
  config: SluiceConfig,
): {
  components: ComponentFactory[];
  brokerClasses: Record<string, BrokerClass>;
  /** The broker classes for another configuration (a live change may add a broker that reads its new ConfigMaps). */
  brokerClassesFor: (config: SluiceConfig) => Record<string, BrokerClass>;
} {
  const components = plugins.flatMap((p) => (p.components ? [p.components] : []));
  const brokerClassesFor = (c: SluiceConfig): Record<string, BrokerClass> => {
    const brokerClasses: Record<string, BrokerClass> = {};
    for (const plugin of plugins) {
      for (const [name, cls] of Object.entries(plugin.brokerClasses?.(c) ?? {})) {
        if (name in brokerClasses) throw new SluiceError('SLUICE_PLUGIN_CONFLICT', `broker class ${name} is provided by two plugins (the second is ${plugin.name})`);
        brokerClasses[name] = cls;
      }
    }
    return brokerClasses;
  };
  return { components, brokerClasses: brokerClassesFor(config), brokerClassesFor };
}

/**
 * Declares the configuration documents a component runs from ({@link RuntimeComponent.resources}), so a live
 * reconfiguration keeps it running while they do not change. Factories call it on what they build.
 */
export function runsFrom<T extends RuntimeComponent>(component: T, resources: readonly unknown[]): T & { readonly resources: readonly unknown[] } {
  return Object.assign(component, { resources });
}

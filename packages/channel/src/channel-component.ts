import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DNS_LABEL_PATTERN,
  SluiceError,
  TRACEPARENT_EXTENSION,
  TRACESTATE_EXTENSION,
  channelLog,
  falseCondition,
  oidcAudience,
  oidcSubject,
  subscriptionGroup,
  trueCondition,
  type CloudEvent,
  type Condition,
  type TraceContext,
} from '@sluice/core';
import { createIngressHandler, type IngressBackend, refuse, type DeliveryDispatcher } from '@sluice/broker';
import type { DeliveryRecorder, IngressAuthTarget, RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { SqliteEventStore, forgetStaleGroups, type Consumer, type EventStore, type LogRecord } from '@sluice/store';
import { CHANNEL_KINDS } from './resources.js';
import { resolveSubscription, subscriptionDispatcher } from './subscription-dispatch.js';
import { addressChannelName, type ChannelNode, type SubscriptionNode, type Topology } from './topology.js';

/** First path segment of every channel address: `/channels/{namespace}/{name}`. */
export const CHANNEL_ROUTE = 'channels';

/** Options of {@link ChannelComponent}. */
export interface ChannelComponentOptions {
  /** Largest accepted event body on channel ingress (default 1 MiB, as the broker ingress). */
  readonly maxBodyBytes?: number;
  /** Events in flight per subscription (default 100, as per trigger). */
  readonly maxInFlightPerSubscription?: number;
  /** Store of channels annotated `sluice.dev/durability: memory` (default: an in-memory SQLite store). */
  readonly memoryStore?: () => EventStore;
}

/** Address of a channel under a runtime's base URL. */
export const channelUrl = (baseUrl: string, namespace: string, name: string): string => `${baseUrl}/${CHANNEL_ROUTE}/${namespace}/${name}`;

/** A Kubernetes name segment: a DNS-1123 label, at most 63 characters (the schemas' `dnsLabel`). */
const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

const MESSAGING_GROUP = 'messaging.knative.dev';
const FLOWS_GROUP = 'flows.knative.dev';

/**
 * Who a channel's ingress authorizes requests as, with authentication-oidc on. A declared channel is itself (a Channel
 * also its backing kind, whose audience Knative gives it); the channel a Sequence or Parallel is addressed by is the
 * flow (its policies, its audience or the channel's); the other channels of a flow take events only from the flow's
 * own subscriptions, as the policies Knative creates for them allow.
 */
export function channelAuthTarget(channel: ChannelNode, topology: Topology): IngressAuthTarget & { readonly flowInner: boolean } {
  const { namespace, name } = channel;
  const labels = channel.labels ?? {};
  const backing = { group: MESSAGING_GROUP, kind: channel.backing };
  const backingAudience = oidcAudience(MESSAGING_GROUP, channel.backing, namespace, name);
  const space = channel.owner.indexOf(' ');
  const ownerKind = channel.owner.slice(0, space);
  if (ownerKind === 'Sequence' || ownerKind === 'Parallel') {
    const flow = channel.owner.slice(channel.owner.indexOf('/', space) + 1);
    if (addressChannelName(ownerKind, flow) === name) {
      return { kinds: [{ group: FLOWS_GROUP, kind: ownerKind }], namespace, name: flow, labels, audiences: [oidcAudience(FLOWS_GROUP, ownerKind, namespace, flow), backingAudience], flowInner: false };
    }
    const onlySubjects = topology.subscriptions.filter((s) => s.owner === channel.owner).map((s) => oidcSubject(MESSAGING_GROUP, 'Subscription', s.namespace, s.name));
    return { kinds: [backing], namespace, name, labels: {}, audiences: [backingAudience], onlySubjects, flowInner: true };
  }
  if (channel.kind === 'Channel') {
    return {
      kinds: [{ group: MESSAGING_GROUP, kind: 'Channel' }, backing],
      namespace,
      name,
      labels,
      audiences: [oidcAudience(MESSAGING_GROUP, 'Channel', namespace, name), backingAudience],
      flowInner: false,
    };
  }
  return { kinds: [backing], namespace, name, labels, audiences: [backingAudience], flowInner: false };
}

/** Kafka-style partition of an event: hash of `partitionkey` (else the id) modulo the partition count. */
export function partitionOf(event: CloudEvent, numPartitions: number): string {
  if (numPartitions <= 1) return '0';
  const key = String(event.attributes['partitionkey'] ?? event.attributes['id'] ?? '');
  let h = 0x811c9dc5; // FNV-1a, 32 bit
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return String((h >>> 0) % numPartitions);
}

/** Subscriptions of a topology whose channel exists, by channel; and those applied before their channel. */
function indexSubscriptions(topology: Topology): { byChannel: Map<string, SubscriptionNode[]>; running: SubscriptionNode[]; dangling: SubscriptionNode[] } {
  const byChannel = new Map<string, SubscriptionNode[]>();
  const running: SubscriptionNode[] = [];
  const dangling: SubscriptionNode[] = [];
  for (const s of topology.subscriptions) {
    if (!topology.channels.has(s.channel)) {
      dangling.push(s);
      continue;
    }
    running.push(s);
    const list = byChannel.get(s.channel) ?? [];
    list.push(s);
    byChannel.set(s.channel, list);
  }
  return { byChannel, running, dangling };
}

/** What a running subscription was started from: itself and its channel (delivery defaults, ordering, store). */
const subscriptionFingerprint = (sub: SubscriptionNode, topology: Topology): string => JSON.stringify([sub, topology.channels.get(sub.channel)]);

/**
 * Runs every channel and subscription of a configuration (flows included) on the runtime's store and HTTP server:
 * one log per channel (`channel:<ns>/<name>`), one consumer group per subscription (`subscription:<ns>/<name>`), the
 * broker's ingress contract on `/channels/{namespace}/{name}` and the broker's dispatcher for every delivery.
 *
 * Lifecycle: `register` makes the kinds addressable, opens channel ingress and positions every subscription's
 * consumer group (so nothing accepted before `start` is missed); deliveries begin at `start`, once every broker and
 * component accepts events. A live change goes through `update`: only the subscriptions whose resources (or whose
 * channel) changed restart; the others, the ingress and every address keep running.
 */
export class ChannelComponent implements RuntimeComponent {
  /** The same for every configuration, so a change of the channels is an update in place, not a replacement. */
  readonly name = 'channels';
  #topology: Topology;
  readonly #options: ChannelComponentOptions;
  #subscriptionsByChannel = new Map<string, SubscriptionNode[]>();
  /** Subscriptions whose channel exists; the others wait NotReady (applied before their channel, as Knative allows). */
  #subscriptions: SubscriptionNode[] = [];
  #dangling: SubscriptionNode[] = [];
  readonly #dispatchers = new Map<string, DeliveryDispatcher>();
  readonly #counters = new Map<string, DeliveryRecorder>();
  /** Running consumers by subscription key, with the fingerprint they were started from. */
  readonly #consumers = new Map<string, { readonly consumer: Consumer; readonly fingerprint: string }>();
  /** Who each channel's ingress authorizes requests as (authentication-oidc on). */
  #authTargets = new Map<string, IngressAuthTarget>();
  /** The statuses the channels and flows reported, by `kind/ns/name` (a change forgets those no longer reported). */
  readonly #channelStatuses = new Map<string, readonly [string, string, string]>();
  #ctx: RuntimeContext | undefined;
  #memoryStore: EventStore | undefined;
  #accepting = false;
  #open: () => void = () => undefined;
  readonly #started: Promise<void>;

  constructor(topology: Topology, options: ChannelComponentOptions = {}) {
    this.#topology = topology;
    this.#options = options;
    this.#index(topology);
    this.#started = new Promise((resolve) => (this.#open = resolve));
  }

  #index(topology: Topology): void {
    const { byChannel, running, dangling } = indexSubscriptions(topology);
    this.#topology = topology;
    this.#subscriptionsByChannel = byChannel;
    this.#subscriptions = running;
    this.#dangling = dangling;
    this.#authTargets = new Map([...topology.channels].map(([key, c]) => [key, channelAuthTarget(c, topology)]));
  }

  register(ctx: RuntimeContext): void {
    if (this.#ctx) return;
    this.#ctx = ctx;
    for (const kind of [...CHANNEL_KINDS, 'Sequence', 'Parallel']) {
      ctx.resolver.register(kind, (namespace, name) => channelUrl(ctx.url, namespace, addressChannelName(kind, name)));
    }
    // The backend's `ready` getter has its own `this`; it reads the component's private state through this name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const component = this;
    const backend: IngressBackend = {
      get ready() {
        return component.#accepting;
      },
      hasBroker: (namespace, name) => this.#topology.channels.has(`${namespace}/${name}`),
      accept: (namespace, name, events, trace) => this.#accept(namespace, name, events, trace),
    };
    // Knative's authentication-oidc feature: channels require a token and authorize it as brokers do.
    const authorizeIngress = ctx.authorizeIngress;
    if (authorizeIngress !== undefined) {
      backend.authenticate = (namespace, name, req) => authorizeIngress(this.#authTargets.get(`${namespace}/${name}`)!, req.headers.authorization);
    }
    const ingress = createIngressHandler(backend, {
      maxBodyBytes: this.#options.maxBodyBytes ?? ctx.maxBodyBytes,
      logger: ctx.logger,
      ...(ctx.tracer ? { tracer: ctx.tracer } : {}),
    });
    ctx.route(CHANNEL_ROUTE, (req, res, rest) => this.#serve(req, res, rest, ingress));
    for (const sub of this.#subscriptions) this.#consume(sub, ctx);
    this.#reportDangling(ctx);
    this.#accepting = true;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    this.register(ctx);
    // Destinations resolve now that every component has registered its kinds.
    for (const sub of this.#subscriptions) this.#dispatch(sub, ctx);
    await this.#reportChannels(ctx);
    this.#open();
  }

  /**
   * Takes a changed configuration's channels in place: subscriptions removed, added or changed (they or their channel)
   * are stopped or started one by one (a changed one is drained and continues its consumer group); the others keep
   * delivering. Channel ingress switches to the new channels at once; statuses are reported again.
   */
  async update(next: RuntimeComponent): Promise<readonly string[]> {
    if (!(next instanceof ChannelComponent)) throw new SluiceError('SLUICE_PLUGIN_CONFLICT', `channels: cannot take a change from ${next.name}`);
    const ctx = this.#ctx;
    if (!ctx) throw new SluiceError('SLUICE_NOT_READY', 'the channel component is not registered yet');
    const before = this.#topology;
    const after = next.#topology;
    const wanted = new Map(indexSubscriptions(after).running.map((s) => [s.key, subscriptionFingerprint(s, after)] as const));
    const stopping = [...this.#consumers].filter(([key, c]) => wanted.get(key) !== c.fingerprint).map(([key]) => key);
    // Ingress serves the new channels from here on; events for a channel keep going to its log meanwhile.
    this.#index(after);
    for (const key of stopping) this.#dispatchers.get(key)?.close();
    await Promise.all(stopping.map((key) => this.#consumers.get(key)!.consumer.close(10_000)));
    const restarted: string[] = [];
    for (const key of stopping) {
      this.#consumers.delete(key);
      this.#dispatchers.delete(key);
      this.#counters.delete(key);
      const [ns, name] = key.split('/') as [string, string];
      if (!wanted.has(key)) ctx.forget?.('Subscription', ns, name);
    }
    for (const sub of this.#subscriptions) {
      if (this.#consumers.has(sub.key)) continue;
      // The dispatcher first: the consumer may hand out a record at once.
      this.#consume(sub, ctx, () => this.#dispatch(sub, ctx));
      restarted.push(`Subscription ${sub.key}`);
    }
    this.#reportDangling(ctx, new Set(indexSubscriptions(before).dangling.map((d) => d.key)));
    // Subscriptions the change removed (running or still waiting for their channel): their statuses go.
    for (const s of before.subscriptions) {
      if (!after.subscriptions.some((x) => x.key === s.key)) ctx.forget?.('Subscription', s.namespace, s.name);
    }
    await this.#reportChannels(ctx);
    return restarted;
  }

  async stop(): Promise<void> {
    this.#accepting = false;
    // Consumers whose deliveries never began (start not reached) must not hold the close up.
    this.#open();
    for (const d of this.#dispatchers.values()) d.close();
    await Promise.all([...this.#consumers.values()].map((c) => c.consumer.close(10_000)));
    this.#consumers.clear();
    await this.#memoryStore?.close();
  }

  /** The address of a channel, a Sequence or a Parallel (after `register`). */
  address(kind: string, namespace: string, name: string): string {
    if (!this.#ctx) throw new SluiceError('SLUICE_NOT_READY', 'the channel component is not registered yet');
    return channelUrl(this.#ctx.url, namespace, addressChannelName(kind, name));
  }

  /** Subscriptions applied before their channel: NotReady (ChannelReferenceFailed) until it exists; said once each. */
  #reportDangling(ctx: RuntimeContext, said: ReadonlySet<string> = new Set()): void {
    for (const sub of this.#dangling) {
      const message = `channel "${sub.channel}" does not exist`;
      ctx.reportStatus('Subscription', sub.namespace, sub.name, [falseCondition('ChannelReady', 'ChannelReferenceFailed', message)]);
      if (!said.has(sub.key)) ctx.logger.warn({ subscription: sub.key, reason: 'ChannelReferenceFailed' }, `Subscription ${sub.key} is NotReady (ChannelReferenceFailed): ${message}`);
    }
  }

  /** Resolves a subscription's destinations and makes its dispatcher; reports it Ready. */
  #dispatch(sub: SubscriptionNode, ctx: RuntimeContext): void {
    const channel = this.#topology.channels.get(sub.channel)!;
    const resolved = resolveSubscription(sub, channel, ctx.resolver);
    const counters = this.#counters.get(sub.key);
    this.#dispatchers.set(
      sub.key,
      subscriptionDispatcher(resolved, {
        resolver: ctx.resolver,
        sender: ctx.sender,
        now: ctx.now,
        logger: ctx.logger,
        metrics: ctx.metrics,
        tracer: ctx.tracer,
        ...(counters ? { onAttempt: (_t, outcome, _ms, deadLetter) => counters.attempt(outcome, deadLetter), onDropped: () => counters.dropped() } : {}),
      }),
    );
    ctx.reportStatus('Subscription', sub.namespace, sub.name, [trueCondition('ReferencesResolved'), trueCondition('ChannelReady'), trueCondition('AddedToChannel')], {
      physicalSubscription: {
        subscriberUri: resolved.target.subscriberUrl,
        ...(resolved.replyUrl ? { replyUri: resolved.replyUrl } : {}),
        ...(resolved.target.deadLetterUrl ? { deadLetterSinkUri: resolved.target.deadLetterUrl } : {}),
      },
    });
    ctx.logger.info(
      { subscription: sub.key, channel: channel.key, subscriber: resolved.target.subscriberUrl, reply: resolved.replyUrl, deadLetterSink: resolved.target.deadLetterUrl, owner: sub.owner },
      'subscription ready',
    );
  }

  /** Forgets the groups of removed subscriptions (counted, kept as dead letters) and reports every channel's status. */
  async #reportChannels(ctx: RuntimeContext): Promise<void> {
    const reported = new Set<string>();
    const report = (kind: string, namespace: string, name: string, conditions: Condition[], fields: Record<string, unknown>): void => {
      ctx.reportStatus(kind, namespace, name, conditions, fields);
      const key = `${kind}/${namespace}/${name}`;
      reported.add(key);
      this.#channelStatuses.set(key, [kind, namespace, name]);
    };
    for (const channel of this.#topology.channels.values()) {
      const groups = (this.#subscriptionsByChannel.get(channel.key) ?? []).map((s) => subscriptionGroup(s.namespace, s.name));
      await forgetStaleGroups(this.#storeOf(channel), channelLog(channel.namespace, channel.name), groups);
      const conditions: Condition[] = [trueCondition('Addressable'), trueCondition('DispatcherReady')];
      const fields: Record<string, unknown> = {};
      // With authentication-oidc on, a declared channel reports its policies as Knative's channels do.
      const target = channelAuthTarget(channel, this.#topology);
      if (target.kinds[0]!.group === FLOWS_GROUP) {
        // The channel a Sequence or Parallel is addressed by: the flow's status (its address, audience and policies).
        const flowPolicies = ctx.ingressPolicyStatus?.(target);
        report(
          target.kinds[0]!.kind,
          target.namespace,
          target.name,
          [trueCondition('ChannelsReady'), trueCondition('SubscriptionsReady'), trueCondition('AddressResolved'), ...(flowPolicies ? [flowPolicies.condition] : [])],
          {
            address: { url: channelUrl(ctx.url, channel.namespace, channel.name), ...(flowPolicies ? { audience: target.audiences[0] } : {}) },
            ...(flowPolicies && flowPolicies.policies.length > 0 ? { policies: flowPolicies.policies } : {}),
          },
        );
      }
      const policies = target.kinds[0]!.group === MESSAGING_GROUP && !target.flowInner ? ctx.ingressPolicyStatus?.(target) : undefined;
      if (policies !== undefined) {
        conditions.push(policies.condition);
        if (policies.policies.length > 0) fields['policies'] = policies.policies;
      }
      report(channel.kind, channel.namespace, channel.name, conditions, {
        address: { url: channelUrl(ctx.url, channel.namespace, channel.name), ...(policies !== undefined ? { audience: target.audiences[0] } : {}) },
        ...(channel.backing !== channel.kind ? { channel: { kind: channel.backing, name: channel.name } } : {}),
        ...fields,
      });
      ctx.logger.info(
        {
          channel: channel.key,
          kind: channel.kind,
          backing: channel.backing,
          address: channelUrl(ctx.url, channel.namespace, channel.name),
          store: channel.durability === 'memory' ? 'memory (sluice.dev/durability: memory)' : 'embedded',
          subscriptions: groups.length,
          owner: channel.owner,
          // Validated and reported; on the embedded store only the partition count matters (per-partition order).
          ...(channel.kafka ? { kafka: channel.kafka } : {}),
        },
        'channel ready',
      );
    }
    // Channels and flows a change removed: their statuses go.
    for (const [key, [kind, namespace, name]] of this.#channelStatuses) {
      if (reported.has(key)) continue;
      ctx.forget?.(kind, namespace, name);
      this.#channelStatuses.delete(key);
    }
  }

  #serve(req: IncomingMessage, res: ServerResponse, rest: readonly string[], ingress: ReturnType<typeof createIngressHandler>): void {
    const [namespace, name] = rest;
    if (rest.length !== 2 || !DNS_LABEL.test(namespace!) || !DNS_LABEL.test(name!)) {
      refuse(req, res, 'SLUICE_BAD_PATH', `expected /${CHANNEL_ROUTE}/{namespace}/{channel} with lower-case DNS names`);
      return;
    }
    if (!this.#topology.channels.has(`${namespace}/${name}`)) {
      refuse(req, res, 'SLUICE_CHANNEL_NOT_FOUND', `no channel ${namespace}/${name}`);
      return;
    }
    void ingress(req, res, rest);
  }

  #accept(namespace: string, name: string, events: CloudEvent[], trace?: TraceContext): Promise<void> {
    const key = `${namespace}/${name}`;
    const channel = this.#topology.channels.get(key);
    // Removed by a live change while the request was read: answered as any unknown channel is.
    if (!channel) return Promise.reject(new SluiceError('SLUICE_CHANNEL_NOT_FOUND', `no channel ${key}`));
    // Nothing could ever read an event sent to a channel without subscriptions (a new subscription starts at the
    // channel's end): Knative's channels drop it too. It is still validated, answered 202, and shown to a live tail.
    if (!this.#subscriptionsByChannel.has(key)) {
      this.#ctx?.ingressAccepted?.({ apiVersion: 'messaging.knative.dev/v1', kind: channel.kind, namespace, name }, events);
      return Promise.resolve();
    }
    // Channels store events exactly as received: no knativearrivaltime, no TTL (output identical to input); only a
    // request's trace context is kept, as the distributed-tracing extension, when the event has none.
    const stored = trace ? events.map((e) => withTraceContext(e, trace)) : events;
    const appended = this.#storeOf(channel).append(channelLog(namespace, name), stored);
    const ctx = this.#ctx;
    if (!ctx?.ingressAccepted) return appended;
    return appended.then(() => ctx.ingressAccepted!({ apiVersion: 'messaging.knative.dev/v1', kind: channel.kind, namespace, name }, events));
  }

  #storeOf(channel: ChannelNode): EventStore {
    if (channel.durability === 'durable') return this.#ctx!.store;
    this.#memoryStore ??= this.#options.memoryStore?.() ?? new SqliteEventStore({ path: ':memory:', durability: 'none' });
    return this.#memoryStore;
  }

  /** Starts a subscription's consumer group (`beforeConsume` runs once the figures are tracked, before it reads). */
  #consume(sub: SubscriptionNode, ctx: RuntimeContext, beforeConsume?: () => void): void {
    const channel = this.#topology.channels.get(sub.channel)!;
    const ordered = sub.ordered ?? channel.backing === 'KafkaChannel';
    const orderingKey = !ordered ? undefined : channel.kafka ? (e: CloudEvent) => partitionOf(e, channel.kafka!.numPartitions) : (e: CloudEvent) => String(e.attributes['partitionkey'] ?? '');
    const handle = async (record: LogRecord) => {
      await this.#started;
      const dispatcher = this.#dispatchers.get(sub.key);
      // Only when stopped before start: schedule the record again, unchanged; it is delivered after a restart.
      if (!dispatcher) return { kind: 'retry' as const, attempt: record.attempt, dueAt: ctx.now() + 1000 };
      return dispatcher.handle(record);
    };
    const store = this.#storeOf(channel);
    const log = channelLog(channel.namespace, channel.name);
    const recorder = ctx.trackDelivery?.('Subscription', sub.namespace, sub.name, { store, log, group: subscriptionGroup(sub.namespace, sub.name) });
    if (recorder) this.#counters.set(sub.key, recorder);
    beforeConsume?.();
    const consumer = store.consume(log, subscriptionGroup(sub.namespace, sub.name), { maxInFlight: this.#options.maxInFlightPerSubscription ?? 100, ...(orderingKey ? { orderingKey } : {}) }, handle);
    this.#consumers.set(sub.key, { consumer, fingerprint: subscriptionFingerprint(sub, this.#topology) });
  }
}

function withTraceContext(event: CloudEvent, trace: TraceContext): CloudEvent {
  if (event.attributes[TRACEPARENT_EXTENSION] !== undefined) return event;
  const attributes: CloudEvent['attributes'] = { ...event.attributes, [TRACEPARENT_EXTENSION]: trace.traceparent };
  if (trace.tracestate) attributes[TRACESTATE_EXTENSION] = trace.tracestate;
  return { attributes, data: event.data };
}

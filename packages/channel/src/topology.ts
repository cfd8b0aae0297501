import { typed, type KindAndValue } from '@sluice/config';
import { DEFAULT_NAMESPACE, parseDeliveryOrder, type ChannelTemplateSpec, type DeliverySpec, type Destination, type Parallel, type Sequence } from '@sluice/core';
import { DEFAULT_CHANNEL_TEMPLATE, DURABILITY_ANNOTATION, KAFKA_CHANNEL_DEFAULTS, SUBSCRIPTION_ORDER_ANNOTATION, type BackingKind, type ChannelKind } from './resources.js';

/** A channel Sluice runs: a declared Channel/InMemoryChannel/KafkaChannel, or one that a Sequence or Parallel creates. */
export interface ChannelNode {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`; also the path of its address, `/channels/{namespace}/{name}`. */
  readonly key: string;
  /** The kind it is declared as (a flow's channels have the template's kind, as in Knative). */
  readonly kind: ChannelKind;
  /** The implementation behind it: the kind itself, or a Channel's template kind. */
  readonly backing: BackingKind;
  /** Default delivery of its subscriptions. */
  readonly delivery: DeliverySpec | undefined;
  /** KafkaChannel settings (validated and reported; partitions give per-partition ordering). */
  readonly kafka: { readonly numPartitions: number; readonly replicationFactor: number; readonly retentionDuration: string } | undefined;
  /** `memory` when the `sluice.dev/durability: memory` annotation opts out of the durable store. */
  readonly durability: 'durable' | 'memory';
  /** What declared it, for errors and logs: `Channel default/orders`, `Sequence default/seq`. */
  readonly owner: string;
  /** The labels of what declared it (EventPolicy selectors match them). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A subscription Sluice runs: a declared Subscription or one that a Sequence or Parallel creates. */
export interface SubscriptionNode {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`. */
  readonly key: string;
  /** Key of the channel it reads. */
  readonly channel: string;
  readonly subscriber: Destination | undefined;
  readonly reply: Destination | undefined;
  readonly delivery: DeliverySpec | undefined;
  /** Explicit ordering from the delivery.order annotation; undefined = the channel's default. */
  readonly ordered: boolean | undefined;
  readonly owner: string;
}

/** Two resources that want the same channel or subscription name. */
export interface NameConflict {
  readonly what: 'channel' | 'subscription';
  readonly key: string;
  /** Owner that came first, and the one that clashes with it. */
  readonly first: string;
  readonly second: string;
  /** Kind and key of the resource that clashes, as `Kind:namespace/name`. */
  readonly resource: string;
}

/** Every channel and subscription of a configuration, flows expanded the way Knative's controllers expand them. */
export interface Topology {
  readonly channels: ReadonlyMap<string, ChannelNode>;
  readonly subscriptions: readonly SubscriptionNode[];
  readonly conflicts: readonly NameConflict[];
}

/** Name of a Sequence's channel for step `i` (Knative: `<seq>-kn-sequence-<i>`). */
export const sequenceChannelName = (sequence: string, i: number): string => `${sequence}-kn-sequence-${i}`;
/** Name of a Sequence's subscription of step `i` (same as its channel, as in Knative). */
export const sequenceSubscriptionName = sequenceChannelName;
/** Name of a Parallel's ingress channel (Knative: `<p>-kn-parallel`). */
export const parallelChannelName = (parallel: string): string => `${parallel}-kn-parallel`;
/** Name of a Parallel's channel of branch `i` (Knative: `<p>-kn-parallel-<i>`). */
export const parallelBranchChannelName = (parallel: string, i: number): string => `${parallel}-kn-parallel-${i}`;
/** Name of a Parallel's filter subscription of branch `i` (Knative: `<p>-kn-parallel-filter-<i>`). */
export const parallelFilterSubscriptionName = (parallel: string, i: number): string => `${parallel}-kn-parallel-filter-${i}`;
/** Name of a Parallel's subscriber subscription of branch `i` (Knative: `<p>-kn-parallel-<i>`). */
export const parallelSubscriptionName = parallelBranchChannelName;

/** A resource as the loader gives it (kind plus the parsed document). */
export type ResourceInput = KindAndValue;

function kafkaSettings(spec: { numPartitions?: number; replicationFactor?: number; retentionDuration?: string } | undefined) {
  return {
    numPartitions: spec?.numPartitions ?? KAFKA_CHANNEL_DEFAULTS.numPartitions,
    replicationFactor: spec?.replicationFactor ?? KAFKA_CHANNEL_DEFAULTS.replicationFactor,
    retentionDuration: spec?.retentionDuration ?? KAFKA_CHANNEL_DEFAULTS.retentionDuration,
  };
}

function orderedOf(annotations: Readonly<Record<string, string>> | undefined): boolean | undefined {
  return parseDeliveryOrder(annotations?.[SUBSCRIPTION_ORDER_ANNOTATION]) ?? undefined;
}

/** Collects channels and subscriptions; of two with one name the first is kept and the clash noted (the checks report it). */
class TopologyBuilder {
  readonly channels = new Map<string, ChannelNode>();
  readonly subscriptions = new Map<string, SubscriptionNode>();
  readonly conflicts: NameConflict[] = [];

  addChannel(node: ChannelNode, resource: string, labels: Readonly<Record<string, string>> | undefined): void {
    const existing = this.channels.get(node.key);
    if (existing) this.conflicts.push({ what: 'channel', key: node.key, first: existing.owner, second: node.owner, resource });
    else this.channels.set(node.key, labels !== undefined ? { ...node, labels } : node);
  }

  addSubscription(node: SubscriptionNode, resource: string): void {
    const existing = this.subscriptions.get(node.key);
    if (existing) this.conflicts.push({ what: 'subscription', key: node.key, first: existing.owner, second: node.owner, resource });
    else this.subscriptions.set(node.key, node);
  }
}

/** Where a node comes from: the declaring resource's namespace and name, as owner (`Kind ns/name`) and id. */
interface Origin {
  readonly ns: string;
  readonly name: string;
  readonly owner: string;
  readonly id: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
}

/** A channel made from a channel template (a Channel's backing channel, a Sequence's or Parallel's channels). */
function templated(template: ChannelTemplateSpec, namespace: string, name: string, owner: string, durability: 'durable' | 'memory', delivery = template.spec?.delivery): ChannelNode {
  return {
    namespace,
    name,
    key: `${namespace}/${name}`,
    kind: template.kind,
    backing: template.kind,
    delivery,
    kafka: template.kind === 'KafkaChannel' ? kafkaSettings(template.spec) : undefined,
    durability,
    owner,
  };
}

/** A Sequence: a channel per step, each step's subscription replying to the next step's channel. */
function addSequence(b: TopologyBuilder, seq: Sequence, o: Origin): void {
  const template = seq.spec.channelTemplate ?? DEFAULT_CHANNEL_TEMPLATE;
  const steps = seq.spec.steps;
  steps.forEach((step, i) => {
    b.addChannel(templated(template, o.ns, sequenceChannelName(o.name, i), o.owner, 'durable'), o.id, o.labels);
    const { delivery, ...destination } = step;
    const last = i === steps.length - 1;
    b.addSubscription(
      {
        namespace: o.ns,
        name: sequenceSubscriptionName(o.name, i),
        key: `${o.ns}/${sequenceSubscriptionName(o.name, i)}`,
        channel: `${o.ns}/${sequenceChannelName(o.name, i)}`,
        subscriber: destination,
        // Step i's reply feeds step i+1; the last step's reply goes to spec.reply (dropped when unset).
        reply: last ? seq.spec.reply : { ref: { apiVersion: template.apiVersion, kind: template.kind, name: sequenceChannelName(o.name, i + 1), namespace: o.ns } },
        delivery,
        ordered: undefined,
        owner: o.owner,
      },
      o.id,
    );
  });
}

/** A Parallel: an ingress channel, and per branch a channel, its (filter) subscription to the ingress and its subscriber. */
function addParallel(b: TopologyBuilder, p: Parallel, o: Origin): void {
  const template = p.spec.channelTemplate ?? DEFAULT_CHANNEL_TEMPLATE;
  const ingress = parallelChannelName(o.name);
  b.addChannel(templated(template, o.ns, ingress, o.owner, 'durable'), o.id, o.labels);
  p.spec.branches.forEach((branch, i) => {
    const branchChannel = parallelBranchChannelName(o.name, i);
    const branchRef: Destination = { ref: { apiVersion: template.apiVersion, kind: template.kind, name: branchChannel, namespace: o.ns } };
    b.addChannel(templated(template, o.ns, branchChannel, o.owner, 'durable'), o.id, o.labels);
    // Without a filter the branch channel itself subscribes to the ingress; with one, the filter does and its
    // reply (the event it lets through) goes to the branch channel. The filter subscription has no delivery of
    // its own: the ingress channel's applies.
    b.addSubscription(
      {
        namespace: o.ns,
        name: parallelFilterSubscriptionName(o.name, i),
        key: `${o.ns}/${parallelFilterSubscriptionName(o.name, i)}`,
        channel: `${o.ns}/${ingress}`,
        subscriber: branch.filter ?? branchRef,
        reply: branch.filter ? branchRef : undefined,
        delivery: undefined,
        ordered: undefined,
        owner: o.owner,
      },
      o.id,
    );
    b.addSubscription(
      {
        namespace: o.ns,
        name: parallelSubscriptionName(o.name, i),
        key: `${o.ns}/${parallelSubscriptionName(o.name, i)}`,
        channel: `${o.ns}/${branchChannel}`,
        subscriber: branch.subscriber,
        reply: branch.reply ?? p.spec.reply,
        delivery: branch.delivery,
        ordered: undefined,
        owner: o.owner,
      },
      o.id,
    );
  });
}

/** The channels and subscriptions one resource declares or expands to. */
function addResource(b: TopologyBuilder, r: ResourceInput): void {
  const meta = (r.value['metadata'] ?? {}) as { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  const ns = meta.namespace ?? DEFAULT_NAMESPACE;
  const o: Origin = { ns, name: meta.name, owner: `${r.kind} ${ns}/${meta.name}`, id: `${r.kind}:${ns}/${meta.name}`, labels: meta.labels };
  const durability = meta.annotations?.[DURABILITY_ANNOTATION] === 'memory' ? 'memory' : 'durable';
  const t = typed(r);
  switch (t.kind) {
    case 'Channel': {
      const c = t.value;
      const template = c.spec?.channelTemplate ?? DEFAULT_CHANNEL_TEMPLATE;
      // The Channel's own delivery wins over the template's, as Knative copies it onto the backing channel.
      const node = templated(template, ns, meta.name, o.owner, template.kind === 'InMemoryChannel' ? durability : 'durable', c.spec?.delivery ?? template.spec?.delivery);
      b.addChannel({ ...node, kind: 'Channel' }, o.id, meta.labels);
      break;
    }
    case 'InMemoryChannel': {
      const c = t.value;
      b.addChannel(
        { namespace: ns, name: meta.name, key: `${ns}/${meta.name}`, kind: 'InMemoryChannel', backing: 'InMemoryChannel', delivery: c.spec?.delivery, kafka: undefined, durability, owner: o.owner },
        o.id,
        meta.labels,
      );
      break;
    }
    case 'KafkaChannel': {
      const c = t.value;
      b.addChannel(
        {
          namespace: ns,
          name: meta.name,
          key: `${ns}/${meta.name}`,
          kind: 'KafkaChannel',
          backing: 'KafkaChannel',
          delivery: c.spec?.delivery,
          kafka: kafkaSettings(c.spec),
          durability: 'durable',
          owner: o.owner,
        },
        o.id,
        meta.labels,
      );
      break;
    }
    case 'Subscription': {
      const s = t.value;
      b.addSubscription(
        {
          namespace: ns,
          name: meta.name,
          key: `${ns}/${meta.name}`,
          channel: `${s.spec.channel.namespace ?? ns}/${s.spec.channel.name}`,
          subscriber: s.spec.subscriber,
          reply: s.spec.reply,
          delivery: s.spec.delivery,
          ordered: orderedOf(meta.annotations),
          owner: o.owner,
        },
        o.id,
      );
      break;
    }
    case 'Sequence':
      addSequence(b, t.value, o);
      break;
    case 'Parallel':
      addParallel(b, t.value, o);
      break;
    default:
      break;
  }
}

/**
 * Builds the topology of a validated configuration. Sequence and Parallel expand exactly as Knative's reconcilers
 * do (`pkg/reconciler/{sequence,parallel}/resources`): same channel and subscription names, same wiring, same
 * delivery. Name clashes are collected in `conflicts` (the checks report them); the first declaration wins.
 */
export function buildTopology(resources: readonly ResourceInput[]): Topology {
  const b = new TopologyBuilder();
  for (const r of resources) addResource(b, r);
  return { channels: b.channels, subscriptions: [...b.subscriptions.values()], conflicts: b.conflicts };
}

/** Channel a Sequence or Parallel is addressed at (its first / ingress channel), or a channel's own name. */
export function addressChannelName(kind: string, name: string): string {
  if (kind === 'Sequence') return sequenceChannelName(name, 0);
  if (kind === 'Parallel') return parallelChannelName(name);
  return name;
}

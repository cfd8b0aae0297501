// Knative resource YAML for the end-to-end tests' scenarios: the Brokers, Triggers and EventPolicies a scenario needs
// around what it tests, built from their fields, so that a test reads as its scenario rather than as pages of
// boilerplate. A scenario whose YAML is the thing under test (line:col in errors, flow style) stays written out.

/** A reference to a resource, as a Destination's `ref` and an EventPolicy's `to`/`from` spell it. */
export interface Ref {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** A reference to a Broker. */
export const brokerRef = (name: string): Ref => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name });

/** A reference to a Trigger (an EventPolicy's sender). */
export const triggerRef = (name: string): Ref => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', name });

/** The kinds of channel: the generic Channel and the two it can be backed by. */
export type ChannelKind = 'InMemoryChannel' | 'Channel' | 'KafkaChannel';

const channelApiVersion = (kind: ChannelKind): string => (kind === 'KafkaChannel' ? 'messaging.knative.dev/v1beta1' : 'messaging.knative.dev/v1');

/** A reference to a channel: an InMemoryChannel unless `kind` says otherwise. */
export const channelRef = (name: string, kind: ChannelKind = 'InMemoryChannel'): Ref => ({
  apiVersion: channelApiVersion(kind),
  kind,
  name,
});

/** A Destination: a uri, a ref, or its fields as Knative spells them (a uri with its audience, a ref with a uri…). */
export type Destination = string | Ref | { readonly ref?: Ref; readonly uri?: string; readonly audience?: string | undefined; readonly CACerts?: string };

/** A Broker's, Trigger's or Subscription's `delivery` (durations as ISO 8601, e.g. `PT0.1S`). */
export interface Delivery {
  readonly retry?: number | undefined;
  readonly backoffPolicy?: 'linear' | 'exponential' | undefined;
  readonly backoffDelay?: string | undefined;
  readonly timeout?: string | undefined;
  /** The longest Retry-After of a subscriber that is honoured (Knative's experimental delivery-retryafter feature). */
  readonly retryAfterMax?: string | undefined;
  readonly deadLetterSink?: Destination | undefined;
}

/** The metadata beyond the name. */
export interface Meta {
  readonly namespace?: string | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** The YAML documents as one configuration file. */
export const documents = (...docs: readonly string[]): string => docs.join('---\n');

/** A resource of any kind with these fields below `spec` (none when `spec` is undefined). */
export function resource(apiVersion: string, kind: string, name: string, spec?: object, meta: Meta = {}): string {
  return toYaml({ apiVersion, kind, metadata: { name, ...meta }, ...(spec === undefined ? {} : { spec }) });
}

/** A Broker. */
export const broker = (name: string, meta: Meta = {}): string => resource('eventing.knative.dev/v1', 'Broker', name, undefined, meta);

/** A Trigger's `spec`: `filter` is its exact attribute filter, `filters` its SubscriptionsAPI filters. */
export interface TriggerSpec {
  readonly broker: string;
  readonly filter?: Readonly<Record<string, string>> | undefined;
  readonly filters?: readonly Readonly<Record<string, unknown>>[] | undefined;
  readonly subscriber: Destination;
  readonly delivery?: Delivery | undefined;
}

/** A Trigger. */
export const trigger = (name: string, spec: TriggerSpec, meta: Meta = {}): string =>
  resource(
    'eventing.knative.dev/v1',
    'Trigger',
    name,
    {
      broker: spec.broker,
      ...(spec.filter ? { filter: { attributes: spec.filter } } : {}),
      filters: spec.filters,
      ...addressed(spec),
    },
    meta,
  );

/** A Kafka-class Broker's topic settings, written to the `kafka-broker-config` ConfigMap it names. */
export interface KafkaBrokerConfig {
  /** Kafka's `bootstrap.servers`, comma-separated. */
  readonly servers: string;
  /** `default.topic.partitions`. */
  readonly partitions: number;
  /** `default.topic.replication.factor`; default 1. */
  readonly replicationFactor?: number;
  /** More ConfigMap data, e.g. `{ 'default.topic.config.retention.ms': '3600000' }`. */
  readonly data?: Readonly<Record<string, string>>;
  /** The Broker's `delivery`. */
  readonly delivery?: Delivery;
}

/** A Kafka-class Broker and the `kafka-broker-config` ConfigMap it names, as a Knative Kafka broker is configured. */
export const kafkaBroker = (name: string, config: KafkaBrokerConfig, meta: Meta = {}): string =>
  documents(
    toYaml({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kafka-broker-config' },
      data: {
        'bootstrap.servers': config.servers,
        'default.topic.partitions': String(config.partitions),
        'default.topic.replication.factor': String(config.replicationFactor ?? 1),
        ...config.data,
      },
    }),
    resource(
      'eventing.knative.dev/v1',
      'Broker',
      name,
      {
        config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'kafka-broker-config' },
        ...(config.delivery ? { delivery: delivery(config.delivery) } : {}),
      },
      { ...meta, annotations: { 'eventing.knative.dev/broker.class': 'Kafka', ...meta.annotations } },
    ),
  );

/** A channel's `spec`: its `delivery`, and fields of its kind (a KafkaChannel's numPartitions…) as they are. */
export interface ChannelSpec {
  readonly delivery?: Delivery | undefined;
  readonly [field: string]: unknown;
}

/** A channel: an InMemoryChannel unless `kind` says otherwise. */
export const channel = (name: string, meta: Meta = {}, kind: ChannelKind = 'InMemoryChannel', spec?: ChannelSpec): string =>
  resource(channelApiVersion(kind), kind, name, spec && { ...spec, ...(spec.delivery ? { delivery: delivery(spec.delivery) } : {}) }, meta);

/** A Subscription's `spec`. */
export interface SubscriptionSpec {
  readonly channel: Ref;
  readonly subscriber: Destination;
  readonly reply?: Destination | undefined;
  readonly delivery?: Delivery | undefined;
}

/** A Subscription. */
export const subscription = (name: string, spec: SubscriptionSpec, meta: Meta = {}): string =>
  resource('messaging.knative.dev/v1', 'Subscription', name, { channel: spec.channel, ...addressed(spec), ...(spec.reply ? { reply: destination(spec.reply) } : {}) }, meta);

/** A PingSource's `spec`: a cron `schedule` (with seconds when it has six fields), its `data` and its `sink`. */
export interface PingSourceSpec {
  readonly schedule: string;
  readonly data?: string | undefined;
  readonly sink: Destination;
}

/** A PingSource (sources.knative.dev/v1). */
export const pingSource = (name: string, spec: PingSourceSpec, meta: Meta = {}): string => resource('sources.knative.dev/v1', 'PingSource', name, { ...spec, sink: destination(spec.sink) }, meta);

/** A reference to an EventTransform. */
export const transformRef = (name: string): Ref => ({
  apiVersion: 'eventing.knative.dev/v1alpha1',
  kind: 'EventTransform',
  name,
});

/** An EventTransform's `spec`: its JSONata `expression`, the `sink` it forwards to, and its `reply` expression. */
export interface EventTransformSpec {
  readonly expression: string;
  readonly sink?: Destination | undefined;
  readonly replyExpression?: string | undefined;
}

/** An EventTransform (eventing.knative.dev/v1alpha1) with a JSONata expression. */
export const eventTransform = (name: string, spec: EventTransformSpec, meta: Meta = {}): string =>
  resource(
    'eventing.knative.dev/v1alpha1',
    'EventTransform',
    name,
    {
      ...(spec.sink ? { sink: destination(spec.sink) } : {}),
      jsonata: { expression: spec.expression },
      ...(spec.replyExpression ? { reply: { jsonata: { expression: spec.replyExpression } } } : {}),
    },
    meta,
  );

/** An EventPolicy's target: a resource by name, or the resources of a kind with these labels. */
export type PolicyTarget = Ref | { readonly selector: Omit<Ref, 'name'> & { readonly matchLabels: Readonly<Record<string, string>> } };

/** An EventPolicy's `spec`: `filters` are CESQL expressions. */
export interface EventPolicySpec {
  readonly to?: readonly PolicyTarget[] | undefined;
  readonly from: readonly (Ref | { readonly sub: string })[];
  readonly filters?: readonly string[] | undefined;
}

/** An EventPolicy (eventing.knative.dev/v1alpha1). */
export const eventPolicy = (name: string, spec: EventPolicySpec, meta: Meta = {}): string =>
  resource(
    'eventing.knative.dev/v1alpha1',
    'EventPolicy',
    name,
    {
      ...(spec.to ? { to: spec.to.map((t) => ('selector' in t ? t : { ref: t })) } : {}),
      from: spec.from.map((f) => ('sub' in f ? f : { ref: f })),
      ...(spec.filters ? { filters: spec.filters.map((cesql) => ({ cesql })) } : {}),
    },
    meta,
  );

/** The `subscriber` and `delivery` of a Trigger or Subscription. */
function addressed(spec: { readonly subscriber: Destination; readonly delivery?: Delivery | undefined }): object {
  return { subscriber: destination(spec.subscriber), ...(spec.delivery ? { delivery: delivery(spec.delivery) } : {}) };
}

function destination(d: Destination): object {
  if (typeof d === 'string') return { uri: d };
  return 'kind' in d ? { ref: d } : d;
}

function delivery(d: Delivery): object {
  return { ...d, ...(d.deadLetterSink === undefined ? {} : { deadLetterSink: destination(d.deadLetterSink) }) };
}

// A block-style YAML emitter for the plain objects above: keys in insertion order, strings plain where YAML reads them
// back as the same string and double-quoted (JSON's escapes are YAML's) otherwise.
function toYaml(value: object, indent = ''): string {
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value) as [string, unknown][]) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      lines.push(`${indent}${scalar(key)}:`);
      for (const item of v as unknown[]) {
        if (typeof item === 'object' && item !== null) {
          lines.push(`${indent}  - ${toYaml(item, `${indent}    `).slice(indent.length + 4)}`);
        } else lines.push(`${indent}  - ${scalar(item)}`);
      }
    } else if (typeof v === 'object' && v !== null) {
      if (Object.keys(v).length === 0) lines.push(`${indent}${scalar(key)}: {}`);
      else lines.push(`${indent}${scalar(key)}:`, toYaml(v, `${indent}  `));
    } else lines.push(`${indent}${scalar(key)}: ${scalar(v)}`);
  }
  return lines.join('\n') + (indent === '' ? '\n' : '');
}

function scalar(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  return /^[A-Za-z_/][\w./-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(s) ? s : JSON.stringify(s);
}

// The Broker, Kafka-class Broker and Trigger documents the end-to-end tests and benchmarks run on, written once: each
// builder gives one YAML document (ending in a newline, no separator) and `yamlDocuments` joins them into a file.

/** A Knative DeliverySpec, with the fields the tests set. */
export interface DeliveryYaml {
  readonly retry?: number | undefined;
  readonly backoffPolicy?: 'linear' | 'exponential' | undefined;
  /** An ISO 8601 duration, e.g. `PT0.05S`. */
  readonly backoffDelay?: string | undefined;
  /** An ISO 8601 duration. */
  readonly timeout?: string | undefined;
  /** The dead-letter sink's URI. */
  readonly deadLetterSink?: string | undefined;
}

/** Options of {@link brokerYaml}. */
export interface BrokerYamlOptions {
  /** Default `default`. */
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly delivery?: DeliveryYaml | undefined;
}

/** Options of {@link kafkaBrokerYaml}: a Kafka-class Broker and the `kafka-broker-config` ConfigMap it names. */
export interface KafkaBrokerYamlOptions extends BrokerYamlOptions {
  /** Kafka's `bootstrap.servers`, comma-separated. */
  readonly servers: string;
  /** `default.topic.partitions` of the broker's topic. */
  readonly partitions: number;
  /** `default.topic.replication.factor`; default 1. */
  readonly replicationFactor?: number | undefined;
  /** More ConfigMap data, e.g. `{ 'default.topic.config.retention.ms': '3600000' }`. */
  readonly data?: Readonly<Record<string, string>> | undefined;
}

/** Options of {@link triggerYaml}. */
export interface TriggerYamlOptions {
  readonly name: string;
  /** Default `default`. */
  readonly broker?: string | undefined;
  readonly namespace?: string | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** `spec.filter.attributes`: exact matches. */
  readonly filter?: Readonly<Record<string, string>> | undefined;
  /** The subscriber's URI. */
  readonly uri: string;
  readonly delivery?: DeliveryYaml | undefined;
}

/** A map's entries as `key: "value"` lines at `indent` (values quoted, so `"0"` stays a string). */
function entries(map: Readonly<Record<string, string>>, indent: string): string {
  return Object.entries(map)
    .map(([k, v]) => `${indent}${k}: ${JSON.stringify(v)}\n`)
    .join('');
}

/** `metadata:` with name, namespace and annotations. */
function metadata(name: string, namespace?: string, annotations?: Readonly<Record<string, string>>): string {
  return (
    `metadata:\n  name: ${name}\n` +
    (namespace === undefined ? '' : `  namespace: ${namespace}\n`) +
    (annotations === undefined ? '' : `  annotations:\n${entries(annotations, '    ')}`)
  );
}

/** `  delivery:` and its fields, or nothing. */
function delivery(spec: DeliveryYaml | undefined): string {
  if (spec === undefined) return '';
  const { deadLetterSink, ...plain } = spec;
  const lines = Object.entries(plain)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `    ${k}: ${String(v)}\n`);
  if (deadLetterSink !== undefined) lines.push(`    deadLetterSink:\n      uri: ${deadLetterSink}\n`);
  return `  delivery:\n${lines.join('')}`;
}

/** One Broker document (the default class: the embedded store). */
export function brokerYaml(options: BrokerYamlOptions = {}): string {
  const spec = delivery(options.delivery);
  return (
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\n' +
    metadata(options.name ?? 'default', options.namespace, options.annotations) +
    (spec === '' ? '' : `spec:\n${spec}`)
  );
}

/**
 * The `kafka-broker-config` ConfigMap and a Kafka-class Broker that names it, as two documents: what a Knative
 * Kafka broker is configured with.
 */
export function kafkaBrokerYaml(options: KafkaBrokerYamlOptions): string {
  const configMap =
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kafka-broker-config\ndata:\n' +
    entries(
      {
        'bootstrap.servers': options.servers,
        'default.topic.partitions': String(options.partitions),
        'default.topic.replication.factor': String(options.replicationFactor ?? 1),
        ...options.data,
      },
      '  ',
    );
  const broker =
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\n' +
    metadata(options.name ?? 'default', options.namespace, {
      'eventing.knative.dev/broker.class': 'Kafka',
      ...options.annotations,
    }) +
    'spec:\n  config:\n    apiVersion: v1\n    kind: ConfigMap\n    name: kafka-broker-config\n' +
    delivery(options.delivery);
  return yamlDocuments(configMap, broker);
}

/** One Trigger document with a URI subscriber. */
export function triggerYaml(options: TriggerYamlOptions): string {
  return (
    'apiVersion: eventing.knative.dev/v1\nkind: Trigger\n' +
    metadata(options.name, options.namespace, options.annotations) +
    `spec:\n  broker: ${options.broker ?? 'default'}\n` +
    (options.filter === undefined ? '' : `  filter:\n    attributes:\n${entries(options.filter, '      ')}`) +
    `  subscriber:\n    uri: ${options.uri}\n` +
    delivery(options.delivery)
  );
}

/** Joins YAML documents into one file (`---` between them). */
export function yamlDocuments(...documents: readonly string[]): string {
  return documents.join('---\n');
}

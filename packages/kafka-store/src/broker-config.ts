import type { LoadedResource } from '@sluice/config';
import { BROKER_CLASS_ANNOTATION, DEFAULT_NAMESPACE, type Broker } from '@sluice/core';
import { BROKERS_TOPIC_TEMPLATE_KEY, brokerTopicFor, resolveKafkaFeatures } from './kafka-features.js';
import { EXTERNAL_TOPIC_ANNOTATION, KAFKA_NAMESPACED_BROKER_CLASS, isValidTopicName } from './topic-names.js';

/** Keys of Knative's `kafka-broker-config` ConfigMap (KB `config/broker/200-kafka-broker-config.yaml`). */
export const BOOTSTRAP_SERVERS_KEY = 'bootstrap.servers';
export const PARTITIONS_KEY = 'default.topic.partitions';
export const REPLICATION_FACTOR_KEY = 'default.topic.replication.factor';
export const RETENTION_MS_KEY = 'default.topic.config.retention.ms';
const AUTH_SECRET_KEY = 'auth.secret.ref.name';
const KNOWN_KEYS = new Set([BOOTSTRAP_SERVERS_KEY, PARTITIONS_KEY, REPLICATION_FACTOR_KEY, RETENTION_MS_KEY]);

/** Environment variable naming bootstrap servers when no ConfigMap does. */
export const KAFKA_BROKERS_ENV = 'KAFKA_BROKERS';

/**
 * The ConfigMap a Kafka broker without `spec.config` uses, when the configuration declares it: Knative defaults a
 * Kafka broker's config to `knative-eventing/kafka-broker-config` (config-br-defaults).
 */
export const DEFAULT_CONFIG_MAP = { namespace: 'knative-eventing', name: 'kafka-broker-config' } as const;

/** Everything a Kafka-class broker needs, resolved from its ConfigMap, annotations and the environment. */
export interface KafkaBrokerConfig {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  /** The topic comes from the external-topic annotation: it must exist and is never created. */
  readonly external: boolean;
  readonly partitions: number | undefined;
  readonly replicationFactor: number | undefined;
  readonly retentionMs: number | undefined;
  /** `namespace/name` of the ConfigMap used, if any. */
  readonly configMap: string | undefined;
}

/** A problem found while resolving a broker's Kafka configuration, located at a field of a resource. */
export interface KafkaConfigProblem {
  readonly resource: LoadedResource | undefined;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):\d{1,5}$/;

/** Splits and checks a `bootstrap.servers` value (`host:port`, comma-separated). */
export function parseBootstrapServers(value: string): { servers: string[]; invalid: string[] } {
  const servers = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return { servers, invalid: servers.filter((s) => !HOST_PORT.test(s)) };
}

function intField(data: Record<string, unknown>, k: string, min: number, report: (message: string) => void): number | undefined {
  const raw = data[k];
  if (raw === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ConfigMap data values are strings (schema)
  const text = String(raw).trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < min) {
    report(`${k} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return n;
}

/**
 * Resolves a Kafka broker's configuration: `spec.config` must name a ConfigMap declared in the same files (or, without
 * `spec.config`, the optional `knative-eventing/kafka-broker-config`, except for a `KafkaNamespaced` broker, whose
 * ConfigMap must be in its own namespace); bootstrap servers come from its
 * `bootstrap.servers`, else from `KAFKA_BROKERS`. Returns the problems instead of throwing, so the CLI can point at
 * them.
 */
export function resolveKafkaBrokerConfig(
  broker: Broker,
  resources: readonly LoadedResource[],
  env: Readonly<Record<string, string | undefined>>,
  brokerResource?: LoadedResource,
): { config: KafkaBrokerConfig | undefined; problems: KafkaConfigProblem[] } {
  const problems: KafkaConfigProblem[] = [];
  const configMap = brokerConfigMap(broker, resources, brokerResource, problems);
  const data = (configMap?.value['data'] as Record<string, unknown> | undefined) ?? {};
  const at = (k: string) => (message: string) => problems.push({ resource: configMap, path: ['data', k], message });
  for (const k of Object.keys(data)) {
    if (k === AUTH_SECRET_KEY) at(k)(`${AUTH_SECRET_KEY} (TLS/SASL) is not supported yet by the Sluice Kafka broker class`);
    else if (!KNOWN_KEYS.has(k)) at(k)(`unknown key "${k}" in a Kafka broker ConfigMap (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const servers = bootstrapServers(broker, configMap, data, env, brokerResource, problems);
  const partitions = intField(data, PARTITIONS_KEY, 1, at(PARTITIONS_KEY));
  const replicationFactor = intField(data, REPLICATION_FACTOR_KEY, 1, at(REPLICATION_FACTOR_KEY));
  const retentionMs = intField(data, RETENTION_MS_KEY, -1, at(RETENTION_MS_KEY));
  const { topic, external } = brokerTopic(broker, resources, brokerResource, problems);
  if (problems.length > 0) return { config: undefined, problems };
  return {
    config: { bootstrapServers: servers, topic, external, partitions, replicationFactor, retentionMs, configMap: configMap?.key },
    problems,
  };
}

/**
 * The ConfigMap a Kafka broker reads: the one `spec.config` names (in the broker's namespace for a `KafkaNamespaced`
 * broker), else the optional `knative-eventing/kafka-broker-config`; what is wrong with the reference goes to `problems`.
 */
function brokerConfigMap(broker: Broker, resources: readonly LoadedResource[], brokerResource: LoadedResource | undefined, problems: KafkaConfigProblem[]): LoadedResource | undefined {
  const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
  const ref = broker.spec?.config;
  const namespaced = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION] === KAFKA_NAMESPACED_BROKER_CLASS;
  if (!ref) return namespaced ? undefined : resources.find((r) => r.kind === 'ConfigMap' && r.namespace === DEFAULT_CONFIG_MAP.namespace && r.name === DEFAULT_CONFIG_MAP.name);
  if (namespaced && ref.namespace !== undefined && ref.namespace !== ns) {
    // Knative's namespaced data plane reads its ConfigMap from the broker's namespace only.
    problems.push({
      resource: brokerResource,
      path: ['spec', 'config', 'namespace'],
      message: `a KafkaNamespaced broker's spec.config must be a ConfigMap in the broker's namespace "${ns}", not "${ref.namespace}"`,
    });
    return undefined;
  }
  if (ref.kind !== 'ConfigMap') {
    problems.push({
      resource: brokerResource,
      path: ['spec', 'config', 'kind'],
      message: `a Kafka broker's spec.config must be a v1 ConfigMap, not ${ref.apiVersion ?? ''} ${ref.kind}`.replace('  ', ' '),
    });
    return undefined;
  }
  // A wrong or missing apiVersion is reported by the KReference check of every Broker's spec.config (config's
  // brokerChecks); the ConfigMap is looked up only when it can be the one meant.
  if (ref.apiVersion !== undefined && ref.apiVersion !== 'v1') return undefined;
  const cmNs = ref.namespace ?? ns;
  const configMap = resources.find((r) => r.kind === 'ConfigMap' && r.namespace === cmNs && r.name === ref.name);
  if (!configMap) problems.push({ resource: brokerResource, path: ['spec', 'config', 'name'], message: `ConfigMap "${cmNs}/${ref.name}" is not declared in the configuration` });
  return configMap;
}

/** The bootstrap servers: the ConfigMap's `bootstrap.servers`, else `KAFKA_BROKERS`; a problem when neither gives any. */
function bootstrapServers(
  broker: Broker,
  configMap: LoadedResource | undefined,
  data: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  brokerResource: LoadedResource | undefined,
  problems: KafkaConfigProblem[],
): string[] {
  const fromMap = data[BOOTSTRAP_SERVERS_KEY];
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ConfigMap data values are strings (schema)
  if (fromMap !== undefined && String(fromMap).trim() !== '') {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- as above
    const parsed = parseBootstrapServers(String(fromMap));
    if (parsed.invalid.length > 0)
      problems.push({ resource: configMap, path: ['data', BOOTSTRAP_SERVERS_KEY], message: `bootstrap.servers must be host:port entries separated by commas; invalid: ${parsed.invalid.join(', ')}` });
    return parsed.servers;
  }
  if (env[KAFKA_BROKERS_ENV]?.trim()) {
    const parsed = parseBootstrapServers(env[KAFKA_BROKERS_ENV]);
    if (parsed.invalid.length > 0) {
      problems.push({ resource: brokerResource, path: ['metadata', 'name'], message: `${KAFKA_BROKERS_ENV} must be host:port entries separated by commas; invalid: ${parsed.invalid.join(', ')}` });
    }
    return parsed.servers;
  }
  if (problems.length === 0 && (!broker.spec?.config || configMap)) {
    const where = configMap ? `bootstrap.servers in ConfigMap "${configMap.key}"` : `spec.config (a ConfigMap with bootstrap.servers)`;
    problems.push({
      resource: configMap ?? brokerResource,
      path: configMap ? ['data'] : ['metadata', 'name'],
      message: `a Kafka broker needs bootstrap servers: set ${where} or the ${KAFKA_BROKERS_ENV} environment variable`,
    });
  }
  return [];
}

/**
 * The broker's topic: its external topic annotation, else config-kafka-features' brokers.topic.template (Knative's
 * default without it). A template problem itself is reported once by the checks, at the ConfigMap.
 */
function brokerTopic(broker: Broker, resources: readonly LoadedResource[], brokerResource: LoadedResource | undefined, problems: KafkaConfigProblem[]): { topic: string; external: boolean } {
  const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
  const externalTopic = broker.metadata.annotations?.[EXTERNAL_TOPIC_ANNOTATION];
  if (externalTopic !== undefined) {
    if (!isValidTopicName(externalTopic)) {
      problems.push({
        resource: brokerResource,
        path: ['metadata', 'annotations', EXTERNAL_TOPIC_ANNOTATION],
        message: `"${externalTopic}" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)`,
      });
    }
    return { topic: externalTopic, external: true };
  }
  const { features } = resolveKafkaFeatures(resources);
  const topic = brokerTopicFor(features, ns, broker.metadata.name);
  if (!isValidTopicName(topic)) {
    const templateKey = features.keys[BROKERS_TOPIC_TEMPLATE_KEY];
    const featuresMap = templateKey === undefined ? undefined : resources.find((r) => r.kind === 'ConfigMap' && r.key === features.configMap);
    if (featuresMap && templateKey !== undefined) {
      problems.push({
        resource: featuresMap,
        path: ['data', templateKey],
        message: `${templateKey} gives broker ${ns}/${broker.metadata.name} the topic "${topic}", which is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)`,
      });
    } else {
      problems.push({ resource: brokerResource, path: ['metadata', 'name'], message: `the broker's topic name "${topic}" is longer than Kafka allows (249 characters)` });
    }
  }
  return { topic, external: false };
}

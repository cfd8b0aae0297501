import type { LoadedResource } from '@sluice/config';
import { parseLogName } from '@sluice/core';
import { defaultGroupIdFor } from './topic-names.js';
import { isNameTemplateError, parseNameTemplate, renderNameTemplate, type NameTemplate } from './name-template.js';

/** Knative's `config-kafka-features` ConfigMap (KB `control-plane/pkg/apis/config/features.go`), read from the files. */
export const KAFKA_FEATURES_CONFIG_MAP = { namespace: 'knative-eventing', name: 'config-kafka-features' } as const;

/** Key of the trigger consumer-group template. */
export const TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY = 'triggers.consumergroup.template';
/** Key of the broker topic template. */
export const BROKERS_TOPIC_TEMPLATE_KEY = 'brokers.topic.template';
/** Key of the channel topic template. */
export const CHANNELS_TOPIC_TEMPLATE_KEY = 'channels.topic.template';

/** Knative's defaults: the names Sluice used before the templates existed, so nothing moves when none is set. */
const DEFAULTS = {
  [TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY]: 'knative-trigger-{{ .Namespace }}-{{ .Name }}',
  [BROKERS_TOPIC_TEMPLATE_KEY]: 'knative-broker-{{ .Namespace }}-{{ .Name }}',
  [CHANNELS_TOPIC_TEMPLATE_KEY]: 'knative-messaging-kafka.{{ .Namespace }}.{{ .Name }}',
} as const;

type TemplateKey = keyof typeof DEFAULTS;

/** Knative also reads each template under a dashed key (`triggers-consumergroup-template`, …). */
const DASHED: Readonly<Record<string, TemplateKey>> = {
  'triggers-consumergroup-template': TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY,
  'brokers-topic-template': BROKERS_TOPIC_TEMPLATE_KEY,
  'channels-topic-template': CHANNELS_TOPIC_TEMPLATE_KEY,
};

/**
 * Knative's feature flags in the same ConfigMap. They tune Knative's dispatcher and autoscaler, which Sluice does not
 * have: `disabled` (Knative's default) is accepted, any other value is an error rather than a setting ignored.
 */
const FLAGS = new Set([
  'dispatcher.rate-limiter',
  'dispatcher-rate-limiter',
  'dispatcher.ordered-executor-metrics',
  'dispatcher-ordered-executor-metrics',
  'controller.autoscaler',
  'controller-autoscaler-keda',
]);

/** The name templates in force: the ConfigMap's, else Knative's defaults. */
export interface KafkaFeatures {
  readonly triggersConsumerGroup: NameTemplate;
  readonly brokersTopic: NameTemplate;
  readonly channelsTopic: NameTemplate;
  /** `namespace/name` of the ConfigMap read, if the files declare it. */
  readonly configMap: string | undefined;
  /** Where each template came from (for messages): the key it was read from, undefined for a default. */
  readonly keys: Readonly<Record<TemplateKey, string | undefined>>;
}

/** A problem in `config-kafka-features`, at a key of the ConfigMap (`offset`: a character of the value, if known). */
export interface KafkaFeaturesProblem {
  readonly resource: LoadedResource;
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly offset?: number;
}

function parsedDefault(key: TemplateKey): NameTemplate {
  const t = parseNameTemplate(DEFAULTS[key]);
  if (isNameTemplateError(t)) throw new Error(`default ${key} does not parse: ${t.message}`);
  return t;
}

/** Knative's default templates. */
export const DEFAULT_KAFKA_FEATURES: KafkaFeatures = {
  triggersConsumerGroup: parsedDefault(TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY),
  brokersTopic: parsedDefault(BROKERS_TOPIC_TEMPLATE_KEY),
  channelsTopic: parsedDefault(CHANNELS_TOPIC_TEMPLATE_KEY),
  configMap: undefined,
  keys: { [TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY]: undefined, [BROKERS_TOPIC_TEMPLATE_KEY]: undefined, [CHANNELS_TOPIC_TEMPLATE_KEY]: undefined },
};

/**
 * Reads `knative-eventing/config-kafka-features` from the loaded resources. Problems (a template that does not parse,
 * an unknown field or key, a flag Sluice cannot honour) are returned with the templates that did parse; a template
 * with a problem falls back to its default so callers always get names.
 */
export function resolveKafkaFeatures(resources: readonly LoadedResource[]): { features: KafkaFeatures; problems: KafkaFeaturesProblem[] } {
  const cm = resources.find((r) => r.kind === 'ConfigMap' && r.namespace === KAFKA_FEATURES_CONFIG_MAP.namespace && r.name === KAFKA_FEATURES_CONFIG_MAP.name);
  if (!cm) return { features: DEFAULT_KAFKA_FEATURES, problems: [] };
  const data = (cm.value['data'] as Record<string, unknown> | undefined) ?? {};
  const problems: KafkaFeaturesProblem[] = [];
  const chosen: Partial<Record<TemplateKey, { key: string; template: NameTemplate }>> = {};
  for (const [k, raw] of Object.entries(data)) {
    const value = String(raw);
    const key: TemplateKey | undefined = k in DEFAULTS ? (k as TemplateKey) : DASHED[k];
    if (key !== undefined) {
      const t = parseNameTemplate(value);
      if (isNameTemplateError(t)) {
        problems.push({ resource: cm, path: ['data', k], message: `${k}: ${t.message}`, offset: t.offset });
        continue;
      }
      if (t.parts.length === 0) {
        problems.push({ resource: cm, path: ['data', k], message: `${k} is empty: it must produce a name` });
        continue;
      }
      const other = chosen[key];
      if (other && other.template.source !== value) {
        problems.push({ resource: cm, path: ['data', k], message: `${k} and ${other.key} are the same setting with different values; keep one` });
        continue;
      }
      chosen[key] = { key: k, template: t };
    } else if (FLAGS.has(k)) {
      if (value.trim().toLowerCase() !== 'disabled') {
        problems.push({
          resource: cm,
          path: ['data', k],
          message: `${k}: "${value}" is not supported by Sluice (it tunes Knative's dispatcher or autoscaler); only "disabled", Knative's default, is accepted`,
        });
      }
    } else {
      const known = [...Object.keys(DEFAULTS), ...Object.keys(DASHED), ...FLAGS];
      problems.push({ resource: cm, path: ['data', k], message: `unknown key "${k}" in ConfigMap ${cm.key} (known: ${known.join(', ')})` });
    }
  }
  const pick = (key: TemplateKey, fallback: NameTemplate): NameTemplate => chosen[key]?.template ?? fallback;
  return {
    features: {
      triggersConsumerGroup: pick(TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY, DEFAULT_KAFKA_FEATURES.triggersConsumerGroup),
      brokersTopic: pick(BROKERS_TOPIC_TEMPLATE_KEY, DEFAULT_KAFKA_FEATURES.brokersTopic),
      channelsTopic: pick(CHANNELS_TOPIC_TEMPLATE_KEY, DEFAULT_KAFKA_FEATURES.channelsTopic),
      configMap: cm.key,
      keys: {
        [TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY]: chosen[TRIGGERS_CONSUMER_GROUP_TEMPLATE_KEY]?.key,
        [BROKERS_TOPIC_TEMPLATE_KEY]: chosen[BROKERS_TOPIC_TEMPLATE_KEY]?.key,
        [CHANNELS_TOPIC_TEMPLATE_KEY]: chosen[CHANNELS_TOPIC_TEMPLATE_KEY]?.key,
      },
    },
    problems,
  };
}

/** The topic of a Kafka-class broker (unless it names an external topic). */
export function brokerTopicFor(features: KafkaFeatures, namespace: string, name: string): string {
  return renderNameTemplate(features.brokersTopic, { Namespace: namespace, Name: name });
}

/** The consumer group id of a trigger on a Kafka-class broker. */
export function triggerGroupIdFor(features: KafkaFeatures, namespace: string, name: string): string {
  return renderNameTemplate(features.triggersConsumerGroup, { Namespace: namespace, Name: name });
}

/** The topic Knative would give a KafkaChannel (Sluice backs KafkaChannels with the embedded store; reported only). */
export function channelTopicFor(features: KafkaFeatures, namespace: string, name: string): string {
  return renderNameTemplate(features.channelsTopic, { Namespace: namespace, Name: name });
}

/**
 * The store's group → Kafka group id mapping under `features`: the runtime's `trigger:<ns>/<name>` groups get the
 * trigger template; any other group keeps the default mapping.
 */
export function groupIdMapping(features: KafkaFeatures): (group: string) => string {
  return (group) => {
    const trigger = parseLogName(group, 'trigger');
    return trigger ? triggerGroupIdFor(features, trigger.namespace, trigger.name) : defaultGroupIdFor(group);
  };
}

import { hostname } from 'node:os';
import { DEFAULT_NAMESPACE, SluiceError, brokerLog, triggerGroup } from '@sluice/core';
import { kafkajsLibrary, type KafkajsModule } from '@sluice/plugin';
import { DEFAULT_DEAD_LETTER_RETENTION, type BrokerClass } from '@sluice/store';
import type { SluiceConfig } from '@sluice/config';
import { PARTITIONS_KEY, REPLICATION_FACTOR_KEY, RETENTION_MS_KEY, resolveKafkaBrokerConfig, type KafkaBrokerConfig } from './broker-config.js';
import { groupIdMapping, resolveKafkaFeatures } from './kafka-features.js';
import { KafkaEventStore, type KafkaEventStoreOptions } from './kafka-event-store.js';
import { deadLetterTopicName, defaultTopicFor } from './topic-names.js';

/** Broker annotation bounding the archive's size (read here to tell a size the broker set from the default). */
const ARCHIVE_MAX_BYTES_ANNOTATION = 'sluice.dev/archive-max-bytes';

/** The configuration each running Kafka-class store was opened with, to tell a live change what it would alter. */
const OPENED_WITH = new WeakMap<KafkaEventStore, KafkaBrokerConfig>();

/**
 * What a live change of `next` would alter in a store opened with `now` besides names: its bootstrap servers, and the
 * settings Sluice gives a topic it creates (the topic exists once the broker runs); undefined when nothing.
 */
function changedSetting(now: KafkaBrokerConfig, next: KafkaBrokerConfig): string | undefined {
  const servers = (c: KafkaBrokerConfig): string => c.bootstrapServers.join(',');
  if (servers(now) !== servers(next)) {
    return `its bootstrap servers would change from "${servers(now)}" to "${servers(next)}": a running broker keeps its Kafka connection; restart every instance on the new configuration to move it`;
  }
  const settings = [
    [PARTITIONS_KEY, now.partitions, next.partitions],
    [REPLICATION_FACTOR_KEY, now.replicationFactor, next.replicationFactor],
    [RETENTION_MS_KEY, now.retentionMs, next.retentionMs],
  ] as const;
  for (const [key, a, b] of settings) {
    if (a !== b)
      return `its ${key} would change from ${a ?? 'unset'} to ${b ?? 'unset'}: Sluice sets it only when it creates the topic, and this broker's topic exists (alter the topic with Kafka's tools, then change the file to match)`;
  }
  return undefined;
}

// kafkajs loads with the first Kafka-class broker, never for a configuration without one. Module state: a runtime
// makes a new class object for each configuration (brokerClassesFor), and one load serves them all.
let kafkajs: KafkajsModule | undefined;

/** Options of {@link kafkaBrokerClass}. */
export interface KafkaBrokerClassOptions {
  /** Environment consulted for `KAFKA_BROKERS` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Tuning passed to every store (timeouts, batching, windows); topics and servers come from the configuration. */
  readonly store?: Omit<Partial<KafkaEventStoreOptions>, 'brokers' | 'topics' | 'topicFor' | 'groupIdFor' | 'logger' | 'kafka' | 'kafkajs'>;
}

/**
 * The `Kafka` broker class (annotation `eventing.knative.dev/broker.class: Kafka`): each such broker gets a
 * {@link KafkaEventStore} on its topic, configured by the ConfigMap its `spec.config` names (or `KAFKA_BROKERS`).
 * `config` is the loaded configuration, which holds the ConfigMaps. Its `load` (kafkajs) must have resolved before
 * `open`: the runtime awaits it.
 */
export function kafkaBrokerClass(config: SluiceConfig, options: KafkaBrokerClassOptions = {}): BrokerClass {
  const env = options.env ?? process.env;
  return {
    async load(user) {
      kafkajs ??= await kafkajsLibrary(user);
    },
    conflicts(running, broker, triggers) {
      if (!(running instanceof KafkaEventStore)) return undefined;
      const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
      const name = `${ns}/${broker.metadata.name}`;
      const { config: cfg } = resolveKafkaBrokerConfig(broker, config.resources, env);
      if (!cfg) return undefined; // reported by the checks
      const opened = OPENED_WITH.get(running);
      const setting = opened && changedSetting(opened, cfg);
      if (setting !== undefined) return `broker ${name}: ${setting}`;
      const restart = 'a running broker keeps its Kafka names; restart every instance on the new configuration to rename them';
      const topic = running.topicOf(brokerLog(ns, broker.metadata.name));
      if (topic !== cfg.topic) return `broker ${name}: its Kafka topic would change from "${topic}" to "${cfg.topic}" (${restart})`;
      const groupIdFor = groupIdMapping(resolveKafkaFeatures(config.resources).features);
      for (const t of triggers) {
        const tns = t.metadata.namespace ?? DEFAULT_NAMESPACE;
        const group = triggerGroup(tns, t.metadata.name);
        const now = running.groupIdOf(group);
        const next = groupIdFor(group);
        if (now !== next) return `trigger ${tns}/${t.metadata.name}: its Kafka consumer group would change from "${now}" to "${next}" (${restart})`;
      }
      return undefined;
    },
    open(broker, { logger, deadLetters, archive, deadLetterRetention }) {
      const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
      const name = `${ns}/${broker.metadata.name}`;
      const { config: cfg, problems } = resolveKafkaBrokerConfig(broker, config.resources, env);
      if (!cfg) throw new SluiceError('SLUICE_KAFKA_CONFIG', `broker ${name}: ${problems.map((p) => p.message).join('; ')}`);
      if (!kafkajs) throw new SluiceError('SLUICE_INTERNAL', `broker ${name}: its Kafka store was opened before the broker class loaded kafkajs (a bug)`);
      const log = brokerLog(ns, broker.metadata.name);
      // Topic and group names follow config-kafka-features (checked at validation; Knative's defaults without it).
      const { features } = resolveKafkaFeatures(config.resources);
      const store = new KafkaEventStore({
        clientId: `sluice-${hostname()}`,
        ...options.store,
        kafkajs,
        brokers: cfg.bootstrapServers,
        topics: { partitions: cfg.partitions, replicationFactor: cfg.replicationFactor, retentionMs: cfg.retentionMs },
        topicFor: (l) => (l === log ? { topic: cfg.topic, external: cfg.external } : { topic: defaultTopicFor(l) }),
        groupIdFor: groupIdMapping(features),
        logger: logger.child({ broker: name }),
        ...(deadLetters ? { deadLetters } : {}),
        // Dead letters go to a topic every instance reads, so any of them lists, replays and purges them.
        sharedDeadLetters: { log, topic: deadLetterTopicName(cfg.topic), retentionMs: (deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION).maxAgeMs },
        // The archive is the topic's retention. Its size bound applies only when the broker names one: a default
        // size would let Kafka delete events no trigger has delivered yet.
        ...(archive ? { archive: { maxAgeMs: archive.maxAgeMs, maxBytes: broker.metadata.annotations?.[ARCHIVE_MAX_BYTES_ANNOTATION] === undefined ? undefined : archive.maxBytes } } : {}),
      });
      OPENED_WITH.set(store, cfg);
      return store;
    },
  };
}

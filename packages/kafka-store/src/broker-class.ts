import { hostname } from 'node:os';
import { DEFAULT_NAMESPACE, SluiceError } from '@sluice/core';
import type { BrokerClass } from '@sluice/store';
import type { SluiceConfig } from '@sluice/config';
import { resolveKafkaBrokerConfig } from './broker-config.js';
import { KafkaEventStore, type KafkaEventStoreOptions } from './kafka-event-store.js';
import { defaultTopicFor } from './topic-names.js';

/** Broker annotation bounding the archive's size (read here to tell a size the broker set from the default). */
const ARCHIVE_MAX_BYTES_ANNOTATION = 'sluice.dev/archive-max-bytes';

/** Options of {@link kafkaBrokerClass}. */
export interface KafkaBrokerClassOptions {
  /** Environment consulted for `KAFKA_BROKERS` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Tuning passed to every store (timeouts, batching, windows); topics and servers come from the configuration. */
  readonly store?: Omit<Partial<KafkaEventStoreOptions>, 'brokers' | 'topics' | 'topicFor' | 'logger' | 'kafka'>;
}

/**
 * The `Kafka` broker class (annotation `eventing.knative.dev/broker.class: Kafka`): each such broker gets a
 * {@link KafkaEventStore} on its topic, configured by the ConfigMap its `spec.config` names (or `KAFKA_BROKERS`).
 * `config` is the loaded configuration, which holds the ConfigMaps.
 */
export function kafkaBrokerClass(config: SluiceConfig, options: KafkaBrokerClassOptions = {}): BrokerClass {
  const env = options.env ?? process.env;
  return {
    open(broker, { logger, deadLetters, archive }) {
      const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
      const name = `${ns}/${broker.metadata.name}`;
      const { config: cfg, problems } = resolveKafkaBrokerConfig(broker, config.resources, env);
      if (!cfg) throw new SluiceError('SLUICE_KAFKA_CONFIG', `broker ${name}: ${problems.map((p) => p.message).join('; ')}`);
      const log = `broker:${name}`;
      return new KafkaEventStore({
        clientId: `sluice-${hostname()}`,
        ...options.store,
        brokers: cfg.bootstrapServers,
        topics: { partitions: cfg.partitions, replicationFactor: cfg.replicationFactor, retentionMs: cfg.retentionMs },
        topicFor: (l) => (l === log ? { topic: cfg.topic, external: cfg.external } : { topic: defaultTopicFor(l) }),
        logger: logger.child({ broker: name }),
        ...(deadLetters ? { deadLetters } : {}),
        // The archive is the topic's retention. Its size bound applies only when the broker names one: a default
        // size would let Kafka delete events no trigger has delivered yet.
        ...(archive ? { archive: { maxAgeMs: archive.maxAgeMs, maxBytes: broker.metadata.annotations?.[ARCHIVE_MAX_BYTES_ANNOTATION] === undefined ? undefined : archive.maxBytes } } : {}),
      });
    },
  };
}

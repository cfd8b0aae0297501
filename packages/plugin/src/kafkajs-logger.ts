import type { Logger } from '@sluice/core';

/** One log entry of kafkajs (its `LogEntry`, by shape: this module needs no kafkajs). */
export interface KafkajsLogEntry {
  readonly namespace: string;
  /** kafkajs' `logLevel`: 1 error, 2 warn, 4 info, 5 debug. */
  readonly level: number;
  readonly log: { readonly message: string } & Readonly<Record<string, unknown>>;
}

/** kafkajs' `logLevel.WARN`. */
const KAFKAJS_WARN = 2;

/**
 * kafkajs' `logCreator` for Sluice's logger, for every package with a Kafka client: kafkajs' errors and warnings are
 * warnings (it retries most of them itself, and Sluice logs what it gives up on), its info and debug lines debug.
 */
export function kafkajsLogCreator(logger: Logger): () => (entry: KafkajsLogEntry) => void {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _t, logger: _l, ...extra } = log;
      if (level <= KAFKAJS_WARN) logger.warn({ kafkajs: namespace, ...extra }, message);
      else logger.debug({ kafkajs: namespace, ...extra }, message);
    };
}

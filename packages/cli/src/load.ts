import { brokerChecks, formatConfigError, loadConfig, type LoadResult } from '@sluice/config';
import { sourceChecks } from '@sluice/sources';
import { channelChecks } from '@sluice/channel';
import { kafkaSourceChecks } from '@sluice/kafka-source';
import { cloudPubSubSourceChecks } from '@sluice/pubsub-source';
import { kafkaChecks } from '@sluice/kafka-store';

/** Loads and validates configuration files the way every command does (schemas + semantic checks). */
export function loadAndCheck(files: readonly string[]): LoadResult {
  return loadConfig(files, { checks: [brokerChecks(), sourceChecks(), kafkaSourceChecks(), cloudPubSubSourceChecks(), channelChecks(), kafkaChecks()] });
}

/** Prints configuration errors, one `file:line:col: message` per line, to stderr. */
export function printErrors(result: LoadResult): void {
  for (const e of result.errors) process.stderr.write(formatConfigError(e) + '\n');
}

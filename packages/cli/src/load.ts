import { brokerChecks, formatConfigError, loadConfig, type LoadResult } from '@sluice/config';
import { pluginChecks } from '@sluice/plugin';
import { PLUGINS } from './plugins.js';

/** Loads and validates configuration files the way every command does (schemas + semantic checks). */
export function loadAndCheck(files: readonly string[]): LoadResult {
  return loadConfig(files, { checks: [brokerChecks(), ...pluginChecks(PLUGINS)] });
}

/** Prints configuration errors, one `file:line:col: message` per line, to stderr. */
export function printErrors(result: LoadResult): void {
  for (const e of result.errors) process.stderr.write(formatConfigError(e) + '\n');
}

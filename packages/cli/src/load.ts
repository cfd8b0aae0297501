import { deadLetterChecks, eventPolicyChecks } from '@sluice/broker';
import { brokerChecks, formatConfigError, loadConfig, type LoadOptions, type LoadResult } from '@sluice/config';
import { pluginChecks } from '@sluice/plugin';
import { PLUGINS } from './plugins.js';
import { redactUrlsIn } from '@sluice/core';

/** Loads and validates configuration files the way every command does (schemas + semantic checks). */
export function loadAndCheck(files: readonly string[], options: { recursive?: boolean; strict?: boolean } & Pick<LoadOptions, 'sources' | 'select'> = {}): LoadResult {
  return loadConfig(files, {
    checks: [brokerChecks(), deadLetterChecks(), eventPolicyChecks(), ...pluginChecks(PLUGINS)],
    recursive: options.recursive ?? false,
    strict: options.strict ?? false,
    ...(options.sources ? { sources: options.sources } : {}),
    ...(options.select ? { select: options.select } : {}),
  });
}

/** Prints configuration errors, one `file:line:col: message` per line (`file: message` for unreadable files), then the hints (once per run), to stderr. */
export function printErrors(result: LoadResult): void {
  for (const e of result.errors) {
    if (e.code === 'SLUICE_CONFIG_READ') {
      // No position to point at: a made-up :1:1 would send editors to a file that may not exist.
      const m = /^cannot read: (E[A-Z]+): ([^,]+)/.exec(e.message);
      process.stderr.write(redactUrlsIn(`${e.file}: ${m ? `cannot read: ${m[2]}` : e.message}`) + '\n');
    } else {
      process.stderr.write(formatConfigError(e) + '\n');
    }
  }
  for (const h of result.hints) process.stderr.write(h + '\n');
}

/** Prints references to undeclared resources, one `file:line:col: warning: message` per line, to stderr. */
export function printWarnings(result: LoadResult): void {
  for (const w of result.warnings) process.stderr.write(redactUrlsIn(`${w.file}:${w.line}:${w.col}: warning: ${w.message}`) + '\n');
}

/** Prints what is accepted but ignored (`ignored: v1 Namespace x (cluster plumbing)`), one line each, to stderr. */
export function printNotices(result: LoadResult): void {
  for (const n of result.notices) process.stderr.write(redactUrlsIn(n.message) + '\n');
}

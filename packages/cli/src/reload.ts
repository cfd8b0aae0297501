import { watch, type FSWatcher } from 'node:fs';
import { statSync } from 'node:fs';
import { isSluiceError, type Logger } from '@sluice/core';
import type { ApplyReport, SluiceRuntime } from '@sluice/broker';
import type { LoadResult, SluiceConfig } from '@sluice/config';

/** What a change did, in one line: `Trigger default/a created, Trigger default/b deleted`, or undefined when nothing. */
export function describeChange(report: ApplyReport): string | undefined {
  const changed = report.resources.filter((r) => r.change !== 'unchanged').map((r) => `${r.kind} ${r.namespace}/${r.name} ${r.change}`);
  if (changed.length === 0 && report.restarted.length === 0) return undefined;
  const restarted = report.restarted.length > 0 ? ` (restarted: ${report.restarted.join(', ')})` : '';
  const failed = report.failed.length > 0 ? `; not ready: ${report.failed.join('; ')}` : '';
  return `${changed.join(', ') || 'no resource changed'}${restarted}${failed}`;
}

/**
 * Re-reads the `-f` files and applies them to the running runtime (SIGHUP, `run --watch`); one log line says what
 * changed or why nothing did. Never throws: a bad file or a refused change leaves the running configuration as it is.
 */
export async function reloadFiles(why: string, load: () => LoadResult, runtime: SluiceRuntime, logger: Logger, refusals: (config: SluiceConfig) => string[] = () => []): Promise<void> {
  const result = load();
  if (result.errors.length > 0) {
    for (const e of result.errors) logger.error({ file: e.file, line: e.line, col: e.col, code: e.code }, e.message);
    logger.warn({ reload: why, errors: result.errors.length }, `${why}: the configuration files have ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}; nothing changed`);
    return;
  }
  // What `run` refuses at start (e.g. commands under --no-exec) is refused in a change too.
  const refused = refusals(result.config);
  if (refused.length > 0) {
    logger.error({ reload: why }, `${why}: nothing changed: ${refused.join('; ')}`);
    return;
  }
  try {
    const report = await runtime.apply(result.config);
    const line = describeChange(report);
    if (line === undefined) logger.info({ reload: why }, `${why}: configuration unchanged`);
    else logger.info({ reload: why, changes: report.resources.filter((r) => r.change !== 'unchanged').length }, `${why}: applied: ${line}`);
  } catch (err) {
    const force = isSluiceError(err, 'SLUICE_FORCE_REQUIRED');
    logger.error(
      { reload: why, code: isSluiceError(err) ? err.code : undefined },
      `${why}: nothing changed: ${(err as Error).message.replaceAll('\n', '; ')}${force ? ' (to delete it anyway: sluice delete --force, then reload)' : ''}`,
    );
  }
}

/**
 * Watches the `-f` files and directories (new files in a directory too; subdirectories with `recursive`) and calls
 * `onChange` once per burst of file events (debounced), as editors write a file in several steps.
 */
export function watchFiles(paths: readonly string[], recursive: boolean, onChange: () => void, logger: Logger, debounceMs = 300): () => void {
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const path of paths) {
    let dir = false;
    try {
      dir = statSync(path).isDirectory();
    } catch {
      // A file that does not exist yet: its directory is not watched; the next SIGHUP reads it.
    }
    try {
      // A file is watched through its directory: editors replace files (rename), which ends a watch on the file itself.
      const target = dir ? path : dirnameOf(path);
      const name = dir ? undefined : basenameOf(path);
      const w = watch(target, { recursive: dir && recursive }, (_event, file) => {
        if (name === undefined || file === null || file === name) fire();
      });
      w.on('error', (err) => logger.warn({ path, err }, `--watch: cannot watch ${path}`));
      watchers.push(w);
    } catch (err) {
      logger.warn({ path, err }, `--watch: cannot watch ${path}`);
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : path.slice(0, i);
}

function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

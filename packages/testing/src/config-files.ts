import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError, loadConfig, type LoadResult, type SemanticCheck } from '@sluice/config';

/** What {@link ConfigFiles.load} returns: the loader's result, and its errors as `sluice validate` prints them. */
export interface CheckedConfig extends LoadResult {
  /**
   * Each error as `formatConfigError` prints it, without the folder: `name:line:col: message` for a file given a
   * name, `line:col: message` for one named by the helper.
   */
  readonly messages: string[];
}

/** Options of {@link ConfigFiles.load}. */
export interface ConfigFileOptions {
  /** The file's name in the folder; default: a new name, left out of the messages. */
  readonly name?: string;
  /** The semantic checks for this load; default: those given to {@link configFiles}. */
  readonly checks?: readonly SemanticCheck[];
}

/** YAML configurations written to a temporary folder and loaded through the real loader. */
export interface ConfigFiles {
  readonly dir: string;
  /** Writes `yaml` to a file in the folder and loads it with the checks. */
  load(yaml: string, options?: ConfigFileOptions): CheckedConfig;
  /** The messages of {@link ConfigFiles.load}. */
  errors(yaml: string, options?: ConfigFileOptions): string[];
  /** Removes the folder. */
  remove(): void;
}

/** Options of {@link configFiles}. */
export interface ConfigFilesOptions {
  /** The semantic checks of every load (e.g. `brokerChecks()` and a package's own); default: none. */
  readonly checks?: readonly SemanticCheck[];
  /** The start of the temporary folder's name. */
  readonly prefix?: string;
}

/**
 * A temporary folder of configurations loaded as `sluice validate` loads them: what tests of schemas and semantic
 * checks are made of.
 */
export function configFiles(options: ConfigFilesOptions = {}): ConfigFiles {
  const checks = options.checks ?? [];
  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? 'sluice-checks-'));
  let n = 0;
  const load = (yaml: string, file: ConfigFileOptions = {}): CheckedConfig => {
    const path = join(dir, file.name ?? `c${n++}.yaml`);
    writeFileSync(path, yaml);
    const result = loadConfig([path], { checks: file.checks ?? checks });
    const cut = (file.name === undefined ? path : dir).length + 1;
    return { ...result, messages: result.errors.map((e) => formatConfigError(e).slice(cut)) };
  };
  return {
    dir,
    load,
    errors: (yaml, file) => load(yaml, file).messages,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

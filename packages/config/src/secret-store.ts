import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretKeySelector } from '@sluice/core';
import type { SluiceConfig } from './load.js';

/** A `corev1.SecretKeySelector` (generated from `schemas/common.json`). */
export type SecretKeyRef = Readonly<SecretKeySelector>;

/** The data of a `v1 Secret` document. */
export interface SecretDocument {
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}

/** The value of a secret key, or why it cannot be read. An optional key that is absent resolves to `undefined`. */
export type SecretLookup = { readonly ok: true; readonly value: string | undefined } | { readonly ok: false; readonly message: string };

/** Where secrets come from; tests pass their own. */
export interface SecretStoreOptions {
  /** `v1 Secret` documents by `namespace/name`. */
  readonly documents?: ReadonlyMap<string, SecretDocument>;
  /** Directory of `<namespace>/<name>/<key>` files, laid out like a mounted Kubernetes Secret volume per Secret. */
  readonly dir?: string | undefined;
  readonly readFile?: (path: string) => string;
}

/** Environment variable naming the secrets directory. */
export const SECRETS_DIR_ENV = 'SLUICE_SECRETS_DIR';

/**
 * Resolves `secretKeyRef`s without Kubernetes: first from a `v1 Secret` document of the same namespace in the
 * configuration (`stringData` wins over base64 `data`, as the API server merges them), then from the file
 * `$SLUICE_SECRETS_DIR/<namespace>/<name>/<key>`. One trailing newline of a file is dropped.
 */
export class SecretStore {
  readonly #documents: ReadonlyMap<string, SecretDocument>;
  readonly #dir: string | undefined;
  readonly #readFile: (path: string) => string;

  constructor(options: SecretStoreOptions = {}) {
    this.#documents = options.documents ?? new Map();
    this.#dir = options.dir;
    this.#readFile = options.readFile ?? ((p) => readFileSync(p, 'utf8'));
  }

  /** A store over the `v1 Secret` documents of a configuration and `$SLUICE_SECRETS_DIR`. */
  static fromConfig(config: SluiceConfig, env: NodeJS.ProcessEnv = process.env, readFile?: (path: string) => string): SecretStore {
    const documents = new Map<string, SecretDocument>();
    for (const r of config.resources) {
      if (r.kind === 'Secret' && r.apiVersion === 'v1') documents.set(r.key, r.value);
    }
    const dir = env[SECRETS_DIR_ENV]?.trim();
    return new SecretStore({ documents, dir: dir === '' ? undefined : dir, ...(readFile ? { readFile } : {}) });
  }

  /** Reads one key of a Secret in `namespace`. */
  lookup(namespace: string, ref: SecretKeyRef): SecretLookup {
    const id = `${namespace}/${ref.name}`;
    const doc = this.#documents.get(id);
    if (doc) {
      const plain = doc.stringData?.[ref.key];
      if (plain !== undefined) return { ok: true, value: plain };
      const encoded = doc.data?.[ref.key];
      if (encoded !== undefined) return { ok: true, value: Buffer.from(encoded, 'base64').toString('utf8') };
      if (ref.optional === true) return { ok: true, value: undefined };
      return { ok: false, message: `Secret "${id}" has no key "${ref.key}" in data or stringData` };
    }
    if (this.#dir !== undefined) {
      const path = join(this.#dir, namespace, ref.name, ref.key);
      try {
        return { ok: true, value: this.#readFile(path).replace(/\r?\n$/, '') };
      } catch (err) {
        if (ref.optional === true && (err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, value: undefined };
        return { ok: false, message: `Secret "${id}" is not declared and ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
      }
    }
    if (ref.optional === true) return { ok: true, value: undefined };
    return {
      ok: false,
      message: `Secret "${id}" is not declared: add a "v1 Secret" document named "${ref.name}" in namespace "${namespace}", or set ${SECRETS_DIR_ENV} to a directory holding ${namespace}/${ref.name}/${ref.key}`,
    };
  }
}

import { readFileSync } from 'node:fs';

/**
 * TriggerMesh's `ValueFromField`, for Sluice: a literal `value`, or the name of an environment variable, or a file
 * path. `valueFromSecret` (a Kubernetes Secret) is recognised only to be reported.
 */
export interface ValueFromField {
  value?: string;
  valueFromEnv?: string;
  valueFromFile?: string;
  valueFromSecret?: Record<string, unknown>;
}

/** Where a secret's value comes from, for reading. */
export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => string;
}

/** The process's environment and file system. */
export const defaultSecretSources: SecretSources = { env: process.env, readFile: (p) => readFileSync(p, 'utf8') };

/** A resolved value, or why it cannot be read (with the field to point at). */
export type ResolvedValue = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly field: keyof ValueFromField; readonly message: string };

/** Reads a value. A file's single trailing newline is dropped, as secret files usually end with one. */
export function resolveValue(field: ValueFromField, sources: SecretSources = defaultSecretSources): ResolvedValue {
  if (field.value !== undefined) return { ok: true, value: field.value };
  if (field.valueFromEnv !== undefined) {
    const v = sources.env[field.valueFromEnv];
    if (v === undefined || v === '') return { ok: false, field: 'valueFromEnv', message: `environment variable ${field.valueFromEnv} is not set or empty` };
    return { ok: true, value: v };
  }
  if (field.valueFromFile !== undefined) {
    let text: string;
    try {
      text = sources.readFile(field.valueFromFile);
    } catch (err) {
      return { ok: false, field: 'valueFromFile', message: `cannot read ${field.valueFromFile}: ${(err as Error).message}` };
    }
    const v = text.replace(/\r?\n$/, '');
    if (v === '') return { ok: false, field: 'valueFromFile', message: `${field.valueFromFile} is empty` };
    return { ok: true, value: v };
  }
  if (field.valueFromSecret !== undefined) {
    return { ok: false, field: 'valueFromSecret', message: 'valueFromSecret reads a Kubernetes Secret, which Sluice cannot; use valueFromEnv or valueFromFile' };
  }
  return { ok: false, field: 'value', message: 'set one of value, valueFromEnv, valueFromFile' };
}

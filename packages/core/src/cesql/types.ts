import type { CesqlError } from './errors.js';

/** Attribute map of the event under test, keys lower-case as in the JSON format; time is its RFC 3339 string. */
export type CesqlEvent = Readonly<Record<string, string | number | boolean>>;

/** A CESQL value: String, Integer (a JS number holding an int32) or Boolean. */
export type CesqlValue = string | number | boolean;

/**
 * The outcome of one evaluation. `errors` is empty when nothing went wrong; the empty array is a shared frozen
 * instance, so callers must copy it before adding to it.
 */
export interface CesqlResult {
  value: CesqlValue;
  errors: CesqlError[];
}

/** A compiled CESQL expression; safe to share and to evaluate any number of times. */
export interface CesqlProgram {
  /** The source text it was compiled from. */
  readonly expression: string;
  /** Evaluates against one event: the value plus the errors met (fail-fast, so at most one). */
  evaluate(event: CesqlEvent): CesqlResult;
  /** Filter semantics: true only when the result is boolean true and there was no error. */
  matches(event: CesqlEvent): boolean;
}

/**
 * Static type of an expression. `any` is an attribute reference, whose type is only known per event
 * (Integer and Boolean extensions keep their type; everything else is a String).
 */
export type CesqlType = 'string' | 'integer' | 'boolean' | 'any';

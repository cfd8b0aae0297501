import type { SluiceErrorCode } from '../error-codes.js';
import { SluiceError } from '../errors.js';

/** The CESQL error types (spec §3.3), spelled as the TCK spells them. */
export type CesqlErrorKind = 'parse' | 'math' | 'cast' | 'missingFunction' | 'functionEvaluation' | 'missingAttribute' | 'generic';

/** Stable `SLUICE_…` code for each CESQL error kind. */
export const CESQL_ERROR_CODES: Readonly<Record<CesqlErrorKind, SluiceErrorCode>> = Object.freeze({
  parse: 'SLUICE_CESQL_PARSE',
  math: 'SLUICE_CESQL_MATH',
  cast: 'SLUICE_CESQL_CAST',
  missingFunction: 'SLUICE_CESQL_MISSING_FUNCTION',
  functionEvaluation: 'SLUICE_CESQL_FUNCTION_EVALUATION',
  missingAttribute: 'SLUICE_CESQL_MISSING_ATTRIBUTE',
  generic: 'SLUICE_CESQL_GENERIC',
});

/** Options for {@link CesqlError}. */
export interface CesqlErrorOptions {
  /** 0-based offset into the expression of the offending token. */
  position?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A CESQL compile-time error (thrown by `compileCesql`) or evaluation error (returned in `CesqlResult.errors`).
 * Branch on `kind` or `code`, never on the message.
 */
export class CesqlError extends SluiceError {
  /** The spec's error type. */
  readonly kind: CesqlErrorKind;
  /** 0-based offset into the expression, when known. */
  readonly position?: number;

  constructor(kind: CesqlErrorKind, message: string, options: CesqlErrorOptions = {}) {
    const { position, cause } = options;
    super(CESQL_ERROR_CODES[kind], position === undefined ? message : `${message} (at position ${position})`, {
      ...(cause === undefined ? {} : { cause }),
      details: position === undefined ? { kind } : { kind, position },
    });
    this.name = 'CesqlError';
    this.kind = kind;
    if (position !== undefined) this.position = position;
  }
}

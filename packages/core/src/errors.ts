import type { SluiceErrorCode } from './error-codes.js';

/** Options for {@link SluiceError}. */
export interface SluiceErrorOptions {
  /** Whether retrying the same operation later may succeed. */
  retryable?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Extra machine-readable detail (never event data). */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error type Sluice throws across package boundaries. Branch on `code` (stable, `SLUICE_…`),
 * never on the message text.
 */
export class SluiceError extends Error {
  /** Stable machine-readable code, e.g. `SLUICE_EVENT_INVALID` (a key of `ERROR_CODES`, which gives its HTTP status). */
  readonly code: SluiceErrorCode;
  /** Whether retrying the same operation later may succeed. */
  readonly retryable: boolean;
  /** Extra machine-readable detail. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** Type guard for {@link SluiceError}, optionally checking its code. */
export function isSluiceError(err: unknown, code?: SluiceErrorCode): err is SluiceError {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}

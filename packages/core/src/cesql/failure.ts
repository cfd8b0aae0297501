import { CesqlError, type CesqlErrorKind } from './errors.js';
import type { CesqlValue } from './types.js';

/**
 * Thrown inside an evaluation to stop it at the first error (the spec's fail-fast mode, which it recommends for
 * filters). Deliberately not an Error: no stack trace is captured, so a failing evaluation stays cheap, and the
 * public CesqlError is only built when `evaluate()` reports it.
 */
export class EvalFailure {
  constructor(
    readonly kind: CesqlErrorKind,
    readonly message: string,
    readonly position: number,
    /** The node whose own result this failure defines (with `fallback`), or undefined for its zero value. */
    readonly owner: unknown,
    readonly fallback: CesqlValue | undefined,
  ) {}

  /** The public error for this failure. */
  toError(): CesqlError {
    return new CesqlError(this.kind, this.message, { position: this.position });
  }
}

/** Raises an evaluation error; `owner`/`fallback` give the node's specified result (e.g. ABS overflow). */
export function fail(kind: CesqlErrorKind, message: string, position: number, owner?: unknown, fallback?: CesqlValue): never {
  // Not an Error on purpose: evaluation failures are control flow on the hot path (no stack capture); the public
  // surface turns them into CesqlError (toError).
  // eslint-disable-next-line @typescript-eslint/only-throw-error
  throw new EvalFailure(kind, message, position, owner, fallback);
}

/** Signature a built-in function uses to report an error together with its result (spec §3.5). */
export type FunctionFail = (kind: CesqlErrorKind, message: string, fallback: CesqlValue) => never;

/** Message for an Integer result outside int32. */
export function overflowMessage(op: string): string {
  return `integer overflow in ${op}: the result is outside the 32-bit signed range`;
}

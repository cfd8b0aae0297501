import type { SluiceErrorCode } from '@sluice/core';
/** A validation problem in a source resource, at a path from the resource root; `offset` points inside a scalar. */
export interface SpecProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly offset?: number;
  /** Stable error code; default `SLUICE_CONFIG_SOURCE_INVALID`. */
  readonly code?: SluiceErrorCode;
}

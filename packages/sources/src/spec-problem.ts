import type { SluiceErrorCode } from '@sluice/core';

/** A validation problem in a source resource (every source kind's), at a path from the resource root; `offset` points inside a scalar. */
export interface SpecProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly offset?: number;
  /** Stable error code; default `SLUICE_CONFIG_SOURCE_INVALID`. */
  readonly code?: SluiceErrorCode;
}

/** `spec.a.b: message`, the way problems are printed. */
export function formatProblem(p: SpecProblem): string {
  const dotted = p.path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
  return `${dotted}: ${p.message}`;
}

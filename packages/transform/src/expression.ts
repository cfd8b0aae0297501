import { createRequire } from 'node:module';
import type Jsonata from 'jsonata';
import { SluiceError, lazyLibrarySync } from '@sluice/core';

// jsonata (one 300 KB module) loads with the first EventTransform that is checked or compiled, never for a
// configuration without one. Synchronously: the checks of `sluice validate` are synchronous; it is CommonJS.
const jsonataLibrary = lazyLibrarySync('jsonata', () => createRequire(import.meta.url)('jsonata') as typeof Jsonata);

/** Limits of one evaluation, so a runaway expression cannot hold the event loop (JSONata's own options). */
export interface EvaluationLimits {
  /** Wall-clock budget of one evaluation (default 500 ms). */
  readonly timeoutMs: number;
  /** Deepest evaluation stack (default 500). */
  readonly maxDepth: number;
}

/** Default {@link EvaluationLimits}. */
// JSONata's `sequence` limit is left off: it wraps every sequence's push and halved throughput when measured.
export const DEFAULT_LIMITS: EvaluationLimits = { timeoutMs: 500, maxDepth: 500 };

/** A JSONata syntax error, with the 0-based character offset of the offending token in the expression. */
export interface ExpressionProblem {
  readonly message: string;
  readonly offset: number;
}

interface JsonataError {
  code?: string;
  position?: number;
  token?: string;
  message?: string;
}

function describe(err: unknown): string {
  const e = err as JsonataError;
  const message = e?.message ?? String(err);
  return e?.code ? `${message} (JSONata ${e.code})` : message;
}

/**
 * Parses an expression; returns the problem instead of throwing (for `file:line:col` errors). `user` names the resource
 * for the error when jsonata cannot be loaded.
 */
export function checkExpression(expression: string, user = 'an EventTransform'): ExpressionProblem | undefined {
  const jsonata = jsonataLibrary(user);
  try {
    jsonata(expression);
    return undefined;
  } catch (err) {
    const e = err as JsonataError;
    // JSONata reports the position just after the offending token.
    const end = typeof e.position === 'number' ? e.position : 0;
    const token = typeof e.token === 'string' && e.token !== '(end)' ? e.token.length : 0;
    return { message: describe(err), offset: Math.max(0, Math.min(expression.length, end - token)) };
  }
}

/** A compiled JSONata expression (the `jsonata` package, the reference implementation Knative's transform runs). */
export class TransformExpression {
  readonly #expression: Jsonata.Expression;

  private constructor(expression: Jsonata.Expression) {
    this.#expression = expression;
  }

  /**
   * Compiles; throws SLUICE_TRANSFORM_EXPRESSION on a syntax error (validation reports those first). `user` names the
   * resource for the error when jsonata cannot be loaded.
   */
  static compile(expression: string, limits: EvaluationLimits = DEFAULT_LIMITS, user = 'an EventTransform'): TransformExpression {
    const jsonata = jsonataLibrary(user);
    try {
      return new TransformExpression(jsonata(expression, { timeout: limits.timeoutMs, stack: limits.maxDepth }));
    } catch (err) {
      throw new SluiceError('SLUICE_TRANSFORM_EXPRESSION', `invalid JSONata expression: ${describe(err)}`);
    }
  }

  /** Evaluates against an input; an evaluation error becomes SLUICE_TRANSFORM_FAILED with JSONata's message. */
  async evaluate(input: unknown): Promise<unknown> {
    try {
      return await this.#expression.evaluate(input);
    } catch (err) {
      throw new SluiceError('SLUICE_TRANSFORM_FAILED', `the JSONata expression failed: ${describe(err)}`);
    }
  }
}

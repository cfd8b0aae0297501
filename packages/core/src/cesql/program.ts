import type { CesqlNode } from './ast.js';
import { checkFunctions, staticType } from './check.js';
import { compileNode } from './compiler.js';
import { zeroValue } from './casts.js';
import { CesqlError } from './errors.js';
import { EvalFailure } from './failure.js';
import { evaluateNode } from './interpreter.js';
import { parse } from './parser.js';
import type { CesqlEvent, CesqlProgram, CesqlResult, CesqlValue } from './types.js';

/** The `errors` of every successful result: one shared, frozen empty array (copy it before adding to it). */
export const NO_ERRORS: CesqlError[] = Object.freeze([] as CesqlError[]) as CesqlError[];

/** A parsed and checked expression, as the reference interpreter takes it. */
export interface CesqlAst {
  readonly expression: string;
  readonly root: CesqlNode;
}

// Fail-fast result (spec §4.1): the node that raised the error decides its own value (e.g. ABS overflow gives
// 2147483647, LEFT with a negative length gives x); when the error came from deeper down, the expression as a whole
// yields the zero value of its type, so an operand error never leaks a half-computed answer (as the TCK expects for
// `TRUE AND (1 != 1 / 0)` → false). An attribute reference's type is unknown, so it counts as Boolean (spec §3.2).
function failedResult(err: unknown, root: CesqlNode): CesqlResult {
  if (!(err instanceof EvalFailure)) throw err;
  const value: CesqlValue = err.owner === root && err.fallback !== undefined ? err.fallback : zeroValue(staticType(root));
  return { value, errors: [err.toError()] };
}

/** Parses and checks an expression (throws a parse or missingFunction CesqlError). */
export function parseCesql(expression: string): CesqlAst {
  // Guards JavaScript callers and YAML scalars that arrive as booleans or numbers.
  if (typeof expression !== 'string') throw new CesqlError('parse', `expression must be a string, got ${typeof expression}`);
  const root = parse(expression);
  checkFunctions(root);
  return { expression, root };
}

/** Compiles a parsed expression into a program; the tree is not consulted again after this returns. */
export function compileAst(ast: CesqlAst): CesqlProgram {
  const { expression, root } = ast;
  const compiled = compileNode(root);
  const run = compiled.fn;
  // Only a Boolean (or an attribute that may hold one) can pass a filter.
  const canMatch = compiled.type === 'boolean' || compiled.type === 'any';
  const evaluate = (event: CesqlEvent): CesqlResult => {
    try {
      return { value: run(event), errors: NO_ERRORS };
    } catch (err) {
      return failedResult(err, root);
    }
  };
  const matches = canMatch
    ? (event: CesqlEvent): boolean => {
        try {
          return run(event) === true;
        } catch (err) {
          if (err instanceof EvalFailure) return false;
          throw err;
        }
      }
    : (): boolean => false;
  // Plain closures rather than methods, so `program.matches` can be passed around unbound.
  return Object.freeze({ expression, evaluate, matches });
}

/** Parses, type-checks and compiles once; throws CesqlError (kind 'parse' or 'missingFunction') with a position for bad expressions. */
export function compileCesql(expression: string): CesqlProgram {
  return compileAst(parseCesql(expression));
}

/**
 * Reference interpreter: walks the tree on every call. Same results as a compiled program, much slower; it is the
 * baseline of `bench/cesql.mjs` and the oracle of the tests, not something to filter with.
 */
export function interpretCesql(ast: CesqlAst, event: CesqlEvent): CesqlResult {
  try {
    return { value: evaluateNode(ast.root, event), errors: NO_ERRORS };
  } catch (err) {
    return failedResult(err, ast.root);
  }
}

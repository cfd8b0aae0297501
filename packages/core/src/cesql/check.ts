import { childrenOf, type CallNode, type CesqlNode } from './ast.js';
import { CesqlError } from './errors.js';
import { describeArity, isKnownFunction, resolveFunction, type CesqlFunction } from './functions.js';
import type { CesqlType } from './types.js';

/**
 * Resolves every function call ahead of evaluation (spec §3.3: check at compile time what can be checked). Throws a
 * `missingFunction` CesqlError at the call's position for an unknown name or an arity no overload accepts.
 */
export function checkFunctions(root: CesqlNode): void {
  const stack: CesqlNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.kind === 'call') functionOf(node);
    stack.push(...childrenOf(node));
  }
}

/** The overload a (checked) call dispatches to. */
export function functionOf(node: CallNode): CesqlFunction {
  const f = resolveFunction(node.name, node.args.length);
  if (f !== undefined) return f;
  const message = isKnownFunction(node.name) ? `${node.name} takes ${describeArity(node.name)} argument(s), not ${node.args.length}` : `unknown function ${node.name}`;
  throw new CesqlError('missingFunction', message, { position: node.pos });
}

/**
 * Static type of a node, known from the node alone: every operator and function has one return type; only an
 * attribute reference is `any`, as its type comes with the event.
 */
export function staticType(node: CesqlNode): CesqlType {
  switch (node.kind) {
    case 'literal':
      return typeof node.value === 'string' ? 'string' : typeof node.value === 'number' ? 'integer' : 'boolean';
    case 'identifier':
      return 'any';
    case 'unary':
      return node.op === 'not' ? 'boolean' : 'integer';
    case 'binary':
      return node.op === '*' || node.op === '/' || node.op === '%' || node.op === '+' || node.op === '-' ? 'integer' : 'boolean';
    case 'call':
      return functionOf(node).returns;
    default:
      return 'boolean';
  }
}

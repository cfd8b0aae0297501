import type { BinaryNode, CesqlNode } from './ast.js';
import { functionOf, staticType } from './check.js';
import { attributeValue, castFailureMessage, castValue, INT32_MAX, INT32_MIN, typeOfValue } from './casts.js';
import { fail, overflowMessage } from './failure.js';
import { parameterType } from './functions.js';
import { likeMatches } from './like-pattern.js';
import type { CesqlEvent, CesqlType, CesqlValue } from './types.js';

// A deliberately naive tree-walking interpreter with the same semantics as the compiler: it re-dispatches on node
// kinds, runtime types and function names on every evaluation and interprets LIKE patterns afresh. It exists as the
// benchmark baseline and as an independent oracle the tests compare the compiled closures against.

function cast(v: CesqlValue, to: CesqlType, pos: number): CesqlValue {
  const out = castValue(v, to);
  return out === undefined ? fail('cast', castFailureMessage(v, to), pos) : out;
}

function evalAs(node: CesqlNode, to: CesqlType, event: CesqlEvent): CesqlValue {
  return cast(evaluateNode(node, event), to, node.pos);
}

function overflowed(op: string, result: number, node: CesqlNode): never {
  return fail('math', overflowMessage(op), node.pos, node, result > INT32_MAX ? INT32_MAX : INT32_MIN);
}

function evaluateBinary(node: BinaryNode, event: CesqlEvent): CesqlValue {
  switch (node.op) {
    case 'and':
      return evalAs(node.left, 'boolean', event) === true && evalAs(node.right, 'boolean', event) === true;
    case 'or':
      return evalAs(node.left, 'boolean', event) === true || evalAs(node.right, 'boolean', event) === true;
    case 'xor':
      return evalAs(node.left, 'boolean', event) !== evalAs(node.right, 'boolean', event);
    case '=':
    case '!=': {
      // The right operand's type picks the definition; when it is static the left is cast before the right runs.
      const rightType = staticType(node.right);
      let left: CesqlValue;
      let right: CesqlValue;
      if (rightType !== 'any') {
        left = evalAs(node.left, rightType, event);
        right = evaluateNode(node.right, event);
      } else {
        const raw = evaluateNode(node.left, event);
        right = evaluateNode(node.right, event);
        left = cast(raw, typeOfValue(right), node.left.pos);
      }
      return (left === right) === (node.op === '=');
    }
    default: {
      const a = evalAs(node.left, 'integer', event) as number;
      const b = evalAs(node.right, 'integer', event) as number;
      let r: number;
      switch (node.op) {
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
        case '+':
          r = a + b;
          break;
        case '-':
          r = a - b;
          break;
        case '*':
          r = a * b;
          break;
        case '/':
          if (b === 0) return fail('math', 'division by zero', node.pos);
          r = Math.trunc(a / b);
          break;
        default:
          if (b === 0) return fail('math', 'modulo by zero', node.pos);
          r = a % b;
      }
      return r > INT32_MAX || r < INT32_MIN ? overflowed(node.op, r, node) : r + 0; // `+ 0` turns -0 into 0
    }
  }
}

/** Evaluates one node against an event, throwing an EvalFailure on the first error. */
export function evaluateNode(node: CesqlNode, event: CesqlEvent): CesqlValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'identifier': {
      const v = attributeValue(event[node.name]);
      return v === undefined ? fail('missingAttribute', `missing attribute "${node.name}"`, node.pos) : v;
    }
    case 'exists':
      return attributeValue(event[node.name]) !== undefined;
    case 'unary': {
      if (node.op === 'not') return !evalAs(node.operand, 'boolean', event);
      const v = evalAs(node.operand, 'integer', event) as number;
      return v === INT32_MIN ? overflowed('-', -v, node) : 0 - v;
    }
    case 'binary':
      return evaluateBinary(node, event);
    case 'like':
      return likeMatches(evalAs(node.operand, 'string', event) as string, node.pattern) !== node.negated;
    case 'in': {
      const v = evaluateNode(node.operand, event);
      const declared = staticType(node.operand);
      const to = declared === 'any' ? typeOfValue(v) : declared;
      for (const element of node.set) {
        if (evalAs(element, to, event) === v) return !node.negated;
      }
      return node.negated;
    }
    case 'call': {
      const f = functionOf(node);
      const args = node.args.map((arg, i) => evalAs(arg, parameterType(f, i), event));
      return f.impl(args, (kind, message, fallback) => fail(kind, message, node.pos, node, fallback));
    }
  }
}

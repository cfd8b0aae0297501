import type { BinaryNode, CallNode, CesqlNode, InNode } from './ast.js';
import { functionOf } from './check.js';
import { attributeValue, castFailureMessage, castValue, INT32_MAX, INT32_MIN, stringToBoolean, stringToInteger, typeOfValue } from './casts.js';
import { EvalFailure, fail, overflowMessage, type FunctionFail } from './failure.js';
import { parameterType } from './functions.js';
import { compileLikePattern } from './like-pattern.js';
import type { CesqlEvent, CesqlType, CesqlValue } from './types.js';

// Each node compiles once into a closure typed by the node's static type, with the implicit casts of spec §3.7
// chosen at compile time; evaluation then never looks at the tree again. Errors abort the evaluation by throwing an
// EvalFailure (fail-fast), so the success path carries no error bookkeeping and allocates nothing.

/** An evaluator for one node. */
export type Evaluator<T = CesqlValue> = (event: CesqlEvent) => T;

/** A compiled node. */
export interface Compiled {
  readonly type: CesqlType;
  readonly fn: Evaluator;
  /** Whether the value is known at compile time (then `value` holds it). */
  readonly constant: boolean;
  readonly value: CesqlValue;
  /** Attribute name when the node is a bare attribute reference, so consumers read it with a typed reader. */
  readonly attribute: string | undefined;
  readonly pos: number;
}

const NO_EVENT: CesqlEvent = Object.freeze({});

function constantOf(value: CesqlValue, pos: number): Compiled {
  return { type: typeOfValue(value), fn: () => value, constant: true, value, attribute: undefined, pos };
}

function dynamicOf(type: CesqlType, fn: Evaluator, pos: number): Compiled {
  return { type, fn, constant: false, value: false, attribute: undefined, pos };
}

// Constant folding: an operator over constants is evaluated now, unless that raises an error, which must surface
// at evaluation time (`5 / 0` compiles, then reports a math error each time it runs).
function folded(type: CesqlType, fn: Evaluator, pos: number, operands: readonly Compiled[]): Compiled {
  if (operands.every((c) => c.constant)) {
    try {
      return { ...constantOf(fn(NO_EVENT), pos), type };
    } catch (err) {
      if (!(err instanceof EvalFailure)) throw err;
    }
  }
  return dynamicOf(type, fn, pos);
}

function castFailure(v: CesqlValue, to: CesqlType, pos: number): never {
  return fail('cast', castFailureMessage(v, to), pos);
}

// Reads an attribute as `to`. The common case (the value already has the wanted JS type) is one property load and
// one typeof; absent attributes raise a missingAttribute error (spec §3.2).
function attributeReader(name: string, pos: number, to: CesqlType): Evaluator {
  const missing = `missing attribute "${name}"`;
  const slow = (raw: unknown): CesqlValue => {
    const v = attributeValue(raw);
    if (v === undefined) return fail('missingAttribute', missing, pos);
    const out = castValue(v, to);
    return out === undefined ? castFailure(v, to, pos) : out;
  };
  switch (to) {
    case 'string':
      return (e) => {
        const v = e[name];
        return typeof v === 'string' ? v : slow(v);
      };
    case 'integer':
      return (e) => {
        const v = e[name];
        return typeof v === 'number' && (v | 0) === v ? v | 0 : slow(v);
      };
    case 'boolean':
      return (e) => {
        const v = e[name];
        return typeof v === 'boolean' ? v : slow(v);
      };
    default:
      return (e) => {
        const v = e[name];
        return typeof v === 'string' || typeof v === 'boolean' ? v : slow(v);
      };
  }
}

/** An evaluator of `c` cast to `to` (`any` leaves the value as is). */
export function coerce(c: Compiled, to: CesqlType): Evaluator {
  if (c.attribute !== undefined) return attributeReader(c.attribute, c.pos, to);
  if (to === 'any' || c.type === to) return c.fn;
  const pos = c.pos;
  if (c.constant) {
    const v = castValue(c.value, to);
    if (v !== undefined) return () => v;
    const bad = c.value;
    return () => castFailure(bad, to, pos);
  }
  const f = c.fn;
  switch (`${c.type}>${to}`) {
    case 'integer>string':
      return (e) => String(f(e));
    case 'boolean>string':
      return (e) => (f(e) ? 'true' : 'false');
    case 'boolean>integer':
      return (e) => (f(e) ? 1 : 0);
    case 'integer>boolean':
      return (e) => f(e) !== 0;
    case 'string>integer':
      return (e) => {
        const s = f(e) as string;
        const n = stringToInteger(s);
        return n === undefined ? castFailure(s, to, pos) : n;
      };
    case 'string>boolean':
      return (e) => {
        const s = f(e) as string;
        const b = stringToBoolean(s);
        return b === undefined ? castFailure(s, to, pos) : b;
      };
    default:
      return (e) => {
        const v = f(e);
        const out = castValue(v, to);
        return out === undefined ? castFailure(v, to, pos) : out;
      };
  }
}

const asInteger = (c: Compiled): Evaluator<number> => coerce(c, 'integer') as Evaluator<number>;
const asBoolean = (c: Compiled): Evaluator<boolean> => coerce(c, 'boolean') as Evaluator<boolean>;
const asString = (c: Compiled): Evaluator<string> => coerce(c, 'string') as Evaluator<string>;

// The spec bounds Integer to int32 but only says what happens on overflow for ABS (the nearest bound plus a math
// error); + - * / and negation follow the same rule so an overflow is never silently wrapped.
function overflow(op: string, result: number, pos: number, owner: CesqlNode): never {
  return fail('math', overflowMessage(op), pos, owner, result > INT32_MAX ? INT32_MAX : INT32_MIN);
}

function compileArithmetic(node: BinaryNode, left: Compiled, right: Compiled): Evaluator<number> {
  const l = asInteger(left);
  const r = asInteger(right);
  const pos = node.pos;
  switch (node.op) {
    case '+':
      return (e) => {
        const s = l(e) + r(e);
        return s > INT32_MAX || s < INT32_MIN ? overflow('+', s, pos, node) : s;
      };
    case '-':
      return (e) => {
        const s = l(e) - r(e);
        return s > INT32_MAX || s < INT32_MIN ? overflow('-', s, pos, node) : s;
      };
    case '*':
      return (e) => {
        const p = l(e) * r(e);
        return p > INT32_MAX || p < INT32_MIN ? overflow('*', p, pos, node) : p | 0;
      };
    case '/':
      return (e) => {
        const a = l(e);
        const b = r(e);
        if (b === 0) return fail('math', 'division by zero', pos);
        if (b === -1 && a === INT32_MIN) return overflow('/', -a, pos, node);
        return (a / b) | 0; // truncates toward zero; exact for int32 operands
      };
    default: // '%'
      return (e) => {
        const a = l(e);
        const b = r(e);
        if (b === 0) return fail('math', 'modulo by zero', pos);
        return (a % b) | 0; // the sign of the dividend, as the spec requires; `| 0` turns -0 into 0
      };
  }
}

function compileComparison(node: BinaryNode, left: Compiled, right: Compiled): Evaluator<boolean> {
  const l = asInteger(left);
  const r = asInteger(right);
  switch (node.op) {
    case '<':
      return (e) => l(e) < r(e);
    case '<=':
      return (e) => l(e) <= r(e);
    case '>':
      return (e) => l(e) > r(e);
    default:
      return (e) => l(e) >= r(e);
  }
}

// `=` is ambiguous (defined for all three types): the right operand's type picks the definition and the left
// operand is cast to it (spec §3.7). When the right side is an attribute its type is only known per event.
function compileEquality(left: Compiled, right: Compiled, negate: boolean): Evaluator<boolean> {
  if (right.type !== 'any') {
    const l = coerce(left, right.type);
    if (right.constant) {
      const c = right.value;
      return negate ? (e) => l(e) !== c : (e) => l(e) === c;
    }
    const r = right.fn;
    return negate ? (e) => l(e) !== r(e) : (e) => l(e) === r(e);
  }
  const l = coerce(left, 'any');
  const r = right.fn;
  const pos = left.pos;
  return (e) => {
    const a = l(e);
    const b = r(e);
    if (typeof a === typeof b) return (a === b) !== negate;
    const to = typeOfValue(b);
    const cast = castValue(a, to);
    return cast === undefined ? castFailure(a, to, pos) : (cast === b) !== negate;
  };
}

function compileLogic(node: BinaryNode, left: Compiled, right: Compiled): Compiled {
  const l = asBoolean(left);
  const r = asBoolean(right);
  const known = left.constant ? castValue(left.value, 'boolean') : undefined;
  switch (node.op) {
    case 'and':
      // Short-circuit (spec §3.4.2) also applies at compile time: `FALSE AND x` never evaluates x.
      if (known === false) return constantOf(false, node.pos);
      if (known === true) return folded('boolean', r, node.pos, [right]);
      return folded('boolean', (e) => l(e) && r(e), node.pos, [left, right]);
    case 'or':
      if (known === true) return constantOf(true, node.pos);
      if (known === false) return folded('boolean', r, node.pos, [right]);
      return folded('boolean', (e) => l(e) || r(e), node.pos, [left, right]);
    default:
      return folded('boolean', (e) => l(e) !== r(e), node.pos, [left, right]);
  }
}

function castAll(values: readonly CesqlValue[], to: CesqlType): Set<CesqlValue> | undefined {
  const out = new Set<CesqlValue>();
  for (const v of values) {
    const c = castValue(v, to);
    if (c === undefined) return undefined; // keep the ordered loop so the cast error surfaces as it would there
    out.add(c);
  }
  return out;
}

// IN (spec §3.4.5): `=` semantics with the left operand's type as the cast target for the set elements. Elements
// are tried in order and the first match wins; an all-literal set becomes a Set lookup.
function compileIn(node: InNode, operand: Compiled, set: readonly Compiled[]): Evaluator<boolean> {
  const negated = node.negated;
  const allConstant = set.every((c) => c.constant);
  if (operand.type !== 'any') {
    const to = operand.type;
    const l = operand.fn;
    const lookup = allConstant
      ? castAll(
          set.map((c) => c.value),
          to,
        )
      : undefined;
    if (lookup !== undefined) return (e) => lookup.has(l(e)) !== negated;
    const elements = set.map((c) => coerce(c, to));
    return (e) => {
      const v = l(e);
      for (let i = 0; i < elements.length; i++) if (elements[i]!(e) === v) return !negated;
      return negated;
    };
  }
  const l = coerce(operand, 'any');
  const raw = set.map((c) => c.fn);
  const positions = set.map((c) => c.pos);
  const values = set.map((c) => c.value);
  const lookups: Partial<Record<CesqlType, Set<CesqlValue> | undefined>> = allConstant
    ? { string: castAll(values, 'string'), integer: castAll(values, 'integer'), boolean: castAll(values, 'boolean') }
    : {};
  return (e) => {
    const v = l(e);
    const to = typeOfValue(v);
    const lookup = lookups[to];
    if (lookup !== undefined) return lookup.has(v) !== negated;
    for (let i = 0; i < raw.length; i++) {
      const x = raw[i]!(e);
      const c = typeof x === typeof v ? x : castValue(x, to);
      if (c === undefined) return castFailure(x, to, positions[i]!);
      if (c === v) return !negated;
    }
    return negated;
  };
}

function compileCall(node: CallNode, args: readonly Compiled[]): Compiled {
  const f = functionOf(node);
  const impl = f.impl;
  const argFns = args.map((c, i) => coerce(c, parameterType(f, i)));
  const onError: FunctionFail = (kind, message, fallback) => fail(kind, message, node.pos, node, fallback);
  // One argument buffer per call site: evaluation is synchronous and a call never contains itself, so reusing it
  // avoids an allocation per invocation. Implementations only read it during the call.
  const buffer: CesqlValue[] = args.map(() => '');
  let fn: Evaluator;
  switch (argFns.length) {
    case 0:
      fn = () => impl(buffer, onError);
      break;
    case 1: {
      const a0 = argFns[0]!;
      fn = (e) => {
        buffer[0] = a0(e);
        return impl(buffer, onError);
      };
      break;
    }
    case 2: {
      const a0 = argFns[0]!;
      const a1 = argFns[1]!;
      fn = (e) => {
        buffer[0] = a0(e);
        buffer[1] = a1(e);
        return impl(buffer, onError);
      };
      break;
    }
    default:
      fn = (e) => {
        for (let i = 0; i < argFns.length; i++) buffer[i] = argFns[i]!(e);
        return impl(buffer, onError);
      };
  }
  return folded(f.returns, fn, node.pos, args);
}

/** Compiles a checked syntax tree into evaluators (see {@link Compiled}). */
export function compileNode(node: CesqlNode): Compiled {
  switch (node.kind) {
    case 'literal':
      return constantOf(node.value, node.pos);
    case 'identifier':
      return { ...dynamicOf('any', attributeReader(node.name, node.pos, 'any'), node.pos), attribute: node.name };
    case 'exists': {
      const name = node.name;
      // Present means a primitive value: an inherited member such as `constructor` is a function, not an attribute.
      return dynamicOf(
        'boolean',
        (e) => {
          const v = e[name];
          return v !== undefined && v !== null && typeof v !== 'function';
        },
        node.pos,
      );
    }
    case 'unary': {
      const operand = compileNode(node.operand);
      if (node.op === 'not') {
        const f = asBoolean(operand);
        return folded('boolean', (e) => !f(e), node.pos, [operand]);
      }
      const f = asInteger(operand);
      const pos = node.pos;
      const fn: Evaluator<number> = (e) => {
        const v = f(e);
        return v === INT32_MIN ? overflow('-', -v, pos, node) : -v | 0;
      };
      return folded('integer', fn, node.pos, [operand]);
    }
    case 'binary': {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      switch (node.op) {
        case 'and':
        case 'or':
        case 'xor':
          return compileLogic(node, left, right);
        case '=':
        case '!=':
          return folded('boolean', compileEquality(left, right, node.op === '!='), node.pos, [left, right]);
        case '<':
        case '<=':
        case '>':
        case '>=':
          return folded('boolean', compileComparison(node, left, right), node.pos, [left, right]);
        default:
          return folded('integer', compileArithmetic(node, left, right), node.pos, [left, right]);
      }
    }
    case 'like': {
      const operand = compileNode(node.operand);
      const s = asString(operand);
      const match = compileLikePattern(node.pattern);
      const fn: Evaluator<boolean> = node.negated ? (e) => !match(s(e)) : (e) => match(s(e));
      return folded('boolean', fn, node.pos, [operand]);
    }
    case 'in': {
      const operand = compileNode(node.operand);
      const set = node.set.map(compileNode);
      return folded('boolean', compileIn(node, operand, set), node.pos, [operand, ...set]);
    }
    case 'call':
      return compileCall(node, node.args.map(compileNode));
  }
}

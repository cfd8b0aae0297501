import { castFailureMessage, castValue, INT32_MAX, INT32_MIN } from './casts.js';
import type { FunctionFail } from './failure.js';
import type { CesqlType, CesqlValue } from './types.js';
import { codePointLength, hasSurrogates, sliceCodePoints, trimWhiteSpace } from './unicode-text.js';

/**
 * A CESQL function overload. Arguments reach `impl` already cast to `params` (and `variadic` for the rest), so
 * implementations may rely on their types; `any` parameters receive the value as is.
 */
export interface CesqlFunction {
  /** Upper-case name. */
  readonly name: string;
  /** Fixed parameter types. */
  readonly params: readonly CesqlType[];
  /** Type of any further arguments; absent for fixed arity. */
  readonly variadic?: CesqlType;
  /** Return type. */
  readonly returns: Exclude<CesqlType, 'any'>;
  /** The implementation; reports errors through `fail` with the value the spec prescribes. */
  readonly impl: (args: readonly CesqlValue[], fail: FunctionFail) => CesqlValue;
}

const str = (args: readonly CesqlValue[], i: number): string => args[i] as string;
const int = (args: readonly CesqlValue[], i: number): number => args[i] as number;

// SUBSTRING (spec §3.5.1): 1-based `pos`, negative counts from the end, 0 gives ""; out of range or a negative
// length gives "" with an error.
function substring(x: string, pos: number, len: number | undefined, fail: FunctionFail): string {
  if (len !== undefined && len < 0) fail('functionEvaluation', `SUBSTRING length must not be negative, got ${len}`, '');
  const length = hasSurrogates(x) ? codePointLength(x) : x.length;
  if (pos > length || pos < -length) {
    fail('functionEvaluation', `SUBSTRING position ${pos} is outside a string of length ${length}`, '');
  }
  if (pos === 0) return '';
  const begin = pos > 0 ? pos - 1 : length + pos;
  const end = len === undefined ? length : Math.min(length, begin + len);
  return sliceCodePoints(x, begin, end);
}

function castFunction(name: string, to: Exclude<CesqlType, 'any'>): CesqlFunction {
  return {
    name,
    params: ['any'],
    returns: to,
    impl: (args, fail) => {
      const v = args[0]!;
      const out = castValue(v, to);
      return out === undefined ? fail('cast', castFailureMessage(v, to), to === 'integer' ? 0 : false) : out;
    },
  };
}

function isFunction(name: string, to: Exclude<CesqlType, 'any'>): CesqlFunction {
  return { name, params: ['any'], returns: 'boolean', impl: (args) => castValue(args[0]!, to) !== undefined };
}

/** The built-in functions: the spec's (§3.5) plus the TCK's explicit casts and sdk-go's `IS_*` checks. */
export const BUILTIN_FUNCTIONS: readonly CesqlFunction[] = [
  { name: 'LENGTH', params: ['string'], returns: 'integer', impl: (a) => codePointLength(str(a, 0)) },
  {
    name: 'CONCAT',
    params: [],
    variadic: 'string',
    returns: 'string',
    impl: (a) => {
      let out = '';
      for (let i = 0; i < a.length; i++) out += str(a, i);
      return out;
    },
  },
  {
    name: 'CONCAT_WS',
    params: ['string'],
    variadic: 'string',
    returns: 'string',
    impl: (a) => {
      const delimiter = str(a, 0);
      let out = a.length > 1 ? str(a, 1) : '';
      for (let i = 2; i < a.length; i++) out += delimiter + str(a, i);
      return out;
    },
  },
  { name: 'LOWER', params: ['string'], returns: 'string', impl: (a) => str(a, 0).toLowerCase() },
  { name: 'UPPER', params: ['string'], returns: 'string', impl: (a) => str(a, 0).toUpperCase() },
  { name: 'TRIM', params: ['string'], returns: 'string', impl: (a) => trimWhiteSpace(str(a, 0)) },
  {
    name: 'LEFT',
    params: ['string', 'integer'],
    returns: 'string',
    impl: (a, fail) => {
      const x = str(a, 0);
      const y = int(a, 1);
      if (y < 0) fail('functionEvaluation', `LEFT length must not be negative, got ${y}`, x);
      return sliceCodePoints(x, 0, y);
    },
  },
  {
    name: 'RIGHT',
    params: ['string', 'integer'],
    returns: 'string',
    impl: (a, fail) => {
      const x = str(a, 0);
      const y = int(a, 1);
      if (y < 0) fail('functionEvaluation', `RIGHT length must not be negative, got ${y}`, x);
      const length = hasSurrogates(x) ? codePointLength(x) : x.length;
      return y >= length ? x : sliceCodePoints(x, length - y, length);
    },
  },
  {
    name: 'SUBSTRING',
    params: ['string', 'integer'],
    returns: 'string',
    impl: (a, fail) => substring(str(a, 0), int(a, 1), undefined, fail),
  },
  {
    name: 'SUBSTRING',
    params: ['string', 'integer', 'integer'],
    returns: 'string',
    impl: (a, fail) => substring(str(a, 0), int(a, 1), int(a, 2), fail),
  },
  {
    name: 'ABS',
    params: ['integer'],
    returns: 'integer',
    impl: (a, fail) => {
      const x = int(a, 0);
      // -2^31 has no positive int32: the spec returns the largest Integer with a math error.
      if (x === INT32_MIN) fail('math', `ABS(${x}) overflows the 32-bit signed range`, INT32_MAX);
      return x < 0 ? -x : x;
    },
  },
  castFunction('INT', 'integer'),
  castFunction('BOOL', 'boolean'),
  castFunction('STRING', 'string'),
  isFunction('IS_INT', 'integer'),
  isFunction('IS_BOOL', 'boolean'),
  isFunction('IS_STRING', 'string'),
];

const BY_NAME: ReadonlyMap<string, readonly CesqlFunction[]> = (() => {
  const map = new Map<string, CesqlFunction[]>();
  for (const f of BUILTIN_FUNCTIONS) {
    const list = map.get(f.name) ?? [];
    list.push(f);
    map.set(f.name, list);
  }
  return map;
})();

/** Dispatches by name (upper-case) and arity (spec §3.5: overloads differ by arity only); undefined if none fits. */
export function resolveFunction(name: string, arity: number): CesqlFunction | undefined {
  const overloads = BY_NAME.get(name);
  if (overloads === undefined) return undefined;
  let variadic: CesqlFunction | undefined;
  for (const f of overloads) {
    if (f.variadic === undefined) {
      if (f.params.length === arity) return f;
    } else if (arity >= f.params.length) {
      variadic = f;
    }
  }
  return variadic;
}

/** Whether any overload exists under this name. */
export function isKnownFunction(name: string): boolean {
  return BY_NAME.has(name);
}

/** Human description of the arities a function accepts, e.g. "2 or 3" or "at least 1". */
export function describeArity(name: string): string {
  const overloads = BY_NAME.get(name) ?? [];
  return overloads.map((f) => (f.variadic === undefined ? String(f.params.length) : `at least ${f.params.length}`)).join(' or ');
}

/** Type expected for argument `i` of a resolved overload. */
export function parameterType(f: CesqlFunction, i: number): CesqlType {
  return f.params[i] ?? f.variadic ?? 'any';
}

import type { CesqlType, CesqlValue } from './types.js';

/** Smallest CESQL Integer. */
export const INT32_MIN = -2147483648;
/** Largest CESQL Integer. */
export const INT32_MAX = 2147483647;

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

/** String → Integer (spec §3.7): optional sign and base-10 digits within int32, else undefined (a cast error). */
export function stringToInteger(s: string): number | undefined {
  if (!INTEGER_TEXT.test(s)) return undefined;
  const n = Number(s);
  return n > INT32_MAX || n < INT32_MIN ? undefined : n | 0;
}

/** String → Boolean (spec §3.7): `true`/`false` in any case, else undefined (a cast error). */
export function stringToBoolean(s: string): boolean | undefined {
  if (s.length === 4) {
    if (s === 'true' || s.toLowerCase() === 'true') return true;
  } else if (s.length === 5) {
    if (s === 'false' || s.toLowerCase() === 'false') return false;
  }
  return undefined;
}

/**
 * Normalises an attribute value to a CESQL value, or undefined when the attribute is absent. CloudEvents Integer
 * attributes are int32; any other number (and any non-primitive) is not a CESQL Integer and reads as a String.
 */
export function attributeValue(v: unknown): CesqlValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return (v | 0) === v ? v | 0 : String(v);
    case 'undefined':
    case 'function': // an inherited Object.prototype member such as `constructor`: not an attribute
      return undefined;
    default:
      // bigint, symbol or an object an event carried in an extension: String() is the documented fallback.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      return v === null ? undefined : String(v);
  }
}

/** The CESQL type of a (normalised) value. */
export function typeOfValue(v: CesqlValue): Exclude<CesqlType, 'any'> {
  return typeof v === 'string' ? 'string' : typeof v === 'number' ? 'integer' : 'boolean';
}

/** Spec name of a type, for messages. */
export function typeName(t: CesqlType): string {
  return t === 'string' ? 'String' : t === 'integer' ? 'Integer' : t === 'boolean' ? 'Boolean' : 'Any';
}

/** Zero value of a type (spec §3.3); an undeterminable type is treated as Boolean. */
export function zeroValue(t: CesqlType): CesqlValue {
  return t === 'string' ? '' : t === 'integer' ? 0 : false;
}

/** Casts a value to a type per the spec §3.7 matrix; undefined means the cast failed. `any` is the identity. */
export function castValue(v: CesqlValue, to: CesqlType): CesqlValue | undefined {
  switch (to) {
    case 'string':
      return typeof v === 'string' ? v : String(v);
    case 'integer':
      return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : stringToInteger(v);
    case 'boolean':
      return typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : stringToBoolean(v);
    default:
      return v;
  }
}

/** Message for a failed cast. */
export function castFailureMessage(v: CesqlValue, to: CesqlType): string {
  return `cannot cast ${typeName(typeOfValue(v))} ${JSON.stringify(v)} to ${typeName(to)}`;
}

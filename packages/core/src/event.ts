import { SluiceError } from './errors.js';

/** A context attribute value: CloudEvents String/URI/Timestamp are strings; Integer and Boolean keep their JSON type. */
export type AttributeValue = string | number | boolean;

/**
 * A CloudEvent as Sluice carries it: the attribute map (lower-case names, including extensions) and the payload
 * as bytes. Bytes are the one representation of data, so an event crosses binary and structured modes unchanged.
 */
export interface CloudEvent {
  /** Context attributes and extensions. Never contains `data` or `data_base64`. */
  attributes: Record<string, AttributeValue>;
  /** The payload, or undefined when the event has no data. */
  data: Buffer | undefined;
}

/** The spec versions Sluice accepts; events keep the version they arrived with (never upgraded). */
export const SPEC_VERSIONS: ReadonlySet<string> = new Set(['1.0', '0.3']);

const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
// RFC 3339 date-time, as the CloudEvents Timestamp type requires; field ranges are checked by validTimestamp.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
// Characters RFC 3986 never allows in a URI-reference (controls, space, `"<>\^`{|}`). Non-ASCII is tolerated: header
// values are percent-decoded on ingress, so a sender's encoded IRI arrives decoded.
const NOT_IN_URI = /[\x00-\x20\x7f"<>\\^`{|}]/;
// A colon before the first `/`, `?` or `#` makes the part before it a scheme, which must be ALPHA *(ALPHA/DIGIT/+-.).
const SCHEME_PREFIX = /^[^/?#]*:/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

// Two digits at `i` as a number (the caller has matched RFC3339, so they are digits): no allocation on the hot path.
const two = (v: string, i: number): number => (v.charCodeAt(i) - 48) * 10 + v.charCodeAt(i + 1) - 48;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether `v` is an RFC 3339 timestamp that names a real instant (month 1–12, day within the month, 23:59:60 max). */
export function validTimestamp(v: string): boolean {
  if (!RFC3339.test(v)) return false;
  const year = two(v, 0) * 100 + two(v, 2);
  const month = two(v, 5);
  const day = two(v, 8);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month]!) return false;
  if (month === 2 && day === 29 && !((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0)) return false;
  if (two(v, 11) > 23 || two(v, 14) > 59 || two(v, 17) > 60) return false;
  const last = v.charCodeAt(v.length - 1);
  if (last === 90 /* Z */ || last === 122 /* z */) return true;
  return two(v, v.length - 5) <= 23 && two(v, v.length - 2) <= 59;
}

/** Whether `v` is a URI-reference as far as its characters and scheme go (RFC 3986 §4.1). */
export function isUriReference(v: string): boolean {
  if (NOT_IN_URI.test(v)) return false;
  return !SCHEME_PREFIX.test(v) || SCHEME.test(v);
}

function invalid(message: string, attribute?: string): SluiceError {
  return new SluiceError('SLUICE_EVENT_INVALID', message, attribute ? { details: { attribute } } : {});
}

/**
 * Checks an event against the CloudEvents core rules (required attributes, spec version, names, types).
 * Throws a `SLUICE_EVENT_INVALID` error naming the first problem; never repairs the event.
 */
export function validateEvent(event: CloudEvent): void {
  const a = event.attributes;
  const specversion = a['specversion'];
  if (specversion === undefined) throw invalid('missing required attribute "specversion"', 'specversion');
  if (typeof specversion !== 'string' || !SPEC_VERSIONS.has(specversion)) {
    throw invalid(`unsupported specversion ${JSON.stringify(specversion)} (accepted: 1.0, 0.3)`, 'specversion');
  }
  for (const name of ['id', 'source', 'type'] as const) {
    const v = a[name];
    if (v === undefined) throw invalid(`missing required attribute "${name}"`, name);
    if (typeof v !== 'string' || v.length === 0) throw invalid(`attribute "${name}" must be a non-empty string`, name);
  }
  for (const name in a) {
    if (!ATTRIBUTE_NAME.test(name)) {
      throw invalid(`invalid attribute name ${JSON.stringify(name)}: names are lower-case letters and digits`, name);
    }
    const v = a[name];
    if (typeof v === 'number' && !Number.isInteger(v)) throw invalid(`attribute "${name}" must be an integer, a boolean or a string`, name);
  }
  if (!isUriReference(a['source'] as string)) {
    throw invalid(`attribute "source" must be a URI-reference, got ${JSON.stringify(a['source'])}`, 'source');
  }
  const time = a['time'];
  if (time !== undefined && (typeof time !== 'string' || !validTimestamp(time))) {
    throw invalid(`attribute "time" must be an RFC 3339 timestamp of a real instant, got ${JSON.stringify(time)}`, 'time');
  }
  for (const name of ['subject', 'datacontenttype', 'dataschema'] as const) {
    const v = a[name];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
      throw invalid(`attribute "${name}" must be a non-empty string when present`, name);
    }
  }
}

/** Whether a media type (parameters ignored) is JSON: `application/json`, `*\/json` or `*\/*+json`. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true; // the JSON format treats a missing datacontenttype as JSON
  const semi = contentType.indexOf(';');
  const mt = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return mt.endsWith('/json') || mt.endsWith('+json');
}

/** Returns the string value of an attribute as filters see it (non-strings via String()), or undefined. */
export function attributeString(event: CloudEvent, name: string): string | undefined {
  let v = event.attributes[name];
  if (v === undefined && name === 'schemaurl') v = event.attributes['dataschema'];
  if (v === undefined && name === 'dataschema') v = event.attributes['schemaurl'];
  return v === undefined ? undefined : typeof v === 'string' ? v : String(v);
}

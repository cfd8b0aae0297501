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
// RFC 3339 date-time, as the CloudEvents Timestamp type requires.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

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
  const time = a['time'];
  if (time !== undefined && (typeof time !== 'string' || !RFC3339.test(time))) {
    throw invalid(`attribute "time" must be an RFC 3339 timestamp, got ${JSON.stringify(time)}`, 'time');
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

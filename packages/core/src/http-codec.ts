import { isUtf8 } from 'node:buffer';
import { SluiceError } from './errors.js';
import { isJsonMediaType, validateEvent, type AttributeValue, type CloudEvent } from './event.js';

/** Incoming header map as node:http gives it (lower-case names). */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** The three HTTP content modes of the CloudEvents HTTP binding. */
export type HttpMode = 'binary' | 'structured' | 'batch';

/** An event encoded for an HTTP request or response. */
export interface EncodedHttpMessage {
  headers: Record<string, string>;
  body: Buffer;
}

const STRUCTURED_JSON = 'application/cloudevents+json';
const BATCH_JSON = 'application/cloudevents-batch+json';

function malformed(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_EVENT_MALFORMED', message, cause === undefined ? {} : { cause });
}

function header(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Detects the HTTP binding mode from a Content-Type (case-insensitive prefix match, as the binding says). */
export function detectHttpMode(contentType: string | undefined): HttpMode {
  const ct = (contentType ?? '').trimStart().toLowerCase();
  if (ct.startsWith('application/cloudevents-batch')) return 'batch';
  if (ct.startsWith('application/cloudevents')) return 'structured';
  return 'binary';
}

/** Whether a message looks like a CloudEvent at all (structured/batch content type, or a `ce-specversion` header). */
export function looksLikeCloudEvent(headers: HeaderMap): boolean {
  return headers['ce-specversion'] !== undefined || detectHttpMode(header(headers, 'content-type')) !== 'binary';
}

const NON_ASCII = /[^\x00-\x7f]/;
// A value needs work when it is quoted, percent-encoded or carries raw non-ASCII bytes.
const NEEDS_DECODING = /["%\x80-\uffff]/;

// node:http hands header values over as latin1 (one char per byte). Raw non-ASCII bytes are accepted only when they
// are valid UTF-8 (decoded as such); anything else would be stored as mojibake, so it is refused.
function utf8HeaderValue(name: string, raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  if (!isUtf8(bytes)) {
    throw new SluiceError('SLUICE_EVENT_INVALID', `header ${name} is not valid UTF-8`, { details: { attribute: name.slice(3) } });
  }
  return bytes.toString('utf8');
}

// Header values are percent-encoded by the 1.0.2 binding, but Go, Java and JS SDKs send them raw: decode strictly
// when the value is valid percent-encoded UTF-8 and keep it as sent otherwise, so both kinds of sender work.
function decodeHeaderValue(name: string, raw: string): string {
  if (!NEEDS_DECODING.test(raw)) return raw; // the common case: one scan, no copy
  let v = NON_ASCII.test(raw) ? utf8HeaderValue(name, raw) : raw;
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

const NEEDS_ENCODING = /[^\x21-\x7e]|["%]/;

function encodeHeaderValue(v: string): string {
  if (!NEEDS_ENCODING.test(v)) return v;
  let out = '';
  for (const ch of v) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x21 && cp <= 0x7e && ch !== '"' && ch !== '%') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function decodeBinary(headers: HeaderMap, body: Buffer): CloudEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const name in headers) {
    if (name.length > 3 && name.charCodeAt(0) === 99 /* c */ && name.charCodeAt(1) === 101 /* e */ && name[2] === '-') {
      const attr = name.slice(3);
      if (attr === 'datacontenttype') {
        throw new SluiceError('SLUICE_EVENT_INVALID', 'binary mode must carry datacontenttype in Content-Type, not ce-datacontenttype');
      }
      const value = header(headers, name);
      if (value !== undefined) attributes[attr] = decodeHeaderValue(name, value);
    }
  }
  const contentType = header(headers, 'content-type');
  if (contentType !== undefined && contentType !== '') attributes['datacontenttype'] = contentType;
  return { attributes, data: body.length > 0 ? body : undefined };
}

/** Builds an event from one JSON-format object (structured mode or a batch entry). */
export function eventFromJson(json: unknown): CloudEvent {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw malformed('a structured CloudEvent must be a JSON object');
  }
  const attributes: Record<string, AttributeValue> = {};
  let data: Buffer | undefined;
  const obj = json as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (key === 'data' || key === 'data_base64' || v === null) continue; // null attributes are unset (JSON format)
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new SluiceError('SLUICE_EVENT_INVALID', `attribute "${key}" must be a string, integer or boolean`, { details: { attribute: key } });
    }
    attributes[key] = v;
  }
  const hasData = 'data' in obj && obj['data'] !== undefined;
  const b64 = obj['data_base64'];
  if (hasData && b64 !== undefined && b64 !== null) throw malformed('"data" and "data_base64" are mutually exclusive');
  if (b64 !== undefined && b64 !== null) {
    if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw malformed('"data_base64" must be a base64 string');
    data = Buffer.from(b64, 'base64');
  } else if (hasData) {
    const ct = attributes['datacontenttype'];
    const contentType = typeof ct === 'string' ? ct : undefined;
    if (isJsonMediaType(contentType)) {
      data = Buffer.from(stringifyData(obj['data']), 'utf8');
      // The JSON format says a re-encoded event should carry its JSON content type explicitly.
      if (contentType === undefined) attributes['datacontenttype'] = 'application/json';
    } else {
      const d = obj['data'];
      data = Buffer.from(typeof d === 'string' ? d : stringifyData(d), 'utf8');
    }
  }
  return { attributes, data };
}

// JSON.parse handles any depth, JSON.stringify does not: data nested deeper than the stack allows is a client error.
function stringifyData(d: unknown): string {
  try {
    return JSON.stringify(d);
  } catch (err) {
    throw malformed(`"data" cannot be re-encoded: ${(err as Error).message} (nested too deeply?)`, err);
  }
}

function parseJson(body: Buffer): unknown {
  if (!isUtf8(body)) throw malformed('body is not valid UTF-8');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw malformed(`body is not valid JSON: ${(err as Error).message}`, err);
  }
}

/**
 * Decodes an HTTP request or response into CloudEvents (one for binary and structured mode, any number for a batch)
 * and validates each. Throws `SLUICE_EVENT_MALFORMED` or `SLUICE_EVENT_INVALID` with a precise message.
 */
export function decodeHttp(headers: HeaderMap, body: Buffer): CloudEvent[] {
  const contentType = header(headers, 'content-type');
  const mode = detectHttpMode(contentType);
  let events: CloudEvent[];
  if (mode === 'binary') {
    events = [decodeBinary(headers, body)];
  } else {
    const format = (contentType ?? '').toLowerCase();
    const expected = mode === 'batch' ? BATCH_JSON : STRUCTURED_JSON;
    if (!format.startsWith(expected)) {
      throw new SluiceError('SLUICE_EVENT_UNSUPPORTED_FORMAT', `unsupported event format "${contentType}" (supported: ${STRUCTURED_JSON}, ${BATCH_JSON})`);
    }
    const json = parseJson(body);
    if (mode === 'batch') {
      if (!Array.isArray(json)) throw malformed('a batch must be a JSON array of events');
      events = json.map(eventFromJson);
    } else {
      events = [eventFromJson(json)];
    }
  }
  events.forEach((e, i) => {
    try {
      validateEvent(e);
    } catch (err) {
      if (mode === 'batch' && err instanceof SluiceError) {
        throw new SluiceError(err.code, `batch entry ${i}: ${err.message}`, { details: { ...err.details, index: i } });
      }
      throw err;
    }
  });
  return events;
}

/** Encodes an event in binary mode: `ce-` headers, Content-Type from datacontenttype, data bytes as body. */
export function encodeBinary(event: CloudEvent): EncodedHttpMessage {
  const headers: Record<string, string> = {};
  const a = event.attributes;
  for (const name in a) {
    if (name === 'datacontenttype') continue;
    headers['ce-' + name] = encodeHeaderValue(String(a[name]));
  }
  const ct = a['datacontenttype'];
  if (ct !== undefined) headers['content-type'] = String(ct);
  return { headers, body: event.data ?? EMPTY };
}

const EMPTY = Buffer.alloc(0);
const TEXTUAL = /^text\/|\/xml|\+xml/i;

/** Renders an event as a JSON-format object (`data` for JSON and text payloads, `data_base64` otherwise). */
export function eventToJson(event: CloudEvent, forceBase64 = false): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event.attributes };
  if (event.data === undefined) return out;
  if (forceBase64) {
    out['data_base64'] = event.data.toString('base64');
    return out;
  }
  const ct = event.attributes['datacontenttype'];
  const contentType = typeof ct === 'string' ? ct : undefined;
  if (isJsonMediaType(contentType)) {
    try {
      out['data'] = JSON.parse(event.data.toString('utf8'));
      return out;
    } catch {
      // declared JSON but is not: fall through to base64 so nothing is lost
    }
  } else if (contentType !== undefined && TEXTUAL.test(contentType)) {
    out['data'] = event.data.toString('utf8');
    return out;
  }
  out['data_base64'] = event.data.toString('base64');
  return out;
}

// JSON data nested deeper than JSON.stringify's stack allows still leaves, as data_base64: nothing is lost.
function jsonText(event: CloudEvent): string {
  try {
    return JSON.stringify(eventToJson(event));
  } catch {
    return JSON.stringify(eventToJson(event, true));
  }
}

/** Encodes an event in structured mode with the JSON format. */
export function encodeStructured(event: CloudEvent): EncodedHttpMessage {
  return {
    headers: { 'content-type': `${STRUCTURED_JSON}; charset=utf-8` },
    body: Buffer.from(jsonText(event), 'utf8'),
  };
}

/** Encodes events as a JSON batch. */
export function encodeBatch(events: readonly CloudEvent[]): EncodedHttpMessage {
  return {
    headers: { 'content-type': `${BATCH_JSON}; charset=utf-8` },
    body: Buffer.from(`[${events.map(jsonText).join(',')}]`, 'utf8'),
  };
}

import { eventFromJson, validateEvent, type AttributeValue, type CloudEvent } from '@sluice/core';
import type { IHeaders, Message } from 'kafkajs';

// CloudEvents Kafka protocol binding v1.0.2, binary content mode: every attribute except datacontenttype is a
// `ce_<name>` header with a UTF-8 string value, datacontenttype is the `content-type` header, the value is the data
// bytes, and the key is the `partitionkey` extension when present (the binding's opt-in key mapper, which Knative's
// Kafka broker uses too). Knative stores broker records the same way, so other Kafka tools can read our topics.

/** Header listing attributes whose CloudEvents type is Integer or Boolean, so they round-trip with their type. */
export const TYPES_HEADER = 'sluice_types';
/** Retry-topic header: the attempt number the record is handed out as. */
export const ATTEMPT_HEADER = 'sluice_attempt';
/** Retry-topic header: when the attempt is due (epoch ms). */
export const DUE_HEADER = 'sluice_due';
/** Retry-topic header: when the first attempt was made (epoch ms). */
export const FIRST_ATTEMPT_HEADER = 'sluice_first';
/** Retry-topic header: where the record came from (`topic/partition/offset`), for operators. */
export const ORIGIN_HEADER = 'sluice_origin';

const CE_PREFIX = 'ce_';

/** Encodes an event as a binary-mode Kafka record. `extra` headers are added (retry bookkeeping). */
export function encodeRecord(event: CloudEvent, extra?: Readonly<Record<string, string>>): Message {
  const headers: IHeaders = {};
  let types = '';
  const attrs = event.attributes;
  for (const name in attrs) {
    const v = attrs[name]!;
    if (name === 'datacontenttype') {
      headers['content-type'] = String(v);
      continue;
    }
    if (typeof v !== 'string') types += `${types === '' ? '' : ';'}${name}=${typeof v === 'number' ? 'integer' : 'boolean'}`;
    headers[CE_PREFIX + name] = typeof v === 'string' ? v : String(v);
  }
  if (types !== '') headers[TYPES_HEADER] = types;
  if (extra) for (const k in extra) headers[k] = extra[k]!;
  const key = attrs['partitionkey'];
  return { key: key === undefined ? null : String(key), value: event.data ?? null, headers };
}

function headerString(v: IHeaders[string]): string | undefined {
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

/** What a record decodes to: the event, plus the retry bookkeeping of retry-topic records. */
export interface DecodedRecord {
  readonly event: CloudEvent;
  readonly attempt: number | undefined;
  readonly dueAt: number | undefined;
  readonly firstAttemptAt: number | undefined;
  readonly origin: string | undefined;
}

/** Decodes a binary-mode Kafka record (headers as kafkajs hands them out). */
export function decodeRecord(headers: IHeaders | undefined, value: Buffer | null): DecodedRecord {
  const attributes: Record<string, AttributeValue> = {};
  let types: string | undefined;
  let attempt: number | undefined;
  let dueAt: number | undefined;
  let first: number | undefined;
  let origin: string | undefined;
  if (headers) {
    for (const name in headers) {
      if (name.startsWith(CE_PREFIX)) {
        const v = headerString(headers[name]);
        if (v !== undefined) attributes[name.slice(CE_PREFIX.length)] = v;
      } else if (name === 'content-type') {
        const v = headerString(headers[name]);
        if (v !== undefined && v !== '') attributes['datacontenttype'] = v;
      } else if (name === TYPES_HEADER) {
        types = headerString(headers[name]);
      } else if (name === ATTEMPT_HEADER) {
        attempt = Number(headerString(headers[name]));
      } else if (name === DUE_HEADER) {
        dueAt = Number(headerString(headers[name]));
      } else if (name === FIRST_ATTEMPT_HEADER) {
        first = Number(headerString(headers[name]));
      } else if (name === ORIGIN_HEADER) {
        origin = headerString(headers[name]);
      }
    }
  }
  if (types) {
    for (const entry of types.split(';')) {
      const eq = entry.indexOf('=');
      const name = entry.slice(0, eq);
      const raw = attributes[name];
      if (typeof raw !== 'string') continue;
      const type = entry.slice(eq + 1);
      if (type === 'integer' && /^-?\d+$/.test(raw)) attributes[name] = Number(raw);
      else if (type === 'boolean' && (raw === 'true' || raw === 'false')) attributes[name] = raw === 'true';
    }
  }
  return {
    event: { attributes, data: value ?? undefined },
    attempt: attempt !== undefined && Number.isInteger(attempt) ? attempt : undefined,
    dueAt: dueAt !== undefined && Number.isFinite(dueAt) ? dueAt : undefined,
    firstAttemptAt: first !== undefined && Number.isFinite(first) ? first : undefined,
    origin,
  };
}

/** Approximate size of an encoded record, for batching under the broker's per-batch byte limit. */
export function approximateSize(message: Message): number {
  let n = 64;
  const v = message.value;
  if (v) n += typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  if (typeof message.key === 'string') n += message.key.length;
  const h = message.headers;
  if (h) for (const k in h) n += k.length + String(h[k]).length + 8;
  return n;
}

/**
 * A record of a broker or retry topic: binary mode, or structured mode (`content-type: application/cloudevents…`) as
 * other producers may write to an external topic. Undefined when it is not a valid CloudEvent.
 */
export function decodeMessage(headers: IHeaders | undefined, value: Buffer | null): DecodedRecord | undefined {
  try {
    const ct = headers?.['content-type'];
    const contentType = ct === undefined ? '' : String(Array.isArray(ct) ? ct[0] : ct);
    const decoded = contentType.toLowerCase().startsWith('application/cloudevents')
      ? { ...decodeRecord(headers, null), event: eventFromJson(JSON.parse((value ?? Buffer.alloc(0)).toString('utf8'))) }
      : decodeRecord(headers, value);
    validateEvent(decoded.event);
    return decoded;
  } catch {
    return undefined;
  }
}

import { eventFromJson, validateEvent, type AttributeValue, type CloudEvent } from '@sluice/core';
import { KAFKA_EVENT_TYPE, kafkaEventSource, type KeyType } from './kafka-source-types.js';

/** A header value as kafkajs decodes it: repeated header names arrive as an array. */
export type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** The parts of a consumed Kafka record the mapping reads (kafkajs' `KafkaMessage` plus topic and partition). */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  /** Offset as a decimal string (offsets are 64-bit). */
  readonly offset: string;
  /** Record timestamp, milliseconds since the epoch, as a decimal string. */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, KafkaHeaderValue>>;
}

/** How a record became an event: forwarded as a binary or structured CloudEvent, or wrapped. */
export type RecordShape = 'binary' | 'structured' | 'wrapped';

/** The event of a record and how it was obtained. */
export interface MappedRecord {
  readonly event: CloudEvent;
  readonly shape: RecordShape;
  /** Why a record that looked like a CloudEvent was wrapped instead (it was not a valid one). */
  readonly invalid?: string;
}

/** What the mapping needs besides the record. */
export interface MappingOptions {
  readonly namespace: string;
  /** Name of the KafkaSource. */
  readonly name: string;
  readonly keyType?: KeyType;
}

const STRUCTURED_PREFIX = 'application/cloudevents';
const STRUCTURED_JSON = 'application/cloudevents+json';
const BINARY_PREFIX = 'ce_';

// Repeated headers: the last one wins, as it does when Knative's Java code sets the same extension twice.
function lastValue(v: KafkaHeaderValue): Buffer | string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function text(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

function contentTypeOf(headers: Readonly<Record<string, KafkaHeaderValue>>): string | undefined {
  let found: string | undefined;
  for (const name in headers) {
    if (name.toLowerCase() !== 'content-type') continue;
    const v = lastValue(headers[name]);
    if (v !== undefined) found = text(v);
  }
  return found;
}

/**
 * The extension name Knative gives a header: `kafkaheader` + the name lower-cased with everything but `[a-z0-9]`
 * removed (`InvalidCloudEventInterceptor.replaceBadChars`).
 */
export function headerExtensionName(header: string): string {
  let out = 'kafkaheader';
  for (const ch of header) {
    for (const c of ch.toLowerCase()) {
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out += c;
    }
  }
  return out;
}

/**
 * A float or double as Java's `Float.toString`/`Double.toString` prints it (shortest digits that round-trip,
 * `1.0`, `1.0E10`, `1.0E-5`), because that is the text Knative's Java data plane puts in the `key` extension.
 */
export function javaFloatingString(value: number, single: boolean): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  let exp = value.toExponential();
  if (single) {
    for (let p = 0; p <= 8; p++) {
      const candidate = value.toExponential(p);
      if (Math.fround(Number(candidate)) === value) {
        exp = candidate;
        break;
      }
    }
  }
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exp)!;
  const sign = m[1]!;
  const digits = (m[2]! + (m[3] ?? '')).replace(/0+$/, '') || '0';
  const e = Number(m[4]);
  const abs = Math.abs(value);
  if (abs >= 1e-3 && abs < 1e7) {
    if (e >= 0) {
      const intPart = digits.slice(0, e + 1).padEnd(e + 1, '0');
      return `${sign}${intPart}.${digits.slice(e + 1) || '0'}`;
    }
    return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${e}`;
}

/**
 * Reads a record key the way Knative's `KeyDeserializer` does: `int` takes 4-byte big-endian integers, `float`
 * 4-byte floats and 8-byte doubles (other lengths fall back to a string), `byte-array` keeps the bytes (base64, the
 * CloudEvents Binary encoding), `string` (the default) decodes UTF-8. An empty or missing key gives no value.
 */
export function deserializeKey(key: Buffer | null, keyType: KeyType = 'string'): AttributeValue | undefined {
  if (key === null || key.length === 0) return undefined;
  switch (keyType) {
    case 'int':
      return key.length === 4 ? key.readInt32BE(0) : key.toString('utf8');
    case 'float':
      if (key.length === 4) return javaFloatingString(key.readFloatBE(0), true);
      if (key.length === 8) return javaFloatingString(key.readDoubleBE(0), false);
      return key.toString('utf8');
    case 'byte-array':
      return key.toString('base64');
    default:
      return key.toString('utf8');
  }
}

function decodeStructured(contentType: string, value: Buffer | null): CloudEvent {
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== STRUCTURED_JSON) throw new Error(`unsupported event format "${mediaType}" (only ${STRUCTURED_JSON})`);
  if (value === null || value.length === 0) throw new Error('a structured CloudEvent record needs a value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new Error(`value is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const event = eventFromJson(json);
  validateEvent(event);
  return event;
}

function decodeBinary(headers: Readonly<Record<string, KafkaHeaderValue>>, contentType: string | undefined, value: Buffer | null): CloudEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const name in headers) {
    if (!name.startsWith(BINARY_PREFIX) || name.length === BINARY_PREFIX.length) continue;
    const v = lastValue(headers[name]);
    if (v !== undefined) attributes[name.slice(BINARY_PREFIX.length)] = text(v);
  }
  // The binding maps `content-type` to datacontenttype directly.
  if (contentType !== undefined && contentType !== '') attributes['datacontenttype'] = contentType;
  const event: CloudEvent = { attributes, data: value !== null && value.length > 0 ? value : undefined };
  validateEvent(event);
  return event;
}

/** Wraps a record that is not a CloudEvent, exactly as Knative's `InvalidCloudEventInterceptor` does. */
export function wrapRecord(record: KafkaRecord, options: MappingOptions): CloudEvent {
  const attributes: Record<string, AttributeValue> = {
    specversion: '1.0',
    id: `partition:${record.partition}/offset:${record.offset}`,
    source: kafkaEventSource(options.namespace, options.name, record.topic),
    type: KAFKA_EVENT_TYPE,
    subject: `partition:${record.partition}#${record.offset}`,
  };
  // A timestamp JavaScript cannot represent leaves `time` unset rather than making the record undeliverable.
  const time = new Date(Number(record.timestamp));
  if (!Number.isNaN(time.getTime())) attributes['time'] = time.toISOString();
  const key = deserializeKey(record.key, options.keyType);
  if (key !== undefined) {
    attributes['partitionkey'] = key;
    attributes['key'] = key;
  }
  let contentType: string | undefined;
  const headers = record.headers ?? {};
  for (const name in headers) {
    const v = lastValue(headers[name]);
    if (v === undefined) continue;
    // content-type travels as datacontenttype, not as an extension.
    if (name.toLowerCase() === 'content-type') contentType = text(v);
    else attributes[headerExtensionName(name)] = text(v);
  }
  if (contentType !== undefined) attributes['datacontenttype'] = contentType.toLowerCase();
  return { attributes, data: record.value !== null && record.value.length > 0 ? record.value : undefined };
}

/**
 * Turns a record into the event a KafkaSource sends. A record that is a valid CloudEvent under the Kafka binding
 * (structured: `content-type: application/cloudevents+json`; binary: a `ce_specversion` header) is forwarded
 * unchanged. Anything else, including a record that only looks like a CloudEvent but is not a valid one, is
 * wrapped as Knative wraps it (its Java deserializer falls back the same way).
 */
export function recordToEvent(record: KafkaRecord, options: MappingOptions): MappedRecord {
  const headers = record.headers ?? {};
  const contentType = contentTypeOf(headers);
  try {
    if (contentType !== undefined && contentType.trimStart().toLowerCase().startsWith(STRUCTURED_PREFIX)) {
      return { event: decodeStructured(contentType, record.value), shape: 'structured' };
    }
    if (headers['ce_specversion'] !== undefined) return { event: decodeBinary(headers, contentType, record.value), shape: 'binary' };
  } catch (err) {
    return { event: wrapRecord(record, options), shape: 'wrapped', invalid: (err as Error).message };
  }
  return { event: wrapRecord(record, options), shape: 'wrapped' };
}

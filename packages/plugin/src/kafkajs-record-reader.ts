/** The part of kafkajs' protocol `Decoder` (kafkajs 2.2) a record decoder reads: the record's bytes and a position. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
}

/** What kafkajs' record-batch decoder hands each record decoder: one object per batch, shared by its records. */
export interface KafkajsBatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly maxTimestamp?: string;
  readonly timestampType?: number;
  readonly isControlBatch?: boolean;
  readonly magicByte?: number;
}

/** kafkajs' record decoder (`recordBatch/record/v0/decoder.js`). */
export type RecordDecoder = (decoder: KafkajsDecoder, batchContext?: KafkajsBatchContext) => unknown;

/** kafkajs' `TimestampTypes.LOG_APPEND_TIME`: the broker's time, the batch's maxTimestamp, stands for every record. */
const LOG_APPEND_TIME = 1;
/** Offsets and timestamps of up to 15 digits are exact in a double, and so are their sums with a record's delta. */
const SAFE_DECIMAL = /^-?\d{1,15}$/;

/** Returned by the readers below for what this reader leaves to kafkajs' own decoder. */
const STOCK = Symbol('stock');

let bytes: Buffer = Buffer.alloc(0);
let at = 0;

/**
 * kafkajs' record decoder, for the records of a fetched batch, with the same result for every input: the same object
 * (same properties in the same order, key and value as slices of the fetched bytes, headers as kafkajs groups them)
 * or, for anything unusual, kafkajs' own decoder's result or error.
 *
 * kafkajs decodes each record's offset and timestamp with 64-bit `Long` arithmetic on the batch's first offset and
 * timestamp, parsed from their decimal strings again for every record, reads the timestamp delta through a chain of
 * `Long` objects, and builds the headers object by spreading it into a new object for every header (quadratic in the
 * headers; a binary-mode CloudEvent has eight or more). This reader parses the batch's offset and timestamp once per
 * batch, reads the deltas as plain numbers and adds each header in place. It reads what kafkajs reads the way kafkajs
 * reads it while that is exact in a double: varints of up to 4 bytes, timestamp deltas of up to 7, offsets and
 * timestamps of up to 15 digits, records that end within their bytes. Anything else (and a header named `__proto__`,
 * which kafkajs keeps as an own property) goes to `stock`.
 */
export function fastRecordReader(stock: RecordDecoder): RecordDecoder {
  let context: KafkajsBatchContext | undefined;
  let firstOffset = Number.NaN;
  let firstTimestamp = Number.NaN;
  return (decoder, batchContext = {}) => {
    if (batchContext !== context) {
      context = batchContext;
      firstOffset = safeNumber(batchContext.firstOffset);
      firstTimestamp = safeNumber(batchContext.firstTimestamp);
    }
    bytes = decoder.buffer;
    at = decoder.offset;
    const record = readRecord(batchContext, firstOffset, firstTimestamp);
    bytes = EMPTY; // the fetched bytes are not kept alive by this module
    if (record === STOCK) return stock(decoder, batchContext);
    decoder.offset = record.end;
    return record.value;
  };
}

const EMPTY = Buffer.alloc(0);

function safeNumber(decimal: string | undefined): number {
  return typeof decimal === 'string' && SAFE_DECIMAL.test(decimal) ? Number(decimal) : Number.NaN;
}

function readRecord(context: KafkajsBatchContext, firstOffset: number, firstTimestamp: number): { value: unknown; end: number } | typeof STOCK {
  if (at >= bytes.length) return STOCK;
  const attributes = bytes.readInt8(at++);
  const timestampDelta = readVarLong();
  if (Number.isNaN(timestampDelta)) return STOCK;
  let timestamp: string;
  if (context.timestampType === LOG_APPEND_TIME && context.maxTimestamp) {
    timestamp = context.maxTimestamp;
  } else {
    const t = firstTimestamp + timestampDelta;
    if (!Number.isSafeInteger(t)) return STOCK; // NaN included: a first timestamp this reader does not take
    timestamp = String(t);
  }
  const offsetDelta = readVarInt();
  const o = firstOffset + offsetDelta;
  if (!Number.isSafeInteger(o)) return STOCK;
  const key = readBytes();
  if (key === STOCK) return STOCK;
  const value = readBytes();
  if (value === STOCK) return STOCK;
  const count = readVarInt();
  if (Number.isNaN(count) || count < -1) return STOCK;
  const headers: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const name = readString();
    if (name === STOCK || name === '__proto__') return STOCK;
    const headerValue = readBytes();
    if (headerValue === STOCK) return STOCK;
    // kafkajs' grouping, with its lookups on a plain object: a repeated name becomes an array of its values.
    const k = String(name);
    const before = headers[k];
    headers[k] = before === undefined ? headerValue : Array.isArray(before) ? before.concat([headerValue]) : [before, headerValue];
  }
  return {
    value: {
      magicByte: context.magicByte,
      attributes,
      timestamp,
      offset: String(o),
      key,
      value,
      headers,
      isControlRecord: context.isControlBatch ?? false,
      batchContext: context,
    },
    end: at,
  };
}

/** A zigzag varint of at most 4 bytes (kafkajs sums 5-byte ones in a way of its own); NaN otherwise. */
function readVarInt(): number {
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (at >= bytes.length) return Number.NaN;
    const byte = bytes[at++]!;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) return (result >>> 1) ^ -(result & 1);
  }
  return Number.NaN;
}

/** A zigzag varlong of at most 7 bytes (49 bits, exact in a double); NaN otherwise. */
function readVarLong(): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (at >= bytes.length) return Number.NaN;
    const byte = bytes[at++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    scale *= 128;
  }
  return Number.NaN;
}

/** Length-prefixed bytes as a slice of the record (null for length -1), as kafkajs' `readVarIntBytes`. */
function readBytes(): Buffer | null | typeof STOCK {
  const length = readVarInt();
  if (length === -1) return null;
  if (!(length >= 0) || at + length > bytes.length) return STOCK;
  const slice = bytes.subarray(at, at + length);
  at += length;
  return slice;
}

/** A length-prefixed UTF-8 string (null for length -1), as kafkajs' `readVarIntString`. */
function readString(): string | null | typeof STOCK {
  const length = readVarInt();
  if (length === -1) return null;
  if (!(length >= 0) || at + length > bytes.length) return STOCK;
  const s = bytes.toString('utf8', at, at + length);
  at += length;
  return s;
}

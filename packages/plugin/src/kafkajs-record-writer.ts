/**
 * A Kafka record (the v2 record format, kafkajs' `recordBatch/record/v0`) written in one pass into one buffer of its
 * exact size, for the records Sluice produces: a string, Buffer or null key and value, string or Buffer header values,
 * deltas that fit 31 bits. Anything else goes to kafkajs' own writer, so every input gives the bytes stock kafkajs gives
 * (and the same errors). kafkajs writes a record through a growing encoder plus one encoder per header, sizes the
 * timestamp delta with 64-bit Long arithmetic, and copies each header and the record again into its parent.
 */

/** What a record writer gets from kafkajs' produce request. */
export interface KafkajsRecordInput {
  readonly offsetDelta?: number;
  readonly timestampDelta?: number;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** kafkajs' encoder, as far as a record needs it: its parent reads `buf` up to `offset`. */
export interface RecordEncoder {
  buf: Buffer;
  offset: number;
}

type Bytes = string | Buffer;

const isSmall = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= -0x40000000 && n < 0x40000000;
const isBytes = (x: unknown): x is Bytes => typeof x === 'string' || Buffer.isBuffer(x);
/** Zig-zag encoding of a 31-bit signed integer, as an unsigned 32-bit value (kafkajs' encodeZigZag). */
const zigzag = (n: number): number => ((n << 1) ^ (n >> 31)) >>> 0;

function varintSize(u: number): number {
  let size = 1;
  while (u >= 0x80) {
    u >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, u: number): number {
  while (u >= 0x80) {
    buf[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[at++] = u;
  return at;
}

/** A length-prefixed field (a varint length, -1 for null): its size, given the byte length of the content. */
function fieldSize(length: number): number {
  return length < 0 ? 1 : varintSize(zigzag(length)) + length;
}

function byteLength(x: Bytes | null | undefined): number {
  if (x == null) return -1;
  return typeof x === 'string' ? Buffer.byteLength(x, 'utf8') : x.length;
}

function writeField(buf: Buffer, at: number, x: Bytes | null | undefined, length: number): number {
  at = writeVarint(buf, at, zigzag(length));
  if (x == null) return at;
  if (typeof x === 'string') buf.write(x, at, length, 'utf8');
  else x.copy(buf, at);
  return at + length;
}

/**
 * kafkajs' `Record` for Sluice's records, over `stock` (kafkajs' own) for the rest; `encoder(size)` makes the
 * encoder a record is written into.
 */
export function sizedRecordWriter(stock: (input: KafkajsRecordInput) => RecordEncoder, encoder: () => RecordEncoder): (input: KafkajsRecordInput) => RecordEncoder {
  return function sizedRecord(input: KafkajsRecordInput): RecordEncoder {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = input;
    if (!isSmall(offsetDelta) || !isSmall(timestampDelta) || !(key == null || isBytes(key)) || !(value == null || isBytes(value))) return stock(input);
    // Headers as kafkajs flattens them: an array value gives one header per element, in order.
    const names: string[] = [];
    const values: Bytes[] = [];
    for (const name of Object.keys(headers)) {
      const v = headers[name];
      for (const one of Array.isArray(v) ? (v as unknown[]) : [v]) {
        if (!isBytes(one)) return stock(input);
        names.push(name);
        values.push(one);
      }
    }
    const keyLength = byteLength(key);
    const valueLength = byteLength(value);
    const nameLengths = names.map((n) => Buffer.byteLength(n, 'utf8'));
    const valueLengths = values.map(byteLength);
    let body = 1 + varintSize(zigzag(timestampDelta)) + varintSize(zigzag(offsetDelta)) + fieldSize(keyLength) + fieldSize(valueLength) + varintSize(zigzag(names.length));
    for (let i = 0; i < names.length; i++) body += fieldSize(nameLengths[i]!) + fieldSize(valueLengths[i]!);
    const size = varintSize(zigzag(body)) + body;

    const out = encoder();
    const buf = Buffer.allocUnsafe(size);
    let at = writeVarint(buf, 0, zigzag(body));
    buf[at++] = 0; // attributes: none are used in a record
    at = writeVarint(buf, at, zigzag(timestampDelta));
    at = writeVarint(buf, at, zigzag(offsetDelta));
    at = writeField(buf, at, key, keyLength);
    at = writeField(buf, at, value, valueLength);
    at = writeVarint(buf, at, zigzag(names.length));
    for (let i = 0; i < names.length; i++) {
      at = writeField(buf, at, names[i], nameLengths[i]!);
      at = writeField(buf, at, values[i], valueLengths[i]!);
    }
    out.buf = buf;
    out.offset = at;
    return out;
  };
}

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

/** Whether `n` is an integer whose zig-zag encoding fits 32 bits unsigned (what the varint writers below take). */
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

/**
 * Up to this many characters, an ASCII string is copied a character at a time: `buf.write` costs about 90 ns a call
 * (the binding, whatever the length), the loop 2 ns a character; a record has some twenty short header strings.
 */
const SHORT_STRING = 64;

/** Writes `x` (of `length` bytes, as {@link byteLength} measured it) at `at`; a string is UTF-8, like kafkajs'. */
export function writeBytes(buf: Buffer, at: number, x: Bytes, length: number): number {
  if (typeof x !== 'string') x.copy(buf, at);
  else if (length === x.length && length <= SHORT_STRING) {
    // As many bytes as characters: every character is ASCII (any other takes two bytes or more in UTF-8).
    for (let i = 0; i < length; i++) buf[at + i] = x.charCodeAt(i);
  } else buf.write(x, at, length, 'utf8');
  return at + length;
}

function writeField(buf: Buffer, at: number, x: Bytes | null | undefined, length: number): number {
  at = writeVarint(buf, at, zigzag(length));
  return x == null ? at : writeBytes(buf, at, x, length);
}

/**
 * Records measured, then written: {@link add} checks and sizes one record (keeping what it measured), {@link writeTo}
 * writes the records added since the last write, in order, into a buffer the caller sized from {@link add}'s results.
 */
export class RecordList {
  /** Per record: its key, its value, then each header's name and value. */
  readonly #parts: (Bytes | null | undefined)[] = [];
  /** Per record: body size, timestamp delta, offset delta, header count, then the byte length of each part. */
  readonly #sizes: number[] = [];
  #readPart = 0;
  #readSize = 0;

  /**
   * Adds a record if this writer takes it (else nothing is kept): its size in bytes, length prefix included, or -1
   * when it is for kafkajs' own writer (a delta beyond 31 bits, a key, value or header value of another type).
   */
  add(offsetDelta: unknown, timestampDelta: unknown, key: unknown, value: unknown, headers: unknown): number {
    if (!isSmall(offsetDelta) || !isSmall(timestampDelta) || !(key == null || isBytes(key)) || !(value == null || isBytes(value))) return -1;
    if (typeof headers !== 'object' || headers === null) return -1;
    const parts = this.#parts;
    const sizes = this.#sizes;
    const firstPart = parts.length;
    const firstSize = sizes.length;
    const keyLength = byteLength(key);
    const valueLength = byteLength(value);
    parts.push(key, value);
    sizes.push(0, timestampDelta, offsetDelta, 0, keyLength, valueLength);
    let body = 1 + varintSize(zigzag(timestampDelta)) + varintSize(zigzag(offsetDelta)) + fieldSize(keyLength) + fieldSize(valueLength);
    // Headers as kafkajs flattens them: an array value gives one header per element, in order.
    let count = 0;
    for (const name of Object.keys(headers)) {
      const v = (headers as Record<string, unknown>)[name];
      const list = Array.isArray(v) ? (v as unknown[]) : undefined;
      for (let i = 0, n = list === undefined ? 1 : list.length; i < n; i++) {
        const one = list === undefined ? v : list[i];
        if (!isBytes(one)) {
          parts.length = firstPart;
          sizes.length = firstSize;
          return -1;
        }
        const nameLength = Buffer.byteLength(name, 'utf8');
        const oneLength = byteLength(one);
        parts.push(name, one);
        sizes.push(nameLength, oneLength);
        body += fieldSize(nameLength) + fieldSize(oneLength);
        count++;
      }
    }
    body += varintSize(zigzag(count));
    if (body >= 0x40000000) {
      parts.length = firstPart;
      sizes.length = firstSize;
      return -1; // beyond what a 32-bit varint length holds here
    }
    sizes[firstSize] = body;
    sizes[firstSize + 3] = count;
    return varintSize(zigzag(body)) + body;
  }

  /** Writes the next `count` records added at `at` (all of them when `count` is left out); returns where they end. */
  writeTo(buf: Buffer, at: number, count = Infinity): number {
    const parts = this.#parts;
    const sizes = this.#sizes;
    let p = this.#readPart;
    let s = this.#readSize;
    for (let r = 0; r < count && s < sizes.length; r++) {
      at = writeVarint(buf, at, zigzag(sizes[s]!));
      buf[at++] = 0; // attributes: none are used in a record
      at = writeVarint(buf, at, zigzag(sizes[s + 1]!));
      at = writeVarint(buf, at, zigzag(sizes[s + 2]!));
      const fields = 2 + 2 * sizes[s + 3]!;
      s += 4;
      at = writeField(buf, at, parts[p], sizes[s]!);
      at = writeField(buf, at, parts[p + 1], sizes[s + 1]!);
      at = writeVarint(buf, at, zigzag(sizes[s - 1]!));
      for (let f = 2; f < fields; f++) at = writeField(buf, at, parts[p + f], sizes[s + f]!);
      p += fields;
      s += fields;
    }
    this.#readPart = p;
    this.#readSize = s;
    if (s >= sizes.length) this.clear();
    return at;
  }

  /** Forgets every record added (and drops the references to their keys, values and headers). */
  clear(): void {
    this.#parts.length = 0;
    this.#sizes.length = 0;
    this.#readPart = 0;
    this.#readSize = 0;
  }
}

/**
 * kafkajs' `Record` for Sluice's records, over `stock` (kafkajs' own) for the rest; `encoder()` makes the encoder a
 * record is written into.
 */
export function sizedRecordWriter(stock: (input: KafkajsRecordInput) => RecordEncoder, encoder: () => RecordEncoder): (input: KafkajsRecordInput) => RecordEncoder {
  return function sizedRecord(input: KafkajsRecordInput): RecordEncoder {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = input;
    const list = new RecordList();
    const size = list.add(offsetDelta, timestampDelta, key, value, headers);
    if (size < 0) return stock(input);
    const out = encoder();
    out.buf = Buffer.allocUnsafe(size);
    out.offset = list.writeTo(out.buf, 0);
    return out;
  };
}

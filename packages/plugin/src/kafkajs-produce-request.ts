/**
 * kafkajs' produce request (`protocol/requests/produce/v3/request.js`, which v4–v7 reuse with another version number)
 * and its request framing (`protocol/request.js`), written in one pass into one buffer.
 *
 * kafkajs encodes a produce request in layers: each record in an encoder, the record batch in another (copying the
 * records), then again with its CRC and offset, each partition and topic in an encoder of its own, the request body,
 * and the frame twice more (header, then size prefix), copying everything at each step: some 19 µs per event in the
 * Kafka broker class's CPU profile. Here the body is measured first (records included, kept by {@link RecordList}),
 * then written into one buffer of its size with room left in front for the frame, which the framing writes in place.
 * The bytes are stock kafkajs' for every input (a test compares them); inputs outside what Sluice produces (compression,
 * values of unusual types or ranges) go to kafkajs' own code, which then gives its bytes or its error.
 */
import { RecordList } from './kafkajs-record-writer.js';

/** kafkajs' `Encoder` as this module makes and reads it: the bytes are `buf` up to `offset`. */
export interface KafkajsEncoderLike {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}

/** A kafkajs request, as `protocol/request.js` and the connection use it. */
export interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(this: void): Promise<unknown>;
}

/** The arguments of kafkajs' produce request v3 (v4–v7 pass the same). */
export interface ProduceRequestInput {
  readonly acks?: unknown;
  readonly timeout?: unknown;
  readonly transactionalId?: unknown;
  readonly producerId?: unknown;
  readonly producerEpoch?: unknown;
  readonly compression?: unknown;
  readonly topicData?: unknown;
}

/** What kafkajs' connection passes `protocol/request.js`. */
export interface FrameInput {
  readonly correlationId: number;
  readonly clientId: unknown;
  readonly request: Pick<KafkajsRequest, 'apiKey' | 'apiVersion' | 'encode'>;
}

/** What this module needs of kafkajs. */
export interface ProduceRequestDeps {
  /** An encoder of kafkajs' class over `buf` (its first `offset` bytes are the content). */
  encoder(buf: Buffer, offset: number): KafkajsEncoderLike;
  /** kafkajs' CRC-32C of a record batch (unsigned). */
  crc32c(data: Buffer): number;
  /** kafkajs' `Long.fromValue`, for 64-bit values that are not plain numbers. */
  long(value: unknown): { getHighBits(): number; getLowBits(): number };
}

/**
 * Bytes left free in front of a produce request's body for its frame: size (4), api key and version (4), correlation
 * id (4) and the client id (2 + its UTF-8 bytes). A longer client id makes the framing copy the body once instead.
 */
const FRAME_ROOM = 256;
/** Marks an encoder whose buffer has {@link FRAME_ROOM} free bytes before `buf`: its value is the whole buffer. */
const ROOM = Symbol('sluice.frameRoom');

const NONE = 0; // kafkajs' CompressionTypes.None
const TRANSACTIONAL = 16; // record batch attribute: in a transaction
const MAGIC = 2; // record batch format v2
/** A record batch's fixed part: leader epoch, magic, CRC, attributes, last offset delta, timestamps, producer, count. */
const BATCH_HEAD = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** A partition's fixed part: its id, the record set's size, the batch's first offset and length, then the batch. */
const PARTITION_HEAD = 4 + 4 + 8 + 4 + BATCH_HEAD;

const isInt = (v: unknown, bits: 16 | 32): v is number => typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);
const INTEGER = /^-?\d+$/;
/** A 64-bit value written as kafkajs writes it (through Long.fromValue), where that cannot throw. */
const isInt64 = (v: unknown): boolean =>
  (typeof v === 'number' && Number.isSafeInteger(v)) ||
  (typeof v === 'string' && INTEGER.test(v)) ||
  typeof v === 'bigint' ||
  (typeof v === 'object' && v !== null && typeof (v as { value?: unknown }).value === 'bigint');
/** A nullable Kafka string's size, or -1 when kafkajs would refuse it (or it is not a string). */
function stringSize(s: unknown): number {
  if (s == null) return 2;
  if (typeof s !== 'string') return -1;
  const length = Buffer.byteLength(s, 'utf8');
  return length > 0x7fff ? -1 : 2 + length;
}

function writeString(buf: Buffer, at: number, s: string | null | undefined, size: number): number {
  if (s == null) return buf.writeInt16BE(-1, at);
  at = buf.writeInt16BE(size - 2, at);
  if (size - 2 === s.length) for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  else buf.write(s, at, size - 2, 'utf8');
  return at + size - 2;
}

function writeInt64(buf: Buffer, at: number, v: unknown, deps: ProduceRequestDeps): number {
  if (typeof v === 'number') {
    const high = Math.floor(v / 2 ** 32);
    at = buf.writeInt32BE(high, at);
    return buf.writeUInt32BE(v - high * 2 ** 32, at);
  }
  const long = deps.long(v);
  at = buf.writeInt32BE(long.getHighBits(), at);
  return buf.writeInt32BE(long.getLowBits(), at);
}

interface PartitionPlan {
  readonly partition: number;
  readonly firstSequence: number;
  readonly firstTimestamp: unknown;
  readonly maxTimestamp: unknown;
  readonly count: number;
  readonly recordsSize: number;
}

/**
 * A plain object: kafkajs copies topics, partitions and messages with `{ ...spread }`, which keeps own properties
 * only, so one with a prototype of its own (or none) is left to kafkajs.
 */
const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** Reads `data[key]` as an array, or undefined when it is none (or `data` is not a plain object). */
function arrayOf(data: unknown, key: string): readonly unknown[] | undefined {
  if (!isPlain(data)) return undefined;
  const v = data[key];
  return Array.isArray(v) ? v : undefined;
}

/**
 * The body of a produce request (v3–v7) as kafkajs writes it, after {@link FRAME_ROOM} free bytes, or undefined when
 * the input is one to leave to kafkajs.
 */
function writeProduceBody(input: ProduceRequestInput, records: RecordList, deps: ProduceRequestDeps): KafkajsEncoderLike | undefined {
  // kafkajs' defaults, as its produce request v3 sets them.
  const { acks, timeout, transactionalId = null, producerId = -1, producerEpoch = 0, compression = NONE } = input;
  const topics = arrayOf(input, 'topicData');
  if (compression !== NONE || !isInt(acks, 16) || !isInt(timeout, 32) || !isInt(producerEpoch, 16) || !isInt64(producerId) || topics === undefined) return undefined;
  const idSize = stringSize(transactionalId);
  if (idSize < 0) return undefined;
  let size = idSize + 2 + 4 + 4;
  const plans: PartitionPlan[] = [];
  for (const topic of topics) {
    const partitions = arrayOf(topic, 'partitions');
    const name = (topic as { topic?: unknown }).topic;
    const nameSize = typeof name === 'string' ? stringSize(name) : -1;
    if (partitions === undefined || nameSize < 0) return undefined;
    size += nameSize + 4;
    for (const data of partitions) {
      const messages = arrayOf(data, 'messages');
      const { partition, firstSequence = 0 } = data as { partition?: unknown; firstSequence?: unknown };
      if (messages === undefined || !isInt(partition, 32) || !isInt(firstSequence, 32) || messages.length >= 0x40000000) return undefined;
      // Timestamps exactly as kafkajs takes them: the given ones sorted as it sorts them (Array.prototype.sort, which
      // compares strings), else now; a record without one is stamped now.
      const now = Date.now();
      let stamps: unknown[] | undefined;
      for (const m of messages) {
        if (!isPlain(m)) return undefined;
        const t = m.timestamp;
        if (t != null) (stamps ??= []).push(t);
      }
      stamps?.sort();
      const firstTimestamp = stamps === undefined ? now : stamps[0];
      const maxTimestamp = stamps === undefined ? now : stamps[stamps.length - 1];
      if (!isInt64(firstTimestamp) || !isInt64(maxTimestamp)) return undefined;
      let recordsSize = 0;
      for (let i = 0; i < messages.length; i++) {
        const { key, value, headers = {}, timestamp } = messages[i] as { key?: unknown; value?: unknown; headers?: unknown; timestamp?: unknown };
        const delta = ((timestamp || now) as number) - (firstTimestamp as number);
        const recordSize = records.add(i, delta, key, value, headers);
        if (recordSize < 0) return undefined;
        recordsSize += recordSize;
      }
      plans.push({ partition, firstSequence, firstTimestamp, maxTimestamp, count: messages.length, recordsSize });
      size += PARTITION_HEAD + recordsSize;
    }
  }

  const buf = Buffer.allocUnsafe(FRAME_ROOM + size);
  let at = writeString(buf, FRAME_ROOM, transactionalId as string | null, idSize);
  at = buf.writeInt16BE(acks, at);
  at = buf.writeInt32BE(timeout, at);
  at = buf.writeInt32BE(topics.length, at);
  const attributes = transactionalId ? TRANSACTIONAL : 0;
  let p = 0;
  for (const topic of topics) {
    const { topic: name, partitions } = topic as { topic: string; partitions: unknown[] };
    at = writeString(buf, at, name, stringSize(name));
    at = buf.writeInt32BE(partitions.length, at);
    for (let n = 0; n < partitions.length; n++) {
      const plan = plans[p++]!;
      at = buf.writeInt32BE(plan.partition, at);
      at = buf.writeInt32BE(PARTITION_HEAD - 8 + plan.recordsSize, at); // the record set: offset, length, batch
      at = buf.writeInt32BE(0, at); // first offset (64 bits): 0, the broker assigns offsets
      at = buf.writeInt32BE(0, at);
      at = buf.writeInt32BE(BATCH_HEAD + plan.recordsSize, at);
      at = buf.writeInt32BE(0, at); // partition leader epoch
      buf[at++] = MAGIC;
      const crcAt = at;
      at += 4;
      at = buf.writeInt16BE(attributes, at);
      at = buf.writeInt32BE(plan.count - 1, at); // last offset delta
      at = writeInt64(buf, at, plan.firstTimestamp, deps);
      at = writeInt64(buf, at, plan.maxTimestamp, deps);
      at = writeInt64(buf, at, producerId, deps);
      at = buf.writeInt16BE(producerEpoch, at);
      at = buf.writeInt32BE(plan.firstSequence, at);
      at = buf.writeInt32BE(plan.count, at);
      at = records.writeTo(buf, at, plan.count);
      buf.writeUInt32BE(deps.crc32c(buf.subarray(crcAt + 4, at)), crcAt);
    }
  }
  if (at !== buf.length) throw new Error(`kafkajs produce request: wrote ${at - FRAME_ROOM} bytes, measured ${size}`);
  const out = deps.encoder(buf.subarray(FRAME_ROOM), size) as KafkajsEncoderLike & { [ROOM]?: Buffer };
  out[ROOM] = buf;
  return out;
}

/** kafkajs' produce request v3 (`stock`) whose `encode()` writes the body in one pass when it can. */
export function oneBufferProduceRequest(stock: (input: ProduceRequestInput) => KafkajsRequest, deps: ProduceRequestDeps): (input: ProduceRequestInput) => KafkajsRequest {
  const records = new RecordList();
  return function produceRequest(input: ProduceRequestInput): KafkajsRequest {
    const request = stock(input);
    const stockEncode = request.encode;
    request.encode = async () => {
      let body: KafkajsEncoderLike | undefined;
      try {
        body = writeProduceBody(input, records, deps);
      } finally {
        records.clear(); // written (already cleared), or left half-measured by an input for kafkajs, or an error
      }
      return body ?? stockEncode();
    };
    return request;
  };
}

/**
 * kafkajs' request framing (`protocol/request.js`: size, api key and version, correlation id, client id, then the
 * body), over `stock` for what it does not take. A body written by {@link oneBufferProduceRequest} gets its frame in
 * the room left in front of it (no copy); any other body is copied once into a buffer of the frame's size, where
 * kafkajs copies it twice into encoders that grow.
 */
export function oneBufferFrame(stock: (input: FrameInput) => Promise<unknown>, deps: Pick<ProduceRequestDeps, 'encoder'>): (input: FrameInput) => Promise<unknown> {
  return async function frame(input: FrameInput): Promise<unknown> {
    const { correlationId, clientId, request } = input;
    const payload = (await request.encode()) as (Partial<KafkajsEncoderLike> & { [ROOM]?: Buffer }) | null | undefined;
    const idSize = stringSize(clientId);
    const body = payload == null || !Buffer.isBuffer(payload.buf) ? undefined : payload.buffer;
    if (body === undefined || !Buffer.isBuffer(body) || idSize < 0) {
      return stock({ ...input, request: { ...request, encode: async () => payload } }); // its result, or its error
    }
    const head = 4 + 2 + 2 + 4 + idSize;
    const room = payload![ROOM];
    let buf: Buffer;
    if (room !== undefined && head <= FRAME_ROOM && room.length === FRAME_ROOM + body.length) {
      buf = room.subarray(FRAME_ROOM - head);
    } else {
      buf = Buffer.allocUnsafe(head + body.length);
      body.copy(buf, head);
    }
    let at = buf.writeInt32BE(head - 4 + body.length, 0);
    at = buf.writeInt16BE(request.apiKey, at);
    at = buf.writeInt16BE(request.apiVersion, at);
    at = buf.writeInt32BE(correlationId, at);
    writeString(buf, at, clientId as string | null, idSize);
    return deps.encoder(buf, buf.length);
  };
}

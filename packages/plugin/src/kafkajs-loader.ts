import { createRequire } from 'node:module';
import type * as KafkaJS from 'kafkajs';
import { lazyLibrary, type LibraryLoader } from '@sluice/core';
import { oneBufferFrame, oneBufferProduceRequest, type FrameInput, type KafkajsEncoderLike, type KafkajsRequest, type ProduceRequestInput } from './kafkajs-produce-request.js';
import { fastRecordReader, type RecordDecoder } from './kafkajs-record-reader.js';
import { quietKafkajsRequestQueue } from './kafkajs-request-queue.js';
import { sizedRecordWriter, type KafkajsRecordInput, type RecordEncoder } from './kafkajs-record-writer.js';

const require = createRequire(import.meta.url);

/** What this module changes of kafkajs' protocol encoder (`src/protocol/encoder.js`, kafkajs 2.2). */
interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeUVarInt(value: number): KafkajsEncoder;
}

interface KafkajsEncoderClass {
  new (initialSize?: number): KafkajsEncoder;
  readonly prototype: KafkajsEncoder;
  nextPowerOfTwo(value: number): number;
}

/** The kafkajs releases whose encoder this module was checked against: every write fills the bytes it claims. */
const POOLED_ENCODER_RELEASES = /^2\.2\./;

let loaded: typeof KafkaJS | undefined;
const EMPTY = Buffer.alloc(0);

/**
 * kafkajs, for every Sluice package with a Kafka client (load it through here, never with a static import, so that
 * the change below applies and a configuration without Kafka resources never loads it).
 *
 * kafkajs encodes each record, each record header and each request in an `Encoder` that starts with a zero-filled
 * `Buffer.alloc(512)` (an ArrayBuffer of its own every time), grows by allocating zero-filled copies, and writes
 * every varint through a `Buffer.from([...])`. For a 1 KiB CloudEvent in binary mode that is a dozen allocations per
 * record: the largest single cost of the Kafka broker class's produce path (bench/kafka.mjs, docs/kafka-broker.md).
 * Before kafkajs loads, its encoder is replaced by one that allocates with `Buffer.allocUnsafe` (Node's buffer pool)
 * and writes varints in place. That is safe because the encoder only ever hands out the bytes it wrote (`buffer` is
 * `buf` cut at `offset`, and every write fills what it claims). Its record writer is replaced too, by one that writes
 * a record in one pass into one buffer of its size (kafkajs-record-writer.ts), and its CRC-32C of each record batch,
 * computed a byte at a time, by the `crc-32` package's (slicing by 16, about three times faster). Its produce request,
 * which encoded records, batch, partitions, topics and frame in encoders of their own and copied each into the next, is
 * replaced by one that measures the request and writes it into one buffer, frame included (kafkajs-produce-request.ts:
 * 2.3 against 7.6 µs per record for a request of 35, bench/kafkajs-produce.mjs). The bytes on the wire are the same (a
 * test compares them with stock kafkajs'). On the way in, its record decoder is replaced by one that gives the same
 * records without kafkajs' per-record 64-bit arithmetic and header copies (kafkajs-record-reader.ts; a test compares
 * the decoded batches with stock kafkajs'). Other kafkajs releases are loaded unchanged.
 */
export function loadKafkajs(): typeof KafkaJS {
  if (loaded === undefined) {
    poolKafkajsEncoder();
    // No 1 ms timer polling each idle connection (and no TimeoutNegativeWarning on Node 24): kafkajs-request-queue.ts.
    quietKafkajsRequestQueue();
    loaded = require('kafkajs') as typeof KafkaJS;
  }
  return loaded;
}

function poolKafkajsEncoder(): void {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (!POOLED_ENCODER_RELEASES.test(version)) return;
  const path = require.resolve('kafkajs/src/protocol/encoder.js');
  // Loaded already (by code that imported kafkajs itself): its modules hold the stock class, so only the methods change.
  const before = require.cache[path] !== undefined;
  const Encoder = require(path) as KafkajsEncoderClass;
  Encoder.prototype.ensureAvailable = function ensureAvailable(this: KafkajsEncoder, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  Encoder.prototype.writeUVarInt = function writeUVarInt(this: KafkajsEncoder, value: number): KafkajsEncoder {
    this.ensureAvailable(5); // a 32-bit varint takes at most 5 bytes
    let rest = value;
    while ((rest & 0xffffff80) !== 0) {
      this.buf[this.offset++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buf[this.offset++] = rest & 0x7f;
    return this;
  };
  if (before) return;
  // The same class (prototype, static methods), constructed from the pool. kafkajs' modules read the encoder with
  // `require`, from this cache entry, when they load.
  function PooledEncoder(this: KafkajsEncoder, initialSize = 511): void {
    this.buf = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(initialSize));
    this.offset = 0;
  }
  PooledEncoder.prototype = Encoder.prototype;
  Object.setPrototypeOf(PooledEncoder, Encoder);
  require.cache[path]!.exports = PooledEncoder;
  // An encoder of kafkajs' class over bytes Sluice's writers wrote: its content is `buf` up to `offset`.
  const encoder = (buf: Buffer, offset: number): KafkajsEncoderLike => {
    const out = Object.create(Encoder.prototype) as KafkajsEncoderLike;
    out.buf = buf;
    out.offset = offset;
    return out;
  };
  // The produce request and the record batch read these with `require` when they load, after this: the record writer
  // (kafkajs-record-writer.ts) and the CRC-32C of a batch (the crc-32 package's).
  const recordPath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  const stockRecord = require(recordPath) as (input: KafkajsRecordInput) => RecordEncoder;
  require.cache[recordPath]!.exports = sizedRecordWriter(stockRecord, () => encoder(EMPTY, 0)); // its buffer is the writer's
  const crcPath = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  require(crcPath);
  const { buf: crc32c } = require('crc-32/crc32c') as { buf(this: void, data: Uint8Array, seed?: number): number };
  const crc = (data: Buffer): number => crc32c(data) >>> 0;
  require.cache[crcPath]!.exports = crc;
  // The produce request (v3, which v4–v7 read with `require` when they load) and the framing of every request, read by
  // the connection when it loads: Sluice's, written in one pass into one buffer (kafkajs-produce-request.ts). kafkajs'
  // own, loaded here after the record writer and the CRC above, takes what Sluice's leave to it.
  const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): { getHighBits(): number; getLowBits(): number } };
  const producePath = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
  const stockProduce = require(producePath) as (input: ProduceRequestInput) => KafkajsRequest;
  require.cache[producePath]!.exports = oneBufferProduceRequest(stockProduce, { encoder, crc32c: crc, long: (v) => Long.fromValue(v) });
  const framePath = require.resolve('kafkajs/src/protocol/request.js');
  const stockFrame = require(framePath) as (input: FrameInput) => Promise<unknown>;
  require.cache[framePath]!.exports = oneBufferFrame(stockFrame, { encoder });
  // The record-batch decoder reads this one when it loads: each fetched record, decoded without Long arithmetic and
  // with its headers grouped in place (kafkajs-record-reader.ts).
  const readerPath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
  const stockReader = require(readerPath) as RecordDecoder;
  require.cache[readerPath]!.exports = fastRecordReader(stockReader);
}

/** The kafkajs module, as {@link loadKafkajs} gives it. */
export type KafkajsModule = ReturnType<typeof loadKafkajs>;

/**
 * {@link loadKafkajs} for a resource that needs kafkajs (a KafkaSource, a KafkaSink, a Kafka-class broker), called
 * when it starts: a configuration without one never loads kafkajs (some 150 modules), and a failed load is a
 * `SLUICE_LIBRARY_UNAVAILABLE` error naming the resource.
 */
export const kafkajsLibrary: LibraryLoader<KafkajsModule> = lazyLibrary('kafkajs', async () => loadKafkajs());

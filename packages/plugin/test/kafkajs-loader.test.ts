import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { loadKafkajs } from '../src/index.js';
import { fastRecordReader } from '../src/kafkajs-record-reader.js';

const require = createRequire(import.meta.url);
const FIXTURE = new URL('./fixtures/kafkajs-encodings.mjs', import.meta.url);
const DECODINGS = new URL('./fixtures/kafkajs-decodings.mjs', import.meta.url);

/** A fixture's output with stock kafkajs: a worker thread has a module cache of its own, so it loads kafkajs unchanged. */
function stockEncodings(fixture = FIXTURE): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(fixture);
    worker.once('message', (out: string[]) => {
      resolve(out);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('loadKafkajs gives kafkajs with an encoder that allocates from the buffer pool and a sized record writer, writing the same bytes as stock kafkajs', async () => {
  const kafkajs = loadKafkajs();
  assert.equal(typeof kafkajs.Kafka, 'function');
  assert.equal(loadKafkajs(), kafkajs);
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { buf: Buffer };
  const { buf } = new Encoder();
  assert.ok(buf.buffer.byteLength > buf.length, `a new encoder's ${buf.length}-byte buffer is a slice of the pool, not an ArrayBuffer of its own`);

  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => { buf: Buffer; offset: number };
  const record = Record({ key: null, value: Buffer.alloc(1024, 1), headers: { ce_id: '1' } });
  assert.equal(record.buf.length, record.offset, 'a record is written into a buffer of its size');

  const { encodings } = (await import(FIXTURE.href)) as Fixture;
  const [pooled, stock] = await Promise.all([encodings(), stockEncodings()]);
  assert.equal(pooled.length, stock.length);
  for (let i = 0; i < stock.length; i++) assert.equal(pooled[i], stock[i], `encoding ${i} differs from stock kafkajs'`);
});

test("loadKafkajs gives kafkajs a record decoder that decodes fetched batches to the same records as stock kafkajs'", async () => {
  loadKafkajs();
  const { decodings } = (await import(DECODINGS.href)) as { decodings(): Promise<string[]> };
  const [fast, stock] = await Promise.all([decodings(), stockEncodings(DECODINGS)]);
  assert.equal(fast.length, stock.length);
  assert.ok(stock[0]!.includes('"offset":"2"') && stock[0]!.includes('"ce_id"'), 'the first batch decodes to records with headers');
  for (let i = 0; i < stock.length; i++) assert.equal(fast[i], stock[i], `batch ${i} decodes differently from stock kafkajs`);
});

test('the record reader decodes a binary-mode CloudEvent record itself, without kafkajs', () => {
  loadKafkajs();
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => { buffer: Buffer };
  const headers = { ce_specversion: '1.0', ce_id: 'a', ce_type: 't', ce_source: '/s', 'content-type': 'application/json', ce_dup: ['x', 'y'] };
  const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => { readVarIntBytes(): Buffer };
  const buffer = new Decoder(Record({ offsetDelta: 3, timestampDelta: 7, key: null, value: Buffer.from('{}'), headers }).buffer).readVarIntBytes(); // without its length
  const read = fastRecordReader(() => {
    throw new Error('handed to kafkajs');
  });
  const context = { firstOffset: '100', firstTimestamp: '1765036800000', magicByte: 2 };
  const decoder = { buffer, offset: 0 };
  const record = read(decoder, context) as { offset: string; timestamp: string; key: null; value: Buffer; headers: Record<string, unknown> };
  assert.equal(decoder.offset, buffer.length);
  assert.equal(record.offset, '103');
  assert.equal(record.timestamp, '1765036800007');
  assert.equal(record.key, null);
  assert.equal(record.value.toString(), '{}');
  assert.deepEqual(Object.keys(record.headers), Object.keys(headers));
  assert.deepEqual(record.headers['ce_dup'], [Buffer.from('x'), Buffer.from('y')]);
  assert.throws(() => read({ buffer, offset: 0 }, { ...context, firstOffset: '12345678901234567890' }), /handed to kafkajs/, 'an offset beyond 15 digits is left to kafkajs');
});

interface Encoded {
  buf: Buffer;
  offset: number;
}
interface Fixture {
  encodings(): Promise<string[]>;
  produceInputs(): { sluice: boolean; input: object }[];
  atNow<T>(fn: () => Promise<T>): Promise<T>;
}

test("loadKafkajs writes Sluice's produce requests in one buffer, the frame in place before the body, and leaves the rest to kafkajs", async () => {
  loadKafkajs();
  const produce = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (input: object) => { apiKey: number; apiVersion: number; encode(): Promise<Encoded> };
  const frame = require('kafkajs/src/protocol/request.js') as (input: object) => Promise<Encoded>;
  const { produceInputs, atNow } = (await import(FIXTURE.href)) as Fixture;
  const inputs = produceInputs();
  assert.ok(inputs.some((i) => i.sluice) && inputs.some((i) => !i.sluice));
  for (const [i, { sluice, input }] of inputs.entries()) {
    const request = produce(input);
    const body = await atNow(() => request.encode()).catch(() => undefined);
    if (body === undefined) {
      assert.equal(sluice, false, `produce input ${i} is refused`);
      continue;
    }
    const framed = await frame({ correlationId: 1, clientId: 'sluice', request: { ...request, encode: async () => body } });
    // Framed in place: the frame ends where the body ends, in the same memory (a copy would end elsewhere).
    const inPlace = framed.buf.buffer === body.buf.buffer && framed.buf.byteOffset + framed.offset === body.buf.byteOffset + body.offset;
    assert.equal(inPlace, sluice, `produce input ${i} is ${sluice ? '' : 'not '}written by Sluice`);
    assert.equal(framed.offset, 4 + 2 + 2 + 4 + 2 + 'sluice'.length + body.offset);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { loadKafkajs } from '../src/index.js';

const require = createRequire(import.meta.url);
const FIXTURE = new URL('./fixtures/kafkajs-encodings.mjs', import.meta.url);

/** The encodings of stock kafkajs: a worker thread has a module cache of its own, so it loads kafkajs unchanged. */
function stockEncodings(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(FIXTURE);
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

  const { encodings } = (await import(FIXTURE.href)) as { encodings(): Promise<string[]> };
  const [pooled, stock] = await Promise.all([encodings(), stockEncodings()]);
  assert.equal(pooled.length, stock.length);
  for (let i = 0; i < stock.length; i++) assert.equal(pooled[i], stock[i], `encoding ${i} differs from stock kafkajs'`);
});

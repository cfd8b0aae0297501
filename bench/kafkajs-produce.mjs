// In-process cost of encoding one Kafka produce request as kafkajs sends it (the request body, then its frame:
// `protocol/request.js`), for requests of 1, 10 and 35 records shaped like the Kafka broker class's (a 1 KiB binary
// CloudEvent with eight string headers, no key, no timestamp), and of one record alone (kafkajs' record writer).
// Builds take turns, each in a process of its own (a fresh module cache): "stock" is kafkajs as published, loaded
// directly; every other build is a checkout whose packages/plugin/dist `loadKafkajs()` loads it.
//
//   npx tsc -b && node bench/kafkajs-produce.mjs
//   BENCH_BUILDS=before=/tmp/old,after=.   checkouts to compare (default: after=. only), besides stock
//   BENCH_ROUNDS=3                         turns per build; each turn: a 1 s warm-up, then 5 × 0.4 s per size
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const SIZES = [1, 10, 35];
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else main();

function main() {
  const builds = [
    ['stock', ROOT],
    ...(process.env.BENCH_BUILDS ?? 'after=.')
      .split(',')
      .map((b) => b.split('='))
      .map(([n, p]) => [n, resolve(p)]),
  ];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  console.log(
    `kafkajs produce request, encode + frame; ${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const results = new Map(builds.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, root] of builds) {
      const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name === 'stock' ? 'stock' : 'loader', root], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${name}: ${run.stderr}`);
      results.get(name).push(JSON.parse(run.stdout));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = ['record', ...SIZES.map(String)];
  console.log(
    `load average after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; medians of ${rounds} turns, µs per request (per record)`,
  );
  console.log(['records', ...builds.map(([n]) => n)].join('\t'));
  for (const row of rows) {
    const cells = builds.map(([name]) => {
      const us = median(results.get(name).map((x) => x[row]));
      const per = row === 'record' ? 1 : Number(row);
      return per === 1 ? us.toFixed(2) : `${us.toFixed(1)} (${(us / per).toFixed(2)})`;
    });
    console.log([row === 'record' ? 'Record() alone' : row, ...cells].join('\t'));
  }
}

function event(i) {
  return {
    key: null,
    value: Buffer.alloc(1024, i),
    headers: {
      ce_specversion: '1.0',
      ce_id: `3f2c1c7e-8a55-4b7e-9f0c-${String(i).padStart(12, '0')}`,
      ce_source: '/apis/v1/namespaces/default/brokers/default',
      ce_type: 'dev.sluice.bench',
      ce_time: '2026-12-06T16:00:00.000Z',
      'content-type': 'application/json',
      ce_sluicetypes: 'x',
      ce_traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  };
}

/** µs per call of `fn` (async), the median of 5 slices of 0.4 s after a 1 s warm-up. */
async function time(fn) {
  const slice = async (ms) => {
    const end = performance.now() + ms;
    let n = 0;
    const start = performance.now();
    while (performance.now() < end) {
      for (let i = 0; i < 50; i++) await fn();
      n += 50;
    }
    return ((performance.now() - start) * 1000) / n;
  };
  await slice(1000);
  const out = [];
  for (let i = 0; i < 5; i++) out.push(await slice(400));
  return out.sort((a, b) => a - b)[2];
}

async function child(mode, root) {
  const require = createRequire(join(root, 'packages/plugin/package.json'));
  if (mode === 'loader') (await import(pathToFileURL(join(root, 'packages/plugin/dist/index.js')).href)).loadKafkajs();
  const produce = require('kafkajs/src/protocol/requests/produce/v7/request.js');
  const frame = require('kafkajs/src/protocol/request.js');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  const out = {};
  const one = event(1);
  out.record = await time(async () => Record({ ...one, offsetDelta: 0, timestampDelta: 0 }));
  for (const size of SIZES) {
    const messages = Array.from({ length: size }, (_, i) => event(i));
    const topicData = [{ topic: 'knative-broker-default-bench', partitions: [{ partition: 0, firstSequence: 0, messages }] }];
    out[size] = await time(() => frame({ correlationId: 1, clientId: 'sluice-bench', request: produce({ acks: -1, timeout: 30000, compression: 0, topicData }) }));
  }
  process.stdout.write(JSON.stringify(out));
}

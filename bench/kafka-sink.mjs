// KafkaSink against kafkajs producing directly, same Kafka, same run. Both write 1 KiB events with acks=all from 64
// concurrent senders for `durationMs` (after a 2 s warm-up): the baseline is one kafkajs producer in this process
// sending one record per `send` (what an application embedding kafkajs does); Sluice is `sluice run` with a KafkaSink,
// fed over HTTP by the closed-loop load generator, each event answered 202 only after Kafka's acknowledgement.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { startSluice } from '@sluice/testing';
import { closedLoop } from './load.mjs';

const PAYLOAD = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) }));

async function kafkajsDirect(brokers, topic, durationMs, concurrency) {
  const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  let seq = 0;
  const loop = async (ms) => {
    let ok = 0;
    const end = performance.now() + ms;
    const worker = async () => {
      while (performance.now() < end) {
        const id = `d-${seq++}`;
        await producer.send({
          topic,
          acks: -1,
          messages: [{ key: null, value: PAYLOAD, headers: { ce_specversion: '1.0', ce_id: id, ce_source: '/bench', ce_type: 'bench.event', 'content-type': 'application/json' } }],
        });
        ok++;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { ok, rate: ok / ((performance.now() - t0) / 1000) };
  };
  try {
    await loop(2000);
    return await loop(durationMs);
  } finally {
    await producer.disconnect();
  }
}

/** Runs both setups; returns events/s of each and their ratio. */
export async function runKafkaSink({ brokers, durationMs = 5000, concurrency = 64 }) {
  const suffix = randomUUID().slice(0, 8);
  const admin = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const directTopic = `bench-direct-${suffix}`;
  const sinkTopic = `bench-sink-${suffix}`;
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: directTopic, numPartitions: 10, replicationFactor: 1 }] });
    const direct = await kafkajsDirect(brokers, directTopic, durationMs, concurrency);
    const sluice = await startSluice({
      yaml: `apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata:\n  name: bench\nspec:\n  topic: ${sinkTopic}\n  bootstrapServers: ["${brokers}"]\n  numPartitions: 10\n  replicationFactor: 1\n`,
      stderr: 'inherit',
    });
    let viaSink;
    try {
      const url = `${sluice.url}/kafkasinks/default/bench`;
      await closedLoop(url, { concurrency, durationMs: 2000 });
      viaSink = await closedLoop(url, { concurrency, durationMs });
    } finally {
      await sluice.stop();
    }
    return { directPerSec: direct.rate, sinkPerSec: viaSink.rate, sinkFailed: viaSink.failed, sinkP50: viaSink.p50, sinkP99: viaSink.p99, ratio: viaSink.rate / direct.rate };
  } finally {
    await admin.deleteTopics({ topics: [directTopic, sinkTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

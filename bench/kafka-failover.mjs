// Instance failover time of the Kafka broker class: two `sluice run` instances on one Kafka-class broker, SIGKILL of
// one of them, and the time from the kill to the first delivery, by the survivor, of an event in a partition the
// killed instance owned. Not a timed test: a measurement, printed (and written to bench/results/kafka-failover.json).
//
//   node bench/kafka-failover.mjs                 # starts a local single-node Kafka unless KAFKA_BROKERS is set
//   FAILOVER_RUNS=5 node bench/kafka-failover.mjs
//
// Each run: a fresh broker topic (6 partitions) and trigger; both instances ready and the trigger's group Stable with
// two members; the assignment read from Kafka (so the killed member's partitions are known); then SIGKILL of one
// instance while events go to the other's ingress every 10 ms, each with its own `partitionkey`. An event's partition
// is the one kafkajs's default partitioner gives its key (the same partitioner the store uses). Needs `npx tsc -b`.
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerConfig, kafkaForBench } from './processes.mjs';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { startSluice } from '@sluice/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTITIONS = 6;
const runs = Number(process.env.FAILOVER_RUNS ?? 3);

const kafkaService = await kafkaForBench();
const brokers = kafkaService.brokers;
const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();

// The subscriber: when each event arrived.
const deliveredAt = new Map();
const sub = createServer((req, res) => {
  const id = req.headers['ce-id'];
  req.resume();
  req.on('end', () => {
    if (typeof id === 'string' && !deliveredAt.has(id)) deliveredAt.set(id, performance.now());
    res.writeHead(202).end();
  });
});
await new Promise((resolve) => sub.listen(0, '127.0.0.1', resolve));
const subUrl = `http://127.0.0.1:${sub.address().port}/`;

const partitioner = kafkajs.Partitioners.DefaultPartitioner();
const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 0 }));
const partitionOf = (key) => partitioner({ topic: 't', partitionMetadata, message: { key } });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(url, broker, id) {
  const res = await fetch(`${url}/default/${broker}`, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/failover', 'ce-type': 'failover', 'ce-partitionkey': id, 'content-type': 'text/plain' },
    body: id,
  });
  await res.arrayBuffer();
  return res.status;
}

async function describe(groupId) {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0];
  return {
    state: g?.state,
    members: (g?.members ?? []).map((m) => ({
      memberId: m.memberId,
      partitions: kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {},
    })),
  };
}

async function oneRun(n) {
  const broker = `failover-${randomUUID().slice(0, 8)}`;
  const topic = `knative-broker-default-${broker}`;
  const groupId = `knative-trigger-default-${broker}`;
  // Every event goes to the trigger (no filter); the broker's delivery is Knative's default.
  const yaml = brokerConfig({ broker, trigger: broker, sinkUrl: subUrl, brokers, partitions: PARTITIONS, delivery: {}, type: null });
  const a = await startSluice({ yaml, readyTimeoutMs: 120_000 });
  const b = await startSluice({ yaml, readyTimeoutMs: 120_000 });
  try {
    let before;
    for (let i = 0; ; i++) {
      before = await describe(groupId);
      if (before.state === 'Stable' && before.members.length === 2 && before.members.every((m) => (m.partitions[topic] ?? []).length > 0)) break;
      if (i > 600) throw new Error(`group never stable with two members: ${JSON.stringify(before)}`);
      await sleep(100);
    }
    // Warm both instances' delivery paths.
    const warm = Array.from({ length: 60 }, (_, i) => `w${n}-${i}`);
    for (const id of warm) await send(b.url, broker, id);
    for (let i = 0; warm.some((id) => !deliveredAt.has(id)); i++) {
      if (i > 600) throw new Error('warm-up events not delivered');
      await sleep(100);
    }

    const killedAt = performance.now();
    a.child.kill('SIGKILL');
    const sent = [];
    let stop = false;
    const sender = (async () => {
      for (let i = 0; !stop; i++) {
        const id = `f${n}-${i}`;
        sent.push({ id, partition: partitionOf(id), at: performance.now(), status: await send(b.url, broker, id) });
        await sleep(10);
      }
    })();
    // The member that disappears is the killed instance's.
    let after;
    let stableAt;
    for (let i = 0; ; i++) {
      after = await describe(groupId);
      if (after.state === 'Stable' && after.members.length === 1) {
        stableAt = performance.now();
        break;
      }
      if (i > 1200) throw new Error('the group never settled on one member');
      await sleep(50);
    }
    const survivor = after.members[0].memberId;
    const killedMember = before.members.find((m) => m.memberId !== survivor);
    const killedParts = new Set(killedMember?.partitions[topic] ?? []);
    // Keep sending until one event of a killed partition got through, then a little longer.
    let firstMoved;
    for (let i = 0; i < 1200 && firstMoved === undefined; i++) {
      for (const s of sent) if (killedParts.has(s.partition) && deliveredAt.has(s.id)) firstMoved = Math.min(firstMoved ?? Infinity, deliveredAt.get(s.id));
      if (firstMoved === undefined) await sleep(50);
    }
    await sleep(500);
    stop = true;
    await sender;
    for (let i = 0; sent.some((s) => s.status === 202 && !deliveredAt.has(s.id)) && i < 1200; i++) await sleep(50);
    const lost = sent.filter((s) => s.status === 202 && !deliveredAt.has(s.id)).length;
    const waitOfKilled = sent.filter((s) => killedParts.has(s.partition) && deliveredAt.has(s.id)).map((s) => deliveredAt.get(s.id) - s.at);
    return {
      run: n,
      killedPartitions: [...killedParts].sort(),
      firstDeliveryAfterKillMs: firstMoved === undefined ? null : Math.round(firstMoved - killedAt),
      groupStableWithOneMemberMs: Math.round(stableAt - killedAt),
      longestWaitOfAnEventMs: Math.round(Math.max(0, ...waitOfKilled)),
      sent: sent.length,
      accepted: sent.filter((s) => s.status === 202).length,
      lost,
    };
  } finally {
    await a.stop('SIGKILL').catch(() => undefined);
    await b.stop().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, `${groupId}-retry`] }).catch(() => undefined);
  }
}

const results = [];
try {
  for (let n = 1; n <= runs; n++) {
    const r = await oneRun(n);
    results.push(r);
    console.log(JSON.stringify(r));
  }
} finally {
  await admin.disconnect();
  sub.close();
  await kafkaService.stop();
}
const figures = results.map((r) => r.firstDeliveryAfterKillMs).filter((v) => v !== null);
console.log(`failover (kill -9 → first delivery of a killed instance's partition by the survivor), ${figures.length} runs: ${figures.map((v) => `${(v / 1000).toFixed(1)} s`).join(', ')}`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/kafka-failover.json'), `${JSON.stringify({ at: new Date().toISOString(), runs: results }, null, 2)}\n`);

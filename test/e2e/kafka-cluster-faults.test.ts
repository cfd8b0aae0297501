// The Kafka broker class against the faults a real Kafka cluster has: a three-node KRaft cluster on loopback
// (deploy/local-services/kafka.mjs startCluster; replication factor 3, min.insync.replicas 2), one `sluice run` under
// steady load, and a ledger of every event that got a 202. SIGKILL of a partition leader, SIGKILL of the active
// controller, one node stopped for 60 s, and a full cluster restart: no accepted event is lost, every request is
// answered (202, or 503 with Retry-After while Kafka cannot take writes; never 500, never a hang), and Sluice recovers
// by itself. The cluster is started here (it needs Java and Maven, like the other Kafka tests).
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { Agent, request } from 'undici';
import { join } from 'node:path';
import { ROOT, cleanupScope, startSluice, startSubscriber, tempDir, waitFor, type SluiceProcess, type Subscriber } from './harness.js';
import { documents, kafkaBroker, trigger } from './manifests.js';

interface ClusterNode {
  readonly id: number;
  readonly running: boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}
interface Cluster {
  readonly env: { KAFKA_BROKERS: string };
  readonly nodes: readonly ClusterNode[];
  leaderOf(topic: string, partition?: number): Promise<ClusterNode | undefined>;
  controller(): ClusterNode | undefined;
  restartAll(): Promise<void>;
  stop(): Promise<void>;
}

const BROKER = 'faults';
/** A fault case includes waiting for Kafka nodes to start on a loaded machine: beyond the runner's 5 min default. */
const FAULT_TIMEOUT_MS = 900_000;
const TOPIC = `knative-broker-default-${BROKER}`;

let cluster: Cluster | undefined;
let startError: Error | undefined;
let sub: Subscriber;
let sluice: SluiceProcess;
const cleanup = cleanupScope({ timeout: FAULT_TIMEOUT_MS });

before(
  async () => {
    const mod = (await import(join(ROOT, 'deploy/local-services/kafka.mjs'))) as { startCluster(o: { nodes: number }): Promise<Cluster> };
    try {
      cluster = await mod.startCluster({ nodes: 3 });
    } catch (err) {
      startError = err as Error;
      return;
    }
    cleanup.add(() => cluster!.stop());
    sub = await startSubscriber();
    cleanup.add(() => sub.close());
    const dir = tempDir();
    cleanup.add(() => dir.remove());
    sluice = await startSluice({
      dataDir: dir.path,
      // Creating the topics on three brokers and waiting until every broker knows them takes a while on a loaded machine.
      readyTimeoutMs: 120_000,
      yaml: documents(
        kafkaBroker(BROKER, {
          servers: cluster.env.KAFKA_BROKERS,
          partitions: 3,
          replicationFactor: 3,
          delivery: { retry: 20, backoffDelay: 'PT0.2S' },
        }),
        trigger('all', { broker: BROKER, subscriber: sub.url }),
      ),
    });
    cleanup.add(() => sluice.stop());
  },
  { timeout: FAULT_TIMEOUT_MS },
);

/** The cluster, or a loud skip (a failure with CI=true) when it could not start. */
function requireCluster(t: TestContext): Cluster | undefined {
  if (cluster) return cluster;
  const message = `the three-node Kafka cluster did not start: ${startError?.message.split('\n')[0] ?? 'unknown'}`;
  if (process.env['CI'] === 'true') throw new Error(message);
  t.skip(message);
  return undefined;
}

interface LoadResult {
  readonly accepted: Set<string>;
  readonly statuses: Record<string, number>;
  /** Requests that got no answer at all (transport error or the client's 60 s hang detector). */
  readonly unanswered: string[];
  /** 503 answers without a Retry-After header. */
  withoutRetryAfter: number;
}

let round = 0;

/** Steady load (8 senders) while `during` runs; returns the ledger. */
async function underLoad(during: (load: LoadResult) => Promise<void>): Promise<LoadResult> {
  const r = ++round;
  const result: LoadResult = { accepted: new Set(), statuses: {}, unanswered: [], withoutRetryAfter: 0 };
  const dispatcher = new Agent({ connections: 8 });
  let stop = false;
  const senders = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const id = `r${r}-w${w}-${i}`;
      try {
        const res = await request(`${sluice.url}/default/${BROKER}`, {
          method: 'POST',
          dispatcher,
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
          headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/faults', 'ce-type': 't', 'ce-partitionkey': id, 'content-type': 'text/plain' },
          body: `payload ${id}`,
        });
        await res.body.dump();
        result.statuses[res.statusCode] = (result.statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 202) result.accepted.add(id);
        else if (res.statusCode === 503 && res.headers['retry-after'] === undefined) result.withoutRetryAfter++;
        if (res.statusCode !== 202) await new Promise((resolve) => setTimeout(resolve, 200)); // as a client honouring Retry-After would, briefly
      } catch (err) {
        result.unanswered.push(`${id}: ${(err as Error).message}`);
      }
    }
  });
  try {
    await during(result);
  } finally {
    stop = true;
    await Promise.all(senders);
    await dispatcher.close();
  }
  return result;
}

/** Waits until `n` more events were accepted. */
async function acceptedMore(load: LoadResult, n: number, what: string, timeoutMs = 120_000): Promise<void> {
  const target = load.accepted.size + n;
  await waitFor(() => load.accepted.size >= target, what, timeoutMs);
}

/** Every accepted event reaches the subscriber; only 202 and 503 (with Retry-After) were answered. */
async function checkLedger(load: LoadResult): Promise<void> {
  assert.deepEqual(load.unanswered, [], 'every request is answered');
  assert.deepEqual(
    Object.keys(load.statuses).filter((s) => s !== '202' && s !== '503'),
    [],
    `only 202 and 503 answers (got ${JSON.stringify(load.statuses)})`,
  );
  assert.equal(load.withoutRetryAfter, 0, 'every 503 carries Retry-After');
  assert.ok(load.accepted.size > 0);
  const missing = (): string[] => {
    const got = new Set(sub.ids());
    return [...load.accepted].filter((id) => !got.has(id));
  };
  await waitFor(() => missing().length === 0, `all ${load.accepted.size} accepted events at the subscriber`, 180_000).catch(() => undefined);
  const lost = missing();
  if (lost.length > 0) {
    // Say where it was lost: never stored by Kafka (producer side) or stored and not delivered (consumer side).
    const inKafka = await idsInTopic(new Set(lost));
    process.stderr.write(`--- sluice output (last 60 lines) ---\n${sluice.output().split('\n').slice(-60).join('\n')}\n`);
    assert.fail(
      `${lost.length} of ${load.accepted.size} accepted events never reached the subscriber; in the broker topic: ${lost
        .slice(0, 20)
        .map((id) => `${id} ${inKafka.has(id) ? 'present' : 'ABSENT'}`)
        .join(', ')}`,
    );
  }
}

/** Which of `wanted` are records of the broker topic (read from the beginning by a throwaway group). */
async function idsInTopic(wanted: Set<string>): Promise<Set<string>> {
  const kafka = new kafkajs.Kafka({ brokers: cluster!.env.KAFKA_BROKERS.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  const found = new Set<string>();
  const consumer = kafka.consumer({ groupId: `faults-check-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if ([...remaining.values()].every((n) => n <= 0)) resolve();
    };
    check();
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const id = message.headers?.['ce_id']?.toString();
        if (id !== undefined && wanted.has(id)) found.add(id);
        const end = ends.find((p) => p.partition === partition);
        if (end && Number(message.offset) + 1 >= Number(end.high)) remaining.set(partition, 0);
        check();
      },
    });
    setTimeout(resolve, 60_000);
  });
  await consumer.disconnect();
  return found;
}

test('the broker topic Sluice creates has three replicas and min.insync.replicas 2 of its own', { timeout: FAULT_TIMEOUT_MS }, async (t) => {
  const c = requireCluster(t);
  if (!c) return;
  // Sluice created the topic when its trigger started (before `sluice ready`).
  const kafka = new kafkajs.Kafka({ brokers: c.env.KAFKA_BROKERS.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    assert.deepEqual(
      md.topics[0]!.partitions.map((p) => p.replicas.length),
      [3, 3, 3],
    );
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: TOPIC, configNames: ['min.insync.replicas'] }] });
    const entry = configs.resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas');
    assert.equal(entry?.configValue, '2');
    assert.equal(entry?.isDefault, false, 'set on the topic, not inherited from the cluster');
  } finally {
    await admin.disconnect();
  }
});

test('SIGKILL of a partition leader under load: writes go on, no accepted event is lost', { timeout: FAULT_TIMEOUT_MS }, async (t) => {
  const c = requireCluster(t);
  if (!c) return;
  const load = await underLoad(async (l) => {
    await acceptedMore(l, 200, 'load before the fault');
    const leader = await c.leaderOf(TOPIC, 0);
    assert.ok(leader, 'partition 0 has a leader');
    await leader.kill('SIGKILL');
    await acceptedMore(l, 500, 'accepted events with the leader dead');
    await leader.restart();
    await acceptedMore(l, 200, 'accepted events after the node is back');
  });
  await checkLedger(load);
});

test('SIGKILL of the active controller under load: no accepted event is lost', { timeout: FAULT_TIMEOUT_MS }, async (t) => {
  const c = requireCluster(t);
  if (!c) return;
  const load = await underLoad(async (l) => {
    await acceptedMore(l, 200, 'load before the fault');
    const controller = c.controller();
    assert.ok(controller, 'the active controller is known');
    await controller.kill('SIGKILL');
    await acceptedMore(l, 500, 'accepted events with the controller dead');
    await controller.restart();
    await acceptedMore(l, 200, 'accepted events after the node is back');
  });
  await checkLedger(load);
});

test('one node stopped for 60 s and brought back: writes go on with two replicas, no accepted event is lost', { timeout: FAULT_TIMEOUT_MS }, async (t) => {
  const c = requireCluster(t);
  if (!c) return;
  const load = await underLoad(async (l) => {
    await acceptedMore(l, 200, 'load before the fault');
    const node = c.nodes[2]!;
    await node.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    await acceptedMore(l, 1, 'events accepted with one node stopped');
    await node.restart();
    await acceptedMore(l, 200, 'accepted events after the node is back');
  });
  await checkLedger(load);
});

// After a full restart kafkajs 2.2.4 sometimes stopped consuming without reporting a crash (seen in one run of four
// before GroupConsumer had its watchdog): the watchdog recreates such a consumer. Its warn lines are reported.
test('full cluster restart: 503 with Retry-After while Kafka cannot take writes, then Sluice recovers alone', { timeout: FAULT_TIMEOUT_MS }, async (t) => {
  const c = requireCluster(t);
  if (!c) return;
  const load = await underLoad(async (l) => {
    await acceptedMore(l, 200, 'load before the fault');
    await Promise.all(c.nodes.map((n) => n.kill('SIGKILL')));
    await waitFor(() => (l.statuses['503'] ?? 0) >= 5, '503 answers while the cluster is down', 60_000);
    await c.restartAll();
    await acceptedMore(l, 300, 'accepted events after the cluster restart');
  });
  assert.ok((load.statuses['503'] ?? 0) > 0, 'Kafka down was answered with 503');
  await checkLedger(load);
  const watchdog = sluice
    .output()
    .split('\n')
    .filter((line) => line.includes('Kafka consumer stalled'));
  t.diagnostic(`consumer watchdog restarts: ${watchdog.length}${watchdog.length > 0 ? `\n${watchdog.join('\n')}` : ''}`);
});

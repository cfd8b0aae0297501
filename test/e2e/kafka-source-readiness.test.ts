// @needs kafka
// Readiness of a KafkaSource against the REAL Kafka: NotReady with Knative's reasons while its topic is missing
// (InitialOffsetsCommitted False, OffsetsNotCommitted) or Kafka cannot be reached (ConnectionEstablished False,
// ClientCreationFailed), shown by /readyz; Ready as soon as the topic exists and the source consumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { requireService } from '../services/index.js';
import { startSluice, startSubscriber, waitFor } from './harness.js';

const { Kafka, logLevel } = kafkajs;

interface Status {
  conditions: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

test('a KafkaSource is NotReady while its topic is missing or Kafka is unreachable, and Ready once it consumes', async (t) => {
  const brokers = requireService(t, 'kafka');
  if (!brokers) return;
  const topic = `e2e-ready-${randomUUID().slice(0, 8)}`;
  const sub = await startSubscriber();
  t.after(sub.close);
  const sluice = await startSluice({
    yaml: `apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: later}
spec:
  bootstrapServers: ["${brokers}"]
  topics: [${topic}]
  initialOffset: earliest
  sink: {uri: "${sub.url}"}
---
apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: nowhere}
spec:
  bootstrapServers: ["127.0.0.1:1"]
  topics: [${topic}]
  sink: {uri: "${sub.url}"}
`,
  });
  t.after(() => sluice.stop());
  const status = async (name: string): Promise<Status> => ((await (await fetch(`${sluice.adminUrl}/api/v1/kafkasources/default/${name}`)).json()) as { status: Status }).status;
  const condition = (s: Status, type: string) => s.conditions.find((c) => c.type === type);
  const readyz = async (): Promise<{ status: number; reasons: string[] }> => {
    const res = await fetch(`${sluice.adminUrl}/readyz`);
    return { status: res.status, reasons: ((await res.json()) as { reasons: string[] }).reasons };
  };

  // The topic does not exist: connected, but no offsets (Knative's OffsetsNotCommitted); /readyz says so.
  await waitFor(async () => condition(await status('later'), 'InitialOffsetsCommitted')?.status === 'False', 'the missing topic to be reported', 60_000);
  const later = await status('later');
  assert.equal(condition(later, 'Ready')?.status, 'False');
  assert.equal(condition(later, 'Ready')?.reason, 'OffsetsNotCommitted');
  assert.match(condition(later, 'InitialOffsetsCommitted')!.message!, new RegExp(`topics \\[${topic}\\] not present`));
  assert.equal(condition(later, 'ConnectionEstablished')?.status, 'True');
  // Kafka cannot be reached at all: ConnectionEstablished False (ClientCreationFailed).
  await waitFor(async () => condition(await status('nowhere'), 'ConnectionEstablished')?.status === 'False', 'the unreachable Kafka to be reported', 90_000);
  assert.equal(condition(await status('nowhere'), 'Ready')?.reason, 'ClientCreationFailed');
  const r = await readyz();
  assert.equal(r.status, 503);
  assert.ok(
    r.reasons.some((l) => l.startsWith('KafkaSource default/later: OffsetsNotCommitted: ')),
    r.reasons.join('\n'),
  );
  assert.ok(
    r.reasons.some((l) => l.startsWith('KafkaSource default/nowhere: ClientCreationFailed: ')),
    r.reasons.join('\n'),
  );

  // The topic is created: the source joins its group and is Ready; records flow.
  const kafka = new Kafka({ clientId: 'e2e-kafka-readiness', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await waitFor(async () => condition(await status('later'), 'Ready')?.status === 'True', 'the source to be Ready once the topic exists', 120_000);
  assert.deepEqual(
    (await status('later')).conditions.map((c) => [c.type, c.status]),
    [
      ['Ready', 'True'],
      ['SinkProvided', 'True'],
      ['ConnectionEstablished', 'True'],
      ['InitialOffsetsCommitted', 'True'],
    ],
  );
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ value: '{"n":1}' }] });
  await producer.disconnect();
  await sub.waitForCount(1, 30_000);
  // Its send is counted with Knative's source metric labels (through the sink-delivery path every source shares).
  const metrics = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
  assert.ok(
    metrics.includes(
      `event_count{namespace_name="default",name="later",resource_group="kafkasources.sources.knative.dev",event_source="/apis/v1/namespaces/default/kafkasources/later#${topic}",event_type="dev.knative.kafka.event",response_code="202",response_code_class="2xx"} 1`,
    ),
    metrics
      .split('\n')
      .filter((l) => l.includes('kafkasources'))
      .join('\n'),
  );
  // Only the unreachable one is left in /readyz.
  const after = await readyz();
  assert.deepEqual(
    after.reasons.map((l) => l.split(':')[0]),
    ['KafkaSource default/nowhere'],
  );
});

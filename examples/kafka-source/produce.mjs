// Produces one record of each shape a KafkaSource handles to the topic `orders` (created with 3 partitions if
// missing): a plain record with a key and headers (wrapped as dev.knative.kafka.event), a binary-mode CloudEvent
// (ce_ headers) and a structured-mode CloudEvent (forwarded unchanged).
//   KAFKA_BROKERS=127.0.0.1:9092 node examples/kafka-source/produce.mjs [topic]
import kafkajs from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;

/** Produces the three sample records to `topic`. */
export async function produce(brokers, topic = 'orders') {
  const kafka = new Kafka({ clientId: 'sluice-example', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: [
      { key: 'customer-42', value: JSON.stringify({ order: 1001, total: 12.5 }), headers: { 'content-type': 'application/json', 'X-Request-ID': 'req-7' } },
      {
        key: 'customer-43',
        value: JSON.stringify({ order: 1002 }),
        headers: { ce_specversion: '1.0', ce_id: 'order-1002', ce_source: '/shop/checkout', ce_type: 'com.example.order.placed', 'content-type': 'application/json' },
      },
      {
        key: 'customer-44',
        value: JSON.stringify({ specversion: '1.0', id: 'refund-9', source: '/shop/refunds', type: 'com.example.refund.issued', datacontenttype: 'application/json', data: { order: 990 } }),
        headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      },
    ],
  });
  await producer.disconnect();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await produce(process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', process.argv[2]);
  console.log('produced 3 records');
}

// Creates the topic `orders` of project `sluice-example` if missing, then publishes two messages (one with
// attributes). Talks to the emulator at PUBSUB_EMULATOR_HOST (default 127.0.0.1:8085).
//   node examples/pubsub-source/publish.mjs [--create-topic-only]
import { PubSub } from '@google-cloud/pubsub';

/** Creates `topic` when missing and publishes the sample messages unless `createOnly`. Returns the message ids. */
export async function publish(host, topic = 'orders', createOnly = false) {
  const pubsub = new PubSub({ projectId: 'sluice-example', apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' });
  const t = pubsub.topic(topic);
  const [exists] = await t.exists();
  if (!exists) await t.create();
  const ids = createOnly
    ? []
    : [
        await t.publishMessage({ data: Buffer.from(JSON.stringify({ order: 1001, total: 12.5 })), attributes: { origin: 'web-shop', region: 'eu' } }),
        await t.publishMessage({ data: Buffer.from('plain text body') }),
      ];
  await pubsub.close();
  return ids;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ids = await publish(process.env.PUBSUB_EMULATOR_HOST ?? '127.0.0.1:8085', 'orders', process.argv.includes('--create-topic-only'));
  console.log(ids.length === 0 ? 'topic ready' : `published ${ids.join(', ')}`);
}

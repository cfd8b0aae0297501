import type { Admin } from 'kafkajs';
import type { ClusterLike, FetchedMessage } from './kafka-internals.js';

/**
 * Reads the records of `topic`/`partition` at offsets [from, to) with plain fetches (no group), handing each fetched
 * batch to `each` before the next is fetched, so at most one fetch is held in memory. Records retention removed
 * meanwhile are skipped; a range Kafka has nothing for ends the read.
 */
export async function readOffsetRange(
  options: { readonly admin: Admin; readonly cluster: ClusterLike; readonly topic: string; readonly partition: number; readonly from: number; readonly to: number },
  each: (messages: readonly FetchedMessage[]) => Promise<void>,
): Promise<void> {
  const { admin, cluster, topic, partition, to } = options;
  await cluster.addTargetTopic(topic);
  let next = options.from;
  let empty = 0;
  let failures = 0;
  while (next < to) {
    try {
      const leaders = cluster.findLeaderForPartitions(topic, [partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) throw new Error(`no leader known for ${topic}/${partition}`);
      const broker = await cluster.findBroker({ nodeId });
      const { responses } = await broker.fetch({
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        isolationLevel: 1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(next), maxBytes: 1024 * 1024 }] }],
      });
      const batch = responses.flatMap((r) => r.partitions.filter((p) => p.partition === partition).flatMap((p) => p.messages)).filter((m) => Number(m.offset) >= next && Number(m.offset) < to);
      if (batch.length === 0) {
        if (++empty >= 3) return; // nothing where records should be (deleted, or past the end)
        continue;
      }
      empty = 0;
      await each(batch.filter((m) => !m.isControlRecord));
      next = Number(batch.at(-1)!.offset) + 1;
    } catch (err) {
      if ((err as { type?: string }).type === 'OFFSET_OUT_OF_RANGE') {
        const low = Number((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.low ?? to);
        next = Math.max(next + 1, low);
        continue;
      }
      if (++failures >= 10) throw err;
      await cluster.refreshMetadata().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200 * failures));
    }
  }
}

import type { Kafka } from 'kafkajs';
import { connectCluster, type ClusterLike } from './kafka-internals.js';

/** A topic's partitions and the offsets to commit for them. */
export interface TopicOffsets {
  readonly topic: string;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
}

/**
 * Commits offsets for a consumer group that has no running member, without joining it — what Knative's control
 * plane does when it creates a trigger's group "at latest" (Java `AdminClient.alterConsumerGroupOffsets`, an
 * OffsetCommit with generation -1). kafkajs only offers `admin.setOffsets`, which joins the group (seconds, and it
 * fails while another Sluice instance runs the group), so this uses a cluster of its own ({@link connectCluster}); if
 * kafkajs's internals ever differ this throws a clear error and the caller falls back to the consumer's
 * `fromBeginning` default.
 */
export class GroupOffsetWriter {
  #cluster: ClusterLike | undefined;
  #connecting: Promise<ClusterLike> | undefined;

  constructor(private readonly kafka: Kafka) {}

  async #connected(): Promise<ClusterLike> {
    if (this.#cluster) return this.#cluster;
    this.#connecting ??= connectCluster(this.kafka).then((cluster) => {
      this.#cluster = cluster;
      return cluster;
    });
    try {
      return await this.#connecting;
    } finally {
      this.#connecting = undefined;
    }
  }

  /** Commits `topics` for `groupId` as a simple (memberless) commit; rejects when the group has running members. */
  async commit(groupId: string, topics: TopicOffsets[]): Promise<void> {
    if (topics.length === 0) return;
    const cluster = await this.#connected();
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    await coordinator.offsetCommit({ groupId, memberId: '', groupGenerationId: -1, topics });
  }

  async close(): Promise<void> {
    const c = this.#cluster;
    this.#cluster = undefined;
    if (c) await c.disconnect().catch(() => undefined);
  }
}

import type { Kafka } from 'kafkajs';
import { SluiceError } from '@sluice/core';

/** A topic's partitions and the offsets to commit for them. */
export interface TopicOffsets {
  readonly topic: string;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
}

interface CoordinatorLike {
  offsetCommit(request: { groupId: string; memberId: string; groupGenerationId: number; topics: TopicOffsets[] }): Promise<unknown>;
}

interface ClusterLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<CoordinatorLike>;
}

/**
 * Commits offsets for a consumer group that has no running member, without joining it — what Knative's control
 * plane does when it creates a trigger's group "at latest" (Java `AdminClient.alterConsumerGroupOffsets`, an
 * OffsetCommit with generation -1). kafkajs only offers `admin.setOffsets`, which joins the group (seconds, and it
 * fails while another Sluice instance runs the group), so this reaches kafkajs's cluster through its one private
 * factory. kafkajs 2.2.4 is the last release and is pinned; if its internals ever differ this throws a clear error
 * and the caller falls back to the consumer's `fromBeginning` default.
 */
export class GroupOffsetWriter {
  #cluster: ClusterLike | undefined;
  #connecting: Promise<ClusterLike> | undefined;

  constructor(private readonly kafka: Kafka) {}

  async #connected(): Promise<ClusterLike> {
    if (this.#cluster) return this.#cluster;
    this.#connecting ??= (async () => {
      const symbol = Object.getOwnPropertySymbols(this.kafka).find((s) => s.description === 'private:Kafka:createCluster');
      const factory = symbol === undefined ? undefined : (this.kafka as unknown as Record<symbol, unknown>)[symbol];
      if (typeof factory !== 'function') throw new SluiceError('SLUICE_INTERNAL', 'this kafkajs version does not expose its cluster factory (expected kafkajs 2.2.x)');
      const cluster = (factory as (o: object) => ClusterLike)({ allowAutoTopicCreation: false });
      await cluster.connect();
      this.#cluster = cluster;
      return cluster;
    })();
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

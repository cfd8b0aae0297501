import { SluiceError } from '@sluice/core';
import type { IHeaders, Kafka } from 'kafkajs';

/** A record as a kafkajs Fetch response carries it. */
export interface FetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
  readonly isControlRecord?: boolean;
}

/** A kafkajs broker connection, as far as Sluice uses it. */
export interface BrokerLike {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: Array<{ partition: number; highWatermark: string; messages: FetchedMessage[] }> }> }>;
}

/** A group coordinator connection, as far as Sluice uses it. */
export interface CoordinatorLike {
  offsetCommit(request: {
    groupId: string;
    memberId: string;
    groupGenerationId: number;
    topics: Array<{ topic: string; partitions: ReadonlyArray<{ partition: number; offset: string }> }>;
  }): Promise<unknown>;
}

/** kafkajs's Cluster, as far as Sluice uses it. */
export interface ClusterLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<CoordinatorLike>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(request: { nodeId: string | number }): Promise<BrokerLike>;
}

/**
 * A connected kafkajs Cluster of its own, reached through kafkajs's one private factory: for what kafkajs's public API
 * lacks (a memberless offset commit; a plain fetch of an offset range without joining a group). kafkajs 2.2.4 is the
 * last release and is pinned; if its internals ever differ this throws a clear error.
 */
export async function connectCluster(kafka: Kafka): Promise<ClusterLike> {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') throw new SluiceError('SLUICE_INTERNAL', 'this kafkajs version does not expose its cluster factory (expected kafkajs 2.2.x)');
  const cluster = (factory as (o: object) => ClusterLike)({ allowAutoTopicCreation: false });
  await cluster.connect();
  return cluster;
}

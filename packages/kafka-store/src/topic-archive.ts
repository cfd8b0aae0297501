import { sleep, type Logger } from '@sluice/core';
import type { ArchivedEvent } from '@sluice/store';
import type { Admin } from 'kafkajs';
import type { ClusterLike, FetchedMessage } from './kafka-internals.js';
import { decodeMessage } from './record-codec.js';

/** Options of {@link readTopicRange}. */
export interface TopicRangeOptions {
  readonly admin: Admin;
  /** A cluster connection of the reader's own ({@link connectCluster}): fetches go through it, no group is joined. */
  readonly cluster: ClusterLike;
  readonly topic: string;
  /** Record timestamps (epoch ms), inclusive. */
  readonly from: number;
  readonly to: number;
  readonly logger: Logger;
  /** Events per page (default 500). */
  readonly pageSize?: number;
  /** Bytes asked for per partition and fetch (default 256 KiB; Kafka returns at least one record batch). */
  readonly fetchBytes?: number;
}

interface PartitionCursor {
  readonly partition: number;
  next: number;
  /** First offset past the range (the first record stamped after `to`, or the end of the partition at the start). */
  readonly end: number;
  buffer: ArchivedEvent[];
  head: number;
}

/**
 * The records of `topic` stamped in [from, to], decoded, merged across partitions by timestamp (so in offset order
 * within a partition, hence in order per `partitionkey`), a page at a time. Start and end offsets come from Kafka's
 * offsets-for-times; records are read with plain Fetch requests to each partition's leader (no consumer group, nothing
 * committed), at most one fetch per partition held in memory, and only when the consumer of the pages asks for more.
 * Records appended after the read started are not included. Records deleted by retention meanwhile are skipped.
 */
export async function* readTopicRange(options: TopicRangeOptions): AsyncGenerator<ArchivedEvent[]> {
  const { admin, cluster, topic, from, to, logger } = options;
  const pageSize = options.pageSize ?? 500;
  const [starts, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, from), admin.fetchTopicOffsetsByTimestamp(topic, to + 1)]);
  const endOf = new Map(ends.map((e) => [e.partition, Number(e.offset)]));
  const cursors: PartitionCursor[] = starts
    .map((s) => ({ partition: s.partition, next: Number(s.offset), end: endOf.get(s.partition) ?? Number(s.offset), buffer: [], head: 0 }))
    .filter((c) => c.next < c.end);
  await cluster.addTargetTopic(topic);
  const read: RangeRead = { ...options, fetchBytes: options.fetchBytes ?? 256 * 1024, skipped: 0 };
  let seq = 0;
  let page: ArchivedEvent[] = [];
  for (;;) {
    const empty = cursors.filter((c) => c.head >= c.buffer.length && c.next < c.end);
    // One partition after the other: concurrent fetches made kafkajs connect the same broker twice at once, and the
    // connection it did not keep was never closed (it held a stopped `sluice run` open; kafka-archive.test.ts).
    for (const c of empty) await fillCursor(read, c);
    let best: PartitionCursor | undefined;
    for (const c of cursors) {
      if (c.head >= c.buffer.length) continue;
      if (!best || c.buffer[c.head]!.at < best.buffer[best.head]!.at) best = c;
    }
    if (!best) {
      if (cursors.some((c) => c.next < c.end)) continue; // a fetch that yielded only skipped records
      break;
    }
    const e = best.buffer[best.head++]!;
    page.push({ seq: ++seq, event: e.event, at: e.at });
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
  if (read.skipped > 0) logger.warn({ topic, skipped: read.skipped }, 'archive replay: skipped records that are not valid CloudEvents');
}

/** One range read in progress: its options, and how many records were not valid CloudEvents. */
interface RangeRead extends TopicRangeOptions {
  readonly fetchBytes: number;
  skipped: number;
}

/**
 * Fills a partition's buffer with its next records in the range, retrying on a leader change; gives up the rest of
 * the partition when records that should be there are gone.
 */
async function fillCursor(read: RangeRead, c: PartitionCursor): Promise<void> {
  const { admin, cluster, topic, logger } = read;
  for (let attempt = 0; ; attempt++) {
    try {
      if (bufferRecords(read, c, await fetchPartition(read, c))) return;
      // Nothing at or after the offset: the rest of the range is gone (retention) or not readable; give it up
      // after a few tries rather than loop.
      if (attempt >= 3) {
        logger.warn({ topic, partition: c.partition, offset: c.next, end: c.end }, 'archive replay: no records where the range should have some; skipping the rest of the partition');
        c.next = c.end;
        return;
      }
      await sleep(200);
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === 'OFFSET_OUT_OF_RANGE') {
        // Retention deleted the start of the range while we read it: go on from the partition's first record.
        const low = Number((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === c.partition)?.low ?? c.end);
        c.next = Math.max(c.next + 1, Math.min(low, c.end));
        continue;
      }
      if (attempt >= 10) throw err;
      await cluster.refreshMetadata().catch(() => undefined);
      await sleep(Math.min(2000, 200 * (attempt + 1)));
    }
  }
}

/** One Fetch request to the partition's leader, from the cursor's next offset. */
async function fetchPartition(read: RangeRead, c: PartitionCursor): Promise<FetchedMessage[]> {
  const { cluster, topic, fetchBytes } = read;
  const leaders = cluster.findLeaderForPartitions(topic, [c.partition]);
  const nodeId = Object.keys(leaders)[0];
  if (nodeId === undefined) throw new Error(`no leader known for ${topic}/${c.partition}`);
  const broker = await cluster.findBroker({ nodeId });
  const { responses } = await broker.fetch({
    maxWaitTime: 100,
    minBytes: 1,
    maxBytes: fetchBytes,
    isolationLevel: 1,
    topics: [{ topic, partitions: [{ partition: c.partition, fetchOffset: String(c.next), maxBytes: fetchBytes }] }],
  });
  return responses.flatMap((r) => r.partitions.filter((p) => p.partition === c.partition).flatMap((p) => p.messages));
}

/** Puts the fetched records that are in the range into the cursor's buffer; false when the fetch moved it nowhere. */
function bufferRecords(read: RangeRead, c: PartitionCursor, messages: readonly FetchedMessage[]): boolean {
  c.buffer = [];
  c.head = 0;
  let last = c.next - 1;
  for (const m of messages) {
    const offset = Number(m.offset);
    if (offset < c.next) continue; // a record batch starts before the offset asked for
    if (offset >= c.end) {
      last = c.end - 1;
      break;
    }
    last = offset;
    if (m.isControlRecord) continue;
    const at = Number(m.timestamp);
    if (!(at >= read.from && at <= read.to)) continue;
    const decoded = decodeMessage(m.headers, m.value);
    if (!decoded) {
      read.skipped++;
      continue;
    }
    c.buffer.push({ seq: 0, event: decoded.event, at });
  }
  if (last < c.next) return false;
  c.next = last + 1;
  return true;
}

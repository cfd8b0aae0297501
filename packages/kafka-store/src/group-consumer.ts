import { Backoff, settleWithin, type CloudEvent, type Logger } from '@sluice/core';
import type { ConsumeOptions, DeadLetterInput, Disposition, LogRecord, RecordHandler, StoreTimers } from '@sluice/store';
import type { Consumer as KafkaConsumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import { ATTEMPT_HEADER, DUE_HEADER, FIRST_ATTEMPT_HEADER, ORIGIN_HEADER, decodeMessage, encodeRecord } from './record-codec.js';

/** Consumer settings shared by every group of a store. */
export interface GroupConsumerSettings {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  readonly commitIntervalMs: number;
  /** Retry-topic records held in memory per partition while they wait for their due time. */
  readonly retryWindow: number;
  /**
   * The consumer is recreated when the Kafka client shows no sign of life (no fetch, heartbeat or group join) for this
   * long, or when an assigned partition with records waiting has given none for this long (0 = no watchdog).
   */
  readonly stallTimeoutMs: number;
}

/** What a {@link GroupConsumer} needs from its store. */
export interface GroupConsumerDeps {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly retryTopic: string;
  readonly options: ConsumeOptions;
  readonly handler: RecordHandler;
  readonly timers: StoreTimers;
  readonly logger: Logger;
  readonly settings: GroupConsumerSettings;
  /** The first initialisation (topics exist, offsets of a new group set to the log's end), started by the store. */
  readonly firstInit: Promise<void>;
  /** Runs the initialisation again (after a failure). */
  readonly init: () => Promise<void>;
  /** Produces a record with acks=all (through the store's batching producer). */
  readonly produce: (topic: string, message: Message) => Promise<void>;
  /** Reads the group's committed offset metadata of `topic`, by partition (where ordered retries are kept). */
  readonly readMarkers: (topic: string) => Promise<Map<number, string | null>>;
  /** Keeps a dead letter (resolves once it is durable); `origin` = `topic/partition/offset` of the log record. */
  readonly deadLetter: (letter: DeadLetterInput & { readonly origin: string }) => Promise<void>;
  /** Reads the end offset and the group's committed offset (-1 = none) of each partition of `topic`. */
  readonly readPositions: (topic: string) => Promise<Map<number, { readonly end: number; readonly committed: number }>>;
}

/**
 * An ordered record retried in place, kept in the metadata of the partition's committed offset (which is that record's
 * offset, the lowest unfinished one), so a restart resumes it at its attempt: offset, attempt, due time, and the
 * replacement event as attribute changes against the record (the data never changes).
 */
interface RetryMarker {
  readonly o: number;
  readonly a: number;
  readonly d: number;
  /** When the first attempt was made. */
  readonly f?: number;
  /** Attributes set or changed by the replacement event. */
  readonly x?: Record<string, string | number | boolean>;
  /** Attributes the replacement event removed. */
  readonly r?: string[];
}

/** Kafka's default `offset.metadata.max.bytes` is 4096; a larger marker keeps only the attempt and due time. */
const MAX_MARKER_CHARS = 3500;

/** One record taken from Kafka and not yet behind the committed offset. */
interface Entry {
  readonly offset: number;
  record: LogRecord;
  done: boolean;
  /** The event as read from Kafka (ordered retries keep their replacement event as changes against it). */
  readonly original: CloudEvent;
  /** `topic/partition/offset` of the log record (a retry-topic record carries its origin's). */
  readonly origin: string;
}

/** The state of one assigned partition (of the broker topic or of the retry topic). */
class PartitionState {
  readonly window: Entry[] = [];
  /** Index of the first live entry of `window` (entries before it are finished and dropped lazily). */
  head = 0;
  /** Taken records ready for the handler, in offset order. */
  readonly pending: Entry[] = [];
  /** Next offset to take from Kafka; -1 until the first batch. */
  nextOffset = -1;
  /** Highest offset committed by this instance. */
  committed = -1;
  paused = false;
  revoked = false;
  inRotation = false;
  /** Ordered mode: the record being handled or waiting for its retry; the partition waits for it. */
  active: Entry | undefined;
  readonly timers = new Set<unknown>();
  /** Ordered: the retry marker to commit with the cursor (null = none), and the one last committed. */
  marker: string | null = null;
  committedMarker: string | null = null;
  /** Ordered: a retry marker read back from Kafka, applied when its record is taken again. */
  resumed: RetryMarker | undefined;
  markersRead = false;
  /** When kafkajs last handed a batch of this partition (the watchdog's sign of progress). */
  lastBatchAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly isRetry: boolean,
  ) {}

  get size(): number {
    return this.window.length - this.head;
  }

  /** The offset to commit: the lowest unfinished record, or the next one to read. */
  cursor(): number {
    const first = this.window[this.head];
    return first !== undefined ? first.offset : this.nextOffset;
  }
}

const key = (topic: string, partition: number): string => `${topic}|${partition}`;

/**
 * One consumer group on one broker topic and its retry topic, as one member of the Kafka group (so several Sluice
 * instances split the partitions). Records are taken into a bounded window per partition and handed to the handler
 * with at most `maxInFlight` at once; the committed offset of a partition is always its lowest unfinished record.
 * kafkajs's fetch loop never waits for a handler: a full partition is paused instead, so a slow record holds back
 * only its own partition, and only once the window is full.
 */
export class GroupConsumer {
  readonly #deps: GroupConsumerDeps;
  readonly #ordered: boolean;
  readonly #windowSize: number;
  readonly #partitions = new Map<string, PartitionState>();
  #rotation: PartitionState[] = [];
  #inFlight = 0;
  #moving = new Set<Promise<void>>();
  #closing = false;
  #pumping = false;
  #idle: Array<() => void> = [];
  #consumer: KafkaConsumer | undefined;
  #commitTimer: unknown;
  #committing: Promise<void> | undefined;
  #restartTimer: unknown;
  #wakeSleep: (() => void) | undefined;
  #started: Promise<void>;
  /** Partitions kafkajs assigned at the last group join, with the time of the join (or of the last idle check). */
  #assigned = new Map<string, { readonly topic: string; readonly partition: number; since: number }>();
  /** When kafkajs last showed it is alive (fetch, heartbeat, join, batch, commit), and what it was. */
  #aliveAt = 0;
  #aliveBy = 'start';
  #watchdog: unknown;
  #checking = false;
  #restarts = 0;

  constructor(deps: GroupConsumerDeps) {
    this.#deps = deps;
    this.#ordered = deps.options.orderingKey !== undefined;
    this.#windowSize = Math.max(1, deps.options.maxInFlight);
    this.#aliveAt = deps.timers.now();
    this.#started = this.#startLoop();
    this.#armWatchdog();
  }

  /** Records handed to the handler and not finished. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Records of the broker topic this instance holds and has not finished (taken, in flight or waiting). */
  get heldRecords(): number {
    let n = 0;
    for (const ps of this.#partitions.values()) if (!ps.isRetry) for (let i = ps.head; i < ps.window.length; i++) if (!ps.window[i]!.done) n++;
    return n;
  }

  /** Kafka timestamp (append time) of the oldest unfinished record this instance holds, broker or retry topic. */
  get oldestHeldAt(): number | undefined {
    let oldest: number | undefined;
    for (const ps of this.#partitions.values()) {
      for (let i = ps.head; i < ps.window.length; i++) {
        const e = ps.window[i]!;
        if (e.done) continue;
        const at = e.record.appendedAt;
        if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at;
        break; // offsets grow with time within a partition: the first unfinished entry is its oldest
      }
    }
    return oldest;
  }

  /** How often the watchdog recreated the consumer. */
  get watchdogRestarts(): number {
    return this.#restarts;
  }

  /** Retry-topic records held in memory until their due time. */
  get waitingRetries(): number {
    let n = 0;
    for (const ps of this.#partitions.values()) if (ps.isRetry) n += ps.size;
    return n;
  }

  async #startLoop(first = true): Promise<void> {
    const backoff = new Backoff(500);
    while (!this.#closing) {
      this.#alive('start');
      try {
        if (first) await this.#deps.firstInit;
        else await this.#deps.init();
        await this.#startConsumer();
        return;
      } catch (err) {
        if (this.#closing) return;
        const delay = backoff.next();
        this.#deps.logger.error({ group: this.#deps.groupId, err, retryInMs: delay }, 'cannot start the Kafka consumer group');
        first = false;
        await new Promise<void>((resolve) => {
          const t = this.#deps.timers.setTimeout(resolve, delay);
          this.#wakeSleep = () => {
            this.#deps.timers.clearTimeout(t);
            resolve();
          };
        });
        this.#wakeSleep = undefined;
      }
    }
  }

  async #startConsumer(): Promise<void> {
    const { kafka, groupId, topic, retryTopic, settings } = this.#deps;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    // Events of a consumer the watchdog has replaced are ignored: it is being disconnected.
    const current = (): boolean => this.#consumer === consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (!current()) return;
      this.#alive('group join');
      this.#onJoin(e.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (current()) this.#onCrash(e.payload.error, e.payload.restart);
    });
    for (const [event, what] of [
      [consumer.events.FETCH, 'fetch'],
      [consumer.events.HEARTBEAT, 'heartbeat'],
      [consumer.events.COMMIT_OFFSETS, 'commit'],
      [consumer.events.START_BATCH_PROCESS, 'batch'],
    ] as const) {
      consumer.on(event, () => {
        if (current()) this.#alive(what);
      });
    }
    try {
      await consumer.connect();
      // A partition the group has no offset for is read from its start: never skip an accepted event. (New groups
      // get their offsets set to the log's end by the store before this, as Knative's control plane does.)
      await consumer.subscribe({ topics: [topic, retryTopic], fromBeginning: true });
      if (this.#closing) throw new Error('closing');
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async (payload) => this.#onBatch(payload),
      });
      if (this.#closing) throw new Error('closing');
    } catch (err) {
      if (this.#consumer === consumer) this.#consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  #alive(what: string): void {
    this.#aliveAt = this.#deps.timers.now();
    this.#aliveBy = what;
  }

  #armWatchdog(): void {
    const stall = this.#deps.settings.stallTimeoutMs;
    if (stall <= 0 || this.#closing) return;
    this.#watchdog = this.#deps.timers.setTimeout(
      () => {
        this.#watchdog = undefined;
        void this.#watch().finally(() => this.#armWatchdog());
      },
      Math.max(1000, Math.floor(stall / 4)),
    );
  }

  /**
   * kafkajs 2.2.4 can stop consuming without telling (a runner that ended without a CRASH event, a restart that never
   * ran, a partition it stops fetching): a broker must not depend on its client never getting stuck. Two checks:
   * the client showed no sign of life for `stallTimeoutMs`, or an assigned partition that has records beyond what
   * this member took gave no batch for that long (read from Kafka only then). Either way the consumer is recreated.
   */
  async #watch(): Promise<void> {
    if (this.#closing || this.#consumer === undefined || this.#checking) return;
    const now = this.#deps.timers.now();
    const stall = this.#deps.settings.stallTimeoutMs;
    if (now - this.#aliveAt > stall) {
      this.#recreate(`no fetch, heartbeat or group join for ${Math.round((now - this.#aliveAt) / 1000)} s (last: ${this.#aliveBy})`);
      return;
    }
    const idle = new Map<string, Array<{ topic: string; partition: number; position: number }>>();
    for (const [k, a] of this.#assigned) {
      const ps = this.#partitions.get(k);
      if (ps?.paused) continue; // full window: it waits for its own handler, not for Kafka
      if (now - Math.max(a.since, ps?.lastBatchAt ?? 0) <= stall) continue;
      const list = idle.get(a.topic) ?? [];
      list.push({ topic: a.topic, partition: a.partition, position: ps && ps.nextOffset >= 0 ? ps.nextOffset : -1 });
      idle.set(a.topic, list);
    }
    if (idle.size === 0) return;
    this.#checking = true;
    const consumer = this.#consumer;
    try {
      const stuck: string[] = [];
      for (const [topic, parts] of idle) {
        const positions = await this.#deps.readPositions(topic);
        for (const p of parts) {
          const at = positions.get(p.partition);
          if (!at) continue;
          const position = p.position >= 0 ? p.position : at.committed;
          if (position >= 0 && position < at.end) stuck.push(`${topic}/${p.partition} at ${position} of ${at.end}`);
          else {
            const a = this.#assigned.get(key(topic, p.partition));
            if (a) a.since = this.#deps.timers.now(); // idle with nothing to read: checked again after another period
          }
        }
      }
      if (stuck.length > 0 && consumer === this.#consumer && !this.#closing) {
        this.#recreate(`no records for ${Math.round(stall / 1000)} s from partitions that have some: ${stuck.join(', ')}`);
      }
    } catch (err) {
      this.#deps.logger.debug({ group: this.#deps.groupId, err: (err as Error).message }, 'watchdog cannot read the group positions');
    } finally {
      this.#checking = false;
    }
  }

  /** Drops the current kafkajs consumer (what it held is redelivered from the committed offsets) and starts anew. */
  #recreate(reason: string): void {
    this.#restarts++;
    this.#deps.logger.warn({ group: this.#deps.groupId, reason, restarts: this.#restarts }, 'Kafka consumer stalled: recreating it');
    for (const ps of [...this.#partitions.values()]) this.#revoke(ps);
    this.#assigned.clear();
    const old = this.#consumer;
    this.#consumer = undefined;
    if (this.#restartTimer !== undefined) {
      this.#deps.timers.clearTimeout(this.#restartTimer);
      this.#restartTimer = undefined;
    }
    this.#alive('recreate');
    // A stuck client may never finish disconnecting: wait a bounded time, then start the new one regardless.
    const gone = old ? settleWithin(old.disconnect(), 10_000, this.#deps.timers) : Promise.resolve();
    this.#started = gone.then(() => (this.#closing ? undefined : this.#startLoop(false)));
  }

  #onCrash(error: Error, restart: boolean): void {
    // kafkajs disconnected: everything it had assigned is gone; what we hold will be redelivered to the next owner.
    for (const ps of [...this.#partitions.values()]) this.#revoke(ps);
    this.#assigned.clear();
    this.#deps.logger.warn({ group: this.#deps.groupId, err: error.message, restart }, 'Kafka consumer crashed');
    if (!restart && !this.#closing) {
      const consumer = this.#consumer;
      this.#consumer = undefined;
      this.#restartTimer = this.#deps.timers.setTimeout(() => {
        this.#restartTimer = undefined;
        void (consumer ? consumer.disconnect().catch(() => undefined) : Promise.resolve()).then(() => {
          if (!this.#closing) this.#started = this.#startLoop(false);
        });
      }, 5000);
    }
  }

  #onJoin(assignment: Record<string, number[]>): void {
    const assigned = new Set<string>();
    for (const topic in assignment) for (const p of assignment[topic] ?? []) assigned.add(key(topic, p));
    const now = this.#deps.timers.now();
    this.#assigned.clear();
    for (const topic in assignment) for (const partition of assignment[topic] ?? []) this.#assigned.set(key(topic, partition), { topic, partition, since: now });
    for (const [k, ps] of this.#partitions) if (!assigned.has(k)) this.#revoke(ps);
    // kafkajs keeps pauses across rejoins; only partitions we hold full may stay paused.
    const resume: Array<{ topic: string; partitions: number[] }> = [];
    for (const topic in assignment) {
      const parts = (assignment[topic] ?? []).filter((p) => !this.#partitions.get(key(topic, p))?.paused);
      if (parts.length > 0) resume.push({ topic, partitions: parts });
    }
    if (resume.length > 0 && this.#consumer) {
      try {
        this.#consumer.resume(resume);
      } catch {
        // not running yet: nothing is paused
      }
    }
    this.#deps.logger.debug({ group: this.#deps.groupId, assignment }, 'partitions assigned');
  }

  #revoke(ps: PartitionState): void {
    ps.revoked = true;
    for (const t of ps.timers) this.#deps.timers.clearTimeout(t);
    ps.timers.clear();
    this.#partitions.delete(key(ps.topic, ps.partition));
  }

  #partitionFor(topic: string, partition: number): PartitionState {
    const k = key(topic, partition);
    let ps = this.#partitions.get(k);
    if (!ps) {
      ps = new PartitionState(topic, partition, topic === this.#deps.retryTopic);
      this.#partitions.set(k, ps);
    }
    return ps;
  }

  // kafkajs hands these as closures over the batch, not methods that need their object.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  async #onBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.#closing) return;
    const ps = this.#partitionFor(batch.topic, batch.partition);
    ps.lastBatchAt = this.#deps.timers.now();
    if (!isRunning() || isStale()) return;
    if (this.#isOrdered(ps) && !ps.markersRead) {
      await this.#readMarker(ps);
      if (this.#closing || ps.revoked || !isRunning() || isStale()) return;
    }
    const cap = ps.isRetry ? Math.max(this.#deps.settings.retryWindow, this.#windowSize) : this.#windowSize;
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset < ps.nextOffset) continue; // fetched again after a rejoin: already ours
      if (ps.size >= cap) {
        this.#pause(ps);
        break;
      }
      this.#take(ps, m, offset);
      resolveOffset(m.offset);
    }
    this.#advance(ps);
    this.#pump();
  }

  /** Ordered partitions: reads the retry marker committed with the partition's offset before its first record. */
  async #readMarker(ps: PartitionState): Promise<void> {
    try {
      const raw = (await this.#deps.readMarkers(ps.topic)).get(ps.partition);
      ps.markersRead = true;
      if (!raw) return;
      const marker = JSON.parse(raw) as RetryMarker;
      if (typeof marker.o !== 'number' || typeof marker.a !== 'number' || typeof marker.d !== 'number') return;
      ps.resumed = marker;
      ps.marker = raw;
      ps.committedMarker = raw;
    } catch (err) {
      // Not fatal: the record is then retried from attempt 0, as before markers existed.
      ps.markersRead = true;
      this.#deps.logger.warn({ group: this.#deps.groupId, partition: ps.partition, err }, 'cannot read the retry state of an ordered partition');
    }
  }

  #take(ps: PartitionState, m: KafkaMessage, offset: number): void {
    ps.nextOffset = offset + 1;
    const decoded = decodeMessage(m.headers, m.value);
    if (!decoded) {
      this.#deps.logger.warn({ group: this.#deps.groupId, topic: ps.topic, partition: ps.partition, offset }, 'skipping a Kafka record that is not a valid CloudEvent');
      const empty: CloudEvent = { attributes: {}, data: undefined };
      ps.window.push({ offset, record: { seq: offset, attempt: 0, event: empty }, done: true, original: empty, origin: '' });
      return;
    }
    const attempt = ps.isRetry ? (decoded.attempt ?? 1) : 0;
    const appendedAt = Number(m.timestamp);
    const at = Number.isFinite(appendedAt) ? { appendedAt } : {};
    const record: LogRecord =
      ps.isRetry && decoded.firstAttemptAt !== undefined
        ? { seq: offset, attempt, event: decoded.event, firstAttemptAt: decoded.firstAttemptAt, ...at }
        : { seq: offset, attempt, event: decoded.event, ...at };
    const origin = (ps.isRetry ? decoded.origin : undefined) ?? `${ps.topic}/${ps.partition}/${offset}`;
    const entry: Entry = { offset, record, done: false, original: decoded.event, origin };
    ps.window.push(entry);
    const resumed = ps.resumed;
    if (resumed !== undefined && resumed.o === offset && this.#isOrdered(ps)) {
      // Waiting in place for a retry when the group last stopped: resume at that attempt and due time; the records
      // behind it keep waiting (the filter already let it through the first time).
      ps.resumed = undefined;
      entry.record = { seq: offset, attempt: resumed.a, event: applyMarker(decoded.event, resumed), ...(resumed.f === undefined ? {} : { firstAttemptAt: resumed.f }), ...at };
      ps.active = entry;
      this.#later(ps, Math.max(0, resumed.d - this.#deps.timers.now()), () => {
        ps.active = undefined;
        this.#ready(ps, entry, true);
      });
      return;
    }
    if (!ps.isRetry) {
      const filter = this.#deps.options.filter;
      if (filter && !safeFilter(filter, decoded.event)) {
        entry.done = true;
        return;
      }
    }
    const wait = ps.isRetry && decoded.dueAt !== undefined ? decoded.dueAt - this.#deps.timers.now() : 0;
    if (wait > 0) this.#later(ps, wait, () => this.#ready(ps, entry));
    else this.#ready(ps, entry);
  }

  #later(ps: PartitionState, ms: number, fn: () => void): void {
    if (this.#closing) return; // closed: the state is committed (or the record comes again), no timer outlives close
    const t = this.#deps.timers.setTimeout(() => {
      ps.timers.delete(t);
      if (ps.revoked || this.#closing) return;
      fn();
      this.#pump();
    }, ms);
    ps.timers.add(t);
  }

  #isOrdered(ps: PartitionState): boolean {
    return this.#ordered && !ps.isRetry;
  }

  #eligible(ps: PartitionState): boolean {
    return !ps.revoked && ps.pending.length > 0 && (!this.#isOrdered(ps) || ps.active === undefined);
  }

  #ready(ps: PartitionState, entry: Entry, first = false): void {
    if (first) ps.pending.unshift(entry);
    else ps.pending.push(entry);
    this.#enqueue(ps);
  }

  #enqueue(ps: PartitionState): void {
    if (!ps.inRotation && this.#eligible(ps)) {
      ps.inRotation = true;
      this.#rotation.push(ps);
    }
  }

  /** Hands ready records to the handler, one partition after the other, within `maxInFlight`. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const max = this.#deps.options.maxInFlight;
      while (!this.#closing && this.#inFlight < max && this.#rotation.length > 0) {
        const ps = this.#rotation.shift()!;
        ps.inRotation = false;
        if (!this.#eligible(ps)) continue;
        this.#run(ps, ps.pending.shift()!);
        this.#enqueue(ps);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #run(ps: PartitionState, entry: Entry): void {
    this.#inFlight++;
    if (this.#isOrdered(ps)) ps.active = entry;
    let settled: Promise<Disposition>;
    try {
      settled = this.#deps.handler(entry.record);
    } catch (err) {
      settled = Promise.reject(err);
    }
    settled.then(
      (d) => this.#settled(ps, entry, d),
      () => this.#settled(ps, entry, { kind: 'retry', attempt: entry.record.attempt + 1, dueAt: this.#deps.timers.now() + 1000 }),
    );
  }

  #settled(ps: PartitionState, entry: Entry, d: Disposition): void {
    this.#inFlight--;
    if (ps.revoked) {
      // The partition went to another member, which reads it again from the committed offset.
      this.#afterCompletion();
      return;
    }
    if (d.kind === 'done') {
      entry.done = true;
      if (ps.active === entry) {
        ps.active = undefined;
        ps.marker = null;
      }
      this.#advance(ps);
      this.#enqueue(ps);
    } else if (d.kind === 'dead-letter') {
      this.#deadLetter(ps, entry, d);
    } else if (this.#isOrdered(ps)) {
      // Ordered: retry in place; the partition waits behind this record (Knative's ordered delivery). The record
      // stays uncommitted, and its attempt, due time and replacement event are committed as the offset's metadata,
      // so a restart resumes the retry rather than starting over.
      entry.record = { seq: entry.record.seq, attempt: d.attempt, event: d.event ?? entry.record.event, ...(d.firstAttemptAt === undefined ? {} : { firstAttemptAt: d.firstAttemptAt }) };
      ps.marker = this.#marker(entry, d);
      this.#scheduleCommit();
      this.#later(ps, Math.max(0, d.dueAt - this.#deps.timers.now()), () => {
        ps.active = undefined;
        this.#ready(ps, entry, true);
      });
    } else {
      this.#moveToRetryTopic(ps, entry, d);
    }
    this.#afterCompletion();
  }

  /**
   * Unordered retry: the record is re-produced (acks=all) to the group's retry topic carrying its attempt number,
   * due time and replacement event, and only then counts as finished here — so the committed offset never passes a
   * record that is not safely stored elsewhere, the retry survives a crash with its attempt number, and it does not
   * hold back the partition. If the retry topic cannot be written, the record is retried in memory instead.
   */
  #moveToRetryTopic(ps: PartitionState, entry: Entry, d: Extract<Disposition, { kind: 'retry' }>): void {
    const event: CloudEvent = d.event ?? entry.record.event;
    const message = encodeRecord(event, {
      [ATTEMPT_HEADER]: String(d.attempt),
      [DUE_HEADER]: String(d.dueAt),
      [ORIGIN_HEADER]: entry.origin,
      ...(d.firstAttemptAt === undefined ? {} : { [FIRST_ATTEMPT_HEADER]: String(d.firstAttemptAt) }),
    });
    const moving = this.#deps.produce(this.#deps.retryTopic, message).then(
      () => {
        entry.done = true;
        if (!ps.revoked) this.#advance(ps);
      },
      (err: unknown) => {
        this.#deps.logger.warn({ group: this.#deps.groupId, err }, 'cannot store a retry in the retry topic: retrying in memory');
        entry.record = { seq: entry.record.seq, attempt: d.attempt, event };
        this.#later(ps, Math.max(0, d.dueAt - this.#deps.timers.now()), () => this.#ready(ps, entry));
      },
    );
    this.#moving.add(moving);
    void moving.finally(() => this.#moving.delete(moving));
  }

  #marker(entry: Entry, d: Extract<Disposition, { kind: 'retry' }>): string {
    const base = { o: entry.offset, a: d.attempt, d: d.dueAt, ...(d.firstAttemptAt === undefined ? {} : { f: d.firstAttemptAt }) };
    if (!d.event) return JSON.stringify(base);
    const before = entry.original.attributes;
    const after = d.event.attributes;
    const x: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(after)) if (before[k] !== v) x[k] = v;
    const r = Object.keys(before).filter((k) => !(k in after));
    const full = JSON.stringify({ ...base, x, ...(r.length > 0 ? { r } : {}) });
    if (full.length <= MAX_MARKER_CHARS) return full;
    this.#deps.logger.warn({ group: this.#deps.groupId, offset: entry.offset }, 'ordered retry: replacement event too large to keep across a restart; only its attempt is kept');
    return JSON.stringify(base);
  }

  /**
   * Keeps the event in the dead-letter store and only then finishes the record (so a crash in between redelivers it
   * and it may be kept twice, never lost). A store that cannot take it is retried every second.
   */
  #deadLetter(ps: PartitionState, entry: Entry, d: DeadLetterInput): void {
    const { event, reason, attempts, firstAttemptAt, lastAttemptAt } = d;
    const writing = this.#deps.deadLetter({ event, reason, attempts, firstAttemptAt, lastAttemptAt, origin: entry.origin }).then(
      () => {
        entry.done = true;
        if (ps.active === entry) {
          ps.active = undefined;
          ps.marker = null;
        }
        if (!ps.revoked) {
          this.#advance(ps);
          this.#enqueue(ps);
          this.#pump();
        }
      },
      (err: unknown) => {
        this.#deps.logger.error({ group: this.#deps.groupId, err }, 'cannot keep a dead letter: retrying');
        this.#later(ps, 1000, () => this.#deadLetter(ps, entry, d));
      },
    );
    this.#moving.add(writing);
    void writing.finally(() => this.#moving.delete(writing));
  }

  #afterCompletion(): void {
    if (this.#closing) {
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.#pump();
  }

  /** Drops finished records from the head of the window; schedules a commit when the cursor moved. */
  #advance(ps: PartitionState): void {
    while (ps.head < ps.window.length && ps.window[ps.head]!.done) ps.head++;
    if (ps.head > 64 && ps.head * 2 > ps.window.length) {
      ps.window.splice(0, ps.head);
      ps.head = 0;
    }
    if (ps.cursor() > ps.committed) this.#scheduleCommit();
    if (ps.paused && !this.#closing) {
      const cap = ps.isRetry ? Math.max(this.#deps.settings.retryWindow, this.#windowSize) : this.#windowSize;
      if (ps.size < cap) this.#resume(ps);
    }
  }

  #pause(ps: PartitionState): void {
    if (ps.paused) return;
    ps.paused = true;
    this.#consumer?.pause([{ topic: ps.topic, partitions: [ps.partition] }]);
  }

  #resume(ps: PartitionState): void {
    ps.paused = false;
    try {
      this.#consumer?.resume([{ topic: ps.topic, partitions: [ps.partition] }]);
    } catch {
      // the consumer is restarting; the next assignment starts unpaused
    }
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined) return;
    this.#commitTimer = this.#deps.timers.setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commit();
    }, this.#deps.settings.commitIntervalMs);
  }

  /** Commits every partition whose cursor moved; one commit at a time. */
  async #commit(): Promise<void> {
    while (this.#committing) await this.#committing;
    const consumer = this.#consumer;
    if (!consumer) return;
    const offsets: Array<{ ps: PartitionState; offset: number; metadata: string | null }> = [];
    for (const ps of this.#partitions.values()) {
      const c = ps.cursor();
      if (c >= 0 && (c > ps.committed || ps.marker !== ps.committedMarker)) offsets.push({ ps, offset: c, metadata: ps.marker });
    }
    if (offsets.length === 0) return;
    this.#committing = consumer
      .commitOffsets(offsets.map(({ ps, offset, metadata }) => ({ topic: ps.topic, partition: ps.partition, offset: String(offset), metadata })))
      .then(
        () => {
          for (const { ps, offset, metadata } of offsets) {
            if (offset > ps.committed) ps.committed = offset;
            ps.committedMarker = metadata;
          }
        },
        (err: unknown) => {
          // Usually a rebalance in progress; the next commit carries the same cursors.
          this.#deps.logger.debug({ group: this.#deps.groupId, err }, 'offset commit failed');
          if (!this.#closing) this.#scheduleCommit();
        },
      )
      .finally(() => {
        this.#committing = undefined;
      });
    await this.#committing;
  }

  /** Stops taking records, waits for the ones in the handler (up to `timeoutMs`), commits, and leaves the group. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const ps of this.#partitions.values()) {
      for (const t of ps.timers) this.#deps.timers.clearTimeout(t);
      ps.timers.clear();
    }
    if (this.#restartTimer !== undefined) this.#deps.timers.clearTimeout(this.#restartTimer);
    if (this.#watchdog !== undefined) this.#deps.timers.clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    this.#wakeSleep?.();
    const timers = this.#deps.timers;
    const deadline = timers.now() + timeoutMs;
    const left = (): number => deadline - timers.now();
    // Each wait below is bounded and clears its own timer once it is over: a timer left running would hold a
    // stopped `sluice run` open for the rest of its bound (up to 10 s after "sluice stopped").
    if (this.#inFlight > 0) {
      await settleWithin(new Promise<void>((resolve) => this.#idle.push(resolve)), timeoutMs, timers);
    }
    if (this.#moving.size > 0) await settleWithin(Promise.allSettled([...this.#moving]), left(), timers);
    if (this.#commitTimer !== undefined) {
      timers.clearTimeout(this.#commitTimer);
      this.#commitTimer = undefined;
    }
    await this.#commit().catch(() => undefined);
    // A consumer still connecting notices `closing` and disconnects itself.
    await settleWithin(this.#started, left(), timers);
    const consumer = this.#consumer;
    this.#consumer = undefined;
    // Leaving the group hands the partitions over at once; a Kafka that does not answer must not hold up shutdown.
    if (consumer) await settleWithin(consumer.disconnect(), 5000, timers);
  }
}

/** The replacement event of a retry marker: the record's event with the marker's attribute changes. */
function applyMarker(event: CloudEvent, marker: RetryMarker): CloudEvent {
  if (!marker.x && !marker.r) return event;
  const attributes: CloudEvent['attributes'] = { ...event.attributes, ...marker.x };
  for (const k of marker.r ?? []) delete attributes[k];
  return { attributes, data: event.data };
}

function safeFilter(filter: NonNullable<ConsumeOptions['filter']>, event: CloudEvent): boolean {
  try {
    return filter(event);
  } catch {
    return false; // a filter that throws does not match, and does not stop the group
  }
}

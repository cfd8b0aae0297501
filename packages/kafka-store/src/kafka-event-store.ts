import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { SluiceError, noopLogger, type CloudEvent, type EventPredicate, type Logger } from '@sluice/core';
import type {
  ArchivedEvent,
  AsyncEventArchive,
  Consumer,
  ConsumeOptions,
  DeadLetterMirror,
  ForgetOptions,
  DeadLetterStore,
  EventStore,
  ForgottenGroup,
  GroupStats,
  LogStats,
  RecordHandler,
  StoreTimers,
} from '@sluice/store';
import { kafkajsLogCreator, type KafkajsModule } from '@sluice/plugin';
import type { Admin, ISocketFactory, Kafka, Message, Producer } from 'kafkajs';
import { GroupConsumer, type GroupConsumerSettings } from './group-consumer.js';
import { GroupOffsetWriter, type TopicOffsets } from './group-offsets.js';
import { connectCluster, type ClusterLike } from './kafka-internals.js';
import { SharedDeadLetters } from './shared-dead-letters.js';
import { readTopicRange } from './topic-archive.js';
import { approximateSize, decodeMessage, encodeRecord } from './record-codec.js';
import { readOffsetRange } from './offset-range.js';
import { defaultGroupIdFor, defaultTopicFor, retryTopicName } from './topic-names.js';

/** How a log maps onto Kafka. */
export interface KafkaLogTopic {
  readonly topic: string;
  /** The topic is managed outside Sluice (Knative's external-topic annotation): it must exist and is never created. */
  readonly external?: boolean;
}

/** Settings of topics Sluice creates. */
export interface KafkaTopicSettings {
  /** Partitions of a new topic (default 10, Knative's `default.topic.partitions`). */
  readonly partitions?: number | undefined;
  /** Replication factor of a new topic (default: 3, capped at the number of brokers in the cluster). */
  readonly replicationFactor?: number | undefined;
  /** `retention.ms` of a new topic (default: the cluster's default). */
  readonly retentionMs?: number | undefined;
}

/**
 * The archive of a broker (`sluice.dev/archive-retention`), kept by its topic's retention: the log topics (not the
 * retry topics, not an external topic) get `retention.ms` = the longer of this and {@link KafkaTopicSettings.retentionMs},
 * and `retention.bytes` = `maxBytes` spread over the partitions when given; set when Sluice creates the topic, and
 * changed on a topic it created earlier.
 */
export interface KafkaArchiveSettings {
  readonly maxAgeMs: number;
  /** Total bytes over all partitions (Kafka's `retention.bytes` is per partition); undefined = no size bound. */
  readonly maxBytes?: number | undefined;
}

/** Options of {@link KafkaEventStore}. */
export interface KafkaEventStoreOptions {
  /** The kafkajs module; the broker class loads it before it opens its first store. */
  readonly kafkajs: KafkajsModule;
  /** Bootstrap servers, `host:port`. */
  readonly brokers: readonly string[];
  /** Kafka client id (default `sluice`). */
  readonly clientId?: string;
  /** A ready client instead of one built from `brokers` (tests, custom TLS/SASL). */
  readonly kafka?: Kafka;
  readonly topics?: KafkaTopicSettings;
  /** Topic of a log; default `broker:<ns>/<name>` → `knative-broker-<ns>-<name>`. */
  readonly topicFor?: (log: string) => KafkaLogTopic;
  /** Kafka group id of a consumer group; default `trigger:<ns>/<name>` → `knative-trigger-<ns>-<name>`. */
  readonly groupIdFor?: (group: string) => string;
  readonly logger?: Logger;
  readonly timers?: StoreTimers;
  /** Events waiting for Kafka beyond which `append` fails with SLUICE_STORE_OVERLOADED (default 50000). */
  readonly maxPendingEvents?: number;
  /** Bytes per produce request (default 900 KiB, under the broker's default 1 MiB per record batch). */
  readonly maxBatchBytes?: number;
  /** Produce requests in flight at once (default 4). */
  readonly maxConcurrentProduces?: number;
  /** An append not acknowledged within this time fails with SLUICE_STORE_WRITE_FAILED (default 10000 ms). */
  readonly produceTimeoutMs?: number;
  /** Consumer session timeout: how long a dead instance keeps its partitions (default 10000 ms). */
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** Longest fetch wait; also how fast a resumed partition is fetched again (default 100 ms). */
  readonly maxWaitTimeMs?: number;
  /** Offsets are committed at most this often per group (default 50 ms). */
  readonly commitIntervalMs?: number;
  /** Retry-topic records held per partition while they wait for their due time (default 1000). */
  readonly retryWindow?: number;
  /**
   * A consumer whose Kafka client shows no fetch, heartbeat or join for this long, or that gets no records for this
   * long from an assigned partition that has some, is recreated (default 60000 ms; 0 turns the watchdog off).
   */
  readonly stallTimeoutMs?: number;
  /**
   * Where exhausted events are kept (a `dead-letter` disposition); Sluice passes the instance's embedded store.
   * Without one such events are dropped with a warning.
   */
  readonly deadLetters?: DeadLetterStore;
  /**
   * Keep the dead letters of `log` in a topic shared by every instance (`topic`, one partition, `retention.ms` =
   * `retentionMs`) instead of in `deadLetters` alone, which then holds the local copy they are listed from; needs a
   * `deadLetters` that can mirror ({@link DeadLetterMirror}, the embedded store).
   */
  readonly sharedDeadLetters?: { readonly log: string; readonly topic: string; readonly retentionMs: number };
  /** Age after which `stats()` refreshes its figures from Kafka in the background (default 2000 ms). */
  readonly statsMaxAgeMs?: number;
  /** Keep the log topics' records for replays (`sluice replay`); undefined = the topic's retention is left as set. */
  readonly archive?: KafkaArchiveSettings;
}

const REAL_TIMERS: StoreTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface LogState {
  readonly log: string;
  readonly topic: string;
  readonly external: boolean;
  /** Topic known to exist (cached while pending or fulfilled; cleared on failure so the next call retries). */
  ready: Promise<void> | undefined;
  /** Appends made after a `consume()` wait for it: the new group's start offsets are taken before they land. */
  barrier: Promise<void>;
  /** Produce requests to this topic in flight. */
  readonly inflight: Set<Promise<unknown>>;
  readonly groups: Map<string, { groupId: string; retryTopic: string; consumer: GroupConsumer; firstInit: Promise<void> }>;
  stats: { backlog: number; retrying: number };
  /** Consumer lag per group (broker topic and retry topic), from the last refresh. */
  lag: Map<string, { backlog: number; retrying: number }>;
  statsAt: number;
  refreshing: boolean;
  /** Records the topic holds (sum over partitions of end - start), from the last refresh. */
  retained: number;
}

interface PendingWrite {
  readonly topic: string;
  readonly messages: Message[];
  readonly bytes: number;
  readonly gate: Promise<void> | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * kafkajs's default sockets keep Nagle's algorithm on: a request written while another is unacknowledged waits for
 * the broker's delayed ACK (up to 40 ms on Linux), which multiplied produce latency under pipelining (measured: 8
 * pipelined produces 17 ms → 6.5 ms per round with TCP_NODELAY). Same as kafkajs's factory otherwise.
 */
const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect) : netConnect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

const closedError = (): SluiceError => new SluiceError('SLUICE_STORE_CLOSED', 'the store is closed', { retryable: true });

/**
 * The storage port on Apache Kafka, following Knative's Kafka broker: one topic per broker log (binary-mode CloudEvents
 * records, `partitionkey` as the key), one consumer group per trigger, offsets committed only up to the lowest record
 * not yet finished. Several Sluice instances on the same configuration split the partitions of every group.
 *
 * Appends from concurrent callers are group-committed into few produce requests with `acks: -1`; an append resolves
 * only once Kafka acknowledged it. Unordered retries move to a per-group retry topic that carries the attempt number
 * (so a scheduled retry survives a crash); ordered retries stay in place.
 */
export class KafkaEventStore implements EventStore, AsyncEventArchive {
  readonly #kafkajs: KafkajsModule;
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #timers: StoreTimers;
  readonly #topicFor: (log: string) => KafkaLogTopic;
  readonly #groupIdFor: (group: string) => string;
  readonly #topicSettings: KafkaTopicSettings;
  readonly #settings: GroupConsumerSettings;
  readonly #maxPending: number;
  readonly #maxBatchBytes: number;
  readonly #maxConcurrent: number;
  readonly #produceTimeoutMs: number;
  readonly #statsMaxAgeMs: number;
  readonly #deadLetters: DeadLetterStore | undefined;
  readonly #logs = new Map<string, LogState>();
  readonly #groupNames = new Set<string>();
  readonly #offsets: GroupOffsetWriter;
  readonly #servers: string;
  readonly #archive: KafkaArchiveSettings | undefined;
  readonly #shared: SharedDeadLetters | undefined;
  readonly #sharedLog: string | undefined;
  #reader: Promise<ClusterLike> | undefined;
  #producer: Promise<Producer> | undefined;
  #admin: Promise<Admin> | undefined;
  #replication: Promise<number> | undefined;
  #queue: PendingWrite[] = [];
  #pendingEvents = 0;
  #sending = 0;
  #flushScheduled = false;
  #idleWaiters: Array<() => void> = [];
  #closing = false;
  #closed = false;

  constructor(options: KafkaEventStoreOptions) {
    this.#logger = options.logger ?? noopLogger;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#kafkajs = options.kafkajs;
    this.#kafka =
      options.kafka ??
      new options.kafkajs.Kafka({
        clientId: options.clientId ?? 'sluice',
        brokers: [...options.brokers],
        connectionTimeout: 3000,
        requestTimeout: 15_000,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
        logLevel: options.kafkajs.logLevel.WARN,
        logCreator: kafkajsLogCreator(this.#logger),
        socketFactory: noDelaySocketFactory,
      });
    this.#topicFor = options.topicFor ?? ((log) => ({ topic: defaultTopicFor(log) }));
    this.#groupIdFor = options.groupIdFor ?? defaultGroupIdFor;
    this.#topicSettings = options.topics ?? {};
    this.#settings = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 100,
      commitIntervalMs: options.commitIntervalMs ?? 50,
      retryWindow: options.retryWindow ?? 1000,
      stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
    };
    this.#maxPending = options.maxPendingEvents ?? 50_000;
    this.#maxBatchBytes = options.maxBatchBytes ?? 900 * 1024;
    this.#maxConcurrent = options.maxConcurrentProduces ?? 4;
    this.#produceTimeoutMs = options.produceTimeoutMs ?? 10_000;
    this.#statsMaxAgeMs = options.statsMaxAgeMs ?? 2000;
    this.#deadLetters = options.deadLetters;
    this.#offsets = new GroupOffsetWriter(this.#kafka);
    this.#servers = options.brokers.join(',');
    this.#archive = options.archive;
    const shared = options.sharedDeadLetters;
    this.#sharedLog = shared?.log;
    const local = options.deadLetters as Partial<DeadLetterMirror> | undefined;
    if (shared && local && typeof local.mirrorDeadLetter === 'function') {
      let created: Promise<void> | undefined;
      this.#shared = new SharedDeadLetters({
        log: shared.log,
        topic: shared.topic,
        local: local as DeadLetterMirror,
        produce: (topic, message) => this.#produce(topic, message),
        admin: () => this.#adminReady(),
        cluster: () => this.#readerReady(),
        ensureTopic: () => {
          created ??= this.#createDeadLetterTopic(shared.topic, shared.retentionMs);
          created.catch(() => (created = undefined));
          return created;
        },
        now: () => this.#timers.now(),
        logger: this.#logger,
      });
    }
  }

  /** The dead letters of `log` when they are shared through Kafka (so any instance lists, replays, purges them). */
  sharedDeadLetters(log: string): DeadLetterStore | undefined {
    return this.#shared && this.#sharedLog === log ? this.#shared : undefined;
  }

  // ---------------------------------------------------------------- append

  append(log: string, events: readonly CloudEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (events.length === 0) return Promise.resolve();
    if (this.#pendingEvents + events.length > this.#maxPending) {
      return Promise.reject(new SluiceError('SLUICE_STORE_OVERLOADED', 'too many events waiting for Kafka to acknowledge them', { retryable: true }));
    }
    const state = this.#log(log);
    const messages = events.map((e) => encodeRecord(e));
    return this.#enqueue(state.topic, messages, state.barrier);
  }

  /** Produces a raw record (retry-topic bookkeeping) through the same batching producer. */
  #produce(topic: string, message: Message): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#enqueue(topic, [message], undefined);
  }

  #enqueue(topic: string, messages: Message[], gate: Promise<void> | undefined): Promise<void> {
    let bytes = 0;
    for (const m of messages) bytes += approximateSize(m);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ topic, messages, bytes, gate, resolve, reject });
      this.#pendingEvents += messages.length;
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#queue.length === 0 || this.#sending >= this.#maxConcurrent) return;
    this.#flushScheduled = true;
    // Everything appended during this turn of the event loop shares one produce request (group commit).
    setImmediate(() => {
      this.#flushScheduled = false;
      while (this.#queue.length > 0 && this.#sending < this.#maxConcurrent) this.#send(this.#takeBatch());
    });
  }

  #takeBatch(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    let bytes = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (batch.length > 0 && bytes + next.bytes > this.#maxBatchBytes) break;
      batch.push(this.#queue.shift()!);
      bytes += next.bytes;
    }
    return batch;
  }

  #send(batch: PendingWrite[]): void {
    this.#sending++;
    const count = batch.reduce((n, w) => n + w.messages.length, 0);
    const topics = new Map<string, Message[]>();
    const gates = new Set<Promise<void>>();
    for (const w of batch) {
      const list = topics.get(w.topic);
      if (list) for (const m of w.messages) list.push(m);
      else topics.set(w.topic, [...w.messages]);
      if (w.gate) gates.add(w.gate);
    }
    const work = (async () => {
      if (gates.size > 0) await Promise.all(gates);
      for (const topic of topics.keys()) {
        const state = this.#stateOfTopic(topic);
        if (state) await this.#ensureTopic(state);
      }
      const producer = await this.#producerReady();
      const topicMessages = [...topics].map(([topic, messages]) => ({ topic, messages }));
      const deadline = this.#timers.now() + this.#produceTimeoutMs;
      // kafkajs retries a batch that spans several brokers by resending only to the brokers that have not answered
      // yet: a partition whose leader moved to a broker that had already answered is then dropped while the send
      // resolves (measured: acknowledged events missing from the topic after a SIGKILL of a partition leader). So
      // its producer does not retry, and a failed batch is sent again whole here: partitions that were written get a
      // duplicate (at-least-once, as everywhere), none is lost.
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.sendBatch({ acks: -1, timeout: this.#produceTimeoutMs, topicMessages });
          return;
        } catch (err) {
          const wait = Math.min(1000, 100 * 2 ** attempt);
          if (!retriableKafkaError(err) || this.#closed || this.#timers.now() + wait >= deadline) throw err;
          await new Promise<void>((resolve) => this.#timers.setTimeout(resolve, wait));
        }
      }
    })();
    const timed = withTimeout(work, this.#produceTimeoutMs, () => new Error(`no acknowledgement within ${this.#produceTimeoutMs} ms`));
    const tracked: Array<Set<Promise<unknown>>> = [];
    for (const topic of topics.keys()) {
      const state = this.#stateOfTopic(topic);
      if (state) {
        state.inflight.add(timed);
        tracked.push(state.inflight);
      }
    }
    timed
      .then(
        () => {
          for (const w of batch) w.resolve();
        },
        (err: unknown) => {
          // Always a code the ingress answers with 503 + Retry-After: the event was not accepted, the client may retry.
          const failure = new SluiceError('SLUICE_STORE_WRITE_FAILED', `Kafka did not store the events (${[...topics.keys()].join(', ')}): ${(err as Error).message}`, {
            retryable: true,
            cause: err,
          });
          this.#logger.warn({ err: failure.message, events: count }, 'Kafka append failed');
          for (const w of batch) w.reject(failure);
        },
      )
      .finally(() => {
        for (const set of tracked) set.delete(timed);
        this.#sending--;
        this.#pendingEvents -= count;
        if (this.#queue.length > 0) this.#scheduleFlush();
        else if (this.#sending === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
      });
  }

  /** The Kafka topic `log` is kept in (fixed when the store first sees the log). */
  topicOf(log: string): string {
    return this.#log(log).topic;
  }

  /** The Kafka consumer group id of `group` (e.g. `trigger:<ns>/<name>`). */
  groupIdOf(group: string): string {
    return this.#groupIdFor(group);
  }

  // ---------------------------------------------------------------- consume

  consume(log: string, group: string, options: ConsumeOptions, handler: RecordHandler): Consumer {
    if (this.#closed || this.#closing) throw closedError();
    if (this.#groupNames.has(group)) throw new SluiceError('SLUICE_STORE_GROUP_BUSY', `consumer group ${group} is already running`);
    const state = this.#log(log);
    const groupId = this.#groupIdFor(group);
    const retryTopic = retryTopicName(groupId);
    // Appends already on their way count as "before" the group: they are awaited before the log's end is read.
    // (Only those: appends made from now on wait for this initialisation.)
    const before = [...state.inflight];
    const init = async (): Promise<void> => {
      // kafkajs's createTopics(waitForLeaders) waits out LEADER_NOT_AVAILABLE only; a broker that does not know the
      // new topic yet answers UNKNOWN_TOPIC_OR_PARTITION (seen right after creation on a loaded one-node Kafka), which
      // must not fail a start: the creation is idempotent, so it is retried.
      await retrying(() => this.#ensureTopic(state));
      await retrying(() => this.#ensureRetryTopic(retryTopic));
      await Promise.allSettled(before.splice(0));
      await retrying(() => this.#initGroupOffsets(groupId, [state.topic, retryTopic]));
    };
    const firstInit = state.barrier.then(init);
    firstInit.catch(() => undefined);
    state.barrier = firstInit.catch(() => undefined);
    const consumer = new GroupConsumer({
      kafka: this.#kafka,
      groupId,
      topic: state.topic,
      retryTopic,
      options,
      handler,
      timers: this.#timers,
      logger: this.#logger.child({ group: groupId }),
      settings: this.#settings,
      firstInit,
      init,
      produce: (topic, message) => this.#produce(topic, message),
      deadLetter: async (letter) => {
        if (this.#shared && this.#sharedLog === log) return this.#shared.putDeadLetters(log, group, [letter]);
        if (this.#deadLetters) return this.#deadLetters.putDeadLetters(log, group, [letter]);
        this.#logger.warn({ group: groupId, ceId: letter.event.attributes['id'], reason: letter.reason }, 'no dead-letter store: event dropped');
      },
      readPositions: async (topic) => {
        const admin = await this.#adminReady();
        const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
        const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        return new Map(ends.map((e) => [e.partition, { end: Number(e.high), committed: at.get(e.partition) ?? -1 }]));
      },
      readMarkers: async (topic) => {
        const admin = await this.#adminReady();
        const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
        return new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.metadata]));
      },
    });
    this.#groupNames.add(group);
    state.groups.set(group, { groupId, retryTopic, consumer, firstInit });
    return {
      close: async (timeoutMs) => {
        await consumer.close(timeoutMs ?? 10_000);
        state.groups.delete(group);
        this.#groupNames.delete(group);
      },
    };
  }

  /** Sets the offsets of partitions the group has never committed to the current end (Knative: "latest"). */
  async #initGroupOffsets(groupId: string, topics: string[]): Promise<void> {
    const admin = await this.#adminReady();
    // The log's end is read BEFORE the group's offsets: if another instance creates the group in between, its
    // ingress opened after our read, so our (earlier) end offsets can only cause redelivery, never a skipped event.
    const ends = new Map<string, Map<number, string>>();
    for (const topic of topics) ends.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.offset])));
    const committed = await admin.fetchOffsets({ groupId, topics });
    const missing: TopicOffsets[] = [];
    for (const t of committed) {
      const unset = t.partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition);
      if (unset.length === 0) continue;
      const end = ends.get(t.topic);
      missing.push({ topic: t.topic, partitions: unset.map((partition) => ({ partition, offset: end?.get(partition) ?? '0' })) });
    }
    if (missing.length === 0) return;
    try {
      await this.#offsets.commit(groupId, missing);
      this.#logger.info({ group: groupId, topics: missing.map((m) => m.topic) }, 'new consumer group starts at the end of the log');
    } catch (err) {
      // Another instance is running the group already: it owns the offsets.
      this.#logger.debug({ group: groupId, err }, 'initial offsets not committed');
    }
  }

  // ---------------------------------------------------------------- topics

  #log(log: string): LogState {
    let state = this.#logs.get(log);
    if (!state) {
      const t = this.#topicFor(log);
      state = {
        log,
        topic: t.topic,
        external: t.external === true,
        ready: undefined,
        barrier: Promise.resolve(),
        inflight: new Set(),
        groups: new Map(),
        stats: { backlog: 0, retrying: 0 },
        lag: new Map(),
        statsAt: 0,
        refreshing: false,
        retained: 0,
      };
      this.#logs.set(log, state);
    }
    return state;
  }

  #stateOfTopic(topic: string): LogState | undefined {
    for (const s of this.#logs.values()) if (s.topic === topic) return s;
    return undefined;
  }

  #ensureTopic(state: LogState): Promise<void> {
    if (!state.ready) {
      const p = this.#createTopic(state.topic, state.external, true);
      state.ready = p;
      p.catch(() => {
        if (state.ready === p) state.ready = undefined;
      });
    }
    return state.ready;
  }

  readonly #retryTopics = new Map<string, Promise<void>>();

  #ensureRetryTopic(topic: string): Promise<void> {
    let p = this.#retryTopics.get(topic);
    if (!p) {
      p = this.#createTopic(topic, false, false);
      this.#retryTopics.set(topic, p);
      p.catch(() => this.#retryTopics.delete(topic));
    }
    return p;
  }

  async #createTopic(topic: string, external: boolean, isLog: boolean): Promise<void> {
    const admin = await this.#adminReady();
    const existing = await admin.listTopics();
    const archive = isLog && !external ? this.#archiveConfig() : [];
    if (existing.includes(topic)) {
      if (archive.length > 0) await this.#applyTopicConfig(admin, topic, archive);
      const wanted = this.#topicSettings.partitions;
      if (isLog && !external && wanted !== undefined) {
        // Partitions are set only when a topic is created: a different figure in the file is said, not silently ignored.
        const have = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length;
        if (have !== undefined && have !== wanted) {
          this.#logger.warn(
            { topic, partitions: have, configured: wanted },
            `topic ${topic} has ${have} partitions, not the ${wanted} of default.topic.partitions: Sluice sets them only when it creates the topic (alter it with Kafka's tools)`,
          );
        }
      }
      return;
    }
    if (external) {
      throw new SluiceError('SLUICE_KAFKA_TOPIC_MISSING', `the external topic "${topic}" does not exist (it is never created by Sluice)`, { retryable: true });
    }
    const replicationFactor = this.#topicSettings.replicationFactor ?? (await this.#defaultReplication());
    const configEntries = this.#topicSettings.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(this.#topicSettings.retentionMs) }];
    for (const e of archive) {
      const i = configEntries.findIndex((c) => c.name === e.name);
      if (i >= 0) configEntries.splice(i, 1);
      configEntries.push(e);
    }
    // With three replicas an acks=all write waits for two of them: one broker may die without losing an acknowledged
    // event, and with two down writes are refused (the ingress answers 503) rather than kept on a single copy.
    if (replicationFactor >= 3) configEntries.push({ name: 'min.insync.replicas', value: '2' });
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: this.#topicSettings.partitions ?? 10, replicationFactor, configEntries }],
    });
    this.#logger.info({ topic, partitions: this.#topicSettings.partitions ?? 10, replicationFactor }, 'created Kafka topic');
  }

  /** The dead-letter topic: one partition (a letter's id is its offset), the dead-letter retention by time. */
  async #createDeadLetterTopic(topic: string, retentionMs: number): Promise<void> {
    const admin = await this.#adminReady();
    if ((await admin.listTopics()).includes(topic)) return;
    const replicationFactor = this.#topicSettings.replicationFactor ?? (await this.#defaultReplication());
    const configEntries = [{ name: 'retention.ms', value: String(retentionMs) }];
    if (replicationFactor >= 3) configEntries.push({ name: 'min.insync.replicas', value: '2' });
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor, configEntries }] });
    this.#logger.info({ topic, replicationFactor }, 'created Kafka dead-letter topic');
  }

  /** The retention settings the archive asks of a log topic. */
  #archiveConfig(): Array<{ name: string; value: string }> {
    const a = this.#archive;
    if (!a) return [];
    const entries = [{ name: 'retention.ms', value: String(Math.max(a.maxAgeMs, this.#topicSettings.retentionMs ?? 0)) }];
    if (a.maxBytes !== undefined) entries.push({ name: 'retention.bytes', value: String(Math.ceil(a.maxBytes / (this.#topicSettings.partitions ?? 10))) });
    return entries;
  }

  /**
   * Sets `entries` on an existing topic when they differ. Kafka's AlterConfigs (all kafkajs offers) replaces every
   * topic-level setting, so the topic's other settings (e.g. `min.insync.replicas`) are read and sent along.
   */
  async #applyTopicConfig(admin: Admin, topic: string, entries: ReadonlyArray<{ name: string; value: string }>): Promise<void> {
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: this.#kafkajs.ConfigResourceTypes.TOPIC, name: topic }] });
    const current = described.resources[0]?.configEntries ?? [];
    const changed = entries.filter((e) => current.find((c) => c.configName === e.name)?.configValue !== e.value);
    if (changed.length === 0) return;
    // configSource 1 = DYNAMIC_TOPIC_CONFIG: the settings made on this topic.
    const own = current.filter((c) => (c as { configSource?: number }).configSource === 1 && !entries.some((e) => e.name === c.configName)).map((c) => ({ name: c.configName, value: c.configValue }));
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: this.#kafkajs.ConfigResourceTypes.TOPIC, name: topic, configEntries: [...own, ...entries] }] });
    this.#logger.info({ topic, set: Object.fromEntries(changed.map((e) => [e.name, e.value])) }, 'archive: topic retention changed');
  }

  // ---------------------------------------------------------------- archive

  /**
   * The records `log`'s topic still holds that were stamped in [from, to] (the topic's retention is the archive),
   * merged across partitions by time, a page at a time; read without joining a group, so live delivery is untouched.
   */
  async *archivePages(log: string, range: { readonly from: number; readonly to: number }): AsyncGenerator<ArchivedEvent[]> {
    if (this.#closed || this.#closing) throw closedError();
    const state = this.#log(log);
    await this.#ensureTopic(state);
    const admin = await this.#adminReady();
    const cluster = await this.#readerReady();
    yield* readTopicRange({ admin, cluster, topic: state.topic, from: range.from, to: range.to, logger: this.#logger });
  }

  /** Records `log`'s topic holds (refreshed in the background, like {@link stats}); bytes are not known (0). */
  archiveStats(log: string): { count: number; bytes: number } {
    this.stats(log);
    return { count: this.#log(log).retained, bytes: 0 };
  }

  #readerReady(): Promise<ClusterLike> {
    if (!this.#reader) {
      const p = connectCluster(this.#kafka);
      this.#reader = p;
      p.catch(() => {
        if (this.#reader === p) this.#reader = undefined;
      });
    }
    return this.#reader;
  }

  #defaultReplication(): Promise<number> {
    this.#replication ??= this.#adminReady()
      .then((a) => a.describeCluster())
      .then((c) => Math.max(1, Math.min(3, c.brokers.length)));
    this.#replication.catch(() => (this.#replication = undefined));
    return this.#replication;
  }

  #adminReady(): Promise<Admin> {
    if (!this.#admin) {
      const admin = this.#kafka.admin({ retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3000 } });
      const p = admin.connect().then(() => admin);
      this.#admin = p;
      p.catch(() => {
        if (this.#admin === p) this.#admin = undefined;
      });
    }
    return this.#admin;
  }

  #producerReady(): Promise<Producer> {
    if (!this.#producer) {
      const producer = this.#kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: this.#kafkajs.Partitioners.DefaultPartitioner,
        // No retries of its own: see #send.
        retry: { retries: 0 },
      });
      const p = producer.connect().then(() => producer);
      this.#producer = p;
      p.catch(() => {
        if (this.#producer === p) this.#producer = undefined;
      });
    }
    return this.#producer;
  }

  // ---------------------------------------------------------------- stats, groups, close

  /**
   * Backlog = the consumer lag of the slowest group over all partitions (cluster-wide, so every instance reports the
   * same figure); retrying = records in the groups' retry topics not yet finished. Both come from Kafka in the
   * background, at most `statsMaxAgeMs` old; the first call returns zeros. Per group: the group's lag less the
   * records this instance holds, the retry topic's lag, this instance's handler calls, and the append time of the
   * oldest record this instance holds.
   */
  stats(log: string): LogStats {
    const state = this.#log(log);
    if (!state.refreshing && this.#timers.now() - state.statsAt > this.#statsMaxAgeMs && !this.#closed) {
      state.refreshing = true;
      this.#refreshStats(state)
        .catch((err: unknown) => this.#logger.debug({ err }, 'cannot read consumer lag'))
        .finally(() => {
          state.refreshing = false;
        });
    }
    return this.#statsOf(state);
  }

  /** Reads the figures behind {@link stats} from Kafka now (for a deletion's --force check), and keeps them. */
  async exactStats(log: string): Promise<LogStats> {
    const state = this.#log(log);
    await this.#refreshStats(state);
    return this.#statsOf(state);
  }

  #statsOf(state: LogState): LogStats {
    const groups: Record<string, GroupStats> = {};
    for (const [group, g] of state.groups) {
      const lag = state.lag.get(group) ?? { backlog: 0, retrying: 0 };
      groups[group] = {
        backlog: Math.max(0, lag.backlog - g.consumer.heldRecords),
        inFlight: g.consumer.inFlight,
        retrying: lag.retrying,
        oldestPendingAt: g.consumer.oldestHeldAt,
      };
    }
    return { ...state.stats, groups };
  }

  async #refreshStats(state: LogState): Promise<void> {
    const admin = await this.#adminReady();
    // A partition the group never committed on is all still to read (its start offsets are set when it is created).
    const lag = (groupId: string, topic: string): Promise<number> => groupLag(admin, groupId, topic, 'whole-partition');
    let backlog = 0;
    let retrying = 0;
    const perGroup = new Map<string, { backlog: number; retrying: number }>();
    for (const [group, g] of state.groups) {
      const b = await lag(g.groupId, state.topic);
      const r = await lag(g.groupId, g.retryTopic);
      perGroup.set(group, { backlog: b, retrying: r });
      backlog = Math.max(backlog, b);
      retrying += r;
    }
    state.stats = { backlog, retrying };
    state.lag = perGroup;
    if (this.#archive) state.retained = (await admin.fetchTopicOffsets(state.topic)).reduce((n, p) => n + Math.max(0, Number(p.high) - Number(p.low)), 0);
    state.statsAt = this.#timers.now();
  }

  /**
   * Waits until the log's topic and its groups' start offsets are in place (so the runtime turns ready only then),
   * and rejects when Kafka cannot be reached or an external topic is missing.
   */
  async ready(log: string): Promise<void> {
    const state = this.#log(log);
    try {
      await this.#ensureTopic(state);
      await Promise.all([...state.groups.values()].map((g) => g.firstInit));
      if (this.#shared && this.#sharedLog === log) await this.#shared.start();
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('SLUICE_STORE_UNAVAILABLE', `Kafka at ${this.#servers} is not usable for topic ${state.topic}: ${(err as Error).message}`, { retryable: true, cause: err });
    }
  }

  /**
   * Only the groups this process runs: other groups of the topic may belong to other instances running an older
   * configuration, and Kafka expires the offsets of an empty group after `offsets.retention.minutes` (7 days by
   * default), so they are left alone.
   */
  groups(log: string): string[] {
    return [...this.#log(log).groups.keys()];
  }

  /**
   * Deletes the Kafka consumer groups (their committed offsets) of groups this process no longer runs. What they had
   * not finished (lag on the topic and on their retry topic) is counted and discarded: Kafka keeps no per-group copy
   * to move elsewhere. Counted per group as `unread` (topic lag) and `retries` (retry-topic lag).
   */
  async forgetGroups(log: string, groups: readonly string[], options: ForgetOptions = {}): Promise<ForgottenGroup[]> {
    const state = this.#log(log);
    const busy = groups.find((g) => this.#groupNames.has(g));
    if (busy !== undefined) throw new SluiceError('SLUICE_STORE_GROUP_BUSY', `consumer group ${busy} is running; close it before forgetting it`);
    const admin = await this.#adminReady();
    // A forgotten group owes only what it had committed a position before (a partition it never read is not counted).
    const lag = (groupId: string, topic: string): Promise<number> => groupLag(admin, groupId, topic, 'nothing');
    const out: ForgottenGroup[] = [];
    for (const group of groups) {
      const groupId = this.#groupIdFor(group);
      if (this.#shared && this.#sharedLog === log) {
        // Dead letters are shared through Kafka: what the group owed is kept there (replayable with --to) before its
        // offsets go. A failure here leaves the group in place, so nothing is lost.
        const moved = await this.#moveToDeadLetters(log, group, groupId, state.topic, options.filters?.get(group));
        await admin
          .deleteGroups([groupId])
          .catch((err: unknown) => this.#logger.warn({ group: groupId, err }, 'consumer group not deleted; Kafka expires its offsets after offsets.retention.minutes'));
        out.push({ group, ...moved, outcome: 'dead-letters' });
        continue;
      }
      const unread = await lag(groupId, state.topic).catch(() => 0);
      const retries = await lag(groupId, retryTopicName(groupId)).catch(() => 0);
      try {
        await admin.deleteGroups([groupId]);
      } catch (err) {
        this.#logger.warn({ group: groupId, err }, 'consumer group not deleted; Kafka expires its offsets after offsets.retention.minutes');
      }
      out.push({ group, retries, backlog: 0, unread, outcome: 'discarded' });
      if (retries + unread > 0) this.#logger.warn({ log, group: groupId, retries, unread }, `consumer group ${group} forgotten: ${retries} pending retries and ${unread} unread events discarded`);
    }
    return out;
  }

  /**
   * Keeps what a group being forgotten still owed as dead letters with reason `trigger removed`: the records of its
   * retry topic past its committed offsets (with their attempt numbers), and, when its filter is known, the records
   * of the log past its committed offsets that the filter takes (the others are counted as `unread` when no filter is
   * known). Read a fetch at a time; records it had finished beyond a lower unfinished one are kept too (at least once).
   */
  async #moveToDeadLetters(log: string, group: string, groupId: string, topic: string, filter: EventPredicate | undefined): Promise<{ retries: number; backlog: number; unread: number }> {
    const admin = await this.#adminReady();
    const cluster = await this.#readerReady();
    const shared = this.#shared!;
    const counts = { retries: 0, backlog: 0, unread: 0 };
    const pending = async (t: string): Promise<Array<{ partition: number; from: number; to: number }>> => {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(t), admin.fetchOffsets({ groupId, topics: [t] })]);
      const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends.map((e) => ({ partition: e.partition, from: at.get(e.partition) ?? -1, to: Number(e.high) })).filter((r) => r.from >= 0 && r.from < r.to);
    };
    const keep = async (t: string, retry: boolean): Promise<void> => {
      for (const range of await pending(t)) {
        if (!retry && !filter) {
          counts.unread += range.to - range.from;
          continue;
        }
        await readOffsetRange({ admin, cluster, topic: t, ...range }, async (messages) => {
          const letters = [];
          for (const m of messages) {
            const decoded = decodeMessage(m.headers, m.value);
            if (!decoded) continue;
            if (!retry) {
              let take: boolean;
              try {
                take = filter!(decoded.event);
              } catch {
                take = false; // an expression that fails on one event does not match it, as the trigger's filter
              }
              if (!take) continue;
            }
            letters.push({
              event: decoded.event,
              reason: 'trigger removed',
              attempts: retry ? (decoded.attempt ?? 0) : 0,
              firstAttemptAt: decoded.firstAttemptAt,
              lastAttemptAt: this.#timers.now(),
              origin: decoded.origin ?? `${t}/${range.partition}/${m.offset}`,
            });
          }
          if (letters.length > 0) await shared.putDeadLetters(log, group, letters);
          if (retry) counts.retries += letters.length;
          else counts.backlog += letters.length;
        });
      }
    };
    await keep(retryTopicName(groupId), true);
    await keep(topic, false);
    if (counts.retries + counts.backlog + counts.unread > 0) {
      this.#logger.warn(
        { log, group: groupId, ...counts },
        `consumer group ${group} forgotten: ${counts.retries} pending retries and ${counts.backlog} unread events its filter takes kept as dead letters (trigger removed)${counts.unread > 0 ? `, ${counts.unread} unread events discarded (no filter known)` : ''}`,
      );
    }
    return counts;
  }

  /** Stops every group (committing what is finished, leaving the groups), flushes appends, disconnects. */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    // Consumers first: their last retries and replies still go through the producer.
    await Promise.all([...this.#logs.values()].flatMap((s) => [...s.groups.values()].map((g) => g.consumer.close(10_000))));
    for (const s of this.#logs.values()) s.groups.clear();
    this.#groupNames.clear();
    await this.#shared?.close();
    this.#closed = true;
    if (this.#queue.length > 0 || this.#sending > 0) {
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        this.#scheduleFlush();
      });
    }
    const producer = this.#producer;
    const admin = this.#admin;
    const reader = this.#reader;
    this.#producer = undefined;
    this.#admin = undefined;
    this.#reader = undefined;
    const quietly = (p: Promise<unknown> | undefined): Promise<unknown> => withTimeout(p ?? Promise.resolve(), 5000, () => new Error('timeout')).catch(() => undefined);
    await Promise.all([quietly(producer?.then((p) => p.disconnect())), quietly(admin?.then((a) => a.disconnect())), quietly(this.#offsets.close()), quietly(reader?.then((c) => c.disconnect()))]);
  }
}

/**
 * Retries a setup step for up to 15 s. A topic just created on a cluster of several brokers is not known to all of
 * them at once: "This server does not host this topic-partition" for a second or more on a loaded machine (measured
 * with three brokers), which must not fail a start.
 */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const wait = Math.min(2000, 250 * (i + 1));
      if (err instanceof SluiceError || Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * Whether a failed send is worth making again: kafkajs's retrier reports a retriable error it did not retry (its
 * producer has no retries) as KafkaJSNumberOfRetriesExceeded; anything else it rejects is not retriable.
 */
function retriableKafkaError(err: unknown): boolean {
  const e = err as { name?: string; retriable?: boolean };
  return e.name === 'KafkaJSNumberOfRetriesExceeded' || e.retriable === true;
}

function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(error()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}

/**
 * Records of `topic` after the consumer group's committed offsets (its lag), summed over the partitions; a partition
 * with no committed offset counts as `uncommitted` says: the whole partition, or nothing.
 */
async function groupLag(admin: Admin, groupId: string, topic: string, uncommitted: 'whole-partition' | 'nothing'): Promise<number> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let n = 0;
  for (const e of ends) {
    const c = at.get(e.partition) ?? -1;
    if (c >= 0) n += Math.max(0, Number(e.offset) - c);
    else if (uncommitted === 'whole-partition') n += Math.max(0, Number(e.offset) - Number(e.low));
  }
  return n;
}

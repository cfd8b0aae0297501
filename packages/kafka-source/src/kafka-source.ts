import type { Batch, Consumer, EachBatchPayload, Kafka, KafkaConfig, KafkaMessage } from 'kafkajs';
import { Backoff, DEFAULT_NAMESPACE, SluiceError, sleep, falseCondition, noopLogger, toDeliveryPolicy, trueCondition, unknownCondition, type Condition, type Logger } from '@sluice/core';
import { bootstrapBrokers, kafkajsLogCreator, kafkajsLibrary, type RuntimeComponent, type RuntimeContext } from '@sluice/plugin';
import { SinkDelivery, applyCeOverrides, formatProblem, sourceMetrics, sourceOidc } from '@sluice/sources';
import { resolveNet } from './kafka-auth.js';
import { KEY_TYPE_LABEL, KEY_TYPES, defaultConsumerGroup, type KafkaSource, type KeyType } from './kafka-source-types.js';
import { OffsetWindow } from './offset-window.js';
import { recordToEvent } from './record-event.js';
import { SecretStore } from '@sluice/config';

/** Collaborators and tuning of {@link KafkaSourceComponent}; production defaults when unset. */
export interface KafkaSourceDeps {
  /** Builds the kafkajs client. */
  readonly kafka?: (config: KafkaConfig) => Kafka;
  /** Resolves `secretKeyRef`s; default: no Secret documents, `$SLUICE_SECRETS_DIR`. */
  readonly secrets?: SecretStore;
  /** Records started but not yet committable per partition in `unordered` mode (default 100). */
  readonly maxInFlightPerPartition?: number;
  /** Partitions one consumer handles at the same time (default 16). */
  readonly partitionsConsumedConcurrently?: number;
  /** How long a partition pauses after a record was neither accepted nor dead-lettered: first and longest pause. */
  readonly pauseMs?: { readonly initial: number; readonly max: number };
  /** How long `start` waits for the consumers to join their group before going on in the background (default 15 s). */
  readonly joinTimeoutMs?: number;
}

/** Default of {@link KafkaSourceDeps.maxInFlightPerPartition}. */
export const DEFAULT_MAX_IN_FLIGHT_PER_PARTITION = 100;
const HEARTBEAT_TICK_MS = 1000;

function keyTypeOf(source: KafkaSource): KeyType {
  const label = source.metadata.labels?.[KEY_TYPE_LABEL];
  return label !== undefined && (KEY_TYPES as readonly string[]).includes(label) ? (label as KeyType) : 'string';
}

/**
 * Runs one KafkaSource inside `sluice run`: `spec.consumers` kafkajs consumers in the source's consumer group, each
 * record mapped to a CloudEvent (record-event.ts) and delivered to the sink with the source's delivery spec.
 * Offsets are committed only for records the sink accepted or the dead-letter sink took, so a crash loses nothing
 * (records in flight are delivered again). `ordered`: one record at a time per partition; `unordered`: up to
 * `maxInFlightPerPartition` at a time, committing only up to the lowest unfinished offset. A record that can be
 * neither delivered nor dead-lettered pauses its partition (growing pauses) and is retried from the same offset.
 */
export class KafkaSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #source: KafkaSource;
  readonly #deps: KafkaSourceDeps;
  readonly #namespace: string;
  readonly #keyType: KeyType;
  readonly #ordered: boolean;
  readonly #maxInFlight: number;
  readonly #abort = new AbortController();
  readonly #consumers: Consumer[] = [];
  readonly #resumeTimers = new Set<NodeJS.Timeout>();
  readonly #pauses = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();
  #sink: SinkDelivery | undefined;
  #logger: Logger = noopLogger;
  #ctx: RuntimeContext | undefined;
  /** Consumers that are in their group now (Ready needs one; all `spec.consumers` is not required). */
  readonly #joined = new Set<Consumer>();

  constructor(source: KafkaSource, deps: KafkaSourceDeps = {}) {
    this.#namespace = source.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.name = `KafkaSource ${this.#namespace}/${source.metadata.name}`;
    this.#source = source;
    this.#deps = deps;
    this.#keyType = keyTypeOf(source);
    this.#ordered = (source.spec.ordering ?? 'ordered') === 'ordered';
    this.#maxInFlight = this.#ordered ? 1 : Math.max(1, deps.maxInFlightPerPartition ?? DEFAULT_MAX_IN_FLIGHT_PER_PARTITION);
  }

  /** The consumer group this source commits in. */
  get groupId(): string {
    return this.#source.spec.consumerGroup ?? defaultConsumerGroup(this.#namespace, this.#source.metadata.name);
  }

  /**
   * Reports the source's conditions as Knative's KafkaSource reconciler names them: `SinkProvided`,
   * `ConnectionEstablished` (False `ClientCreationFailed` while Kafka cannot be reached) and `InitialOffsetsCommitted`
   * (False `OffsetsNotCommitted` while a topic is missing); Ready once a consumer is in its group.
   */
  #report(connection: Condition, offsets: Condition): void {
    const ns = this.#namespace;
    this.#ctx?.reportStatus('KafkaSource', ns, this.#source.metadata.name, [trueCondition('SinkProvided'), connection, offsets], {
      ...(this.#sink ? { sinkUri: this.#sink.url } : {}),
      consumers: this.#joined.size,
    });
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const spec = this.#source.spec;
    this.#ctx = ctx;
    this.#logger = ctx.logger.child({ source: this.name });
    const net = resolveNet(spec.net, this.#namespace, this.#deps.secrets ?? new SecretStore());
    if (net.problems.length > 0) {
      throw new SluiceError('SLUICE_KAFKA_SOURCE_CONFIG', `${this.name}: ${net.problems.map(formatProblem).join('; ')}`);
    }
    const deadLetterSink = spec.delivery?.deadLetterSink;
    this.#sink = new SinkDelivery({
      undelivered: 'keep',
      sender: ctx.sender,
      url: ctx.resolver.resolve(spec.sink, this.#namespace),
      deadLetter: deadLetterSink ? { url: ctx.resolver.resolve(deadLetterSink, this.#namespace), oidc: sourceOidc(this.#source, deadLetterSink) } : undefined,
      policy: toDeliveryPolicy(spec.delivery),
      namespace: this.#namespace,
      logger: this.#logger,
      now: ctx.now,
      oidc: sourceOidc(this.#source, spec.sink),
      metrics: sourceMetrics(ctx, this.#source, this.#namespace),
    });
    const { Kafka: KafkaClient, logLevel } = await kafkajsLibrary(this.name);
    if (this.#abort.signal.aborted) return; // stopped while the library loaded
    const config: KafkaConfig = {
      clientId: `sluice-kafkasource-${this.#namespace}-${this.#source.metadata.name}`,
      brokers: bootstrapBrokers(spec.bootstrapServers),
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(this.#logger),
      ...(net.ssl !== undefined ? { ssl: net.ssl } : {}),
      ...(net.sasl !== undefined ? { sasl: net.sasl } : {}),
    };
    const kafka = (this.#deps.kafka ?? ((c: KafkaConfig) => new KafkaClient(c)))(config);
    const joined: Promise<void>[] = [];
    for (let i = 0; i < (spec.consumers ?? 1); i++) {
      // Offsets reset only when the group has none committed, which is what initialOffset means in Knative.
      const consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 1000, allowAutoTopicCreation: false });
      this.#consumers.push(consumer);
      joined.push(new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve())));
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        this.#joined.add(consumer);
        this.#report(trueCondition('ConnectionEstablished'), trueCondition('InitialOffsetsCommitted'));
        const assignment = Object.entries(e.payload.memberAssignment)
          .map(([t, ps]) => `${t}[${ps.join(',')}]`)
          .join(' ');
        this.#logger.info({ group: e.payload.groupId, member: e.payload.memberId, assignment }, 'kafka source consuming');
      });
      consumer.on(consumer.events.CRASH, (e) => {
        this.#left(
          consumer,
          falseCondition('ConnectionEstablished', 'ClientCreationFailed', e.payload.error.message),
          unknownCondition('InitialOffsetsCommitted', 'Reconnecting', 'waiting for the connection'),
        );
        this.#logger.error({ group: e.payload.groupId, err: e.payload.error.message, restart: e.payload.restart }, 'kafka consumer crashed');
        if (!e.payload.restart) this.#track(this.#restart(consumer));
      });
      this.#track(this.#launch(consumer));
    }
    this.#report(
      unknownCondition('ConnectionEstablished', 'Connecting', `connecting to ${spec.bootstrapServers.join(', ')}`),
      unknownCondition('InitialOffsetsCommitted', 'Connecting', 'waiting for the connection'),
    );
    this.#logger.info({ topics: spec.topics, group: this.groupId, sink: this.#sink.url, ordering: this.#ordered ? 'ordered' : 'unordered', consumers: spec.consumers ?? 1 }, 'kafka source starting');
    // "sluice ready" should mean the source is consuming, but a Kafka that is down must not block the other
    // components: after the timeout the consumers keep trying in the background.
    const timeout = new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), this.#deps.joinTimeoutMs ?? 15_000);
      t.unref();
    });
    if ((await Promise.race([Promise.all(joined), timeout])) === 'timeout') {
      this.#logger.warn({ bootstrapServers: spec.bootstrapServers }, 'kafka source has not joined its consumer group yet; it keeps trying in the background');
    }
  }

  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  // Connects and runs a consumer, retrying with growing waits while Kafka is unreachable.
  async #launch(consumer: Consumer): Promise<void> {
    const spec = this.#source.spec;
    const backoff = new Backoff();
    while (!this.#abort.signal.aborted) {
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: spec.topics, fromBeginning: (spec.initialOffset ?? 'latest') === 'earliest' });
        await consumer.run({
          autoCommit: true,
          // Auto-commit only ever commits resolved offsets, and this source resolves a record once it is delivered.
          autoCommitInterval: 1000,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.#deps.partitionsConsumedConcurrently ?? 16,
          eachBatch: (payload) => this.#eachBatch(payload),
        });
        return;
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        // KafkaSource does not create topics (neither does Knative's): say so when that is the cause.
        const missing = (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION';
        const message = (err as Error).message;
        if (missing)
          this.#left(
            consumer,
            trueCondition('ConnectionEstablished'),
            falseCondition('InitialOffsetsCommitted', 'OffsetsNotCommitted', `topics [${spec.topics.join(', ')}] not present: ${message} (KafkaSource does not create topics)`),
          );
        else this.#left(consumer, falseCondition('ConnectionEstablished', 'ClientCreationFailed', message), unknownCondition('InitialOffsetsCommitted', 'Connecting', 'waiting for the connection'));
        const wait = backoff.next();
        this.#logger.error({ err, retryInMs: wait, ...(missing ? { hint: `create the topics first: ${spec.topics.join(', ')}` } : {}) }, 'kafka source cannot consume');
        await consumer.disconnect().catch(() => undefined);
        await sleep(wait, this.#abort.signal);
      }
    }
  }

  /** A consumer is out of its group: NotReady with why, unless another consumer of the source still consumes. */
  #left(consumer: Consumer, connection: Condition, offsets: Condition): void {
    this.#joined.delete(consumer);
    if (this.#joined.size === 0 && !this.#abort.signal.aborted) this.#report(connection, offsets);
  }

  async #restart(consumer: Consumer): Promise<void> {
    await consumer.disconnect().catch(() => undefined);
    await sleep(1000, this.#abort.signal);
    await this.#launch(consumer);
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const partitionKey = `${batch.topic}/${batch.partition}`;
    const batchAbort = new AbortController();
    const onStop = (): void => batchAbort.abort();
    this.#abort.signal.addEventListener('abort', onStop, { once: true });
    // Deliveries may take long (retries, timeouts, a dead sink): keep the group session alive meanwhile, and give
    // up the batch as soon as a heartbeat says the group is rebalancing.
    let heartbeatError: unknown;
    const ticker = setInterval(() => {
      payload.heartbeat().catch((err: unknown) => {
        heartbeatError ??= err;
        batchAbort.abort();
      });
    }, HEARTBEAT_TICK_MS);
    try {
      const alive = (): boolean => !batchAbort.signal.aborted && payload.isRunning() && !payload.isStale();
      const stuck = this.#ordered ? await this.#deliverInOrder(batch, payload, alive, batchAbort.signal) : await this.#deliverUnordered(batch, payload, alive, batchAbort.signal);
      if (stuck && !batchAbort.signal.aborted) this.#pausePartition(partitionKey, payload, batch);
    } finally {
      clearInterval(ticker);
      this.#abort.signal.removeEventListener('abort', onStop);
    }
    // Re-throws what the heartbeat raised, as it raised it.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (heartbeatError !== undefined) throw heartbeatError;
  }

  // One record at a time. Returns true when a record has to be retried later.
  async #deliverInOrder(batch: Batch, payload: EachBatchPayload, alive: () => boolean, signal: AbortSignal): Promise<boolean> {
    for (const message of batch.messages) {
      if (!alive()) return false;
      if (!(await this.#handle(batch, message, signal))) return true;
      payload.resolveOffset(message.offset);
      this.#pauses.delete(`${batch.topic}/${batch.partition}`);
      await payload.commitOffsetsIfNecessary();
    }
    return false;
  }

  // Up to maxInFlight records at a time; the resolved offset never passes an unfinished record.
  async #deliverUnordered(batch: Batch, payload: EachBatchPayload, alive: () => boolean, signal: AbortSignal): Promise<boolean> {
    const window = new OffsetWindow();
    const inFlight = new Set<Promise<void>>();
    let stuck = false;
    // Woken whenever a delivery ends (cheaper than Promise.race over every pending delivery, per record).
    let wake: (() => void) | undefined;
    try {
      for (const message of batch.messages) {
        while (window.size >= this.#maxInFlight && inFlight.size > 0 && !stuck) await new Promise<void>((resolve) => (wake = resolve));
        if (stuck || !alive()) break;
        window.start(message.offset);
        const p = this.#handle(batch, message, signal).then((taken) => {
          if (!taken) {
            stuck = true;
            return;
          }
          const upTo = window.finish(message.offset);
          if (upTo !== undefined) {
            payload.resolveOffset(upTo);
            this.#pauses.delete(`${batch.topic}/${batch.partition}`);
          }
        });
        inFlight.add(p);
        void p.finally(() => {
          inFlight.delete(p);
          const w = wake;
          wake = undefined;
          w?.();
        });
        await payload.commitOffsetsIfNecessary();
      }
    } finally {
      // Never leave deliveries running past the batch: their offsets belong to it.
      await Promise.allSettled(inFlight);
    }
    return stuck;
  }

  // Whether the sink or the dead-letter sink took the record (its offset may be committed).
  async #handle(batch: Batch, message: KafkaMessage, signal: AbortSignal): Promise<boolean> {
    try {
      const mapped = recordToEvent(
        { topic: batch.topic, partition: batch.partition, offset: message.offset, timestamp: message.timestamp, key: message.key ?? null, value: message.value, headers: message.headers ?? {} },
        { namespace: this.#namespace, name: this.#source.metadata.name, keyType: this.#keyType },
      );
      if (mapped.invalid !== undefined) {
        this.#logger.debug({ topic: batch.topic, partition: batch.partition, offset: message.offset, why: mapped.invalid }, 'record looks like a CloudEvent but is not a valid one: wrapped');
      }
      const outcome = await this.#sink!.deliver(applyCeOverrides(mapped.event, this.#source.spec.ceOverrides), { signal });
      return outcome.kind !== 'undelivered';
    } catch (err) {
      // Not expected (delivery reports failures as values); keep the record rather than lose it.
      this.#logger.error({ topic: batch.topic, partition: batch.partition, offset: message.offset, err }, 'cannot handle record');
      return false;
    }
  }

  // Pauses the partition; kafkajs fetches again from the first unresolved offset once it is resumed.
  #pausePartition(key: string, payload: EachBatchPayload, batch: Batch): void {
    const { initial, max } = this.#deps.pauseMs ?? { initial: 1000, max: 30_000 };
    const wait = Math.min(this.#pauses.get(key) ?? initial, max);
    this.#pauses.set(key, Math.min(wait * 2, max));
    const resume = payload.pause();
    this.#logger.warn({ topic: batch.topic, partition: batch.partition, resumeInMs: wait }, 'partition paused: a record was neither delivered nor dead-lettered');
    const timer = setTimeout(() => {
      this.#resumeTimers.delete(timer);
      resume();
    }, wait);
    this.#resumeTimers.add(timer);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    for (const t of this.#resumeTimers) clearTimeout(t);
    this.#resumeTimers.clear();
    // disconnect waits for the batches in hand (their retries end at once), commits what was resolved, leaves the group.
    await Promise.allSettled(this.#consumers.map((c) => c.disconnect()));
    await Promise.allSettled([...this.#running]);
  }
}

import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ISocketFactory, Kafka, Producer } from 'kafkajs';
import { SluiceError, type Logger } from '@sluice/core';
import type { SinkRecord } from './record.js';
import type { KafkaSasl, KafkaTls, KafkajsModule } from '@sluice/plugin';

/** Options of {@link SinkProducer}. */
export interface SinkProducerOptions {
  /** The kafkajs module, which the component loads when a KafkaSink first needs it. */
  readonly kafkajs: KafkajsModule;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId?: string;
  readonly ssl?: KafkaTls | undefined;
  readonly sasl?: KafkaSasl | undefined;
  readonly logger: Logger;
  /** How long one produce may wait for `acks=all` (default 10 s). */
  readonly produceTimeoutMs?: number;
  /** Records waiting for Kafka beyond which sends are refused with SLUICE_KAFKA_SINK_OVERLOADED (default 50,000). */
  readonly maxPending?: number;
  /** Produce requests in flight (default 4). */
  readonly maxInFlight?: number;
  /** A client to use instead of one built from `brokers` (tests). */
  readonly kafka?: Kafka;
}

interface Pending {
  readonly record: SinkRecord;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

// kafkajs keeps Nagle's algorithm on; pipelined produces then wait for delayed ACKs (see @sluice/kafka-store).
const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect) : netConnect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

/** Largest number of records in one produce request (bounded so one request stays well under Kafka's limits). */
const MAX_BATCH = 1000;

/**
 * Produces records to one topic with `acks=all`, group-committing concurrent sends: everything queued during one
 * turn of the event loop goes out in one produce request (up to {@link MAX_BATCH}), a few requests in flight. A send
 * resolves only after Kafka acknowledged its record; key hashing is Kafka's default (murmur2), as Java producers do.
 */
export class SinkProducer {
  readonly #options: SinkProducerOptions;
  readonly #kafka: Kafka;
  #producer: Promise<Producer> | undefined;
  readonly #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  #closed = false;

  constructor(options: SinkProducerOptions) {
    this.#options = options;
    this.#kafka =
      options.kafka ??
      new options.kafkajs.Kafka({
        clientId: options.clientId ?? 'sluice-kafka-sink',
        brokers: [...options.brokers],
        connectionTimeout: 3000,
        requestTimeout: 15_000,
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
        logLevel: options.kafkajs.logLevel.NOTHING,
        socketFactory: noDelaySocketFactory,
        ...(options.ssl ? { ssl: options.ssl } : {}),
        ...(options.sasl ? { sasl: options.sasl } : {}),
      });
  }

  /** The client (for the admin calls at start). */
  get kafka(): Kafka {
    return this.#kafka;
  }

  /** Connects the producer (also done lazily by the first send). */
  async connect(): Promise<void> {
    await this.#ready();
  }

  /** Queues a record; resolves once Kafka acknowledged it with acks=all. */
  send(record: SinkRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new SluiceError('SLUICE_KAFKA_SINK_CLOSED', 'the KafkaSink is closing'));
    if (this.#queue.length >= (this.#options.maxPending ?? 50_000)) {
      return Promise.reject(new SluiceError('SLUICE_KAFKA_SINK_OVERLOADED', `more than ${this.#options.maxPending ?? 50_000} events are waiting for Kafka`));
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ record, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#inFlight < (this.#options.maxInFlight ?? 4)) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#inFlight++;
      void this.#produce(batch).finally(() => {
        this.#inFlight--;
        if (this.#queue.length > 0) this.#schedule();
      });
    }
  }

  async #produce(batch: Pending[]): Promise<void> {
    try {
      const producer = await this.#ready();
      await producer.send({
        topic: this.#options.topic,
        acks: -1,
        timeout: this.#options.produceTimeoutMs ?? 10_000,
        messages: batch.map((p) => ({ key: p.record.key, value: p.record.value, headers: p.record.headers })),
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      const e = new SluiceError('SLUICE_KAFKA_SINK_WRITE_FAILED', `Kafka did not acknowledge the write to topic ${this.#options.topic}: ${(err as Error).message}`, { retryable: true });
      this.#options.logger.warn({ topic: this.#options.topic, err, events: batch.length }, 'KafkaSink write failed');
      for (const p of batch) p.reject(e);
    }
  }

  #ready(): Promise<Producer> {
    if (!this.#producer) {
      const producer = this.#kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: this.#options.kafkajs.Partitioners.DefaultPartitioner,
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      const p = producer.connect().then(() => producer);
      this.#producer = p;
      p.catch(() => {
        if (this.#producer === p) this.#producer = undefined;
      });
    }
    return this.#producer;
  }

  /** Waits for queued sends (up to `timeoutMs`), then disconnects. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.#queue.length > 0 || this.#inFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const p = this.#producer;
    this.#producer = undefined;
    if (p) await p.then((producer) => producer.disconnect()).catch(() => undefined);
  }
}

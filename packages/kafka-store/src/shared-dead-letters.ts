import { randomUUID } from 'node:crypto';
import { SluiceError, type Logger } from '@sluice/core';
import type { DeadLetter, DeadLetterInput, DeadLetterMirror, DeadLetterQuery, DeadLetterRetention, DeadLetterStats, DeadLetterStore } from '@sluice/store';
import type { Admin, Message } from 'kafkajs';
import type { ClusterLike, FetchedMessage } from './kafka-internals.js';

/**
 * Local ids of mirrored letters: the shared id (the offset of the letter's `put` record + 1) less this, so they are
 * negative and never meet the ids the embedded store hands out to its own dead letters in the same table.
 */
const LOCAL_BASE = 2 ** 50;
const toLocal = (id: number): number => id - LOCAL_BASE;
const toShared = (id: number): number => id + LOCAL_BASE;

/** One record of the dead-letter topic (JSON value). */
type Op =
  { readonly op: 'put' | 'update'; readonly token: string; readonly id?: number; readonly letter: WireLetter } | { readonly op: 'remove'; readonly token: string; readonly ids: readonly number[] };

interface WireLetter {
  readonly group: string;
  /** The log record the letter comes from (`topic/partition/offset`): a second `put` of it is not kept again. */
  readonly origin?: string;
  readonly attributes: Record<string, unknown>;
  readonly data?: string;
  readonly reason: string;
  readonly attempts: number;
  readonly firstAttemptAt?: number;
  readonly lastAttemptAt: number;
  readonly storedAt: number;
  readonly replays: number;
}

/** Collaborators of {@link SharedDeadLetters}. */
export interface SharedDeadLettersOptions {
  /** The broker's log (`broker:<ns>/<name>`): the only log this store serves. */
  readonly log: string;
  /** The dead-letter topic (one partition, so the ids, offsets, are in the order letters were kept). */
  readonly topic: string;
  /** The instance's embedded store, holding the local copy the letters are listed from. */
  readonly local: DeadLetterMirror;
  /** Produces one record with `acks=all`. */
  readonly produce: (topic: string, message: Message) => Promise<void>;
  readonly admin: () => Promise<Admin>;
  /** A cluster connection of the reader's own: the topic is read with plain fetches, no group. */
  readonly cluster: () => Promise<ClusterLike>;
  /** Creates the topic if it does not exist (idempotent). */
  readonly ensureTopic: () => Promise<void>;
  readonly now: () => number;
  readonly logger: Logger;
  /** Longest wait for the local copy to show a purge or a failed replay this instance wrote (default 10000 ms). */
  readonly applyTimeoutMs?: number;
}

/**
 * The dead letters of a Kafka-class broker, shared by every instance: each change is a record of the broker's
 * dead-letter topic (`put` a letter, `update` it after a failed replay, `remove` ids), and every instance reads the
 * topic from its start into its embedded store, where it lists them from (a page at a time, on disk: memory stays
 * bounded whatever the topic holds). A letter's id is the offset of its `put` record + 1, the same on every instance.
 *
 * The topic is append-only, not compacted: a compacted topic needs the key of a letter when it is first written, and
 * its id (the offset) is known only once Kafka stored it; a later `remove` record is read after the `put` it removes
 * on every instance and at every restart, so a purge holds. Kafka's time retention (the dead-letter retention)
 * bounds the topic; the local copy applies the size bound as the embedded store does.
 */
export class SharedDeadLetters implements DeadLetterStore {
  readonly #o: SharedDeadLettersOptions;
  readonly #waiters = new Map<string, () => void>();
  #started: Promise<void> | undefined;
  #caughtUp: Promise<void> | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  /** Offsets below this were gone (retention) when the read began: an `update` of such a letter brings it back. */
  #startLow = 0;

  constructor(options: SharedDeadLettersOptions) {
    this.#o = options;
  }

  /** Starts reading the topic (once); resolves when the local copy caught up with what the topic held then. */
  start(): Promise<void> {
    if (!this.#started) {
      const p = this.#begin();
      this.#started = p;
      // A start that failed (Kafka unreachable) is tried again by the next caller, not remembered as failed.
      p.catch(() => {
        if (this.#started === p) this.#started = undefined;
      });
    }
    return this.#started;
  }

  async #begin(): Promise<void> {
    await this.#o.ensureTopic();
    await this.#migrateAndReset();
    const admin = await this.#o.admin();
    const offsets = (await admin.fetchTopicOffsets(this.#o.topic)).find((p) => p.partition === 0);
    this.#startLow = Number(offsets?.low ?? 0);
    const high = Number(offsets?.high ?? 0);
    let caught!: () => void;
    this.#caughtUp = new Promise<void>((resolve) => (caught = resolve));
    if (high <= this.#startLow) caught();
    this.#loop = this.#read(this.#startLow, high, caught).catch((err: unknown) => {
      if (!this.#closed) this.#o.logger.error({ err, topic: this.#o.topic }, 'dead-letter topic reader stopped');
    });
    await this.#caughtUp;
  }

  /**
   * The local copy is rebuilt from the topic at every start (the topic is the truth; what changed while this
   * instance was down is in it). Letters an older Sluice kept in this instance's embedded store only (positive ids)
   * are moved into the topic first, so they become shared instead of being hidden.
   */
  async #migrateAndReset(): Promise<void> {
    const { local, log } = this.#o;
    let moved = 0;
    for (;;) {
      const page = local.listDeadLetters(log, { afterId: -Number.MAX_SAFE_INTEGER, limit: 500 });
      const mirrored = page.filter((l) => l.id < 0).map((l) => l.id);
      if (mirrored.length > 0) await local.removeDeadLetters(log, mirrored);
      const legacy = page.filter((l) => l.id > 0);
      for (const l of legacy) await this.#o.produce(this.#o.topic, this.#message({ op: 'put', token: randomUUID(), letter: wire(l.group, l, l.storedAt, l.replays) }));
      if (legacy.length > 0)
        await local.removeDeadLetters(
          log,
          legacy.map((l) => l.id),
        );
      moved += legacy.length;
      if (page.length === 0) break;
    }
    if (moved > 0) this.#o.logger.info({ log, moved, topic: this.#o.topic }, 'dead letters kept by this instance moved to the shared dead-letter topic');
  }

  async #read(from: number, high: number, caught: () => void): Promise<void> {
    const { topic } = this.#o;
    const cluster = await this.#o.cluster();
    await cluster.addTargetTopic(topic);
    let next = from;
    let failures = 0;
    while (!this.#closed) {
      try {
        const leaders = cluster.findLeaderForPartitions(topic, [0]);
        const nodeId = Object.keys(leaders)[0];
        if (nodeId === undefined) throw new Error(`no leader known for ${topic}/0`);
        const broker = await cluster.findBroker({ nodeId });
        const { responses } = await broker.fetch({
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes: 1024 * 1024,
          isolationLevel: 1,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(next), maxBytes: 1024 * 1024 }] }],
        });
        failures = 0;
        for (const p of responses.flatMap((r) => r.partitions)) {
          for (const m of p.messages) {
            const offset = Number(m.offset);
            if (offset < next) continue;
            if (!m.isControlRecord) this.#apply(offset, m);
            next = offset + 1;
          }
          if (next >= Math.min(high, Number(p.highWatermark))) caught();
        }
      } catch (err) {
        if (this.#closed) return;
        if ((err as { type?: string }).type === 'OFFSET_OUT_OF_RANGE') {
          const admin = await this.#o.admin();
          const low = Number((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0)?.low ?? next);
          next = Math.max(next, low);
          continue;
        }
        failures++;
        if (failures === 5) this.#o.logger.warn({ err, topic }, 'cannot read the dead-letter topic; retrying');
        await cluster.refreshMetadata().catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * failures)));
      }
    }
  }

  #apply(offset: number, m: FetchedMessage): void {
    let op: Op;
    try {
      op = JSON.parse(m.value?.toString('utf8') ?? '') as Op;
    } catch {
      this.#o.logger.warn({ topic: this.#o.topic, offset }, 'dead-letter topic: a record that is not a dead-letter operation was skipped');
      return;
    }
    const { local, log } = this.#o;
    if (op.op === 'remove') {
      void local.removeDeadLetters(log, op.ids.map(toLocal));
    } else if (op.op === 'put' || op.op === 'update') {
      const id = op.op === 'put' ? offset + 1 : op.id;
      // An update of a letter purged meanwhile does not bring it back; one whose put retention removed does.
      if (id !== undefined && (op.op === 'put' || local.getDeadLetter(log, toLocal(id)) !== undefined || id - 1 < this.#startLow)) {
        local.mirrorDeadLetter(log, unwire(toLocal(id), op.letter), op.letter.origin);
      }
    }
    const done = this.#waiters.get(op.token);
    if (done) {
      this.#waiters.delete(op.token);
      done();
    }
  }

  #message(op: Op): Message {
    return { key: null, value: Buffer.from(JSON.stringify(op)) };
  }

  /** Produces `op` and waits (bounded) until the local copy applied it, so this instance reads its own writes. */
  async #write(op: Op): Promise<void> {
    if (this.#closed) throw new SluiceError('SLUICE_STORE_CLOSED', 'the store is closed', { retryable: true });
    await this.start();
    const applied = new Promise<void>((resolve) => {
      this.#waiters.set(op.token, resolve);
      setTimeout(() => {
        if (this.#waiters.delete(op.token)) resolve();
      }, this.#o.applyTimeoutMs ?? 10_000).unref();
    });
    try {
      await this.#o.produce(this.#o.topic, this.#message(op));
    } catch (err) {
      this.#waiters.delete(op.token);
      throw err;
    }
    await applied;
  }

  #check(log: string): void {
    if (log !== this.#o.log) throw new SluiceError('SLUICE_INTERNAL', `dead letters of ${log} are not kept here (${this.#o.log})`);
  }

  /** Durable once Kafka acknowledged the `put` records; listed once the local copy read them back. */
  async putDeadLetters(log: string, group: string, letters: ReadonlyArray<DeadLetterInput & { readonly origin?: string }>): Promise<void> {
    this.#check(log);
    if (this.#closed) throw new SluiceError('SLUICE_STORE_CLOSED', 'the store is closed', { retryable: true });
    const now = this.#o.now();
    // The topic may not exist yet when a letter comes before the reader started (it is created once, idempotently).
    await this.#o.ensureTopic();
    await Promise.all(
      letters.map((l) =>
        this.#o.produce(this.#o.topic, this.#message({ op: 'put', token: randomUUID(), letter: { ...wire(group, l, now, 0), ...(l.origin === undefined ? {} : { origin: l.origin }) } })),
      ),
    );
  }

  listDeadLetters(log: string, query: DeadLetterQuery): DeadLetter[] {
    this.#check(log);
    const after = query.afterId === undefined || query.afterId <= 0 ? -LOCAL_BASE : toLocal(query.afterId);
    return this.#o.local
      .listDeadLetters(log, { ...query, afterId: after })
      .filter((l) => l.id < 0)
      .map((l) => ({ ...l, id: toShared(l.id) }));
  }

  getDeadLetter(log: string, id: number): DeadLetter | undefined {
    this.#check(log);
    if (!(id > 0)) return undefined;
    const l = this.#o.local.getDeadLetter(log, toLocal(id));
    return l ? { ...l, id } : undefined;
  }

  async returnDeadLetter(log: string, id: number, update: DeadLetterInput): Promise<void> {
    this.#check(log);
    const before = this.getDeadLetter(log, id);
    if (!before) return;
    const first = update.firstAttemptAt ?? before.firstAttemptAt;
    await this.#write({ op: 'update', token: randomUUID(), id, letter: wire(before.group, { ...update, firstAttemptAt: first }, this.#o.now(), before.replays + 1) });
  }

  async removeDeadLetters(log: string, ids: readonly number[]): Promise<number> {
    this.#check(log);
    const present = ids.filter((id) => this.getDeadLetter(log, id) !== undefined);
    if (present.length === 0) return 0;
    await this.#write({ op: 'remove', token: randomUUID(), ids: present });
    return present.length;
  }

  setDeadLetterRetention(log: string, retention: DeadLetterRetention): void {
    this.#check(log);
    this.#o.local.setDeadLetterRetention(log, retention);
  }

  deadLetterStats(log: string): DeadLetterStats {
    this.#check(log);
    return this.#o.local.deadLetterStats(log);
  }

  /** Stops reading; writes in flight end with the store's producer. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const done of this.#waiters.values()) done();
    this.#waiters.clear();
    await this.#loop;
  }
}

function wire(group: string, l: DeadLetterInput, storedAt: number, replays: number): WireLetter {
  return {
    group,
    attributes: l.event.attributes,
    ...(l.event.data === undefined ? {} : { data: l.event.data.toString('base64') }),
    reason: l.reason,
    attempts: l.attempts,
    ...(l.firstAttemptAt === undefined ? {} : { firstAttemptAt: l.firstAttemptAt }),
    lastAttemptAt: l.lastAttemptAt,
    storedAt,
    replays,
  };
}

function unwire(id: number, w: WireLetter): DeadLetter {
  return {
    id,
    group: w.group,
    event: { attributes: w.attributes as DeadLetter['event']['attributes'], data: w.data === undefined ? undefined : Buffer.from(w.data, 'base64') },
    reason: w.reason,
    attempts: w.attempts,
    firstAttemptAt: w.firstAttemptAt,
    lastAttemptAt: w.lastAttemptAt,
    storedAt: w.storedAt,
    replays: w.replays,
  };
}

import type { Broker, ClockTimers, CloudEvent, EventPredicate, Logger, Trigger } from '@sluice/core';

/** Clock and timers of a store, injected so retry scheduling can be tested without waiting. */
export type StoreTimers = ClockTimers;

/** An event read back from a log, with its position. */
export interface LogRecord {
  /** Position in the log; increases with every append. */
  readonly seq: number;
  readonly event: CloudEvent;
  /** 0 for the first delivery; n for the n-th retry. */
  readonly attempt: number;
  /** When attempt 0 was made (epoch ms), on retries whose disposition carried it. */
  readonly firstAttemptAt?: number;
  /** Epoch ms at which the store appended the record, when the store knows it. */
  readonly appendedAt?: number;
}

/** What a consumer decided about a record. */
export type Disposition =
  /** Finished (delivered, dead-lettered or parked): never hand it out again. */
  | { readonly kind: 'done' }
  /**
   * Hand it out again at `dueAt` (epoch ms) as attempt `attempt`, with `event` in place of the original when given
   * (e.g. the dead-letter form); must survive a restart.
   */
  | { readonly kind: 'retry'; readonly dueAt: number; readonly attempt: number; readonly event?: CloudEvent; readonly firstAttemptAt?: number }
  /**
   * Finished: keep the event (in its dead-letter form) in the broker's dead-letter store. The store writes it before
   * (or atomically with) finishing the record, so a crash never loses it; it may keep it twice after a crash.
   */
  | ({ readonly kind: 'dead-letter' } & DeadLetterInput);

/** What is kept about an event whose delivery ended without success. */
export interface DeadLetterInput {
  /** The event as a dead-letter sink would get it (with the `knativeerror*` extensions). */
  readonly event: CloudEvent;
  /** Why it is here: e.g. `HTTP 503`, `trigger removed`. */
  readonly reason: string;
  /** Attempts made (subscriber and dead-letter sink). */
  readonly attempts: number;
  /** Epoch ms of the first and the last attempt (first unknown when the record predates the store keeping it). */
  readonly firstAttemptAt: number | undefined;
  readonly lastAttemptAt: number;
}

/** An event in a broker's dead-letter store. */
export interface DeadLetter extends DeadLetterInput {
  /** Increasing id, unique per store. */
  readonly id: number;
  /** The consumer group (e.g. `trigger:default/orders`) whose delivery failed. */
  readonly group: string;
  /** Epoch ms it was stored (or last put back after a failed replay). */
  readonly storedAt: number;
  /** How often it was replayed and failed again. */
  readonly replays: number;
}

/** A selection of dead letters; results come in id order, `limit` at a time (page with `afterId`). */
export interface DeadLetterQuery {
  readonly group?: string;
  /** `storedAt` range, epoch ms, inclusive. */
  readonly from?: number;
  readonly to?: number;
  readonly afterId?: number;
  readonly limit: number;
}

/** Retention of a log's dead letters: the oldest are dropped (counted and logged) beyond either bound. */
export interface DeadLetterRetention {
  readonly maxAgeMs: number;
  /** Total size of events (attributes + data). */
  readonly maxBytes: number;
}

/** Figures of a log's dead-letter store. */
export interface DeadLetterStats {
  readonly count: number;
  readonly bytes: number;
  /** Dropped by retention since the process started. */
  readonly dropped: number;
}

/**
 * Where dead letters are kept (per log = per broker), looked at and acted on. The embedded store implements it in its
 * database; Kafka-class brokers keep theirs in the embedded store of the instance.
 */
export interface DeadLetterStore {
  /** Keeps dead letters of `group` (durable when the promise resolves). `origin` deduplicates: one per group and origin. */
  putDeadLetters(log: string, group: string, letters: ReadonlyArray<DeadLetterInput & { readonly origin?: string }>): Promise<void>;
  listDeadLetters(log: string, query: DeadLetterQuery): DeadLetter[];
  getDeadLetter(log: string, id: number): DeadLetter | undefined;
  /** A replay failed again: the letter is updated in place (new error, attempts, replays + 1, stored now). */
  returnDeadLetter(log: string, id: number, update: DeadLetterInput): Promise<void>;
  /** Removes dead letters; resolves with how many existed. */
  removeDeadLetters(log: string, ids: readonly number[]): Promise<number>;
  setDeadLetterRetention(log: string, retention: DeadLetterRetention): void;
  deadLetterStats(log: string): DeadLetterStats;
}

/** A {@link DeadLetterStore} that can also keep letters under ids chosen elsewhere (a local copy of a shared log). */
export interface DeadLetterMirror extends DeadLetterStore {
  /**
   * Keeps `letter` under `letter.id` (negative: never one the store hands out), replacing the content of one with that
   * id; a new one whose group and `origin` are kept already is not kept (false).
   */
  mirrorDeadLetter(log: string, letter: DeadLetter, origin?: string): boolean;
}

/** Handles one record; the store keeps the record until the returned promise resolves. */
export type RecordHandler = (record: LogRecord) => Promise<Disposition>;

/** How a consumer group reads its log. */
export interface ConsumeOptions {
  /** Records handed out at once (bounded memory, bounded pressure on a subscriber). */
  maxInFlight: number;
  /** Records the predicate rejects are skipped without calling the handler. */
  filter?: EventPredicate;
  /**
   * Key of per-key ordering: records with the same key are handed out one at a time, in log order
   * (Knative's `delivery.order: ordered`, keyed by `partitionkey`). Undefined = unordered.
   */
  orderingKey?: (event: CloudEvent) => string | undefined;
}

/** How long (and how much of) a log's delivered events an archive keeps. */
export interface ArchiveRetention {
  readonly maxAgeMs: number;
  /** Total size (attributes + data); the oldest go first beyond it. */
  readonly maxBytes: number;
}

/** An archived event: delivered to every consumer group, kept for replays. */
export interface ArchivedEvent {
  readonly seq: number;
  readonly event: CloudEvent;
  /** When it was accepted (epoch ms, from `knativearrivaltime`). */
  readonly at: number;
}

/**
 * Keeps a log's events after every consumer group finished them, for a retention window, so they can be replayed
 * (the embedded store; a Kafka topic's own retention plays this part for the Kafka class).
 */
export interface EventArchive {
  /** Turns archiving of `log` on (or off with undefined). */
  setArchiveRetention(log: string, retention: ArchiveRetention | undefined): void;
  /** Archived events of `log` accepted in [from, to], in log order, `limit` after `afterSeq`. */
  readArchive(log: string, query: { readonly from: number; readonly to: number; readonly afterSeq: number; readonly limit: number }): ArchivedEvent[];
  archiveStats(log: string): { readonly count: number; readonly bytes: number };
  /**
   * What `log` still keeps of the events accepted at or after `from` (epoch ms): its archive, then its log (events a
   * consumer group has not finished), in log order after `afterSeq`, at most `limit` looked at. `scanned` is the last
   * position looked at (pass it as `afterSeq` for the next page); undefined when nothing is left.
   */
  readRetained(log: string, query: { readonly from: number; readonly afterSeq: number; readonly limit: number }): { readonly events: readonly ArchivedEvent[]; readonly scanned: number | undefined };
}

/**
 * A store that keeps a log's events for replays and reads them back asynchronously, a page at a time (the Kafka class:
 * the records its topic's retention still holds). Pages come in acceptance order as far as the store knows it, in log
 * order per ordering key; memory holds one page (per partition, for Kafka), whatever the archive's size.
 */
export interface AsyncEventArchive {
  /** Events of `log` accepted in [from, to] (epoch ms), a page at a time. */
  archivePages(log: string, range: { readonly from: number; readonly to: number }): AsyncIterable<readonly ArchivedEvent[]>;
  /** What the archive holds, as last measured (bytes 0 when the store cannot tell). */
  archiveStats(log: string): { readonly count: number; readonly bytes: number };
}

/** Whether `store` reads its archive asynchronously ({@link AsyncEventArchive}). */
export function isAsyncEventArchive(store: object): store is AsyncEventArchive {
  return typeof (store as Partial<AsyncEventArchive>).archivePages === 'function';
}

/** Options of {@link EventStore.forgetGroups}. */
export interface ForgetOptions {
  /**
   * Filters of the groups being forgotten, when the caller still knows them (a live reconfiguration): their unread
   * backlog is kept as dead letters too, filtered as the group would have. Without one only pending retries are kept.
   */
  readonly filters?: ReadonlyMap<string, EventPredicate>;
}

/** What a forgotten consumer group still owed, and what became of it. */
export interface ForgottenGroup {
  readonly group: string;
  /** Records that were waiting for a retry. */
  readonly retries: number;
  /** Unread records that matched the group's filter (only counted when {@link ForgetOptions.filters} gave it). */
  readonly backlog: number;
  /** Unread records of the log not examined (no filter known): the group would have filtered some of them out. */
  readonly unread: number;
  /** `dead-letters`: retries and backlog were kept in the dead-letter store (replayable); `discarded`: they are gone. */
  readonly outcome: 'dead-letters' | 'discarded';
}

/** A running consumer group. */
export interface Consumer {
  /** Stops handing out records and waits for the ones in flight (up to `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

/** Figures of one consumer group (a Trigger or Subscription), exact for the records this process holds. */
export interface GroupStats {
  /** Records appended and not yet handed to the handler (including ones queued behind an ordering key). */
  readonly backlog: number;
  /** Handler calls running now. */
  readonly inFlight: number;
  /** Records waiting for a retry (not in flight). */
  readonly retrying: number;
  /** Epoch ms of the oldest record the group has not finished (append time, or first attempt for retries); undefined when none or unknown. */
  readonly oldestPendingAt: number | undefined;
}

/** Counters a store exposes for health and metrics. */
export interface LogStats {
  /** Records appended to the log and not yet consumed by the slowest group. */
  readonly backlog: number;
  /** Records scheduled for a retry, all groups together. */
  readonly retrying: number;
  /** Figures per consumer group of the log that runs in this process, by group name. */
  readonly groups: Readonly<Record<string, GroupStats>>;
}

/**
 * The storage port of a Broker or Channel: an append-only log per broker with durable consumer groups, one per
 * Trigger or Subscription. Implemented by the embedded SQLite store and by Kafka; `@sluice/store`'s contract suite
 * checks every implementation the same way.
 */
export interface EventStore {
  /** Appends events to `log`; resolves only once they are durable (fsync / acks=all). */
  append(log: string, events: readonly CloudEvent[]): Promise<void>;
  /**
   * Starts (or resumes) consumer group `group` on `log`. A new group starts at the log's end. Records are handed out
   * at least once: a record whose handler did not finish before a crash is handed out again after a restart.
   */
  consume(log: string, group: string, options: ConsumeOptions, handler: RecordHandler): Consumer;
  /**
   * Backlog and retry counts of a log and of each of its running groups (for the admin API, readiness and metrics).
   * Cheap enough to call on every scrape: no scan of the log.
   */
  stats(log: string): LogStats;
  /**
   * The figures of {@link stats} read at this moment, for a decision a stale view must not make (whether deleting a
   * Trigger or Broker discards events). Only stores whose `stats()` is refreshed in the background (Kafka) have it;
   * without it, `stats()` is exact.
   */
  exactStats?(log: string): Promise<LogStats>;
  /**
   * Resolves once `log` can take appends and the start positions of the groups consumed so far are in place; rejects
   * when the backing system cannot be reached or an external topic is missing (Kafka). From then on the store may
   * remove what every group of the log has finished.
   */
  ready(log: string): Promise<void>;
  /**
   * The consumer groups this store would forget on request: every group it keeps for `log` (SQLite), or the groups
   * this process runs (Kafka, where other instances may run other groups of the same topic).
   */
  groups(log: string): string[];
  /**
   * Forgets consumer groups that are no longer configured (they must not be running), so they do not hold back log
   * cleanup. A store with a dead-letter store keeps what a group still owed there with reason `trigger removed`;
   * otherwise it is discarded. Each result counts what was owed. Unknown groups are skipped.
   */
  forgetGroups(log: string, groups: readonly string[], options?: ForgetOptions): Promise<ForgottenGroup[]>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/**
 * A broker class (the `eventing.knative.dev/broker.class` annotation): opens the store that backs one broker of that
 * class, e.g. `Kafka`.
 */
export interface BrokerClass {
  /**
   * Loads what the class's stores need (e.g. its client library) before its first `open`; the runtime awaits it
   * before it opens a store of this class, so a configuration without such a broker never loads it. `user` names the
   * broker, for the error when it cannot be loaded.
   */
  load?(user: string): Promise<void>;
  /**
   * `archive`: the broker asks to keep its events this long for replays (`sluice.dev/archive-retention`);
   * `deadLetterRetention`: how long and how much of its dead letters to keep (`sluice.dev/dead-letter-retention`).
   */
  open(broker: Broker, ctx: { logger: Logger; deadLetters?: DeadLetterStore; archive?: ArchiveRetention; deadLetterRetention?: DeadLetterRetention }): EventStore;
  /**
   * Why `running` (a store this class opened for the broker) cannot serve the broker as a live change now declares it
   * (e.g. its Kafka topic or consumer groups would be named differently), or undefined when it can. A reason refuses
   * the change, so nothing is accepted that the running store would not do.
   */
  conflicts?(running: EventStore, broker: Broker, triggers: readonly Trigger[]): string | undefined;
}

import { SluiceError, brokerLog, parseLogName, triggerGroup, objectKey, type CloudEvent, type EventPredicate, type Logger } from '@sluice/core';
import type { EgressGuard, EventSender } from '@sluice/delivery';
import { SqliteEventStore, isAsyncEventArchive, type ArchivedEvent, type DeadLetterStore, type EventStore } from '@sluice/store';
import { DeadLetterRouter } from './dead-letter-router.js';
import type { DeadLetterSettings } from './dead-letter-settings.js';
import { replayDeadLetters, type ReplayOutcome } from './dead-letter-replay.js';
import { replayArchive, syncArchivePages, type ArchiveReplayReport } from './archive-replay.js';
import type { SubscriptionTarget } from './delivery-dispatcher.js';

/** What a consumer group delivers to, and its broker (`ns/name`). */
export interface GroupTarget {
  readonly target: SubscriptionTarget;
  readonly broker: string;
}

/** The running runtime as {@link KeptEvents} reads it; the maps are the runtime's own, read live. */
export interface KeptEventsDeps {
  /** The embedded store (the default broker class's). */
  readonly store: EventStore;
  /** Store of each broker, by `ns/name`. */
  readonly stores: ReadonlyMap<string, EventStore>;
  /** Dead-letter and archive settings of each broker, by `ns/name`. */
  readonly settings: ReadonlyMap<string, DeadLetterSettings>;
  /** What each consumer group delivers to, by group name. */
  readonly targets: ReadonlyMap<string, GroupTarget>;
  /** Where dead letters are kept locally (undefined when the embedded store is not SQLite). */
  readonly deadLetters: () => DeadLetterStore | undefined;
  readonly egress: () => EgressGuard | undefined;
  /** Stores a reply into a broker (`ns/name`) as a live delivery's reply is. */
  readonly acceptReply: (broker: string, reply: CloudEvent) => Promise<void>;
  readonly sender: EventSender;
  readonly now: () => number;
  readonly logger: Logger;
}

/**
 * What the brokers keep after delivery, and the replays from it: each broker's archive (`sluice.dev/archive-retention`)
 * and dead letters, whichever store holds them (the embedded store's tables, or a Kafka-class broker's topics).
 * Brokers are named `ns/name`.
 */
export class KeptEvents {
  constructor(private readonly deps: KeptEventsDeps) {}

  /** The dead letters as users act on them: a Kafka-class broker's are shared through its topic. */
  get deadLetters(): DeadLetterStore | undefined {
    const local = this.deps.deadLetters();
    if (!local) return undefined;
    return new DeadLetterRouter(local, (log) => {
      const broker = parseLogName(log, 'broker');
      return broker && this.deps.stores.get(objectKey(broker));
    });
  }

  /** Brokers that keep an archive of delivered events. */
  archivedBrokers(): string[] {
    return [...this.deps.settings].filter(([, s]) => s.archive !== undefined).map(([key]) => key);
  }

  /** Events (and bytes) in a broker's archive; zeros when it keeps none. */
  archiveStats(broker: string): { count: number; bytes: number } {
    if (!this.archivedBrokers().includes(broker)) return { count: 0, bytes: 0 };
    const store = this.deps.stores.get(broker);
    return store instanceof SqliteEventStore || (store && isAsyncEventArchive(store)) ? store.archiveStats(brokerLog(broker)) : { count: 0, bytes: 0 };
  }

  /**
   * One page of what a broker still keeps of the events accepted at or after `since`: its archive, then its log (for
   * `sluice tail --since`). Undefined when the broker keeps no archive in the embedded store.
   */
  retainedEvents(broker: string, since: number, afterSeq: number, limit: number): ReturnType<SqliteEventStore['readRetained']> | undefined {
    const { store } = this.deps;
    if (!(store instanceof SqliteEventStore) || !this.archivedBrokers().includes(broker)) return undefined;
    // A broker of another class (Kafka) keeps its events elsewhere: see retainedPages.
    if (this.deps.stores.get(broker) !== store) return undefined;
    return store.readRetained(brokerLog(broker), { from: since, afterSeq, limit });
  }

  /**
   * What a broker whose archive is read asynchronously (a Kafka-class broker's topic, which holds its archive and its
   * log alike) keeps of the events accepted in [since, until], a page at a time (for `sluice tail --since`).
   * Undefined when the broker keeps no such archive.
   */
  retainedPages(broker: string, since: number, until: number): AsyncIterable<readonly ArchivedEvent[]> | undefined {
    const store = this.deps.stores.get(broker);
    if (!store || !isAsyncEventArchive(store) || !this.archivedBrokers().includes(broker)) return undefined;
    return store.archivePages(brokerLog(broker), { from: since, to: until });
  }

  /**
   * Re-delivers a broker's archived events accepted in [from, to] to one trigger (or every trigger) whose filter
   * matches, and `filter`, at most `rate` deliveries per second; live delivery continues meanwhile.
   */
  replayArchive(
    broker: string,
    options: { readonly from: number; readonly to: number; readonly trigger?: string; readonly filter?: EventPredicate; readonly rate: number },
  ): Promise<ArchiveReplayReport> {
    const store = this.deps.stores.get(broker);
    const log = brokerLog(broker);
    const range = { from: options.from, to: options.to };
    // The embedded store reads its archive table; the Kafka class reads what its topic's retention still holds.
    const pages = !this.archivedBrokers().includes(broker)
      ? undefined
      : store instanceof SqliteEventStore
        ? syncArchivePages(store, log, range)
        : store && isAsyncEventArchive(store)
          ? store.archivePages(log, range)
          : undefined;
    if (!pages) {
      return Promise.reject(new SluiceError('SLUICE_ARCHIVE_OFF', `broker ${broker} keeps no archive (set the sluice.dev/archive-retention annotation)`));
    }
    const targets = [...this.deps.targets]
      .filter(([group, t]) => t.broker === broker && (options.trigger === undefined || group === triggerGroup(options.trigger)))
      .map(([group, t]) => ({ group, url: t.target.subscriberUrl, oidc: t.target.subscriberOidc, policy: t.target.delivery.policy, namespace: t.target.namespace, filter: t.target.filter }));
    if (options.trigger !== undefined && targets.length === 0) {
      return Promise.reject(new SluiceError('SLUICE_NOT_FOUND', `trigger ${options.trigger} of broker ${broker} not found`));
    }
    const { sender, now, logger } = this.deps;
    return replayArchive({ pages, deadLetters: this.deadLetters, sender, now, logger }, log, {
      from: options.from,
      to: options.to,
      targets,
      rate: options.rate,
      ...(options.filter ? { filter: options.filter } : {}),
    });
  }

  /**
   * Replays dead letters of a broker to their trigger's subscriber (or `to`) at most `rate` per second; replies go
   * into the broker as live replies do.
   */
  replayDeadLetters(broker: string, ids: readonly number[], options: { readonly to?: string; readonly rate: number }): Promise<ReplayOutcome> {
    const store = this.deadLetters;
    if (!store) return Promise.reject(new SluiceError('SLUICE_DEAD_LETTERS_UNAVAILABLE', 'this runtime has no dead-letter store'));
    if (options.to !== undefined) {
      // The egress rules hold for replays too; a refused --to is the caller's error (403), said before any attempt.
      try {
        this.deps.egress()?.checkUrl(options.to);
      } catch (err) {
        return Promise.reject(new SluiceError('SLUICE_DESTINATION_FORBIDDEN', (err as Error).message));
      }
    }
    const targetOf = (group: string) => {
      const t = this.deps.targets.get(group);
      if (!t) return undefined;
      return {
        url: t.target.subscriberUrl,
        oidc: t.target.subscriberOidc,
        policy: t.target.delivery.policy,
        namespace: t.target.namespace,
        handleReply: (r: CloudEvent) => this.deps.acceptReply(t.broker, r),
      };
    };
    const { sender, now, logger } = this.deps;
    return replayDeadLetters({ store, sender, now, logger, targetOf }, brokerLog(broker), ids, options);
  }
}

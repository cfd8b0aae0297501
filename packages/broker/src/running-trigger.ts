import { DELIVERY_ORDER_ANNOTATION, parseDeliveryOrder, type CloudEvent, type EventPredicate, type Logger, type Metrics, type Tracer, type Trigger } from '@sluice/core';
import type { EventSender } from '@sluice/delivery';
import type { Consumer, EventStore, ForgottenGroup } from '@sluice/store';
import type { DeliveryRecorder } from '@sluice/plugin';
import { DeliveryDispatcher, type DestinationCircuit, type SubscriptionTarget } from './delivery-dispatcher.js';

/** What a running Trigger needs from the runtime. */
export interface RunningTriggerDeps {
  readonly sender: EventSender;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly tracer?: Tracer | undefined;
  /** Records handed to the dispatcher at once (default 100). */
  readonly maxInFlight?: number | undefined;
  /** Stores a subscriber's reply into the Trigger's broker (refusing it fails the delivery). */
  readonly handleReply: (reply: CloudEvent) => Promise<void>;
  /** Takes each attempt and drop, for the live figures. */
  readonly counters: DeliveryRecorder;
}

/** Where a Trigger consumes: its broker's store and log, its consumer group, and its broker's `ns/name`. */
export interface TriggerLog {
  readonly store: EventStore;
  readonly log: string;
  readonly group: string;
  readonly brokerKey: string;
}

/**
 * Events a log (or one group of it) still owes, unread and waiting for a retry, as the store counts them at this
 * moment: a store whose `stats()` is refreshed in the background (Kafka) is asked for exact figures.
 */
export async function pendingOf(store: EventStore, log: string, group?: string): Promise<{ backlog: number; retrying: number }> {
  const stats = store.exactStats ? await store.exactStats(log) : store.stats(log);
  if (group === undefined) return { backlog: stats.backlog, retrying: stats.retrying };
  const g = stats.groups[group];
  return { backlog: g?.backlog ?? 0, retrying: g?.retrying ?? 0 };
}

/**
 * A running Trigger: its consumer group on its broker's log and the dispatcher that delivers what it hands out, with
 * the fingerprint of what it was started from (a live change restarts it when that changes).
 */
export class RunningTrigger {
  /** `namespace/name`. */
  readonly key: string;
  readonly fingerprint: string;
  readonly filter: EventPredicate;
  readonly dispatcher: DeliveryDispatcher;
  readonly #where: TriggerLog;
  readonly #consumer: Consumer;

  private constructor(where: TriggerLog, target: SubscriptionTarget, fingerprint: string, dispatcher: DeliveryDispatcher, consumer: Consumer) {
    this.key = target.key;
    this.fingerprint = fingerprint;
    this.filter = target.filter;
    this.dispatcher = dispatcher;
    this.#where = where;
    this.#consumer = consumer;
  }

  /** Starts consuming: a new group starts at the log's end, a known one where it stopped. */
  static start(trigger: Trigger, target: SubscriptionTarget, fingerprint: string, where: TriggerLog, deps: RunningTriggerDeps): RunningTrigger {
    const { counters } = deps;
    const dispatcher = new DeliveryDispatcher(target, {
      sender: deps.sender,
      handleReply: deps.handleReply,
      now: deps.now,
      logger: deps.logger,
      onAttempt: (_t, outcome, _ms, deadLetter) => counters.attempt(outcome, deadLetter),
      onDropped: () => counters.dropped(),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.tracer ? { tracer: deps.tracer } : {}),
    });
    const ordered = RunningTrigger.ordered(trigger);
    const consumer = where.store.consume(
      where.log,
      where.group,
      {
        maxInFlight: deps.maxInFlight ?? 100,
        filter: target.filter,
        ...(ordered ? { orderingKey: (e: CloudEvent) => String(e.attributes['partitionkey'] ?? '') } : {}),
      },
      dispatcher.handle,
    );
    return new RunningTrigger(where, target, fingerprint, dispatcher, consumer);
  }

  /** Whether a Trigger asks for ordered delivery (Knative's `kafka.eventing.knative.dev/delivery.order: ordered`). */
  static ordered(trigger: Trigger): boolean {
    return parseDeliveryOrder(trigger.metadata.annotations?.[DELIVERY_ORDER_ANNOTATION]) === true;
  }

  /** Its broker's `namespace/name`. */
  get brokerKey(): string {
    return this.#where.brokerKey;
  }

  /** Its consumer group (`trigger:ns/name`). */
  get group(): string {
    return this.#where.group;
  }

  /** Events its group owes now: unread, and waiting for a retry (one being attempted right now included). */
  async pending(): Promise<{ backlog: number; retrying: number }> {
    const stored = await pendingOf(this.#where.store, this.#where.log, this.#where.group);
    // A retry being attempted right now is owed too: the store counts it in flight, not retrying.
    return { backlog: stored.backlog, retrying: stored.retrying + this.dispatcher.retriesInFlight };
  }

  /** Its broker's log. */
  get log(): string {
    return this.#where.log;
  }

  /** The store of its broker's log. */
  get store(): EventStore {
    return this.#where.store;
  }

  /** Stops delivering: records waiting for an open circuit go back to the store at once, then deliveries in flight finish (up to `timeoutMs`). */
  close(timeoutMs: number): Promise<void> {
    this.dispatcher.close();
    return this.#consumer.close(timeoutMs);
  }

  /** Forgets its consumer group once closed (deleted Trigger): what it owed is counted, and kept as dead letters where the store can. */
  async forget(): Promise<ForgottenGroup | undefined> {
    const [forgotten] = await this.#where.store.forgetGroups(this.#where.log, [this.#where.group], { filters: new Map([[this.#where.group, this.filter]]) });
    return forgotten;
  }

  /** The circuit breakers of its subscriber and dead-letter sink. */
  circuits(): DestinationCircuit[] {
    return this.dispatcher.circuits();
  }
}

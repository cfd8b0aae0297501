import type { DeadLetter, DeadLetterInput, DeadLetterQuery, DeadLetterRetention, DeadLetterStats, DeadLetterStore, EventStore } from '@sluice/store';

/** A broker store that keeps the dead letters of its log itself (the Kafka class: in a topic every instance reads). */
interface SharesDeadLetters {
  sharedDeadLetters(log: string): DeadLetterStore | undefined;
}

function sharesDeadLetters(store: EventStore | undefined): store is EventStore & SharesDeadLetters {
  return typeof (store as Partial<SharesDeadLetters> | undefined)?.sharedDeadLetters === 'function';
}

/** The store that keeps `log`'s dead letters itself when `store` shares them (the Kafka class), else undefined. */
export function sharedDeadLettersOf(store: EventStore | undefined, log: string): DeadLetterStore | undefined {
  return sharesDeadLetters(store) ? store.sharedDeadLetters(log) : undefined;
}

/**
 * The dead-letter store the admin API and replays use: a broker whose store shares its dead letters (Kafka class)
 * is served by that store, every other broker by the instance's embedded store.
 */
export class DeadLetterRouter implements DeadLetterStore {
  constructor(
    private readonly local: DeadLetterStore,
    private readonly storeOf: (log: string) => EventStore | undefined,
  ) {}

  #of(log: string): DeadLetterStore {
    return sharedDeadLettersOf(this.storeOf(log), log) ?? this.local;
  }

  putDeadLetters(log: string, group: string, letters: ReadonlyArray<DeadLetterInput & { readonly origin?: string }>): Promise<void> {
    return this.#of(log).putDeadLetters(log, group, letters);
  }

  listDeadLetters(log: string, query: DeadLetterQuery): DeadLetter[] {
    return this.#of(log).listDeadLetters(log, query);
  }

  getDeadLetter(log: string, id: number): DeadLetter | undefined {
    return this.#of(log).getDeadLetter(log, id);
  }

  returnDeadLetter(log: string, id: number, update: DeadLetterInput): Promise<void> {
    return this.#of(log).returnDeadLetter(log, id, update);
  }

  removeDeadLetters(log: string, ids: readonly number[]): Promise<number> {
    return this.#of(log).removeDeadLetters(log, ids);
  }

  setDeadLetterRetention(log: string, retention: DeadLetterRetention): void {
    this.#of(log).setDeadLetterRetention(log, retention);
  }

  deadLetterStats(log: string): DeadLetterStats {
    return this.#of(log).deadLetterStats(log);
  }
}

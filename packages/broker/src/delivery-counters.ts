import type { DeliveryFigures } from '@sluice/core';
import type { AttemptOutcome } from '@sluice/delivery';
import type { GroupStats } from '@sluice/store';

/** Seconds of history behind the per-second rates. */
const RATE_WINDOW_S = 60;
/** Bytes of a failed response body kept for the admin API. */
const BODY_EXCERPT_BYTES = 256;

/**
 * What happened to the deliveries of one Trigger or Subscription since the process started: counts, per-second rates
 * over the last minute, the last success and the last error. Fed by the dispatcher's callbacks; O(1) per attempt.
 */
export class DeliveryCounters {
  #delivered = 0;
  #failed = 0;
  #deadLettered = 0;
  #dropped = 0;
  #lastSuccess: number | undefined;
  #lastError: DeliveryFigures['lastError'] = null;
  /** Per-second buckets (second number, delivered, failed), a ring of RATE_WINDOW_S entries. */
  readonly #seconds = new Float64Array(RATE_WINDOW_S);
  readonly #deliveredIn = new Float64Array(RATE_WINDOW_S);
  readonly #failedIn = new Float64Array(RATE_WINDOW_S);

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a finished attempt at the subscriber (`deadLetter` false) or at the dead-letter sink. */
  readonly attempt = (outcome: AttemptOutcome, deadLetter: boolean): void => {
    const now = this.now();
    const i = this.#bucket(now);
    if (outcome.kind === 'success') {
      if (deadLetter) {
        this.#deadLettered++;
        return;
      }
      this.#delivered++;
      this.#deliveredIn[i]!++;
      this.#lastSuccess = now;
      return;
    }
    this.#failed++;
    this.#failedIn[i]!++;
    this.#lastError = {
      status: outcome.status ?? null,
      reason: outcome.reason,
      body: outcome.body ? outcome.body.subarray(0, BODY_EXCERPT_BYTES).toString('utf8') : '',
      time: new Date(now).toISOString(),
      deadLetterSink: deadLetter,
    };
  };

  /** Records an event dropped after its last attempt (no dead-letter sink). */
  readonly dropped = (): void => {
    this.#dropped++;
  };

  /** The figures, completed with the store's view of the consumer group. */
  figures(group: GroupStats | undefined): DeliveryFigures {
    const now = this.now();
    const second = Math.floor(now / 1000);
    let delivered = 0;
    let failed = 0;
    for (let i = 0; i < RATE_WINDOW_S; i++) {
      if (second - this.#seconds[i]! < RATE_WINDOW_S) {
        delivered += this.#deliveredIn[i]!;
        failed += this.#failedIn[i]!;
      }
    }
    return {
      backlog: group?.backlog ?? 0,
      inFlight: group?.inFlight ?? 0,
      retrying: group?.retrying ?? 0,
      oldestPendingAgeMs: group?.oldestPendingAt === undefined ? null : Math.max(0, now - group.oldestPendingAt),
      delivered: this.#delivered,
      failed: this.#failed,
      deadLettered: this.#deadLettered,
      dropped: this.#dropped,
      deliveredPerSecond: round2(delivered / RATE_WINDOW_S),
      failedPerSecond: round2(failed / RATE_WINDOW_S),
      lastSuccess: this.#lastSuccess === undefined ? null : new Date(this.#lastSuccess).toISOString(),
      lastError: this.#lastError,
    };
  }

  #bucket(now: number): number {
    const second = Math.floor(now / 1000);
    const i = second % RATE_WINDOW_S;
    if (this.#seconds[i] !== second) {
      this.#seconds[i] = second;
      this.#deliveredIn[i] = 0;
      this.#failedIn[i] = 0;
    }
    return i;
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

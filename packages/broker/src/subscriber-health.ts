import type { Logger } from '@sluice/core';

/** How often a still-failing subscriber is summarised in the log (default 30 s). */
export const FAILURE_SUMMARY_INTERVAL_MS = 30_000;

/** What went wrong in one attempt, for the log. */
export interface AttemptFailure {
  readonly status: number | undefined;
  readonly reason: string;
}

/** What the log lines call the destination (default `subscriber` and the `subscriber` field), and their level. */
export interface HealthOptions {
  /** e.g. `subscriber`, `dead-letter sink`. */
  readonly noun?: string;
  /** The destination's URL (default `fields.subscriber`). */
  readonly url?: string;
  /** Level of the failure lines (default `warn`). */
  readonly level?: 'warn' | 'error';
}

/**
 * Makes a failing subscriber (or dead-letter sink) visible at once without flooding the log: one line on the first
 * failure of a streak, a summary at most every {@link FAILURE_SUMMARY_INTERVAL_MS} while it keeps failing, and one
 * line when it recovers.
 */
export class SubscriberHealth {
  #failingSince: number | undefined;
  #failures = 0;
  #lastSummaryAt = 0;
  #last: AttemptFailure | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly fields: Readonly<Record<string, unknown>>,
    private readonly now: () => number,
    /** Events of this subscription waiting for a retry, for the summary. */
    private readonly retrying: () => number,
    private readonly intervalMs = FAILURE_SUMMARY_INTERVAL_MS,
    private readonly options: HealthOptions = {},
  ) {}

  get #name(): string {
    return `${this.options.noun ?? 'subscriber'} ${this.options.url ?? String(this.fields['subscriber'])}`;
  }

  #log(obj: object, msg: string): void {
    if (this.options.level === 'error') this.logger.error(obj, msg);
    else this.logger.warn(obj, msg);
  }

  /** Whether the current streak has not ended yet. */
  get failing(): boolean {
    return this.#failingSince !== undefined;
  }

  /** Records a failed subscriber attempt. */
  failed(failure: AttemptFailure): void {
    const now = this.now();
    this.#failures++;
    this.#last = failure;
    if (this.#failingSince === undefined) {
      this.#failingSince = now;
      this.#lastSummaryAt = now;
      this.#failures = 1;
      this.#log({ ...this.fields, status: failure.status, reason: failure.reason }, `${this.#name} failing: ${describe(failure)}`);
      return;
    }
    if (now - this.#lastSummaryAt >= this.intervalMs) {
      this.#lastSummaryAt = now;
      const seconds = Math.round((now - this.#failingSince) / 1000);
      const retrying = this.retrying();
      this.#log(
        { ...this.fields, failingForSeconds: seconds, failedAttempts: this.#failures, retrying, status: failure.status, reason: failure.reason },
        `${this.#name} failing for ${seconds} s, ${retrying} event${retrying === 1 ? '' : 's'} retrying, last ${describe(failure)}`,
      );
    }
  }

  /** Records a successful subscriber attempt; ends a streak with one line. */
  succeeded(): void {
    if (this.#failingSince === undefined) return;
    const seconds = Math.round((this.now() - this.#failingSince) / 1000);
    this.logger.info(
      { ...this.fields, failedForSeconds: seconds, failedAttempts: this.#failures, lastStatus: this.#last?.status },
      `${this.#name} recovered after ${seconds} s and ${this.#failures} failed attempt${this.#failures === 1 ? '' : 's'}`,
    );
    this.#failingSince = undefined;
    this.#failures = 0;
    this.#last = undefined;
  }
}

function describe(f: AttemptFailure): string {
  return f.status === undefined ? f.reason : String(f.status);
}

import { realTimers, type Clock, type TimerHandle, type Timers } from '@sluice/core';
import type { Schedule } from './cron-schedule.js';

/** Options of {@link CronScheduler}. */
export interface CronSchedulerOptions {
  readonly now?: Clock;
  readonly timers?: Timers;
}

// setTimeout overflows above 2^31-1 ms (~24.8 days); longer waits are taken in hops and re-checked.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onTick(fireTimeMs)` at every fire time of a schedule, with the injected clock and timers. Fire times missed
 * while the event loop was blocked are not replayed: the next tick is the next fire time after now, as cron does.
 */
export class CronScheduler {
  readonly #schedule: Schedule;
  readonly #onTick: (fireTimeMs: number) => void;
  readonly #now: Clock;
  readonly #timers: Timers;
  #timer: TimerHandle | undefined;
  #running = false;

  constructor(schedule: Schedule, onTick: (fireTimeMs: number) => void, options: CronSchedulerOptions = {}) {
    this.#schedule = schedule;
    this.#onTick = onTick;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
  }

  /** Starts ticking; returns the first fire time (undefined if the schedule never fires). */
  start(): number | undefined {
    if (this.#running) return undefined;
    this.#running = true;
    return this.#arm(this.#now());
  }

  /** Stops ticking; a pending tick is cancelled. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(afterMs: number): number | undefined {
    const next = this.#schedule.next(afterMs);
    if (next === undefined) return undefined;
    this.#wait(next);
    return next;
  }

  #wait(fireAt: number): void {
    const delay = Math.max(0, fireAt - this.#now());
    this.#timer = this.#timers.setTimeout(
      () => {
        this.#timer = undefined;
        if (!this.#running) return;
        // Timers may fire a little early against the wall clock, and long waits are split: wait for the rest.
        if (this.#now() < fireAt) {
          this.#wait(fireAt);
          return;
        }
        this.#onTick(fireAt);
        if (this.#running) this.#arm(Math.max(fireAt, this.#now()));
      },
      Math.min(delay, MAX_TIMER_MS),
    );
  }
}

/** An opaque timer handle, as returned by {@link Timers.setTimeout}. */
export type TimerHandle = unknown;

/** Timer functions, injected so schedules, retries and backoff are testable without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Milliseconds since the epoch; injected in place of `Date.now`. */
export type Clock = () => number;

/** Timers with their clock, for collaborators that schedule by time (stores, circuit breakers). */
export interface ClockTimers extends Timers {
  now(): number;
}

/** The real timers. Handles are unref'd: a pending timer never keeps a stopping process alive. */
export const realTimers: ClockTimers = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Waits for `work` to settle, but no longer than `ms`; never rejects. The timer is cleared as soon as `work` settles, so
 * a bounded wait in a shutdown path does not itself hold the process open for the rest of its bound.
 */
export async function settleWithin(work: Promise<unknown>, ms: number, timers: Timers = realTimers): Promise<void> {
  let handle: TimerHandle;
  const bound = new Promise<void>((resolve) => {
    handle = timers.setTimeout(resolve, Math.max(0, ms));
  });
  try {
    await Promise.race([work.then(noop, noop), bound]);
  } finally {
    timers.clearTimeout(handle);
  }
}

const noop = (): void => undefined;

/** Waits `ms`; resolves early (never rejects) when `signal` aborts. Injected where tests must not wait. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real {@link Sleep}: a timer that an abort clears, so a stopping loop ends at once. */
export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * The waits between reconnection attempts (a source's broker, a consumer group, a sink that cannot take events yet):
 * `initialMs`, then doubling up to `maxMs`; `reset()` once connected. The one backoff of every reconnect loop.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #nextMs: number;

  constructor(initialMs = 1000, maxMs = 30_000) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#nextMs = initialMs;
  }

  /** The wait before the next attempt, without using it up (for a log line). */
  peek(): number {
    return this.#nextMs;
  }

  /** The wait before the next attempt; the one after it doubles, up to the cap. */
  next(): number {
    const wait = this.#nextMs;
    this.#nextMs = Math.min(wait * 2, this.#maxMs);
    return wait;
  }

  /** Back to the first wait (after a success). */
  reset(): void {
    this.#nextMs = this.#initialMs;
  }
}

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

/** An opaque timer handle, as returned by {@link Timers.setTimeout}. */
export type TimerHandle = unknown;

/** Timer functions, injected so schedules and restart backoff are testable without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real timers. Handles are unref'd: a pending ping or restart never keeps a stopping process alive. */
export const realTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Milliseconds since the epoch; injected in place of `Date.now`. */
export type Clock = () => number;

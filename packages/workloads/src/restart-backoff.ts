/** Restart backoff settings of a supervised process. */
export interface BackoffOptions {
  /** Wait before the first restart. */
  readonly initialMs: number;
  /** Cap on the wait. */
  readonly maxMs: number;
  /** A run at least this long counts as healthy: the next crash restarts after `initialMs` again. */
  readonly resetAfterMs: number;
}

/**
 * Sluice's defaults: 1 s doubling to 60 s, reset after 60 s of healthy run. Shorter than Kubernetes' CrashLoopBackOff
 * (10 s to 5 min) because a local process usually crashes for a reason fixed in seconds (docs/sources.md).
 */
export const DEFAULT_RESTART_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 };

/** Exponential restart delays for a crashing process: initial, 2×, 4× … capped; reset after a healthy run. */
export class RestartBackoff {
  readonly #o: BackoffOptions;
  #failures = 0;

  constructor(options: Partial<BackoffOptions> = {}) {
    this.#o = { ...DEFAULT_RESTART_BACKOFF, ...options };
  }

  /** The wait before restarting a process that ran for `runMs` and then exited. */
  next(runMs: number): number {
    if (runMs >= this.#o.resetAfterMs) this.#failures = 0;
    const delay = Math.min(this.#o.maxMs, this.#o.initialMs * 2 ** this.#failures);
    // Stop growing the exponent once capped, so it never overflows.
    if (delay < this.#o.maxMs) this.#failures++;
    return delay;
  }

  /** Consecutive short runs seen since the last healthy one. */
  get failures(): number {
    return this.#failures;
  }
}

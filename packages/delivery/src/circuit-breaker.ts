import { realTimers, type CircuitBreakerSettings, type ClockTimers } from '@sluice/core';
import type { AttemptOutcome } from './deliver.js';

/** `closed`: attempts flow; `open`: no attempts until the backoff ends; `half-open`: one probe attempt in flight. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a breaker shows to logs, the admin API and metrics. */
export interface CircuitSnapshot {
  readonly destination: string;
  readonly state: CircuitState;
  /** Failed attempts in a row (reset by a success). */
  readonly consecutiveFailures: number;
  /** Times the circuit opened since start (a failed probe counts again). */
  readonly opened: number;
  /** When an open circuit lets its next probe through (epoch ms); undefined unless open. */
  readonly probeAt: number | undefined;
  /** Events held back, waiting for the circuit to let them through. */
  readonly waiting: number;
}

/** How one attempt counts for the breaker. */
export type AttemptVerdict = 'success' | 'failure';

/**
 * Knative's view of a destination's health: transport errors, timeouts, 5xx, 408 and 429 say the destination is
 * unwell; any other answer (2xx, or a 4xx that rejects this one event) says it is alive.
 */
export function attemptVerdict(outcome: AttemptOutcome): AttemptVerdict {
  if (outcome.kind === 'success') return 'success';
  const s = outcome.status;
  return s === undefined || s >= 500 || s === 408 || s === 429 ? 'failure' : 'success';
}

/** Timers of a breaker, injected so tests can drive the clock. */
export type BreakerTimers = ClockTimers;

/** A permission to make one attempt: hand it back to {@link CircuitBreaker.record} with the attempt's verdict. */
export interface Permit {
  readonly generation: number;
  readonly probe: boolean;
}

/** Returned by {@link CircuitBreaker.acquire} when the breaker was closed down while the caller waited. */
export const BREAKER_SHUT = Symbol('breaker-shut');

interface Waiter {
  resolve(p: Permit | typeof BREAKER_SHUT): void;
}

/**
 * A circuit breaker for one destination, in the manner of Dapr's resiliency policies: after `failures` consecutive
 * failed attempts the circuit opens and callers wait (their events stay in the store's backlog, and no attempt is
 * made, so none of their retry budget is spent); after the backoff one caller is let through as a probe; a probe
 * that succeeds closes the circuit and lets everyone through, one that fails opens it again for twice as long (up to
 * `maxBackoffMs`). Results of attempts that started before the circuit last changed state are not counted twice.
 */
export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #opened = 0;
  #generation = 0;
  #backoffMs: number;
  #probeAt: number | undefined;
  #timer: unknown;
  #shut = false;
  #probeInFlight = false;
  readonly #waiters: Waiter[] = [];

  constructor(
    readonly destination: string,
    private readonly settings: CircuitBreakerSettings,
    private readonly onChange: (snapshot: CircuitSnapshot, previous: CircuitState) => void = () => undefined,
    private readonly timers: BreakerTimers = realTimers,
  ) {
    this.#backoffMs = settings.backoffMs;
  }

  /** The breaker's current figures. */
  snapshot(): CircuitSnapshot {
    return {
      destination: this.destination,
      state: this.#state,
      consecutiveFailures: this.#failures,
      opened: this.#opened,
      probeAt: this.#state === 'open' ? this.#probeAt : undefined,
      waiting: this.#waiters.length,
    };
  }

  /**
   * A permit at once while the circuit is closed (no promise, no allocation beyond the permit), else a promise that
   * resolves when the caller may attempt, or with {@link BREAKER_SHUT} when the breaker is shut down meanwhile.
   */
  acquire(): Permit | Promise<Permit | typeof BREAKER_SHUT> {
    if (this.#shut) return Promise.resolve(BREAKER_SHUT);
    if (this.#state === 'closed') return this.#permit(false);
    if (this.#state === 'half-open' && !this.#probeInFlight) {
      this.#probeInFlight = true;
      return this.#permit(true);
    }
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }

  /** Counts the result of an attempt made with `permit`. */
  record(permit: Permit, verdict: AttemptVerdict): void {
    if (this.settings.failures <= 0) return;
    if (permit.generation !== this.#generation) return; // started before the last state change: already accounted for
    if (this.#state === 'half-open') {
      if (!permit.probe) return;
      this.#probeInFlight = false;
      if (verdict === 'success') this.#close();
      else this.#open(Math.min(this.settings.maxBackoffMs, this.#backoffMs * 2));
      return;
    }
    if (this.#state !== 'closed') return;
    if (verdict === 'success') {
      this.#failures = 0;
      return;
    }
    this.#failures++;
    if (this.#failures >= this.settings.failures) this.#open(this.settings.backoffMs);
  }

  /** Releases every waiter with {@link BREAKER_SHUT} and stops the probe timer (on shutdown or reconfiguration). */
  shut(): void {
    this.#shut = true;
    if (this.#timer !== undefined) this.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve(BREAKER_SHUT);
  }

  #permit(probe: boolean): Permit {
    return { generation: this.#generation, probe };
  }

  #open(backoffMs: number): void {
    const previous = this.#state;
    this.#state = 'open';
    this.#generation++;
    this.#opened++;
    this.#backoffMs = backoffMs;
    this.#probeAt = this.timers.now() + backoffMs;
    this.#timer = this.timers.setTimeout(() => this.#halfOpen(), backoffMs);
    this.onChange(this.snapshot(), previous);
  }

  #halfOpen(): void {
    this.#timer = undefined;
    if (this.#shut) return;
    this.#state = 'half-open';
    this.#generation++;
    this.#probeInFlight = false;
    this.onChange(this.snapshot(), 'open');
    // The first waiter is the probe; when nobody waits, the next caller is.
    const next = this.#waiters.shift();
    if (next) {
      this.#probeInFlight = true;
      next.resolve(this.#permit(true));
    }
  }

  #close(): void {
    const previous = this.#state;
    this.#state = 'closed';
    this.#failures = 0;
    this.#generation++;
    this.#backoffMs = this.settings.backoffMs;
    this.#probeAt = undefined;
    this.onChange(this.snapshot(), previous);
    for (const w of this.#waiters.splice(0)) w.resolve(this.#permit(false));
  }
}

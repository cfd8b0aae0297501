import { SluiceError, type Broker } from '@sluice/core';

/** Broker annotation: requests per second one client address may send to the broker (a token bucket, burst the same). */
export const CLIENT_RATE_LIMIT_ANNOTATION = 'sluice.dev/client-rate-limit';

const MAX_CLIENTS = 10_000;

/**
 * Per-client token buckets for one broker: `rate` requests per second with a burst of `rate` (at least 1). At most
 * 10,000 clients are tracked; when full, buckets that are full again (idle clients) are dropped first.
 */
export class ClientRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when the request may go on, else the seconds to wait (for Retry-After). */
  take(client: string): number {
    const now = this.now();
    const burst = Math.max(1, this.rate);
    let b = this.#buckets.get(client);
    if (b === undefined) {
      if (this.#buckets.size >= MAX_CLIENTS) this.#evict(now, burst);
      b = { tokens: burst, at: now };
      this.#buckets.set(client, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  #evict(now: number, burst: number): void {
    for (const [k, v] of this.#buckets) {
      if (v.tokens + ((now - v.at) / 1000) * this.rate >= burst) this.#buckets.delete(k);
    }
    if (this.#buckets.size >= MAX_CLIENTS) this.#buckets.clear();
  }
}

/** The rate limiter of a broker, or undefined; throws SLUICE_CONFIG_INVALID for a bad annotation. */
export function brokerRateLimiter(broker: Broker): ClientRateLimiter | undefined {
  const v = broker.metadata.annotations?.[CLIENT_RATE_LIMIT_ANNOTATION];
  if (v === undefined) return undefined;
  const rate = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(rate > 0)) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `broker ${broker.metadata.name}: annotation ${CLIENT_RATE_LIMIT_ANNOTATION} must be a number of requests per second > 0, got ${JSON.stringify(v)}`);
  }
  return new ClientRateLimiter(rate);
}

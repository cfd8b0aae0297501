import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** What this module changes of kafkajs' per-connection request queue (`src/network/requestQueue/index.js`, kafkajs 2.2). */
interface KafkajsRequestQueue {
  /** Until when the broker throttles this connection (ms since the epoch); -1 until it first does. */
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  readonly pending: readonly unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** The kafkajs releases whose request queue this module was checked against. */
const CHECKED_RELEASES = /^2\.2\./;

/** kafkajs' delay before it looks at requests held back by the in-flight limit once a throttle has ended. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/**
 * Stops kafkajs' request queue from polling an idle connection. After every response kafkajs schedules a check of its
 * held-back requests at `throttledUntil - Date.now()` ms, even when none is held back and the broker throttles
 * nothing: `throttledUntil` is -1 until a broker throttles, so that is a negative delay, which Node turns into 1 ms
 * (and Node 24 reports with a `TimeoutNegativeWarning`), and the check schedules itself again: a 1 ms timer per
 * connection for as long as it is open (about 900 wake-ups a second on an idle producer). The replacement schedules
 * what kafkajs' does when requests are held back or a throttle is running, and nothing when neither. A request held
 * back later schedules its own check (`push`), and every response checks the held-back ones (`fulfillRequest`).
 * Other kafkajs releases are left unchanged.
 */
export function quietKafkajsRequestQueue(): void {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (!CHECKED_RELEASES.test(version)) return;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { readonly prototype: KafkajsRequestQueue };
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: KafkajsRequestQueue): void {
    if (this.throttleCheckTimeoutId) return;
    let delay = this.throttledUntil - Date.now();
    if (this.pending.length > 0) delay = delay > 0 ? delay : CHECK_PENDING_REQUESTS_INTERVAL_MS;
    else if (delay <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, delay);
  };
}

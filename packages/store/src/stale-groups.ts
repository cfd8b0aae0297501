import type { EventStore, ForgottenGroup } from './event-store.js';

/**
 * At start, once every configured group of `log` is consuming: waits for the log to be ready, then forgets the groups
 * the store still keeps that are not configured (Triggers or Subscriptions removed while Sluice was stopped).
 */
export async function forgetStaleGroups(store: EventStore, log: string, configured: readonly string[]): Promise<ForgottenGroup[]> {
  await store.ready(log);
  const keep = new Set(configured);
  const stale = store.groups(log).filter((g) => !keep.has(g));
  return stale.length === 0 ? [] : store.forgetGroups(log, stale);
}

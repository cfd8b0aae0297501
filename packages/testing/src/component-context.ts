import { noopLogger } from '@sluice/core';
import { DestinationResolver, type RuntimeContext } from '@sluice/plugin';
import type { EventStore } from '@sluice/store';

/**
 * A RuntimeContext for running one component in a test without a runtime: `sender` (a real one, so sends go over
 * loopback), a resolver against `url`, no store, no logs, routes and status reports dropped; `overrides` replace
 * any of it.
 */
export function componentContext(sender: RuntimeContext['sender'], overrides: Partial<RuntimeContext> = {}): RuntimeContext {
  const url = overrides.url ?? 'http://127.0.0.1:1';
  return {
    url,
    resolver: new DestinationResolver({ ingressBaseUrl: url }),
    sender,
    store: {} as EventStore,
    logger: noopLogger,
    now: Date.now,
    maxBodyBytes: 1024 * 1024,
    route: () => undefined,
    reportStatus: () => undefined,
    ...overrides,
  };
}

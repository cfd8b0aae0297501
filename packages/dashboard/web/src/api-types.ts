// The shapes of the admin API's JSON that the dashboard reads (docs/operations.md); fields that a kind lacks are
// optional here, so the app shows what is there. They restate what @sluice/admin and @sluice/core declare on purpose:
// this browser bundle is type-checked on its own, with DOM types only, and cannot import the Node packages' types.
// packages/dashboard/test/api-types.ts, type-checked with the tests, fails when these and the served shapes drift
// apart; the dashboard's browser test reads them from a running Sluice.

/** A Knative-style condition. */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
}

/** Live delivery figures of a Trigger or Subscription. */
export interface Figures {
  readonly backlog: number;
  readonly inFlight: number;
  readonly retrying: number;
  readonly oldestPendingAgeMs: number | null;
  readonly delivered: number;
  readonly failed: number;
  readonly deadLettered?: number;
  readonly dropped?: number;
  readonly deliveredPerSecond?: number;
  readonly failedPerSecond?: number;
  readonly lastSuccess?: string | null;
  readonly lastError?: { readonly status: number | null; readonly reason: string; readonly body: string; readonly time: string; readonly deadLetterSink?: boolean } | null;
}

/** The circuit breaker of one destination of a Trigger (its subscriber or dead-letter sink). */
export interface Circuit {
  readonly role: 'subscriber' | 'deadLetterSink';
  readonly destination: string;
  readonly state: 'closed' | 'open' | 'half-open';
  readonly consecutiveFailures: number;
  readonly opened: number;
  readonly probeAt?: string;
  readonly waiting: number;
}

/** A resource with its status, as `GET /api/v1/{kind}` lists it. */
export interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec?: Record<string, unknown>;
  readonly status?: { readonly conditions?: readonly Condition[]; readonly figures?: Figures; readonly circuits?: readonly Circuit[]; readonly [field: string]: unknown };
  readonly source?: string;
}

/** One snapshot of the live stream. */
export interface Snapshot {
  readonly at: number;
  readonly starting?: boolean;
  readonly ready?: { readonly ready: boolean; readonly reasons: readonly string[] };
  readonly resources?: readonly Resource[];
}

/** A stored dead letter. */
export interface DeadLetter {
  readonly id: number;
  readonly broker: string;
  readonly trigger: string;
  readonly reason: string;
  readonly attempts: number;
  readonly replays: number;
  readonly lastAttemptAt: string;
  readonly storedAt: string;
  readonly event: { readonly attributes: Record<string, unknown>; readonly data?: unknown };
}

/** Who the admin API takes this page for (`GET /api/v1/whoami`). */
export interface Identity {
  readonly name: string;
  readonly role: 'view' | 'edit';
  readonly anonymous: boolean;
}

import type { ResourceStatus } from '@sluice/core';

/** Live delivery figures of one Trigger or Subscription (its consumer group). */
export interface DeliveryFigures {
  /** Events accepted by the broker/channel and not yet read by this consumer. */
  readonly backlog: number;
  /** Deliveries running now (subscriber or dead-letter sink). */
  readonly inFlight: number;
  /** Events waiting for a retry. */
  readonly retrying: number;
  /** Age in ms of the oldest event not yet finished (backlog, in flight or retrying); undefined when none. */
  readonly oldestPendingAgeMs: number | undefined;
  /** Events the subscriber accepted (2xx), since the process started. */
  readonly delivered: number;
  /** Failed attempts (non-2xx or transport error), since the process started. */
  readonly failed: number;
  /** Events given to the dead-letter sink. */
  readonly deadLettered: number;
  /** Events dropped after the last retry (no dead-letter sink). */
  readonly dropped: number;
  /** Deliveries per second over the last minute. */
  readonly deliveredPerSecond: number;
  /** Failed attempts per second over the last minute. */
  readonly failedPerSecond: number;
  /** ISO time of the last accepted delivery. */
  readonly lastSuccess: string | undefined;
  /** The last failed attempt: HTTP status (none for a transport error), an excerpt of the body, and when. */
  readonly lastError: { readonly status: number | undefined; readonly reason: string; readonly body: string; readonly time: string } | undefined;
}

/** A resource as the admin API shows it: its manifest, the status Sluice computed, and live figures where they apply. */
export interface ResourceView {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly [field: string]: unknown };
  readonly spec?: unknown;
  /** Knative-style status (conditions with reason/message; addresses and resolved URIs); absent for kinds without one (Secret). */
  readonly status?: ResourceStatus & { readonly figures?: DeliveryFigures };
  /** Where the resource came from: a file given with `-f`, or `applied` through the admin API. */
  readonly source?: string;
}

/** What the admin API serves; implemented by the running Sluice (and by fakes in unit tests). */
export interface ControlPlane {
  /** Every kind the running Sluice understands, for `get KIND` name resolution. */
  kinds(): readonly string[];
  /** Every resource, in configuration order. */
  resources(): readonly ResourceView[];
  /** Readiness: ready when every declared resource is Ready; otherwise the reasons, one line per resource. */
  readiness(): { readonly ready: boolean; readonly reasons: readonly string[] };
}

import type { DeliveryFigures, ResourceStatus } from '@sluice/core';

/** The circuit breaker of one destination of a Trigger (its subscriber or dead-letter sink). */
export interface CircuitView {
  readonly role: 'subscriber' | 'deadLetterSink';
  readonly destination: string;
  readonly state: 'closed' | 'open' | 'half-open';
  /** Failed attempts in a row. */
  readonly consecutiveFailures: number;
  /** Times the circuit opened since start. */
  readonly opened: number;
  /** ISO time of the next probe while open. */
  readonly probeAt: string | undefined;
  /** Events held back while the circuit is not closed. */
  readonly waiting: number;
}

/** A resource as the admin API shows it: its manifest, the status Sluice computed, and live figures where they apply. */
export interface ResourceView {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly [field: string]: unknown };
  readonly spec?: unknown;
  /** Knative-style status (conditions with reason/message; addresses and resolved URIs); absent for kinds without one (Secret). */
  readonly status?: ResourceStatus & { readonly figures?: DeliveryFigures; readonly circuits?: readonly CircuitView[] };
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

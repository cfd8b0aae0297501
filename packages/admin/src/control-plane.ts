import type { DeliveryFigures, ResourceStatus } from '@sluice/core';

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

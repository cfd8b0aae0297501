/** A resource kind Sluice understands, and the schema in `schemas/` that validates it. */
export interface KindInfo {
  readonly apiVersions: readonly string[];
  readonly kind: string;
  /** File name in `schemas/`. */
  readonly schema: string;
}

/** Every kind `sluice run` accepts. Add a kind here and a schema in `schemas/` to support a new resource. */
export const KINDS: readonly KindInfo[] = [
  { apiVersions: ['eventing.knative.dev/v1'], kind: 'Broker', schema: 'broker.json' },
  { apiVersions: ['eventing.knative.dev/v1'], kind: 'Trigger', schema: 'trigger.json' },
  { apiVersions: ['sources.knative.dev/v1', 'sources.knative.dev/v1beta2'], kind: 'PingSource', schema: 'pingsource.json' },
  { apiVersions: ['sources.knative.dev/v1'], kind: 'ContainerSource', schema: 'containersource.json' },
  { apiVersions: ['sources.knative.dev/v1'], kind: 'SinkBinding', schema: 'sinkbinding.json' },
  { apiVersions: ['sources.triggermesh.io/v1alpha1'], kind: 'WebhookSource', schema: 'webhooksource.json' },
];

/** Finds the kind entry for an apiVersion and kind. */
export function findKind(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
}

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
];

/** Finds the kind entry for an apiVersion and kind. */
export function findKind(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
}

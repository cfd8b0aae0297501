/** Short names kubectl and kn users type for Knative kinds (from the CRDs' `shortNames`), plus `cm`, `svc` of the core group. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  imc: 'InMemoryChannel',
  ch: 'Channel',
  sub: 'Subscription',
  kc: 'KafkaChannel',
  cm: 'ConfigMap',
  ksvc: 'Service',
  kservice: 'Service',
  svc: 'Service',
};

/** The API group a typed name asks for, where it says: `ksvc` is Knative Serving's Service, `svc` the core one. */
const SHORT_NAME_GROUPS: Readonly<Record<string, string>> = { ksvc: 'serving.knative.dev', kservice: 'serving.knative.dev', svc: '' };

/** The plural kubectl uses for a kind (`Broker` → `brokers`, `Parallel` → `parallels`, `EventPolicy` → `eventpolicies`). */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`; // EventPolicy → eventpolicies
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
}

/**
 * Resolves what a user typed (`trigger`, `triggers`, `Trigger`, `imc`, `triggers.eventing.knative.dev`) to one of
 * `kinds`, or undefined.
 */
export function resolveKind(typed: string, kinds: readonly string[]): string | undefined {
  const t = typed.toLowerCase().split('.')[0]!;
  const short = SHORT_NAMES[t];
  if (short !== undefined && kinds.includes(short)) return short;
  return kinds.find((k) => k.toLowerCase() === t || pluralOf(k) === t);
}

/**
 * The API group to list for what a user typed (`triggers.eventing.knative.dev` → `eventing.knative.dev`, `ksvc` →
 * `serving.knative.dev`), or undefined for any. A kind served by two groups (Knative's and the core `Service`) typed
 * without one is the core kind's, as kubectl reads `services`.
 */
export function resolveGroup(typed: string, kind: string, kinds: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  const short = SHORT_NAME_GROUPS[t];
  if (short !== undefined) return short;
  if (t.includes('.')) return t.slice(t.indexOf('.') + 1);
  return kinds.filter((k) => k === kind).length > 1 ? '' : undefined;
}

/** The API group of an apiVersion (`serving.knative.dev/v1` → `serving.knative.dev`, `v1` → ``). */
export function groupOfApiVersion(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
}

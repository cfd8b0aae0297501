/** Short names kubectl and kn users type for Knative kinds (from the CRDs' `shortNames`), plus `cm` for ConfigMap. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  imc: 'InMemoryChannel',
  ch: 'Channel',
  sub: 'Subscription',
  kc: 'KafkaChannel',
  cm: 'ConfigMap',
};

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

import {
  DEFAULT_NAMESPACE,
  apiGroup,
  compileCesql,
  compileTriggerFilter,
  falseCondition,
  oidcSubject,
  trueCondition,
  type CesqlCompiler,
  type CloudEvent,
  type Condition,
  type EventPolicy,
  type EventPolicySelector,
  type EventPredicate,
  type SubscriptionsAPIFilter,
} from '@sluice/core';
import { checkRefApiVersion, resourcesOfKind, type LoadedResource, type SemanticCheck, type SluiceConfig } from '@sluice/config';

export type { EventPolicy };

/** Knative's `default-authorization-mode` (config-features): what a target without EventPolicies accepts. */
export const AUTHORIZATION_MODES = ['allow-all', 'allow-same-namespace', 'deny-all'] as const;
/** One of {@link AUTHORIZATION_MODES}. */
export type AuthorizationMode = (typeof AUTHORIZATION_MODES)[number];
/** Knative's default: senders of the target's own namespace. */
export const DEFAULT_AUTHORIZATION_MODE: AuthorizationMode = 'allow-same-namespace';

const EVENTING_GROUP = 'eventing.knative.dev';

/** An API group and kind, lower case, as `spec.to` names a target. */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

/**
 * The addressables Sluice authorizes (Knative's targets of EventPolicies that Sluice serves), by API group: Brokers,
 * channels, flows, JobSinks, KafkaSinks and EventTransforms.
 */
export const POLICY_TARGET_KINDS: readonly GroupKind[] = [
  { group: EVENTING_GROUP, kind: 'Broker' },
  { group: 'messaging.knative.dev', kind: 'Channel' },
  { group: 'messaging.knative.dev', kind: 'InMemoryChannel' },
  { group: 'messaging.knative.dev', kind: 'KafkaChannel' },
  { group: 'flows.knative.dev', kind: 'Sequence' },
  { group: 'flows.knative.dev', kind: 'Parallel' },
  { group: 'sinks.knative.dev', kind: 'JobSink' },
  { group: 'eventing.knative.dev', kind: 'KafkaSink' },
  { group: EVENTING_GROUP, kind: 'EventTransform' },
];

/**
 * An addressable EventPolicies apply to: the kinds `spec.to` may name it by (the first is how messages call it; a
 * Channel is also its backing channel, as Knative copies a Channel's policies onto it), its namespace, name and labels.
 */
export interface PolicyTarget {
  readonly kinds: readonly GroupKind[];
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The policy target of a Broker. */
export function brokerTarget(namespace: string, name: string, labels: Readonly<Record<string, string>> = {}): PolicyTarget {
  return { kinds: [{ group: EVENTING_GROUP, kind: 'Broker' }], namespace, name, labels };
}

const describeTarget = (t: PolicyTarget): string => `${t.kinds[0]!.kind.toLowerCase()} ${t.namespace}/${t.name}`;
const namesTarget = (apiVersion: string, kind: string, t: PolicyTarget): boolean => t.kinds.some((k) => k.group === apiGroup(apiVersion).toLowerCase() && k.kind.toLowerCase() === kind.toLowerCase());

/** Whether a label selector matches a set of labels (Kubernetes' semantics; an empty selector matches everything). */
export function selectorMatches(selector: Readonly<EventPolicySelector>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if ((e.operator === 'In' && !inValues) || (e.operator === 'NotIn' && inValues) || (e.operator === 'Exists' && !has) || (e.operator === 'DoesNotExist' && has)) return false;
  }
  return true;
}

/** Whether `sub` is one of `allowed`, or starts with the part before the trailing `*` of one (Knative's rule). */
export function subjectAllowed(sub: string, allowed: readonly string[]): boolean {
  for (const a of allowed) {
    if (a.toLowerCase() === sub.toLowerCase()) return true;
    if (a.endsWith('*') && sub.startsWith(a.slice(0, -1))) return true;
  }
  return false;
}

/** A resource a `from.ref` may name, with the subject Sluice gives it; the kinds of resources that send events. */
function resolvable(config: SluiceConfig): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of config.resources) m.set(`${apiGroup(r.apiVersion)}/${r.kind}/${r.namespace}/${r.name}`.toLowerCase(), oidcSubject(apiGroup(r.apiVersion), r.kind, r.namespace, r.name));
  return m;
}

/** An EventPolicy as it is enforced: resolved subjects, compiled filters, its conditions. */
interface CompiledPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly policy: EventPolicy;
  readonly subjects: readonly string[];
  readonly filter: EventPredicate;
  readonly ready: boolean;
  readonly conditions: Condition[];
}

/**
 * The EventPolicies of a configuration and the default authorization mode, as Knative applies them to requests
 * authenticated by OIDC: a target (Broker, channel, flow) with applying (Ready) policies accepts a request only when
 * some policy names the token's subject in `from` and its filters match the event; one without any follows the
 * default mode.
 */
export class EventPolicies {
  readonly #policies: CompiledPolicy[] = [];
  readonly mode: AuthorizationMode;

  constructor(config: SluiceConfig, mode: AuthorizationMode, options: { cesql?: CesqlCompiler } = {}) {
    this.mode = mode;
    const known = resolvable(config);
    for (const r of resourcesOfKind(config.resources, 'EventPolicy')) {
      const policy = r.value;
      const ns = policy.metadata.namespace ?? DEFAULT_NAMESPACE;
      const subjects: string[] = [];
      const missing: string[] = [];
      for (const f of policy.spec?.from ?? []) {
        if (f.sub !== undefined) subjects.push(f.sub);
        else if (f.ref !== undefined) {
          const refNs = f.ref.namespace ?? ns;
          const s = known.get(`${apiGroup(f.ref.apiVersion)}/${f.ref.kind}/${refNs}/${f.ref.name}`.toLowerCase());
          if (s === undefined) missing.push(`${f.ref.kind} ${refNs}/${f.ref.name}`);
          else subjects.push(s);
        }
      }
      const conditions: Condition[] = [
        trueCondition('AuthenticationEnabled'),
        missing.length === 0
          ? trueCondition('SubjectsResolved')
          : falseCondition('SubjectsResolved', 'SubjectsNotResolved', `could not resolve subjects from ${missing.join(', ')}: not in the configuration`),
      ];
      const filters = policy.spec?.filters;
      const filter = filters && filters.length > 0 ? compileTriggerFilter({ filters: [...filters] }, options.cesql ? { cesql: options.cesql } : {}) : () => true;
      this.#policies.push({ name: policy.metadata.name, namespace: ns, policy, subjects, filter, ready: missing.length === 0, conditions });
    }
  }

  /** Whether any EventPolicy is configured. */
  get size(): number {
    return this.#policies.length;
  }

  /** The policies that apply to a target (Knative: by `to` ref or selector, or every target of the namespace). */
  #applying(target: PolicyTarget): CompiledPolicy[] {
    return this.#policies.filter((p) => {
      if (p.namespace !== target.namespace) return false;
      const to = p.policy.spec?.to ?? [];
      if (to.length === 0) return true;
      return to.some((t) =>
        t.ref !== undefined
          ? namesTarget(t.ref.apiVersion, t.ref.kind, target) && t.ref.name.toLowerCase() === target.name.toLowerCase()
          : t.selector !== undefined && namesTarget(t.selector.apiVersion, t.selector.kind, target) && selectorMatches(t.selector, target.labels),
      );
    });
  }

  /**
   * How a target authorizes a request from `subject`: undefined when it may send whatever the event (default mode
   * allows it), else a check of the decoded events that returns why they are refused (403), or undefined.
   */
  authorizer(target: PolicyTarget, subject: string): ((events: readonly CloudEvent[]) => string | undefined) | undefined {
    const { namespace } = target;
    const what = describeTarget(target);
    const applying = this.#applying(target).filter((p) => p.ready);
    if (applying.length === 0) {
      if (this.mode === 'allow-all') return undefined;
      if (this.mode === 'allow-same-namespace' && subject.startsWith(`system:serviceaccount:${namespace}:`)) return undefined;
      const why =
        this.mode === 'deny-all'
          ? `no EventPolicy applies to ${what} and the default authorization mode is deny-all`
          : `no EventPolicy applies to ${what}, the default authorization mode is allow-same-namespace, and ${subject} is not of namespace ${namespace}`;
      return () => why;
    }
    const bySubject = applying.filter((p) => subjectAllowed(subject, p.subjects));
    if (bySubject.length === 0) {
      const why = `${subject} is not allowed by the EventPolicies of ${what} (${applying.map((p) => p.name).join(', ')})`;
      return () => why;
    }
    return (events) => {
      for (const e of events) {
        if (!bySubject.some((p) => p.filter(e)))
          return `event ${String(e.attributes['id'])} from ${subject} does not pass the filters of the EventPolicies of ${what} that allow it (${bySubject.map((p) => p.name).join(', ')})`;
      }
      return undefined;
    };
  }

  /** Each EventPolicy's conditions and `status.from`. */
  policyStatuses(): { namespace: string; name: string; conditions: Condition[]; from: readonly string[] }[] {
    return this.#policies.map((p) => ({ namespace: p.namespace, name: p.name, conditions: p.conditions, from: p.subjects }));
  }

  /** A target's `EventPoliciesReady` condition and `status.policies`, as Knative reports them. */
  targetStatus(target: PolicyTarget): { condition: Condition; policies: { name: string; apiVersion: string }[] } {
    const applying = this.#applying(target);
    const policies = applying.filter((p) => p.ready).map((p) => ({ name: p.name, apiVersion: 'eventing.knative.dev/v1alpha1' }));
    if (applying.length === 0) return { condition: { type: 'EventPoliciesReady', status: 'True', reason: 'DefaultAuthorizationMode', message: `Default authz mode is "${this.mode}"` }, policies };
    const unready = applying.filter((p) => !p.ready).map((p) => p.name);
    return {
      condition: unready.length === 0 ? trueCondition('EventPoliciesReady') : falseCondition('EventPoliciesReady', 'EventPoliciesNotReady', `event policies ${unready.join(', ')} are not ready`),
      policies,
    };
  }
}

/** An addressable's `EventPoliciesReady` condition when Knative's `authentication-oidc` feature is off. */
export const OIDC_DISABLED_POLICIES_CONDITION: Condition = {
  type: 'EventPoliciesReady',
  status: 'True',
  reason: 'OIDCDisabled',
  message: 'Feature "authentication-oidc" must be enabled to support Authorization',
};

const field = (p: readonly (string | number)[]): string => p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

/**
 * Checks of EventPolicies beyond the schema: `to` names a kind Sluice authorizes ({@link POLICY_TARGET_KINDS}), CESQL filters
 * compile, and a `from.ref` names a resource of the configuration (else a warning: the policy stays NotReady, as
 * Knative keeps it until the subject resolves).
 */
export function eventPolicyChecks(): SemanticCheck {
  return (config, report) => {
    const known = resolvable(config);
    for (const r of resourcesOfKind(config.resources, 'EventPolicy')) {
      const spec = r.value.spec ?? {};
      (spec.to ?? []).forEach((t, i) => {
        const target = t.ref ?? t.selector;
        if (target === undefined) return;
        if (!POLICY_TARGET_KINDS.some((k) => k.group === apiGroup(target.apiVersion) && k.kind === target.kind)) {
          const p = ['spec', 'to', i, t.ref ? 'ref' : 'selector', 'kind'];
          const kinds = POLICY_TARGET_KINDS.map((k) => `${k.group} ${k.kind}`).join(', ');
          report(r, p, `${field(p)}: Sluice enforces EventPolicies on ${kinds}; not on ${target.apiVersion} ${target.kind}`, 'SLUICE_CONFIG_INVALID');
        } else {
          // The right group with a version the kind does not have (eventing.knative.dev/v2 Broker) is wrong too.
          checkRefApiVersion(r, ['spec', 'to', i, t.ref ? 'ref' : 'selector'], target, report);
        }
      });
      (spec.from ?? []).forEach((f, i) => {
        if (f.ref === undefined) return;
        checkRefApiVersion(r, ['spec', 'from', i, 'ref'], f.ref, report);
        const ns = f.ref.namespace ?? r.namespace;
        if (!known.has(`${apiGroup(f.ref.apiVersion)}/${f.ref.kind}/${ns}/${f.ref.name}`.toLowerCase())) {
          report(
            r,
            ['spec', 'from', i, 'ref'],
            `${f.ref.kind} "${ns}/${f.ref.name}" is not declared in the configuration (the policy stays NotReady: SubjectsResolved False)`,
            'SLUICE_CONFIG_UNKNOWN_REF',
          );
        }
      });
      const walk = (f: SubscriptionsAPIFilter, p: (string | number)[]): void => {
        if (f.cesql !== undefined) {
          try {
            compileCesql(f.cesql);
          } catch (err) {
            report(r, [...p, 'cesql'], `${field([...p, 'cesql'])}: invalid CESQL expression: ${(err as Error).message}`, 'SLUICE_CONFIG_CESQL', (err as { position?: number }).position);
          }
        }
        f.all?.forEach((x, i) => walk(x, [...p, 'all', i]));
        f.any?.forEach((x, i) => walk(x, [...p, 'any', i]));
        if (f.not) walk(f.not, [...p, 'not']);
      };
      (spec.filters ?? []).forEach((f, i) => walk(f, ['spec', 'filters', i]));
    }
  };
}

/** `file:line:col: EventPolicy ns/name: …` for each EventPolicy, when the `authentication-oidc` feature is off. */
export function eventPolicyRefusals(config: SluiceConfig): string[] {
  return config.resources
    .filter((r: LoadedResource) => r.kind === 'EventPolicy')
    .map((r) => {
      const p = r.position([]);
      return `${r.file}:${p.line}:${p.col}: EventPolicy ${r.key}: EventPolicies need --authentication-oidc enabled (Knative refuses them while its authentication-oidc feature is off)`;
    });
}

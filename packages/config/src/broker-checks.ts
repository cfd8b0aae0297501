import {
  BROKER_CLASS_ANNOTATION,
  DEFAULT_NAMESPACE,
  DELIVERY_ORDER_ANNOTATION,
  parseDeliveryOrder,
  circuitBreakerProblems,
  compileCesql,
  type Destination,
  type SubscriptionsAPIFilter,
} from '@sluice/core';
import { parse as parseYaml } from 'yaml';
import { KINDS, didYouMean } from './kinds.js';
import type { LoadedResource, ReportFn, SemanticCheck } from './load.js';

/** ` (did you mean "x"?)` when a declared name of the same kind and namespace is close to `name`, else ''. */
function nameHint(declared: ReadonlySet<string>, kind: string, namespace: string, name: string): string {
  const prefix = `${kind}:${namespace}/`;
  const names = [...declared].filter((d) => d.startsWith(prefix)).map((d) => d.slice(prefix.length));
  const guess = didYouMean(name, names);
  return guess === undefined ? '' : ` (did you mean "${guess}"?)`;
}

/** A CESQL compiler for validation: throws an error with an optional 0-based `position` inside the expression. */
export type CesqlValidator = (expression: string) => unknown;

/** Broker classes Sluice runs; a missing annotation means the embedded store. */
export const BROKER_CLASSES = ['MTChannelBasedBroker', 'Sluice', 'Kafka', 'KafkaNamespaced'] as const;

/** Kinds a Destination `ref` may name when the resource is declared in the configuration. */
export const ADDRESSABLE_KINDS = new Set(['Broker', 'Channel', 'InMemoryChannel', 'KafkaChannel', 'Sequence', 'Parallel', 'EventTransform', 'KafkaSink', 'JobSink']);

/**
 * The apiVersions a `ref` to `kind` may use (the kind's served versions; a Service ref may name a Knative Service or a
 * v1 Service); undefined for kinds Sluice does not know.
 */
export function refApiVersions(kind: string): readonly string[] | undefined {
  const versions = KINDS.filter((k) => k.kind === kind).flatMap((k) => k.apiVersions);
  return versions.length === 0 ? undefined : [...new Set(kind === 'Service' ? ['serving.knative.dev/v1', 'v1'] : versions)];
}

/**
 * Knative's KReference validation of `apiVersion`: required (unless `group` names the API group instead), and one of
 * the kind's versions. Reported at the ref (missing) or at its apiVersion (wrong), with the apiVersion to use.
 */
export function checkRefApiVersion(
  r: LoadedResource,
  path: readonly (string | number)[],
  ref: { readonly kind: string; readonly apiVersion?: string | undefined; readonly group?: string | undefined },
  report: ReportFn,
): void {
  const versions = refApiVersions(ref.kind);
  if (ref.apiVersion === undefined) {
    if (ref.group !== undefined) return; // Knative's KReference group: the version is resolved by the API server
    const use = versions ? `: add apiVersion: ${versions[0]}` : '';
    report(r, [...path], `a ref needs an apiVersion (Knative rejects a KReference without one)${use}`);
    return;
  }
  if (versions && !versions.includes(ref.apiVersion)) {
    report(r, [...path, 'apiVersion'], `${ref.kind} has apiVersion ${versions.join(' or ')}, not "${ref.apiVersion}": use apiVersion: ${versions[0]}`);
  }
}

/** Checks a Destination: ref kinds and declared targets, absolute http(s) uri. */
export function checkDestination(r: LoadedResource, path: (string | number)[], dest: Destination, declared: ReadonlySet<string>, report: ReportFn): void {
  if (dest.ref) {
    const ns = dest.ref.namespace ?? r.namespace;
    const kind = dest.ref.kind;
    if (kind === 'Service') {
      checkRefApiVersion(r, [...path, 'ref'], dest.ref, report);
    } else if (!ADDRESSABLE_KINDS.has(kind)) {
      report(r, [...path, 'ref', 'kind'], `cannot resolve a ref to kind "${kind}" (supported: ${[...ADDRESSABLE_KINDS, 'Service'].join(', ')})`);
    } else {
      checkRefApiVersion(r, [...path, 'ref'], dest.ref, report);
      if (!declared.has(`${kind}:${ns}/${dest.ref.name}`)) {
        report(r, [...path, 'ref', 'name'], `${kind} "${ns}/${dest.ref.name}" is not declared in the configuration${nameHint(declared, kind, ns, dest.ref.name)}`, 'SLUICE_CONFIG_UNKNOWN_REF');
      }
    }
    if (dest.uri !== undefined && /^[a-z][a-z0-9+.-]*:/i.test(dest.uri)) {
      report(r, [...path, 'uri'], 'an absolute uri is not allowed when ref is present (use a relative path)');
    } else if (dest.uri !== undefined && /^\s*[/\\]{2}/.test(dest.uri)) {
      // `//host/path` is relative in form but names another host: the ref's events would go there.
      report(r, [...path, 'uri'], 'a protocol-relative uri (//host/…) is not allowed when ref is present (use a relative path)');
    }
  } else if (dest.uri !== undefined) {
    let ok: boolean;
    try {
      const u = new URL(dest.uri);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
    } catch {
      ok = false;
    }
    if (!ok) report(r, [...path, 'uri'], `uri must be an absolute http(s) URL, got "${dest.uri}"`);
  }
}

function walkFilters(filters: readonly SubscriptionsAPIFilter[], path: (string | number)[], visit: (f: SubscriptionsAPIFilter, path: (string | number)[]) => void): void {
  filters.forEach((f, i) => {
    const p = [...path, i];
    visit(f, p);
    if (f.all) walkFilters(f.all, [...p, 'all'], visit);
    if (f.any) walkFilters(f.any, [...p, 'any'], visit);
    if (f.not) walkNot(f.not, [...p, 'not'], visit);
  });
}

function walkNot(f: SubscriptionsAPIFilter, path: (string | number)[], visit: (f: SubscriptionsAPIFilter, path: (string | number)[]) => void): void {
  visit(f, path);
  if (f.all) walkFilters(f.all, [...path, 'all'], visit);
  if (f.any) walkFilters(f.any, [...path, 'any'], visit);
  if (f.not) walkNot(f.not, [...path, 'not'], visit);
}

/** Knative's cluster-wide defaulting ConfigMaps: read by its webhooks, not by Sluice. */
const CLUSTER_DEFAULT_CONFIGMAPS: Readonly<Record<string, string>> = {
  'config-br-defaults': 'brokers without a class annotation use the embedded store',
  'config-br-default-channel': 'the embedded store backs channel-based brokers',
  'default-ch-webhook': 'Channels without a channelTemplate use InMemoryChannel semantics on the embedded store',
};

/**
 * A channel-based (embedded) Broker's `spec.config`: Knative reads the ConfigMap's `channel-template-spec` to choose
 * the backing channel. Sluice stores the broker's events in its embedded log whatever the template says, so the
 * template is read, checked and reported, never silently dropped.
 */
function checkChannelTemplate(
  r: LoadedResource,
  config: { resources: readonly LoadedResource[] },
  report: ReportFn,
  notice: (r: LoadedResource, path: readonly (string | number)[], message: string) => void,
): void {
  const ref = (r.value['spec'] as { config?: { apiVersion?: string; kind: string; name: string; namespace?: string } } | undefined)?.config;
  if (!ref) return;
  const where = `Broker ${r.key}`;
  if (ref.kind !== 'ConfigMap') {
    // Knative's channel-based broker reconciler reads only a v1 ConfigMap and keeps the broker NotReady otherwise.
    report(
      r,
      ['spec', 'config', 'kind'],
      `a channel-based Broker's spec.config must be a v1 ConfigMap (with channel-template-spec), not ${ref.kind}${ref.kind.toLowerCase() === 'configmap' ? ' (did you mean "ConfigMap"?)' : ''}`,
    );
    return;
  }
  if (ref.apiVersion !== 'v1') return; // reported by checkBrokerConfigRef
  const ns = ref.namespace ?? r.namespace;
  const cm = config.resources.find((x) => x.kind === 'ConfigMap' && x.apiVersion === 'v1' && x.key === `${ns}/${ref.name}`);
  if (!cm) {
    report(
      r,
      ['spec', 'config', 'name'],
      `ConfigMap "${ns}/${ref.name}" is not declared in the configuration (its channel-template-spec cannot be read; the embedded store backs the broker)`,
      'SLUICE_CONFIG_UNKNOWN_REF',
    );
    return;
  }
  const text = ((cm.value['data'] ?? {}) as Record<string, string>)['channel-template-spec'];
  if (text === undefined) {
    report(r, ['spec', 'config', 'name'], `ConfigMap "${cm.key}" has no channel-template-spec key, which a channel-based Broker's spec.config needs`);
    return;
  }
  let kind: unknown;
  try {
    kind = (parseYaml(text) as { kind?: unknown } | null)?.kind;
  } catch (err) {
    report(r, ['spec', 'config', 'name'], `ConfigMap "${cm.key}": channel-template-spec is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  if (kind === 'InMemoryChannel') {
    notice(
      r,
      ['spec', 'config'],
      `${where}: channel-template-spec InMemoryChannel (ConfigMap ${cm.key}): served by the embedded store, which keeps events on disk where Knative's in-memory channel would not`,
    );
  } else if (kind === 'KafkaChannel') {
    notice(
      r,
      ['spec', 'config'],
      `${where}: channel-template-spec KafkaChannel (ConfigMap ${cm.key}): served by the embedded store, not Kafka (set the broker class annotation to Kafka for Kafka storage)`,
    );
  } else {
    report(r, ['spec', 'config', 'name'], `ConfigMap "${cm.key}": channel-template-spec kind ${JSON.stringify(kind)} is not supported (InMemoryChannel or KafkaChannel)`);
  }
}

/**
 * A Broker's `spec.config` is a KReference (Knative validates it as one): an apiVersion is needed, and the right one
 * for a kind Sluice knows (`v1` ConfigMap or Secret, `messaging.knative.dev/v1beta1` KafkaChannel, …).
 */
function checkBrokerConfigRef(r: LoadedResource, report: ReportFn): void {
  const ref = (r.value['spec'] as { config?: { apiVersion?: string; kind: string; group?: string } } | undefined)?.config;
  if (ref) checkRefApiVersion(r, ['spec', 'config'], ref, report);
}

/** Knative's feature flag that lets a Trigger's brokerRef name a Broker of another namespace. */
export const CROSS_NAMESPACE_FLAG = 'cross-namespace-event-links';

/** Whether `knative-eventing/config-features` turns {@link CROSS_NAMESPACE_FLAG} on. */
function crossNamespaceEnabled(config: { resources: readonly LoadedResource[] }): boolean {
  const cm = config.resources.find((x) => x.kind === 'ConfigMap' && x.key === 'knative-eventing/config-features');
  return ((cm?.value['data'] ?? {}) as Record<string, unknown>)[CROSS_NAMESPACE_FLAG] === 'enabled';
}

/**
 * A Trigger's `spec.brokerRef` (Knative's newer KReference form of `spec.broker`) names a Broker, with its apiVersion;
 * a Broker of another namespace only with the cross-namespace-event-links feature, as Knative's webhook requires.
 */
function checkBrokerRef(r: LoadedResource, report: ReportFn, crossNamespace: boolean): void {
  const ref = (r.value['spec'] as { brokerRef?: { apiVersion?: string; kind: string; group?: string; namespace?: string } } | undefined)?.brokerRef;
  if (!ref) return;
  if (ref.kind !== 'Broker') {
    const hint = didYouMean(ref.kind, ['Broker']) === undefined ? '' : ' (did you mean "Broker"?)';
    report(r, ['spec', 'brokerRef', 'kind'], `brokerRef must name a Broker, not "${ref.kind}"${hint}`);
    return;
  }
  checkRefApiVersion(r, ['spec', 'brokerRef'], ref, report);
  if (ref.namespace !== undefined && ref.namespace !== r.namespace && !crossNamespace) {
    report(
      r,
      ['spec', 'brokerRef', 'namespace'],
      `a brokerRef to another namespace ("${ref.namespace}") needs Knative's ${CROSS_NAMESPACE_FLAG} feature: set ${CROSS_NAMESPACE_FLAG}: enabled in ConfigMap knative-eventing/config-features`,
    );
  }
}

/** Knative's Trigger annotation naming a source the Trigger depends on (a JSON ObjectReference). */
export const DEPENDENCY_ANNOTATION = 'knative.dev/dependency';

/**
 * A Trigger's `knative.dev/dependency` annotation, checked as Knative's webhook checks it: a JSON object reference with
 * `kind`, `name` and `apiVersion` (the kind's), in the Trigger's namespace. Knative keeps the Trigger NotReady until
 * that source is Ready; here the Trigger subscribes at once (starting early loses no event), which is listed.
 */
function checkDependency(r: LoadedResource, report: ReportFn, notice: (r: LoadedResource, path: readonly (string | number)[], message: string) => void): void {
  const value = ((r.value['metadata'] as { annotations?: Record<string, string> }).annotations ?? {})[DEPENDENCY_ANNOTATION];
  if (value === undefined) return;
  const path = ['metadata', 'annotations', DEPENDENCY_ANNOTATION];
  let dep: unknown;
  try {
    dep = JSON.parse(value);
  } catch {
    dep = undefined;
  }
  if (typeof dep !== 'object' || dep === null || Array.isArray(dep)) {
    report(r, path, `${DEPENDENCY_ANNOTATION} must be a JSON object reference ({"kind":…,"name":…,"apiVersion":…}), got ${JSON.stringify(value)}`);
    return;
  }
  const ref = dep as { kind?: unknown; name?: unknown; apiVersion?: unknown; namespace?: unknown };
  const missing = (['kind', 'name', 'apiVersion'] as const).filter((k) => typeof ref[k] !== 'string' || ref[k] === '');
  if (missing.length > 0) {
    report(r, path, `${DEPENDENCY_ANNOTATION}: missing ${missing.join(', ')}`);
    return;
  }
  if (ref.namespace !== undefined && ref.namespace !== r.namespace) {
    report(r, path, `${DEPENDENCY_ANNOTATION}: the namespace must be empty or the Trigger's ("${r.namespace}"), not ${JSON.stringify(ref.namespace)}`);
    return;
  }
  const versions = refApiVersions(ref.kind as string);
  if (versions && !versions.includes(ref.apiVersion as string)) {
    report(r, path, `${DEPENDENCY_ANNOTATION}: ${String(ref.kind)} has apiVersion ${versions.join(' or ')}, not "${String(ref.apiVersion)}"`);
    return;
  }
  notice(
    r,
    path,
    `ignored: Trigger ${r.key}: annotation ${DEPENDENCY_ANNOTATION} (the Trigger subscribes at once instead of waiting for ${String(ref.kind)} ${String(ref.name)}; starting early loses no event)`,
  );
}

/** Cross-resource checks for Brokers and Triggers: references, destinations, broker class, CESQL. */
export function brokerChecks(options: { cesql?: CesqlValidator } = {}): SemanticCheck {
  return (config, report, notice) => {
    for (const r of config.resources) {
      const why = r.kind === 'ConfigMap' ? CLUSTER_DEFAULT_CONFIGMAPS[r.name] : undefined;
      if (why !== undefined) notice(r, [], `ignored: v1 ConfigMap ${r.key} (Knative's cluster defaults; here ${why})`);
      // Knative Serving's cluster settings (autoscaler, network, domain, …): Sluice runs each workload as one instance
      // on this machine and reads none of them, which an app's directory should not leave unsaid.
      else if (r.kind === 'ConfigMap' && r.namespace === 'knative-serving')
        notice(r, [], `ignored: v1 ConfigMap ${r.key} (Knative Serving's cluster configuration: each workload runs as one instance here, always)`);
    }
    const declared = new Set<string>();
    for (const r of config.resources) {
      const id = `${r.kind}:${r.key}`;
      if (declared.has(id)) report(r, ['metadata', 'name'], `duplicate ${r.kind} "${r.key}"`, 'SLUICE_CONFIG_DUPLICATE');
      declared.add(id);
    }
    const crossNamespace = crossNamespaceEnabled(config);
    const brokerClassOf = new Map<string, string | undefined>();
    for (const r of config.resources) {
      if (r.kind === 'Broker') brokerClassOf.set(r.key, ((r.value['metadata'] as { annotations?: Record<string, string> }).annotations ?? {})[BROKER_CLASS_ANNOTATION]);
    }
    for (const r of config.resources) {
      if (r.kind === 'Broker' || r.kind === 'Trigger') {
        const annotations = (r.value['metadata'] as { annotations?: Record<string, string> }).annotations;
        for (const p of circuitBreakerProblems(annotations)) report(r, ['metadata', 'annotations', p.annotation], p.message);
      }
      if (r.kind === 'Broker') {
        const annotations = (r.value['metadata'] as { annotations?: Record<string, string> }).annotations ?? {};
        const cls = annotations[BROKER_CLASS_ANNOTATION];
        checkBrokerConfigRef(r, report);
        if (cls === undefined || cls === 'MTChannelBasedBroker' || cls === 'Sluice') checkChannelTemplate(r, config, report, notice);
        if (cls !== undefined && !(BROKER_CLASSES as readonly string[]).includes(cls)) {
          report(r, ['metadata', 'annotations', BROKER_CLASS_ANNOTATION], `broker class "${cls}" is not supported (supported: ${BROKER_CLASSES.join(', ')})`);
        }
        const delivery = (r.value['spec'] as { delivery?: { deadLetterSink?: Destination } } | undefined)?.delivery;
        if (delivery?.deadLetterSink) checkDestination(r, ['spec', 'delivery', 'deadLetterSink'], delivery.deadLetterSink, declared, report);
      }
      if (r.kind === 'Trigger') {
        // delivery.order in any case (Knative's dispatcher lower-cases it); Kafka-class brokers' triggers are checked
        // by the Kafka broker's own checks.
        const order = ((r.value['metadata'] as { annotations?: Record<string, string> }).annotations ?? {})[DELIVERY_ORDER_ANNOTATION];
        const t = r.value['spec'] as { broker?: string; brokerRef?: { name: string; namespace?: string } };
        const brokerCls = brokerClassOf.get(`${t.brokerRef?.namespace ?? r.namespace}/${t.broker ?? t.brokerRef?.name ?? ''}`);
        if (parseDeliveryOrder(order) === null && !(brokerCls ?? '').startsWith('Kafka')) {
          report(r, ['metadata', 'annotations', DELIVERY_ORDER_ANNOTATION], `${DELIVERY_ORDER_ANNOTATION} must be "ordered" or "unordered" (any case), got "${order}"`);
        }
        const spec = r.value['spec'] as {
          broker?: string;
          brokerRef?: { name: string; namespace?: string };
          subscriber: Destination;
          delivery?: { deadLetterSink?: Destination };
          filters?: SubscriptionsAPIFilter[];
        };
        checkBrokerRef(r, report, crossNamespace);
        checkDependency(r, report, notice);
        const brokerName = spec.broker ?? spec.brokerRef?.name;
        const brokerNs = spec.brokerRef?.namespace ?? r.namespace ?? DEFAULT_NAMESPACE;
        if (brokerName !== undefined && !declared.has(`Broker:${brokerNs}/${brokerName}`)) {
          report(
            r,
            spec.broker !== undefined ? ['spec', 'broker'] : ['spec', 'brokerRef'],
            `broker "${brokerNs}/${brokerName}" is not declared in the configuration${nameHint(declared, 'Broker', brokerNs, brokerName)}`,
            'SLUICE_CONFIG_UNKNOWN_BROKER',
          );
        }
        checkDestination(r, ['spec', 'subscriber'], spec.subscriber, declared, report);
        if (spec.delivery?.deadLetterSink) checkDestination(r, ['spec', 'delivery', 'deadLetterSink'], spec.delivery.deadLetterSink, declared, report);
        if (spec.filters) {
          const cesql = options.cesql ?? compileCesql;
          walkFilters(spec.filters, ['spec', 'filters'], (f, p) => {
            if (f.cesql === undefined) return;
            try {
              cesql(f.cesql);
            } catch (err) {
              const pos = (err as { position?: number }).position;
              const field = [...p, 'cesql'].map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
              report(r, [...p, 'cesql'], `${field}: invalid CESQL expression: ${(err as Error).message}`, 'SLUICE_CONFIG_CESQL', pos);
            }
          });
        }
      }
    }
  };
}

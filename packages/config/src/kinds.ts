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
  { apiVersions: ['sources.knative.dev/v1alpha1'], kind: 'GitHubSource', schema: 'githubsource.json' },
  { apiVersions: ['sources.knative.dev/v1alpha1'], kind: 'GitLabSource', schema: 'gitlabsource.json' },
  { apiVersions: ['messaging.knative.dev/v1'], kind: 'Channel', schema: 'channel.json' },
  { apiVersions: ['messaging.knative.dev/v1'], kind: 'InMemoryChannel', schema: 'inmemorychannel.json' },
  { apiVersions: ['messaging.knative.dev/v1beta1', 'messaging.knative.dev/v1'], kind: 'KafkaChannel', schema: 'kafkachannel.json' },
  { apiVersions: ['messaging.knative.dev/v1'], kind: 'Subscription', schema: 'subscription.json' },
  { apiVersions: ['flows.knative.dev/v1'], kind: 'Sequence', schema: 'sequence.json' },
  { apiVersions: ['flows.knative.dev/v1'], kind: 'Parallel', schema: 'parallel.json' },
  { apiVersions: ['sources.knative.dev/v1', 'sources.knative.dev/v1beta1'], kind: 'KafkaSource', schema: 'kafkasource.json' },
  { apiVersions: ['events.cloud.google.com/v1', 'events.cloud.google.com/v1beta1'], kind: 'CloudPubSubSource', schema: 'cloudpubsubsource.json' },
  { apiVersions: ['eventing.knative.dev/v1alpha1'], kind: 'EventTransform', schema: 'eventtransform.json' },
  { apiVersions: ['eventing.knative.dev/v1alpha1'], kind: 'KafkaSink', schema: 'kafkasink.json' },
  { apiVersions: ['sinks.knative.dev/v1alpha1'], kind: 'JobSink', schema: 'jobsink.json' },
  { apiVersions: ['eventing.knative.dev/v1beta3', 'eventing.knative.dev/v1beta2'], kind: 'EventType', schema: 'eventtype.json' },
  { apiVersions: ['eventing.knative.dev/v1alpha1'], kind: 'EventPolicy', schema: 'eventpolicy.json' },
  // Read where a resource names it with a secretKeyRef (KafkaSource, CloudPubSubSource).
  { apiVersions: ['v1'], kind: 'Secret', schema: 'secret.json' },
  // Read where a Kafka-class Broker's spec.config names it (kafka-broker-config).
  { apiVersions: ['v1'], kind: 'ConfigMap', schema: 'configmap.json' },
  // Workloads: run by @sluice/workloads as local processes or containers, the subscribers Triggers point at.
  { apiVersions: ['serving.knative.dev/v1'], kind: 'Service', schema: 'knative-service.json' },
  { apiVersions: ['apps/v1'], kind: 'Deployment', schema: 'deployment.json' },
  { apiVersions: ['v1'], kind: 'Pod', schema: 'pod.json' },
  { apiVersions: ['batch/v1'], kind: 'Job', schema: 'job.json' },
  { apiVersions: ['batch/v1'], kind: 'CronJob', schema: 'cronjob.json' },
  { apiVersions: ['v1'], kind: 'Service', schema: 'service.json' },
];

/**
 * Kubernetes kinds that are cluster plumbing: accepted and ignored, with one line each (`ignored: v1 Namespace x
 * (cluster plumbing)`), because on one machine they have no effect on events. Keys are `apiVersion kind`; an
 * apiVersion ending in `/*` stands for every version of the group.
 */
export const PLUMBING_KINDS: readonly string[] = [
  'v1 Namespace',
  'v1 ServiceAccount',
  'v1 LimitRange',
  'v1 ResourceQuota',
  'v1 Endpoints',
  'v1 PersistentVolumeClaim',
  'rbac.authorization.k8s.io/* Role',
  'rbac.authorization.k8s.io/* RoleBinding',
  'rbac.authorization.k8s.io/* ClusterRole',
  'rbac.authorization.k8s.io/* ClusterRoleBinding',
  'networking.k8s.io/* NetworkPolicy',
  'networking.k8s.io/* Ingress',
  'policy/* PodDisruptionBudget',
  'autoscaling/* HorizontalPodAutoscaler',
  'scheduling.k8s.io/* PriorityClass',
  'discovery.k8s.io/* EndpointSlice',
];

/** Whether `apiVersion kind` is cluster plumbing (see {@link PLUMBING_KINDS}). */
export function isPlumbing(apiVersion: string, kind: string): boolean {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  return PLUMBING_KINDS.some((k) => {
    const [v, n] = k.split(' ');
    return n === kind && (v === apiVersion || (v!.endsWith('/*') && v!.slice(0, -2) === group));
  });
}

/** API groups of Knative and of the event sources people run with it: an unknown kind there is an error, never ignored. */
export function isEventingGroup(apiVersion: string): boolean {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  return /(^|\.)knative\.dev$/.test(group) || /^sources\./.test(group) || group === 'events.cloud.google.com' || /(^|\.)triggermesh\.io$/.test(group);
}

/** Why Sluice refuses some well-known eventing kinds it does not run, said with the error. */
export const REFUSED_KIND_REASONS: Readonly<Record<string, string>> = {
  ApiServerSource: 'it sends the events of a Kubernetes API server, and Sluice runs without one (use a Kubernetes cluster with Knative, or send such events to a Broker yourself)',
  IntegrationSource: 'it runs Apache Camel Kamelets as Kubernetes workloads',
  IntegrationSink: 'it runs Apache Camel Kamelets as Kubernetes workloads',
};

/**
 * apiVersions Knative served once and serves no more, with the one to use: kept as errors (Knative would refuse
 * them too) but with a precise fix.
 */
export const LEGACY_API_VERSIONS: Readonly<Record<string, string>> = {
  'eventing.knative.dev/v1alpha1': 'eventing.knative.dev/v1',
  'eventing.knative.dev/v1beta1': 'eventing.knative.dev/v1',
  'messaging.knative.dev/v1alpha1': 'messaging.knative.dev/v1',
  'messaging.knative.dev/v1beta1': 'messaging.knative.dev/v1',
  'flows.knative.dev/v1alpha1': 'flows.knative.dev/v1',
  'flows.knative.dev/v1beta1': 'flows.knative.dev/v1',
  'sources.knative.dev/v1alpha1': 'sources.knative.dev/v1',
  'sources.knative.dev/v1alpha2': 'sources.knative.dev/v1',
  'serving.knative.dev/v1alpha1': 'serving.knative.dev/v1',
  'serving.knative.dev/v1beta1': 'serving.knative.dev/v1',
};

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest of `candidates` to `word` (case-insensitive equality first, then a small edit distance), if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    if (c.toLowerCase() === word.toLowerCase()) return c;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Finds the kind entry for an apiVersion and kind. */
export function findKind(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
}

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
  // Read where a resource names it with a secretKeyRef (KafkaSource, CloudPubSubSource).
  { apiVersions: ['v1'], kind: 'Secret', schema: 'secret.json' },
  // Read where a Kafka-class Broker's spec.config names it (kafka-broker-config).
  { apiVersions: ['v1'], kind: 'ConfigMap', schema: 'configmap.json' },
];

/** Finds the kind entry for an apiVersion and kind. */
export function findKind(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
}

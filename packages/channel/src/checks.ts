import { checkDestination, typed, type LoadedResource, type ReportFn, type ResourceOf, type SemanticCheck } from '@sluice/config';
import { parseDeliveryOrder, parseIsoDuration, type ChannelTemplateSpec, type DeliverySpec } from '@sluice/core';
import { ASYNC_HANDLER_ANNOTATION, BACKING_API_VERSIONS, CHANNEL_KINDS, CHANNEL_PACKAGE_KINDS, DURABILITY_ANNOTATION, SUBSCRIPTION_ORDER_ANNOTATION, isChannelKind } from './resources.js';
import { buildTopology, type Topology } from './topology.js';

type Path = (string | number)[];

const KAFKA_ONLY_FIELDS = ['numPartitions', 'replicationFactor', 'retentionDuration'] as const;

function checkDelivery(r: LoadedResource, path: Path, delivery: DeliverySpec | undefined, declared: ReadonlySet<string>, report: ReportFn): void {
  if (delivery?.deadLetterSink) checkDestination(r, [...path, 'deadLetterSink'], delivery.deadLetterSink, declared, report);
}

function checkRetention(r: LoadedResource, path: Path, retention: string | undefined, report: ReportFn): void {
  if (retention !== undefined && parseIsoDuration(retention) <= 0) report(r, path, 'retentionDuration must be greater than zero');
}

function checkTemplate(r: LoadedResource, path: Path, template: ChannelTemplateSpec | undefined, declared: ReadonlySet<string>, report: ReportFn): void {
  if (!template) return;
  const versions = BACKING_API_VERSIONS[template.kind];
  if (!versions.includes(template.apiVersion)) {
    report(r, [...path, 'apiVersion'], `channelTemplate: ${template.kind} uses apiVersion ${versions.join(' or ')}, not "${template.apiVersion}"`);
  }
  const spec = template.spec;
  if (template.kind !== 'KafkaChannel') {
    for (const f of KAFKA_ONLY_FIELDS) {
      if (spec?.[f] !== undefined) report(r, [...path, 'spec', f], `channelTemplate: ${f} applies to KafkaChannel templates only, not ${template.kind}`);
    }
  }
  checkRetention(r, [...path, 'spec', 'retentionDuration'], spec?.retentionDuration, report);
  checkDelivery(r, [...path, 'spec', 'delivery'], spec?.delivery, declared, report);
}

function checkAnnotations(r: LoadedResource, backing: string | undefined, report: ReportFn): void {
  const annotations = (r.value['metadata'] as { annotations?: Record<string, string> }).annotations ?? {};
  const durability = annotations[DURABILITY_ANNOTATION];
  if (durability !== undefined) {
    const path = ['metadata', 'annotations', DURABILITY_ANNOTATION];
    if (durability !== 'memory' && durability !== 'durable') report(r, path, `${DURABILITY_ANNOTATION} must be "memory" or "durable", not "${durability}"`);
    else if (backing !== 'InMemoryChannel') report(r, path, `${DURABILITY_ANNOTATION} applies to InMemoryChannel (or a Channel backed by one) only`);
  }
  const asyncHandler = annotations[ASYNC_HANDLER_ANNOTATION];
  if (asyncHandler !== undefined && asyncHandler !== 'true' && asyncHandler !== 'false') {
    report(r, ['metadata', 'annotations', ASYNC_HANDLER_ANNOTATION], `${ASYNC_HANDLER_ANNOTATION} must be "true" or "false", not "${asyncHandler}"`);
  }
}

/** A Subscription's channel (a channel kind with its apiVersion, declared, in its namespace), destinations and order. */
function checkSubscription(r: ResourceOf<'Subscription'>, topology: Topology, declared: ReadonlySet<string>, report: ReportFn): void {
  const spec = r.value.spec;
  const ref = spec.channel;
  const ns = ref.namespace ?? r.namespace;
  if (!isChannelKind(ref.kind)) {
    report(r, ['spec', 'channel', 'kind'], `"${ref.kind}" is not a channel kind (supported: ${CHANNEL_KINDS.join(', ')})`);
  } else {
    const versions = ref.kind === 'KafkaChannel' ? BACKING_API_VERSIONS.KafkaChannel : BACKING_API_VERSIONS.InMemoryChannel;
    if (ref.apiVersion === undefined) {
      report(r, ['spec', 'channel'], `a channel ref needs an apiVersion (Knative rejects a Subscription's channel without one): add apiVersion: ${versions[0]}`);
    } else if (!versions.includes(ref.apiVersion)) {
      report(r, ['spec', 'channel', 'apiVersion'], `${ref.kind} has apiVersion ${versions.join(' or ')}, not "${ref.apiVersion}": use apiVersion: ${versions[0]}`);
    }
    if (ns !== r.namespace) {
      report(r, ['spec', 'channel', 'namespace'], `a Subscription's channel must be in the Subscription's namespace "${r.namespace}", not "${ns}"`);
    } else {
      const node = topology.channels.get(`${ns}/${ref.name}`);
      if (!node) {
        report(r, ['spec', 'channel', 'name'], `${ref.kind} "${ns}/${ref.name}" is not declared in the configuration`, 'SLUICE_CONFIG_UNKNOWN_CHANNEL');
      } else if (node.kind !== ref.kind) {
        report(
          r,
          ['spec', 'channel', 'kind'],
          `${ref.kind} "${ns}/${ref.name}" is not declared; ${node.owner === `${node.kind} ${node.key}` ? `it is a ${node.kind}` : `it is a ${node.kind} of ${node.owner}`}`,
          'SLUICE_CONFIG_WRONG_CHANNEL_KIND',
        );
      }
    }
  }
  if (spec.subscriber) checkDestination(r, ['spec', 'subscriber'], spec.subscriber, declared, report);
  if (spec.reply) checkDestination(r, ['spec', 'reply'], spec.reply, declared, report);
  checkDelivery(r, ['spec', 'delivery'], spec.delivery, declared, report);
  const order = r.value.metadata.annotations?.[SUBSCRIPTION_ORDER_ANNOTATION];
  if (parseDeliveryOrder(order) === null) {
    report(r, ['metadata', 'annotations', SUBSCRIPTION_ORDER_ANNOTATION], `${SUBSCRIPTION_ORDER_ANNOTATION} must be "ordered" or "unordered", not "${order}"`);
  }
}

/** Names two resources would both use (see {@link channelChecks}). */
function reportConflicts(topology: Topology, resources: readonly LoadedResource[], report: ReportFn): void {
  const byId = new Map(resources.map((r) => [`${r.kind}:${r.key}`, r]));
  for (const c of topology.conflicts) {
    const r = byId.get(c.resource);
    // Two documents with the same kind and name are already reported as duplicates by the broker checks.
    if (!r || c.first === c.second) continue;
    const address = c.what === 'channel' ? ` (channels of every kind share the address /channels/${c.key})` : '';
    report(r, ['metadata', 'name'], `${c.what} name "${c.key}" of ${c.second} is already used by ${c.first}${address}`, 'SLUICE_CONFIG_DUPLICATE');
  }
}

/**
 * Checks of the channel and flow kinds that the schemas cannot express: a Subscription's channel (a channel kind,
 * declared, same namespace), every destination (declared refs, absolute uris), channelTemplate kind/apiVersion pairs
 * and fields, annotations, and names that two resources would both use (every channel kind shares the address
 * space `/channels/{namespace}/{name}`, and flows create `<name>-kn-sequence-<i>`, `<name>-kn-parallel[-<i>]`).
 */
export function channelChecks(): SemanticCheck {
  return (config, report) => {
    const declared = new Set(config.resources.map((r) => `${r.kind}:${r.key}`));
    const topology = buildTopology(config.resources);
    reportConflicts(topology, config.resources, report);
    for (const r of config.resources) {
      if (!CHANNEL_PACKAGE_KINDS.includes(r.kind)) continue;
      const t = typed(r);
      switch (t.kind) {
        case 'Channel': {
          const spec = t.value.spec;
          checkTemplate(r, ['spec', 'channelTemplate'], spec?.channelTemplate, declared, report);
          checkDelivery(r, ['spec', 'delivery'], spec?.delivery, declared, report);
          checkAnnotations(r, spec?.channelTemplate?.kind ?? 'InMemoryChannel', report);
          break;
        }
        case 'InMemoryChannel':
          checkDelivery(r, ['spec', 'delivery'], t.value.spec?.delivery, declared, report);
          checkAnnotations(r, 'InMemoryChannel', report);
          break;
        case 'KafkaChannel': {
          const spec = t.value.spec;
          checkRetention(r, ['spec', 'retentionDuration'], spec?.retentionDuration, report);
          checkDelivery(r, ['spec', 'delivery'], spec?.delivery, declared, report);
          checkAnnotations(r, 'KafkaChannel', report);
          break;
        }
        case 'Subscription':
          checkSubscription(t, topology, declared, report);
          break;
        case 'Sequence': {
          const spec = t.value.spec;
          spec.steps.forEach((step, i) => {
            const { delivery, ...destination } = step;
            checkDestination(r, ['spec', 'steps', i], destination, declared, report);
            checkDelivery(r, ['spec', 'steps', i, 'delivery'], delivery, declared, report);
          });
          checkTemplate(r, ['spec', 'channelTemplate'], spec.channelTemplate, declared, report);
          if (spec.reply) checkDestination(r, ['spec', 'reply'], spec.reply, declared, report);
          break;
        }
        case 'Parallel': {
          const spec = t.value.spec;
          spec.branches.forEach((branch, i) => {
            const path = ['spec', 'branches', i];
            if (branch.filter) checkDestination(r, [...path, 'filter'], branch.filter, declared, report);
            checkDestination(r, [...path, 'subscriber'], branch.subscriber, declared, report);
            if (branch.reply) checkDestination(r, [...path, 'reply'], branch.reply, declared, report);
            checkDelivery(r, [...path, 'delivery'], branch.delivery, declared, report);
          });
          checkTemplate(r, ['spec', 'channelTemplate'], spec.channelTemplate, declared, report);
          if (spec.reply) checkDestination(r, ['spec', 'reply'], spec.reply, declared, report);
          break;
        }
        default:
          break;
      }
    }
  };
}

import { keyOf, type Resource } from './api.js';

/** A node of the topology: a resource, or a subscriber outside Sluice (a URL or a Service). */
export interface Node {
  readonly id: string;
  readonly label: string;
  readonly kind: string;
  readonly column: 0 | 1 | 2 | 3;
  readonly resource?: Resource;
}

/** A directed edge between two nodes. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
}

const ADDRESSABLE = new Set(['Broker', 'Channel', 'InMemoryChannel', 'KafkaChannel', 'Sequence', 'Parallel', 'EventTransform', 'KafkaSink', 'JobSink']);
const ROUTING = new Set(['Trigger', 'Subscription']);

const idOf = (kind: string, namespace: string, name: string): string => `${kind}:${namespace}/${name}`;

type Destination = { ref?: { kind?: string; name?: string; namespace?: string }; uri?: string } | undefined;

/** Where a Destination points: a resource of the configuration, or an outside subscriber node. */
function target(dest: Destination, namespace: string, nodes: Map<string, Node>): string | undefined {
  if (!dest) return undefined;
  if (dest.ref?.kind && dest.ref.name) {
    const id = idOf(dest.ref.kind, dest.ref.namespace ?? namespace, dest.ref.name);
    if (!nodes.has(id)) nodes.set(id, { id, label: `${dest.ref.kind} ${dest.ref.name}${dest.uri ?? ''}`, kind: dest.ref.kind, column: 3 });
    return id;
  }
  if (dest.uri) {
    const id = `uri:${dest.uri}`;
    if (!nodes.has(id)) nodes.set(id, { id, label: dest.uri, kind: 'URL', column: 3 });
    return id;
  }
  return undefined;
}

/**
 * The graph the dashboard draws, in four columns: sources → brokers and channels (and other addressables) → triggers,
 * subscriptions and flow steps → subscribers. Edges follow each resource's spec.
 */
export function buildTopology(resources: readonly Resource[]): { nodes: Node[]; edges: Edge[] } {
  const nodes = new Map<string, Node>();
  const edges: Edge[] = [];
  for (const r of resources) {
    const { kind } = r;
    const column = ROUTING.has(kind) ? 2 : ADDRESSABLE.has(kind) ? 1 : r.spec && 'sink' in r.spec ? 0 : undefined;
    if (column === undefined) continue;
    const id = idOf(kind, r.metadata.namespace, r.metadata.name);
    nodes.set(id, { id, label: `${kind} ${r.metadata.name}`, kind, column, resource: r });
  }
  for (const r of resources) {
    const ns = r.metadata.namespace;
    const id = idOf(r.kind, ns, r.metadata.name);
    if (!nodes.has(id)) continue;
    const spec: Record<string, unknown> = r.spec ?? {};
    const link = (to: string | undefined, label?: string): void => {
      if (to) edges.push({ from: id, to, ...(label ? { label } : {}) });
    };
    if (r.kind === 'Trigger' && typeof spec['broker'] === 'string') {
      const broker = idOf('Broker', ns, spec['broker']);
      if (nodes.has(broker)) edges.push({ from: broker, to: id });
      link(target(spec['subscriber'] as Destination, ns, nodes));
    } else if (r.kind === 'Subscription') {
      const ch = spec['channel'] as { kind?: string; name?: string } | undefined;
      if (ch?.kind && ch.name) {
        const channel = idOf(ch.kind, ns, ch.name);
        if (nodes.has(channel)) edges.push({ from: channel, to: id });
      }
      link(target(spec['subscriber'] as Destination, ns, nodes));
      link(target(spec['reply'] as Destination, ns, nodes), 'reply');
    } else if (r.kind === 'Sequence') {
      const steps = (spec['steps'] as Destination[] | undefined) ?? [];
      steps.forEach((step, i) => link(target(step, ns, nodes), `step ${i}`));
      link(target(spec['reply'] as Destination, ns, nodes), 'reply');
    } else if (r.kind === 'Parallel') {
      const branches = (spec['branches'] as { subscriber?: Destination; filter?: Destination }[] | undefined) ?? [];
      branches.forEach((b, i) => {
        link(target(b.filter, ns, nodes), `branch ${i} filter`);
        link(target(b.subscriber, ns, nodes), `branch ${i}`);
      });
    } else if ('sink' in spec) {
      link(target(spec['sink'] as Destination, ns, nodes));
    }
    const dls = (spec['delivery'] as { deadLetterSink?: Destination } | undefined)?.deadLetterSink;
    link(target(dls, ns, nodes), 'dead letters');
  }
  return { nodes: [...nodes.values()], edges };
}

/** Key of a node's resource, for selection. */
export const nodeKey = (n: Node): string => (n.resource ? `${n.resource.kind}:${keyOf(n.resource)}` : n.id);

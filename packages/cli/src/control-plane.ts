import type { CircuitView, ControlPlane, ResourceView } from '@sluice/admin';
import type { SluiceRuntime } from '@sluice/broker';
import { KINDS, type SluiceConfig } from '@sluice/config';
import { readyCondition, summarizeStatus, type ResourceStatus } from '@sluice/core';

/** Kinds that carry data for other resources and have no status of their own (as in Kubernetes). */
const STATUSLESS_KINDS = new Set(['Secret', 'ConfigMap']);

/**
 * The admin API's view of a running Sluice: the resources of the configuration with the status the runtime and its
 * components reported. A resource that runs without reporting conditions of its own is Ready once the runtime is.
 */
export class RuntimeControlPlane implements ControlPlane {
  constructor(
    private readonly config: () => SluiceConfig,
    private readonly runtime: () => SluiceRuntime | undefined,
  ) {}

  kinds(): readonly string[] {
    return KINDS.map((k) => k.kind);
  }

  resources(): readonly ResourceView[] {
    const runtime = this.runtime();
    // Resources components made at run time (auto-created EventTypes) follow the configuration's.
    const published: ResourceView[] = (runtime?.published() ?? []).map((p) => ({
      apiVersion: p.apiVersion,
      kind: p.kind,
      metadata: { ...p.metadata },
      ...(p.spec === undefined ? {} : { spec: p.spec }),
      ...(p.status ? { status: p.status } : {}),
      source: 'auto-created',
    }));
    return [...this.#declared(runtime), ...published];
  }

  #declared(runtime: SluiceRuntime | undefined): ResourceView[] {
    return this.config().resources.map((r) => {
      const { apiVersion, kind, metadata, spec } = r.value as { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec?: unknown };
      let status: ResourceView['status'] = STATUSLESS_KINDS.has(r.kind) ? undefined : this.#statusOf(runtime, r.kind, r.namespace, r.name);
      const figures = status ? runtime?.figures(r.kind, r.namespace, r.name) : undefined;
      if (status && figures) status = { ...status, figures };
      if (r.kind === 'Trigger' && status && runtime) {
        const circuits = circuitsOf(runtime, `${r.namespace}/${r.name}`);
        if (circuits.length > 0) status = { ...status, circuits };
      }
      return {
        apiVersion,
        kind,
        metadata: { ...metadata, name: r.name, namespace: r.namespace },
        ...(spec === undefined ? {} : { spec }),
        ...(status ? { status } : {}),
        source: r.file,
      };
    });
  }

  readiness(): { ready: boolean; reasons: string[] } {
    const runtime = this.runtime();
    if (!runtime?.ready) return { ready: false, reasons: ['runtime: not ready (starting or draining)'] };
    const reasons: string[] = [];
    for (const r of this.resources()) {
      if (!r.status) continue;
      const ready = readyCondition(r.status);
      if (ready.status !== 'True') reasons.push(`${r.kind} ${r.metadata.namespace}/${r.metadata.name}: ${ready.reason ?? 'NotReady'}${ready.message ? `: ${ready.message}` : ''}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  #statusOf(runtime: SluiceRuntime | undefined, kind: string, namespace: string, name: string): ResourceStatus {
    const reported = runtime?.status(kind, namespace, name);
    if (reported) return reported;
    if (!runtime?.ready) return { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Starting', message: 'the runtime is starting' }] };
    return summarizeStatus([]);
  }
}

/** The circuit breakers of one Trigger (`namespace/name`), as the admin API shows them. */
function circuitsOf(runtime: SluiceRuntime, trigger: string): CircuitView[] {
  return runtime
    .circuits()
    .filter((c) => c.trigger === trigger)
    .map((c) => ({
      role: c.role,
      destination: c.destination,
      state: c.state,
      consecutiveFailures: c.consecutiveFailures,
      opened: c.opened,
      probeAt: c.probeAt === undefined ? undefined : new Date(c.probeAt).toISOString(),
      waiting: c.waiting,
    }));
}

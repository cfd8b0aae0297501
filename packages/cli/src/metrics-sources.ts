import type { SluiceRuntime } from '@sluice/broker';
import type { SluiceConfig } from '@sluice/config';
import type { BacklogFigures } from '@sluice/observability';

/**
 * The live figures of every Trigger and Subscription of the configuration, as the runtime reads them from each
 * consumer group in the store, for the backlog, oldest-age, in-flight and retrying gauges.
 */
export function deliveryFigureSource(config: () => SluiceConfig, runtime: SluiceRuntime): () => BacklogFigures[] {
  return () => {
    const out: BacklogFigures[] = [];
    for (const r of config().resources) {
      if (r.kind !== 'Trigger' && r.kind !== 'Subscription') continue;
      const f = runtime.figures(r.kind, r.namespace, r.name);
      if (!f) continue;
      const spec = (r.value as { spec?: { broker?: string; brokerRef?: { name?: string }; channel?: { name?: string } } }).spec;
      const broker = r.kind === 'Trigger' ? (spec?.broker ?? spec?.brokerRef?.name ?? '') : (spec?.channel?.name ?? '');
      out.push({
        labels: { namespace: r.namespace, broker, trigger: r.name, kind: r.kind },
        backlog: f.backlog,
        oldestPendingAgeSeconds: f.oldestPendingAgeMs === null ? undefined : f.oldestPendingAgeMs / 1000,
        inFlight: f.inFlight,
        retrying: f.retrying,
      });
    }
    return out;
  };
}

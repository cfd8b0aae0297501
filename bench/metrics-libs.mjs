// The cost of recording one delivery's metrics (a counter and a latency histogram with Knative's labels) in each
// candidate: prom-client's own metrics (labels per call, or a child bound once), the OpenTelemetry metrics SDK with
// its Prometheus exporter, and Sluice's PrometheusMetrics (numbers bound once per trigger, read by prom-client at
// scrape time). In process; `run()` returns nanoseconds per event.
import client from 'prom-client';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { LATENCY_BUCKETS_MS, PrometheusMetrics } from '@sluice/observability';

const LABELS = { namespace_name: 'default', broker_name: 'default', trigger_name: 't1', event_type: 'bench.event', response_code: '202', response_code_class: '2xx', container_name: 'filter' };

function measure(record, n) {
  for (let i = 0; i < n / 10; i++) record(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) record(i);
  return ((performance.now() - t) * 1e6) / n;
}

export async function run(n = 1_000_000) {
  const reg = new client.Registry();
  const names = Object.keys(LABELS);
  const counter = new client.Counter({ name: 'event_count', help: 'x', labelNames: names, registers: [reg] });
  const hist = new client.Histogram({ name: 'event_dispatch_latencies', help: 'x', labelNames: names, buckets: [...LATENCY_BUCKETS_MS], registers: [reg] });
  const rows = [];
  rows.push({ name: 'prom-client, labels per call', nsPerEvent: measure((i) => (counter.inc(LABELS), hist.observe(LABELS, i % 50)), n) });
  const c1 = counter.labels(LABELS);
  const h1 = hist.labels(LABELS);
  rows.push({ name: 'prom-client, child bound once', nsPerEvent: measure((i) => (c1.inc(), h1.observe(i % 50)), n) });
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meter = new MeterProvider({ readers: [exporter] }).getMeter('bench');
  const oc = meter.createCounter('event_count');
  const oh = meter.createHistogram('event_dispatch_latencies', { advice: { explicitBucketBoundaries: [...LATENCY_BUCKETS_MS] } });
  rows.push({ name: 'OpenTelemetry metrics SDK 2.x', nsPerEvent: measure((i) => (oc.add(1, LABELS), oh.record(i % 50, LABELS)), n) });
  const metrics = new PrometheusMetrics({ processMetrics: false });
  const ingress = metrics.ingress('default', 'default');
  const sluice = metrics.dispatch({ namespace: 'default', broker: 'default', trigger: 't1', kind: 'Trigger' });
  rows.push({
    name: 'Sluice, every hook one event passes (ingress, store write and commit, processing, attempt)',
    nsPerEvent: measure(
      (i) => (ingress.event('bench.event', 202, i % 7), metrics.store.write(i % 5), metrics.store.groupCommit(20), sluice.processing(i % 30), sluice.attempt('bench.event', 202, i % 50)),
      n,
    ),
  });
  rows.push({ name: 'Sluice PrometheusMetrics (on prom-client)', nsPerEvent: measure((i) => sluice.attempt('bench.event', 202, i % 50), n) });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_EVENT_TYPES, PrometheusMetrics } from '../src/index.js';

const trigger = { namespace: 'default', broker: 'default', trigger: 'orders', kind: 'Trigger' as const };

test('delivery attempts are exported with Knative names and labels, by response code and class', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  const d = m.dispatch(trigger, () => ({ inFlight: 3, retrying: 7 }));
  d.attempt('com.example.order', 202, 4);
  d.attempt('com.example.order', 202, 30);
  d.attempt('com.example.order', 503, 12);
  d.attempt('com.example.order', undefined, 1500);
  const { body, contentType } = await m.scrape();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const base = 'namespace_name="default",broker_name="default",trigger_name="orders",container_name="filter"';
  assert.ok(body.includes(`event_count{${base},event_type="com.example.order",response_code="202",response_code_class="2xx"} 2`), body);
  assert.ok(body.includes(`event_count{${base},event_type="com.example.order",response_code="503",response_code_class="5xx"} 1`));
  assert.ok(body.includes(`event_count{${base},event_type="com.example.order",response_code="0",response_code_class="error"} 1`));
  assert.ok(body.includes(`event_dispatch_latencies_bucket{${base},event_type="com.example.order",response_code="202",response_code_class="2xx",le="5"} 1`));
  assert.ok(body.includes(`event_dispatch_latencies_bucket{${base},event_type="com.example.order",response_code="202",response_code_class="2xx",le="50"} 2`));
  assert.ok(body.includes(`event_dispatch_latencies_sum{${base},event_type="com.example.order",response_code="202",response_code_class="2xx"} 34`));
  assert.ok(body.includes(`sluice_trigger_in_flight{${base}} 3`));
  assert.ok(body.includes(`sluice_trigger_retrying{${base}} 7`));
  assert.ok(body.includes('# TYPE event_dispatch_latencies histogram'));
  assert.ok(!/ce_?id|event_id/.test(body), 'never labelled by event id');
});

test('ingress, dead-letter, drops, processing and store figures', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  m.ingress('default', 'default').event('t', 202, 3);
  m.ingress('default', 'default').event('', 400, 1);
  const d = m.dispatch(trigger);
  d.deadLetterAttempt(500, 2);
  d.deadLetterAttempt(202, 2);
  d.dropped('no_dead_letter_sink');
  d.processing(7);
  m.store.write(3); // ms
  m.store.groupCommit(40);
  m.store.checkpoint(8_240_000, true);
  m.store.checkpoint(4_120, false);
  m.setBacklogSource(() => [{ labels: trigger, backlog: 120, oldestPendingAgeSeconds: 42 }]);
  const { body } = await m.scrape();
  const base = 'namespace_name="default",broker_name="default",trigger_name="orders",container_name="filter"';
  assert.ok(body.includes('event_count{namespace_name="default",broker_name="default",trigger_name="",container_name="ingress",event_type="t",response_code="202",response_code_class="2xx"} 1'), body);
  assert.ok(body.includes('event_count{namespace_name="default",broker_name="default",trigger_name="",container_name="ingress",event_type="",response_code="400",response_code_class="4xx"} 1'));
  assert.ok(body.includes(`sluice_dead_letter_attempts_total{${base},response_code="500",response_code_class="5xx"} 1`));
  assert.ok(body.includes(`sluice_dead_lettered_events_total{${base}} 1`));
  assert.ok(body.includes(`sluice_dropped_events_total{${base},reason="no_dead_letter_sink"} 1`));
  assert.ok(body.includes(`event_processing_latencies_bucket{${base},le="10"} 1`));
  assert.ok(body.includes('sluice_store_write_duration_seconds_bucket{le="0.005"} 1'));
  assert.ok(body.includes('sluice_store_group_commit_events_bucket{le="50"} 1'));
  assert.ok(body.includes('sluice_store_wal_bytes 4120'), body);
  assert.ok(body.includes('sluice_store_wal_restarts_total 1'), body);
  assert.ok(body.includes(`sluice_trigger_backlog{${base}} 120`));
  assert.ok(body.includes(`sluice_trigger_oldest_pending_age_seconds{${base}} 42`));
});

test('event_type cardinality is bounded: types beyond the limit are counted as "other"', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  const d = m.dispatch(trigger);
  for (let i = 0; i < MAX_EVENT_TYPES + 20; i++) d.attempt(`type-${i}`, 202, 1);
  d.attempt(`type-${MAX_EVENT_TYPES + 5}`, 202, 1);
  const { body } = await m.scrape();
  const lines = body.split('\n').filter((l) => l.startsWith('event_count{'));
  assert.equal(lines.length, MAX_EVENT_TYPES + 1);
  assert.ok(
    lines.some((l) => l.includes('event_type="other"') && l.endsWith(' 21')),
    lines.at(-1),
  );
});

test('a trigger started again under the same name keeps its counters and reports the new figures', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  m.dispatch(trigger, () => ({ inFlight: 1, retrying: 1 })).attempt('t', 202, 1);
  m.dispatch(trigger, () => ({ inFlight: 9, retrying: 0 })).attempt('t', 202, 1);
  const { body } = await m.scrape();
  assert.ok(body.includes('response_code_class="2xx"} 2'));
  assert.ok(body.includes('sluice_trigger_in_flight{namespace_name="default",broker_name="default",trigger_name="orders",container_name="filter"} 9'));
});

test('process metrics are exported by default', async () => {
  const { body } = await new PrometheusMetrics().scrape();
  assert.match(body, /^process_resident_memory_bytes \d+/m);
  assert.match(body, /^nodejs_eventloop_lag_seconds /m);
});

test('circuit breakers: state as a 0/1 gauge per state, openings, held-back events', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  m.setCircuitSource(() => [
    { trigger: 'default/orders', role: 'subscriber', state: 'open', opened: 3, waiting: 12 },
    { trigger: 'default/orders', role: 'deadLetterSink', state: 'closed', opened: 0, waiting: 0 },
  ]);
  const { body } = await m.scrape();
  const sub = 'namespace_name="default",trigger_name="orders",role="subscriber"';
  assert.ok(body.includes(`sluice_circuit_state{${sub},state="open"} 1`), body);
  assert.ok(body.includes(`sluice_circuit_state{${sub},state="closed"} 0`));
  assert.ok(body.includes(`sluice_circuit_opened_total{${sub}} 3`));
  assert.ok(body.includes(`sluice_circuit_waiting_events{${sub}} 12`));
  assert.ok(body.includes('sluice_circuit_state{namespace_name="default",trigger_name="orders",role="dead_letter_sink",state="closed"} 1'));
});

test("the store's figures, when given, replace the dispatcher's in-flight and retrying counts", async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  m.dispatch(trigger, () => ({ inFlight: 1, retrying: 1 }));
  m.setBacklogSource(() => [{ labels: trigger, backlog: 5, oldestPendingAgeSeconds: undefined, inFlight: 4, retrying: 9 }]);
  const { body } = await m.scrape();
  const base = 'namespace_name="default",broker_name="default",trigger_name="orders",container_name="filter"';
  assert.ok(body.includes(`sluice_trigger_in_flight{${base}} 4`), body);
  assert.ok(body.includes(`sluice_trigger_retrying{${base}} 9`));
  assert.ok(body.includes(`sluice_trigger_oldest_pending_age_seconds{${base}} 0`));
});

test('source sends: event_count by outcome and retry_event_count by retried status, with Knative source labels; dead-lettered and last success', async () => {
  const m = new PrometheusMetrics({ processMetrics: false });
  const s = m.source({ namespace: 'shop', name: 'orders', resourceGroup: 'kafkasources.sources.knative.dev' });
  s.retried('/src', 'order', 503);
  s.retried('/src', 'order', undefined);
  s.sent('/src', 'order', 202);
  s.sent('/src', 'order', 400);
  s.deadLettered();
  const before = Date.now() / 1000;
  const { body } = await m.scrape();
  const base = 'namespace_name="shop",name="orders",resource_group="kafkasources.sources.knative.dev"';
  assert.ok(body.includes(`event_count{${base},event_source="/src",event_type="order",response_code="202",response_code_class="2xx"} 1`), body);
  assert.ok(body.includes(`event_count{${base},event_source="/src",event_type="order",response_code="400",response_code_class="4xx"} 1`));
  assert.ok(body.includes(`retry_event_count{${base},event_source="/src",event_type="order",response_code="503",response_code_class="5xx"} 1`));
  assert.ok(body.includes(`retry_event_count{${base},event_source="/src",event_type="order",response_code="0",response_code_class="error"} 1`));
  assert.ok(body.includes(`sluice_source_dead_lettered_events_total{${base}} 1`));
  const last = Number(/sluice_source_last_success_timestamp_seconds\{[^}]*\} (\S+)/.exec(body)![1]);
  assert.ok(last <= before && last > before - 60, `last success ${last}`);
  // The same source again (a restart of its component) continues its counters; distinct sources and types are bounded.
  const again = m.source({ namespace: 'shop', name: 'orders', resourceGroup: 'kafkasources.sources.knative.dev' });
  again.sent('/src', 'order', 202);
  for (let i = 0; i < MAX_EVENT_TYPES + 5; i++) again.sent(`/src/${i}`, 'order', 202);
  const after = (await m.scrape()).body;
  assert.ok(after.includes(`event_count{${base},event_source="/src",event_type="order",response_code="202",response_code_class="2xx"} 2`));
  assert.ok(after.includes(`event_count{${base},event_source="other",event_type="other",response_code="202",response_code_class="2xx"} 6`), after);
});

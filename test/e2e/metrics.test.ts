// Prometheus metrics of a running `sluice run`, scraped from /metrics on the admin port as Prometheus would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postEvent, startSluice, startSubscriber, tempDir } from './harness.js';
import { broker, documents, pingSource, trigger } from './manifests.js';

const yaml = (subscriber: string, dls: string) =>
  documents(
    broker('default'),
    trigger('orders', {
      broker: 'default',
      filter: { type: 'com.example.order' },
      subscriber,
      delivery: { retry: 1, backoffDelay: 'PT0.05S', deadLetterSink: dls },
    }),
  );

async function scrape(adminUrl: string): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of the one sample whose line starts with `prefix` (name and labels). */
function sample(body: string, prefix: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('/metrics: ingress and delivery counts by response code, dead-letters, latencies, store and process figures', async (t) => {
  const dir = tempDir();
  // Event "bad" always fails (503): one retry, then the dead-letter sink. Every other event is accepted.
  const sub = await startSubscriber((r) => (r.event?.attributes['id'] === 'bad' ? { status: 503 } : { status: 202 }));
  const dls = await startSubscriber();
  const sluice = await startSluice({ yaml: yaml(sub.url, dls.url), dataDir: dir.path });
  t.after(async () => {
    await sluice.stop();
    await sub.close();
    await dls.close();
    dir.remove();
  });
  for (let i = 0; i < 5; i++) {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `ok-${i}`, source: '/e2e', type: 'com.example.order' }, '{}')).status, 202);
  }
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'bad', source: '/e2e', type: 'com.example.order' }, '{}')).status, 202);
  assert.equal((await postEvent(`${sluice.url}/default/default`, { id: 'x', source: '/e2e' }, '{}')).status, 400, 'no type: invalid');
  await dls.waitForCount(1);

  const trigger = 'namespace_name="default",broker_name="default",trigger_name="orders",container_name="filter"';
  const ingress = 'namespace_name="default",broker_name="default",trigger_name="",container_name="ingress"';
  let body = '';
  // The dead-letter sink answered before Sluice recorded its attempt: poll until the counter shows it.
  for (let i = 0; i < 100; i++) {
    body = await scrape(sluice.adminUrl);
    if (sample(body, `sluice_dead_lettered_events_total{${trigger}}`) === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(sample(body, `event_count{${ingress},event_type="com.example.order",response_code="202",response_code_class="2xx"}`), 6, body);
  assert.equal(sample(body, `event_count{${ingress},event_type="",response_code="400",response_code_class="4xx"}`), 1);
  assert.equal(sample(body, `event_count{${trigger},event_type="com.example.order",response_code="202",response_code_class="2xx"}`), 5);
  assert.equal(sample(body, `event_count{${trigger},event_type="com.example.order",response_code="503",response_code_class="5xx"}`), 2, 'first attempt and one retry');
  assert.equal(sample(body, `event_dispatch_latencies_count{${trigger},event_type="com.example.order",response_code="202",response_code_class="2xx"}`), 5);
  assert.equal(sample(body, `event_processing_latencies_count{${trigger}}`), 6);
  assert.equal(sample(body, `sluice_dead_letter_attempts_total{${trigger},response_code="202",response_code_class="2xx"}`), 1);
  assert.equal(sample(body, `sluice_dead_lettered_events_total{${trigger}}`), 1);
  assert.equal(sample(body, `sluice_trigger_retrying{${trigger}}`), 0);
  assert.equal(sample(body, 'sluice_store_group_commit_events_sum'), 6 + 0, 'six events made durable (the rejected one never reached the store)');
  assert.equal(sample(body, 'sluice_store_write_duration_seconds_count'), 6);
  assert.ok((sample(body, 'process_resident_memory_bytes') ?? 0) > 0);
  assert.equal(sample(body, 'sluice_circuit_state{namespace_name="default",trigger_name="orders",role="subscriber",state="closed"}'), 1);
  assert.ok(!/ok-\d|"bad"/.test(body), 'no event id in any label');
  // The WAL checkpoint worker reports after each checkpoint (every 500 ms); the WAL starts over only at a commit, which
  // writes at least one frame (4 KiB page and header).
  for (let i = 0; i < 40 && sample(body, 'sluice_store_wal_bytes') === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    body = await scrape(sluice.adminUrl);
  }
  assert.ok((sample(body, 'sluice_store_wal_bytes') ?? 0) >= 4120, body);
  assert.ok((sample(body, 'sluice_store_wal_restarts_total') ?? -1) >= 0, body);
});

test('backlog, in-flight and oldest pending age behind a subscriber that does not answer', async (t) => {
  const dir = tempDir();
  const sub = await startSubscriber(() => ({ hang: true }));
  const sluice = await startSluice({ yaml: yaml(sub.url, sub.url), dataDir: dir.path });
  t.after(async () => {
    await sub.close(); // the held attempts fail, so the drain on stop is quick
    await sluice.stop();
    dir.remove();
  });
  for (let i = 0; i < 130; i++) {
    assert.equal((await postEvent(`${sluice.url}/default/default`, { id: `e-${i}`, source: '/e2e', type: 'com.example.order' }, '{}')).status, 202);
  }
  await sub.waitForCount(100);
  const trigger = 'namespace_name="default",broker_name="default",trigger_name="orders",container_name="filter"';
  let body = '';
  for (let i = 0; i < 100; i++) {
    body = await scrape(sluice.adminUrl);
    if (sample(body, `sluice_trigger_backlog{${trigger}}`) === 30 && sample(body, `sluice_trigger_in_flight{${trigger}}`) === 100) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(sample(body, `sluice_trigger_in_flight{${trigger}}`), 100, 'the in-flight bound');
  assert.equal(
    sample(body, `sluice_trigger_backlog{${trigger}}`),
    30,
    body
      .split('\n')
      .filter((l) => l.startsWith('sluice_trigger'))
      .join('\n'),
  );
  assert.ok((sample(body, `sluice_trigger_oldest_pending_age_seconds{${trigger}}`) ?? 0) > 0);
  assert.equal(sample(body, `sluice_trigger_retrying{${trigger}}`), 0);
});

test('--metrics off: no /metrics route', async (t) => {
  const dir = tempDir();
  const sluice = await startSluice({ yaml: yaml('http://127.0.0.1:9/', 'http://127.0.0.1:9/'), dataDir: dir.path, args: ['--metrics', 'off'] });
  t.after(async () => {
    await sluice.stop();
    dir.remove();
  });
  assert.equal((await fetch(`${sluice.adminUrl}/metrics`)).status, 404);
});

test('/metrics: source sends, with Knative source metric names and labels (event_count, retry_event_count)', async (t) => {
  // The sink refuses the first two attempts (503) and accepts every later one; the second source's sink is down.
  let calls = 0;
  const sink = await startSubscriber(() => (++calls <= 2 ? { status: 503 } : { status: 202 }));
  const sluice = await startSluice({
    yaml: documents(pingSource('tick', { schedule: '* * * * * *', data: '{"n":1}', sink: sink.url }), pingSource('nowhere', { schedule: '* * * * * *', sink: 'http://127.0.0.1:9/' })),
  });
  t.after(async () => {
    await sluice.stop();
    await sink.close();
  });
  const tick =
    'namespace_name="default",name="tick",resource_group="pingsources.sources.knative.dev",event_source="/apis/v1/namespaces/default/pingsources/tick",event_type="dev.knative.sources.ping"';
  const nowhere =
    'namespace_name="default",name="nowhere",resource_group="pingsources.sources.knative.dev",event_source="/apis/v1/namespaces/default/pingsources/nowhere",event_type="dev.knative.sources.ping"';
  let body = '';
  for (let i = 0; i < 300; i++) {
    body = await scrape(sluice.adminUrl);
    if ((sample(body, `event_count{${tick},response_code="202"`) ?? 0) >= 2 && (sample(body, `retry_event_count{${nowhere},response_code="0"`) ?? 0) >= 6) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // The first event needed two retries (503, 503) and was then accepted; every event is counted once by its outcome.
  assert.equal(sample(body, `retry_event_count{${tick},response_code="503",response_code_class="5xx"}`), 2, body);
  assert.ok(sample(body, `event_count{${tick},response_code="202",response_code_class="2xx"}`)! >= 2);
  assert.equal(sample(body, `event_count{${tick},response_code="503"`), undefined, 'a retried attempt is not an outcome');
  // A sink that cannot be reached: every attempt is a retry (the source keeps its events until the sink takes them),
  // so there is no outcome yet.
  assert.ok(sample(body, `retry_event_count{${nowhere},response_code="0",response_code_class="error"}`)! >= 6);
  assert.equal(sample(body, `event_count{${nowhere},`), undefined);
  const last = sample(body, 'sluice_source_last_success_timestamp_seconds{namespace_name="default",name="tick",resource_group="pingsources.sources.knative.dev"}');
  assert.ok(last !== undefined && Math.abs(last - Date.now() / 1000) < 120, body);
  assert.equal(sample(body, 'sluice_source_last_success_timestamp_seconds{namespace_name="default",name="nowhere"'), undefined, 'never succeeded: no sample');
});

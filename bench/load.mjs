// Load generation helpers for the benchmarks: closed-loop (fixed concurrency) and open-loop (fixed arrival rate,
// latency measured from the intended send time so a stalled server cannot hide queueing: no coordinated omission).
import { Pool } from 'undici';

const origin = performance.timeOrigin;
const PAYLOAD = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) })); // ~1 KiB, as the goals specify

/** The headers of event `i`; its id is `<idPrefix><i>` (a phase's own prefix lets the sink count only that phase's events). */
function headersFor(i, idPrefix = 'bench-') {
  return {
    'ce-specversion': '1.0',
    'ce-id': `${idPrefix}${i}`,
    'ce-source': '/bench',
    'ce-type': 'bench.event',
    'ce-benchts': String(origin + performance.now()),
    'content-type': 'application/json',
  };
}

/** Percentile of a sorted Float64Array. */
export function pct(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return { p50: pct(sorted, 50), p99: pct(sorted, 99), p999: pct(sorted, 99.9) };
}

function targetsFor(urlOrUrls, connections, connect) {
  const urls = Array.isArray(urlOrUrls) ? urlOrUrls : [urlOrUrls];
  return urls.map((url) => {
    const u = new URL(url);
    return { path: u.pathname, pool: new Pool(u.origin, { connections: Math.ceil(connections / urls.length), pipelining: 1, ...(connect ? { connect } : {}) }) };
  });
}

/**
 * Sends as fast as `concurrency` requests in flight allow, for `durationMs`, to one URL or spread over several
 * (each worker keeps to one target). Event ids are `<idPrefix><n>` (default `bench-`).
 */
export async function closedLoop(urlOrUrls, { concurrency = 64, durationMs = 10_000, connect, headers, idPrefix } = {}) {
  const targets = targetsFor(urlOrUrls, concurrency, connect);
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let seq = 0;
  const statuses = {};
  const start = performance.now();
  const end = start + durationMs;
  const worker = async (w) => {
    const t = targets[w % targets.length];
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await t.pool.request({ path: t.path, method: 'POST', headers: headers ? { ...headersFor(seq++, idPrefix), ...headers } : headersFor(seq++, idPrefix), body: PAYLOAD });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 202) ok++;
        else failed++;
      } catch {
        failed++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = performance.now() - start;
  await Promise.all(targets.map((t) => t.pool.close()));
  return { ok, failed, statuses, elapsedMs: elapsed, rate: (ok / elapsed) * 1000, ...summary(latencies) };
}

/**
 * Sends `rate` requests per second for `durationMs` to one URL or round robin over several, whatever the servers do
 * (bounded by `maxOutstanding`). With `record` (an array), each event's id, intended send time and answer time are
 * pushed to it. Event ids are `<idPrefix><n>` (default `bench-`).
 */
export async function openLoop(urlOrUrls, { rate = 5000, durationMs = 10_000, connections = 128, maxOutstanding = 5000, record, idPrefix = 'bench-' } = {}) {
  const targets = targetsFor(urlOrUrls, connections);
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let outstanding = 0;
  let sent = 0;
  const total = Math.round((rate * durationMs) / 1000);
  const start = performance.now();
  const pending = [];
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate));
      while (sent < due) {
        const intended = start + (sent * 1000) / rate;
        const t = targets[sent % targets.length];
        sent++;
        if (outstanding >= maxOutstanding) {
          skipped++;
          continue;
        }
        outstanding++;
        const id = sent;
        pending.push(
          t.pool
            .request({ path: t.path, method: 'POST', headers: headersFor(id, idPrefix), body: PAYLOAD })
            .then(async (res) => {
              await res.body.dump();
              if (res.statusCode === 202) ok++;
              else failed++;
            })
            .catch(() => failed++)
            .finally(() => {
              outstanding--;
              const done = performance.now();
              latencies.push(done - intended);
              // `record` (an array): each event's id, intended send time and answer time (ms since the epoch).
              record?.push([`${idPrefix}${id}`, origin + intended, origin + done]);
            }),
        );
      }
      if (sent >= total) resolve();
      // A 1 ms timer, not setImmediate: spinning would burn a core that the servers under test need.
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  const elapsed = performance.now() - start;
  await Promise.all(targets.map((t) => t.pool.close()));
  return { ok, failed, skipped, elapsedMs: elapsed, rate: (ok / elapsed) * 1000, ...summary(latencies) };
}

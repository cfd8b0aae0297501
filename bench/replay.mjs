// Replay throughput of the dead-letter store against live delivery of the same number of the same events, measured in
// the same run on the same sluice process (the ratio is the figure that counts on a noisy machine):
//   live   — N events posted to the broker (64 in flight) and delivered to a subscriber that accepts them;
//   replay — N events in the dead-letter store (the subscriber rejected them with 400), replayed with
//            `POST /api/v1/deadletters/…/replay {"all": true, "rate": 10000}` (one at a time, the rate bound far above
//            what is reached) to the same subscriber, now accepting.
//
//   node bench/replay.mjs        # BENCH_REPLAY_EVENTS (default 5000)
import { createServer } from 'node:http';
import { request, Agent } from 'undici';
import { startSluice } from '@sluice/testing';

const N = Number(process.env.BENCH_REPLAY_EVENTS ?? 5000);

/** A subscriber answering `status` (changeable), counting requests and the time of the last one. */
async function startSink() {
  const state = { status: 400, count: 0, lastAt: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.count++;
      state.lastAt = performance.now();
      res.writeHead(state.status).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { state, url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

async function post(url, prefix, n) {
  const dispatcher = new Agent({ connections: 64 });
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        const res = await request(url, {
          method: 'POST',
          dispatcher,
          headers: { 'ce-specversion': '1.0', 'ce-id': `${prefix}-${i}`, 'ce-source': '/bench', 'ce-type': 'bench.event', 'content-type': 'application/json' },
          body: `{"n":${i},"pad":"${'x'.repeat(200)}"}`,
        });
        await res.body.dump();
        if (res.statusCode !== 202) failed++;
      }
    }),
  );
  await dispatcher.close();
  if (failed > 0) throw new Error(`${failed} events not accepted`);
}

async function waitUntil(probe, what, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs both phases; resolves with `{ events, liveRate, replayRate, ratio }`. */
export async function run() {
  const sink = await startSink();
  const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: bench
spec:
  broker: default
  subscriber:
    uri: ${sink.url}
  delivery:
    retry: 0
`;
  const sluice = await startSluice({ yaml, stderr: 'inherit' });
  const ingress = `${sluice.url}/default/default`;
  const stats = async () => (await (await fetch(`${sluice.adminUrl}/api/v1/deadletters`)).json()).items[0];
  try {
    // Fill the dead-letter store: the subscriber rejects everything (400 is final: no retries, breaker closed).
    await post(ingress, 'dead', N);
    await waitUntil(async () => (await stats()).count === N, `${N} dead letters`);

    // Live: the same number of the same events, delivered as they arrive.
    sink.state.status = 202;
    sink.state.count = 0;
    const liveStart = performance.now();
    await post(ingress, 'live', N);
    await waitUntil(() => sink.state.count >= N, `${N} live deliveries`);
    const liveRate = N / ((sink.state.lastAt - liveStart) / 1000);

    // Replay all dead letters to the same subscriber.
    sink.state.count = 0;
    const replayStart = performance.now();
    const res = await fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sluice.adminHeaders },
      body: JSON.stringify({ all: true, rate: 10_000 }),
    });
    const report = await res.json();
    const replaySeconds = (performance.now() - replayStart) / 1000;
    if (report.replayed !== N) throw new Error(`replayed ${JSON.stringify(report)}, expected ${N}`);
    const replayRate = N / replaySeconds;
    return { events: N, liveRate, replayRate, ratio: replayRate / liveRate };
  } finally {
    await sluice.stop();
    await sink.close();
  }
}

export function print(r) {
  const f = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`\nDead-letter replay vs live delivery (${r.events} events of ~230 bytes, same process, same subscriber)`);
  console.log(`  live delivery (ingress + delivery, 64 in flight)   ${f(r.liveRate)} events/s`);
  console.log(`  replay from the dead-letter store (one at a time)   ${f(r.replayRate)} events/s`);
  console.log(`  ratio replay / live                                 ${r.ratio.toFixed(2)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) print(await run());

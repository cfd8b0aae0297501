// Memory independent of event size: 2,000 events of 1 MiB each go through a durable broker to a slow subscriber
// (20 ms per event); the figures are Sluice's peak RSS and its RSS once everything was delivered, next to the RSS of
// the same process idle before the load. Run alone with `node bench/large-events.mjs`, or as part of `npm run bench`.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { startSluice } from '@sluice/testing';
import { drain, peakRssMiB, startChild } from './processes.mjs';

const EVENTS = Number(process.env.BENCH_LARGE_EVENTS ?? 2000);
const SIZE = 1024 * 1024;

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Runs the phase and returns its figures. */
export async function run() {
  const { child: sink, port } = await startChild('sink.mjs', ['slow=20']);
  const yaml = `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: slow\nspec:\n  broker: default\n  subscriber:\n    uri: http://127.0.0.1:${port}/\n`;
  const sluice = await startSluice({ yaml, args: ['--max-body-bytes', String(2 * SIZE)], stderr: 'inherit' });
  const pid = sluice.child.pid;
  const idle = rssMiB(pid);
  const url = new URL(`${sluice.url}/default/default`);
  const pool = new Pool(url.origin, { connections: 8 });
  const body = Buffer.alloc(SIZE, 0x61);
  let next = 0;
  let accepted = 0;
  const statuses = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < EVENTS) {
        const i = next++;
        for (;;) {
          const res = await pool.request({
            method: 'POST',
            path: url.pathname,
            headers: {
              'ce-specversion': '1.0',
              'ce-id': `big-${i}`,
              'ce-source': '/bench',
              'ce-type': 'bench.large',
              'ce-benchts': String(performance.timeOrigin + performance.now()),
              'content-type': 'application/octet-stream',
            },
            body,
          });
          await res.body.dump();
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (res.statusCode === 202) break;
          await new Promise((r) => setTimeout(r, 200)); // 429/503: back off as Retry-After asks, then resend
        }
        accepted++;
      }
    }),
  );
  const sendSeconds = (performance.now() - started) / 1000;
  const stats = await drain(sink, accepted, 600_000);
  const row = { events: EVENTS, eventBytes: SIZE, accepted, delivered: stats.count, statuses, sendSeconds, idleRssMiB: idle, peakRssMiB: peakRssMiB(pid), rssAfterMiB: rssMiB(pid) };
  await pool.close();
  await sluice.stop();
  sink.kill();
  return row;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

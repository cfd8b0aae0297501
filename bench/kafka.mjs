// Kafka broker class vs the embedded store, one and two `sluice run` instances, against a bare node:http forwarder
// measured in the same run (the ratio against it is the figure that counts on a shared machine).
//
//   node bench/kafka.mjs            # starts a local Kafka (deploy/local-services) unless KAFKA_BROKERS is set
//   BENCH_KAFKA_MS=6000 node bench/kafka.mjs
//   BENCH_KAFKA_RATES=1000,3000 node bench/kafka.mjs   # the open-loop rates (default 1,000 and 3,000 events/s)
//   BENCH_KAFKA_SETUPS=kafka-2 node bench/kafka.mjs    # only these setups after the forwarder (default
//                                                      # embedded-1,embedded-2,kafka-1,kafka-2)
//
// As a module: `const rows = await run({ durationMs, rates, brokers, warmupMs, kafkaWarmupMs })`. Every setup gets a
// 2 s warm-up (10 s for the first Kafka setup, so a freshly started Kafka JVM has compiled its hot paths), then a
// closed loop (64 connections spread over the instances' ingresses) for throughput and latency at saturation, then
// an open loop at each fixed rate (the latency phase of bench/run.mjs: latency from the intended send time, no
// coordinated omission, p50 / p99 / p99.9, and the event-loop delay of the first Sluice instance). 1 KiB binary-mode
// events, 1 trigger, one subscriber process (bench/sink.mjs) measuring end-to-end latency. Needs `npx tsc -b` first.
//
// Each phase (warm-up, closed loop, each rate) sends ids of its own prefix, the sink counts only those, and the phase
// ends when that many distinct ids arrived: the Kafka class delivers at least once, so a count of deliveries could
// reach the number accepted while events were still on their way, which the next phase then counted (5,016 distinct
// ids for 5,000 sent once, at 1,000 events/s right after the closed loop). Late events of an earlier phase are shown
// apart (`late, not counted`).
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startSluice } from '@sluice/testing';
import { closedLoop, openLoop } from './load.mjs';
import { ask, brokerConfig, drain, eventLoopDelay, eventLoopDelayEnv, kafkaForBench, startChild } from './processes.mjs';

const origin = performance.timeOrigin;

async function kafkaAdmin(brokers) {
  const { default: kafkajs } = await import('kafkajs');
  const admin = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  return admin;
}

/** Waits until a Kafka consumer group is stable with `members` members, so no rebalance runs during a phase. */
async function waitForGroup(brokers, groupId, members) {
  const admin = await kafkaAdmin(brokers);
  try {
    for (let i = 0; i < 300; i++) {
      const { groups } = await admin.describeGroups([groupId]);
      if (groups[0]?.state === 'Stable' && groups[0].members.length === members) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Removes what a Kafka phase created (its broker topic, the trigger's retry topic and group). */
async function cleanKafka(brokers, topic, groupId) {
  const admin = await kafkaAdmin(brokers);
  try {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, `${groupId}-retry`] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs every phase; returns one row per setup: closed-loop events/s (ingress 202s and deliveries), ingress and
 * end-to-end latency percentiles at saturation and at `rate` events/s.
 */
export async function run(opts = {}) {
  const durationMs = opts.durationMs ?? Number(process.env.BENCH_KAFKA_MS ?? 5000);
  const rates = opts.rates ?? (process.env.BENCH_KAFKA_RATES ?? process.env.BENCH_KAFKA_RATE ?? '1000,3000').split(',').map(Number);
  const warmupMs = opts.warmupMs ?? 2000;
  const setups = opts.setups ?? (process.env.BENCH_KAFKA_SETUPS ?? 'embedded-1,embedded-2,kafka-1,kafka-2').split(',');
  // A Kafka broker that just started runs its produce and fetch paths interpreted until the JVM compiled them: the
  // first Kafka setup gets a longer warm-up, or it would measure the JIT rather than steady state.
  let kafkaWarmupMs = opts.kafkaWarmupMs ?? 8000;
  const kafka = await kafkaForBench(opts.brokers);
  const brokers = kafka.brokers;
  const { child: sink, port: sinkPort } = await startChild('sink.mjs');
  const sinkUrl = `http://127.0.0.1:${sinkPort}/`;
  const rows = [];
  let setupNo = 0;
  const phase = async (label, urls, extra = {}, eld = undefined) => {
    // Every phase's event ids start with its own prefix, which the sink is told at its reset: it counts only those.
    const tag = `s${++setupNo}-`;
    // Warm-up (discarded): JIT of Sluice and of a freshly started Kafka, connection pools, Kafka metadata.
    const extraWarmup = extra.cls === 'kafka' ? kafkaWarmupMs : 0;
    if (extra.cls === 'kafka') kafkaWarmupMs = 0;
    await ask(sink, 'reset', { prefix: `${tag}warm-` });
    const warm = await closedLoop(urls, { durationMs: warmupMs + extraWarmup, idPrefix: `${tag}warm-` });
    await drain(sink, warm.ok, 20_000, { distinct: true });
    await ask(sink, 'reset', { prefix: `${tag}closed-` });
    const startedAt = origin + performance.now();
    const load = await closedLoop(urls, { durationMs, idPrefix: `${tag}closed-` });
    const stats = await drain(sink, load.ok, 60_000, { distinct: true });
    const deliverySeconds = Math.max((stats.lastAt - startedAt) / 1000, load.elapsedMs / 1000);
    const fixed = [];
    for (const rate of rates) {
      await ask(sink, 'reset', { prefix: `${tag}${rate}-` });
      if (eld) await eventLoopDelay(eld); // a fresh histogram for this rate
      const run = await openLoop(urls, { rate, durationMs, maxOutstanding: 4000, idPrefix: `${tag}${rate}-` });
      const delay = eld ? await eventLoopDelay(eld) : undefined;
      fixed.push({ rate, run, stats: await drain(sink, run.ok, 60_000, { distinct: true }), delay });
    }
    const row = {
      setup: label,
      ...extra,
      eventsPerSec: load.rate,
      deliveriesPerSec: stats.count / deliverySeconds,
      delivered: stats.count,
      distinct: stats.distinct,
      late: stats.foreign,
      accepted: load.ok,
      failed: load.failed,
      ingressP50: load.p50,
      ingressP99: load.p99,
      e2eP50: stats.p50,
      e2eP99: stats.p99,
      rates: fixed.map(({ rate, run, stats, delay }) => ({
        rate,
        achieved: run.rate,
        failed: run.failed,
        skipped: run.skipped,
        ingress: [run.p50, run.p99, run.p999],
        e2e: [stats.p50, stats.p99, stats.p999],
        delivered: stats.count,
        distinct: stats.distinct,
        late: stats.foreign,
        eventLoopDelay: delay,
      })),
    };
    rows.push(row);
    opts.onRow?.(row);
    return row;
  };
  try {
    const { child: fwd, port: fwdPort } = await startChild('forwarder.mjs', [sinkUrl]);
    await phase('bare node:http forwarder', [`http://127.0.0.1:${fwdPort}/default/default`], { cls: 'baseline', instances: 1 });
    fwd.kill();
    for (const cls of ['embedded', 'kafka']) {
      for (const instances of [1, 2]) {
        if (!setups.includes(`${cls}-${instances}`)) continue;
        const broker = `bench-${cls}-${instances}-${Date.now().toString(36)}`;
        const yaml = brokerConfig({ broker, trigger: 'bench', sinkUrl, brokers: cls === 'kafka' ? brokers : undefined });
        const procs = [];
        // The first instance records its event-loop delay (bench/event-loop-delay.mjs), as in bench/run.mjs.
        const eld = eventLoopDelayEnv();
        for (let i = 0; i < instances; i++) procs.push(await startSluice({ yaml, stderr: 'inherit', ...(i === 0 ? { env: eld.env } : {}) }));
        if (cls === 'kafka') await waitForGroup(brokers, 'knative-trigger-default-bench', instances);
        try {
          await phase(
            `${cls === 'kafka' ? 'Kafka class' : 'embedded (SQLite)'}, ${instances} instance${instances > 1 ? 's' : ''}`,
            procs.map((p) => `${p.url}/default/${broker}`),
            { cls, instances },
            { pid: procs[0].child.pid, eldFile: eld.eldFile },
          );
        } finally {
          for (const p of procs) await p.stop();
          eld.remove();
          if (cls === 'kafka') await cleanKafka(brokers, `knative-broker-default-${broker}`, 'knative-trigger-default-bench');
        }
      }
    }
    if (opts.kafkaSink !== false) {
      const { runKafkaSink } = await import('./kafka-sink.mjs');
      rows.kafkaSink = await runKafkaSink({ brokers, durationMs });
      opts.onRow?.({ setup: 'KafkaSink vs kafkajs', eventsPerSec: rows.kafkaSink.sinkPerSec });
    }
  } finally {
    sink.kill();
    await kafka.stop();
  }
  const base = rows[0].eventsPerSec;
  for (const r of rows) r.vsForwarder = r.eventsPerSec / base;
  return rows;
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');

/** Markdown tables of the rows. */
export function table(rows) {
  const lines = [];
  lines.push('| setup | events/s (202) | deliveries/s | vs forwarder | ingress p50 / p99 ms | e2e p50 / p99 ms | non-202 | delivered (distinct ids) | late, not counted |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    lines.push(
      `| ${r.setup} | ${fmt(r.eventsPerSec)} | ${fmt(r.deliveriesPerSec)} | ${fmt(r.vsForwarder, 2)}× | ${fmt(r.ingressP50, 1)} / ${fmt(r.ingressP99, 1)} | ${fmt(r.e2eP50, 1)} / ${fmt(r.e2eP99, 1)} | ${r.failed} | ${fmt(r.delivered)} (${fmt(r.distinct)}) | ${fmt(r.late)} |`,
    );
  }
  lines.push('');
  lines.push(
    '| rate | setup | achieved/s | ingress p50 / p99 / p99.9 ms | e2e p50 / p99 / p99.9 ms | e2e p99 vs forwarder | event-loop delay p99 / max ms (first instance) | delivered (distinct ids) | late, not counted | non-202 | not sent (over 4,000 outstanding) |',
  );
  lines.push('|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  const ms = (xs) => xs.map((x) => fmt(x, 1)).join(' / ');
  for (const [i, { rate }] of (rows[0]?.rates ?? []).entries()) {
    for (const r of rows) {
      const x = r.rates[i];
      const d = x.eventLoopDelay;
      lines.push(
        `| ${fmt(rate)} | ${r.setup} | ${fmt(x.achieved)} | ${ms(x.ingress)} | ${ms(x.e2e)} | ${fmt(x.e2e[1] / rows[0].rates[i].e2e[1], 2)}× | ${d ? `${fmt(d.p99, 1)} / ${fmt(d.max, 1)}` : '–'} | ${fmt(x.delivered)} (${fmt(x.distinct)}) | ${fmt(x.late)} | ${x.failed} | ${x.skipped} |`,
      );
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = Date.now();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`Kafka broker class benchmark — ${machine}; Kafka, load generator, sink and Sluice share the machine; load average at start ${loadavg()[0].toFixed(2)}\n`);
  run({ onRow: (r) => console.error(`  done: ${r.setup} (${fmt(r.eventsPerSec)} events/s)`) }).then(
    (rows) => {
      console.log(table(rows));
      const k = rows.kafkaSink;
      if (k) {
        console.log('\nKafkaSink (HTTP → 202 after acks=all) vs kafkajs producing directly (one record per send, acks=all), 64 concurrent senders, 1 KiB events');
        console.log('| setup | events/s | vs kafkajs | p50 / p99 ms | non-202 |');
        console.log('|---|--:|--:|--:|--:|');
        console.log(`| kafkajs producer, direct | ${fmt(k.directPerSec)} | 1.00× | | |`);
        console.log(`| Sluice KafkaSink | ${fmt(k.sinkPerSec)} | ${fmt(k.ratio, 2)}× | ${fmt(k.sinkP50, 1)} / ${fmt(k.sinkP99, 1)} | ${k.sinkFailed} |`);
      }
      console.log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s; load average at the end ${loadavg()[0].toFixed(2)}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

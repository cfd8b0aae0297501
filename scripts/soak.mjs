#!/usr/bin/env node
// Soak: `npm run soak -- --duration 30m` (not part of `npm test`). One `sluice run` with two brokers, one on the
// embedded store and one of the Kafka class, three triggers each (a steady subscriber, a flaky one that answers 503 at
// random and goes down for a while every few minutes, a slow one), under a steady mixed load; every few minutes the
// process is killed with SIGKILL and started again on the same data directory, and in between it is restarted
// gracefully (SIGTERM) as a configuration reload would. At the end the load stops, the flaky subscriber heals, and a
// ledger check proves that every event that got a 202 reached every trigger (its subscriber or its dead-letter sink).
//
//   npm run soak -- --duration 30m [--kill-every 3m] [--restart-every 5m] [--rate 100] [--classes embedded,kafka]
//
// Kafka: KAFKA_BROKERS when set, else a local single-node Kafka (deploy/local-services/kafka.mjs). Results print as
// markdown and go to bench/results/soak-latest.json; RSS of the sluice process is sampled every 30 s.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { brokerYaml, kafkaConfigMap, triggerYaml } from '../bench/processes.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function parseDuration(text, name) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text));
  if (!m) {
    console.error(`soak: ${name} must be a duration like 30m, 90s or 1h, got "${text}"`);
    process.exit(2);
  }
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'];
}

function parseArgs(argv) {
  const opts = { duration: '30m', 'kill-every': '3m', 'restart-every': '5m', rate: '100', classes: 'embedded,kafka' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || !(a.slice(2) in opts) || argv[i + 1] === undefined) {
      console.error(`soak: unknown or incomplete option "${a}"\nusage: npm run soak -- --duration 30m [--kill-every 3m] [--restart-every 5m] [--rate 100] [--classes embedded,kafka]`);
      process.exit(2);
    }
    opts[a.slice(2)] = argv[++i];
  }
  const classes = opts.classes.split(',').filter(Boolean);
  if (classes.some((c) => c !== 'embedded' && c !== 'kafka') || classes.length === 0) {
    console.error(`soak: --classes takes embedded and/or kafka, got "${opts.classes}"`);
    process.exit(2);
  }
  const rate = Number(opts.rate);
  if (!Number.isFinite(rate) || rate <= 0) {
    console.error(`soak: --rate must be a number of events per second per broker > 0, got "${opts.rate}"`);
    process.exit(2);
  }
  return {
    durationMs: parseDuration(opts.duration, '--duration'),
    killEveryMs: parseDuration(opts['kill-every'], '--kill-every'),
    restartEveryMs: parseDuration(opts['restart-every'], '--restart-every'),
    rate,
    classes,
  };
}

const log = (msg) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A subscriber that records `broker/id` of every event; `answer` decides the status (or null: refuse). */
async function subscriber(name, answer) {
  const received = new Map(); // broker -> Map(id -> count)
  let deliveries = 0;
  let down = false;
  const server = createServer((req, res) => {
    const broker = (req.url ?? '/').split('/')[1] ?? '';
    req.resume();
    req.on('end', async () => {
      if (down) {
        res.writeHead(503, { 'retry-after': '1' }).end();
        return;
      }
      const status = await answer();
      if (status >= 200 && status < 300) {
        const id = String(req.headers['ce-id']);
        let m = received.get(broker);
        if (!m) received.set(broker, (m = new Map()));
        m.set(id, (m.get(id) ?? 0) + 1);
        deliveries++;
      }
      res.writeHead(status).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    get deliveries() {
      return deliveries;
    },
    setDown(v) {
      down = v;
    },
    close: () => new Promise((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}

function configYaml(classes, subs, kafkaBrokers) {
  const docs = [];
  if (classes.includes('kafka')) docs.push(kafkaConfigMap({ brokers: kafkaBrokers, partitions: 4, replicationFactor: process.env.SOAK_KAFKA_RF ?? '1' }));
  for (const cls of classes) {
    const delivery = { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S', timeout: 'PT5S', deadLetterSink: { uri: `${subs.dls.url}/${cls}` } };
    docs.push(brokerYaml({ name: cls, kafka: cls === 'kafka', delivery }));
    for (const t of ['steady', 'flaky', 'slow']) docs.push(triggerYaml({ name: `${cls}-${t}`, broker: cls, sinkUrl: `${subs[t].url}/${cls}` }));
  }
  return docs.join('---\n');
}

/** The `sluice run` process, restartable on the same data directory. */
function sluiceProcess(dir) {
  let child;
  let url;
  let exited;
  const start = async () => {
    child = spawn(
      process.execPath,
      [join(ROOT, 'packages/cli/dist/bin.js'), 'run', '-f', join(dir, 'config.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', join(dir, 'store'), '--log-level', 'info'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    // Log records go to stdout (the ready line is one of them, at level info); errors are echoed.
    const echoErrors = (d) => {
      for (const line of d.toString().split('\n')) if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[sluice] ${line.slice(0, 500)}\n`);
    };
    child.stdout.on('data', echoErrors);
    child.stderr.on('data', echoErrors);
    exited = new Promise((r) => child.once('exit', r));
    url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sluice did not become ready:\n${out}`)), 120_000);
      const onData = (d) => {
        out += d;
        const m = /sluice ready on (http:\/\/[^\s"]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`sluice exited with ${code}:\n${out}`)));
    });
  };
  return {
    start,
    get url() {
      return url;
    },
    get pid() {
      return child?.pid;
    },
    async stop(signal) {
      url = undefined;
      child.kill(signal);
      await exited;
    },
  };
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  log(
    `duration ${opts.durationMs / 60000} min, kill -9 every ${opts.killEveryMs / 1000} s, graceful restart every ${opts.restartEveryMs / 1000} s, ${opts.rate} events/s per broker, classes ${opts.classes.join(', ')}`,
  );
  let kafka;
  let kafkaBrokers = process.env.KAFKA_BROKERS;
  if (opts.classes.includes('kafka') && !kafkaBrokers) {
    const mod = await import(join(ROOT, 'deploy/local-services/kafka.mjs'));
    kafka = await mod.start();
    kafkaBrokers = kafka.env.KAFKA_BROKERS;
  }
  const random = (lo, hi) => lo + Math.random() * (hi - lo);
  const subs = {
    steady: await subscriber('steady', async () => 202),
    flaky: await subscriber('flaky', async () => (Math.random() < 0.1 ? 503 : 202)),
    slow: await subscriber('slow', async () => (await sleep(random(50, 400)), 202)),
    dls: await subscriber('dls', async () => 202),
  };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
  writeFileSync(join(dir, 'config.yaml'), configYaml(opts.classes, subs, kafkaBrokers));
  const sluice = sluiceProcess(dir);
  await sluice.start();
  log(`sluice ready on ${sluice.url} (data dir ${dir})`);

  const accepted = new Map(opts.classes.map((c) => [c, new Set()]));
  const figures = { sent: 0, accepted: 0, refused: 0, statuses: {}, kills: 0, gracefulRestarts: 0, flakyOutages: 0, rss: [] };
  const agent = new Agent({ connections: 32, keepAliveTimeout: 10_000 });
  const started = Date.now();
  const end = started + opts.durationMs;
  let seq = 0;
  let running = true;

  // Load: each broker gets `rate` events/s in ticks of 100 ms, at most 64 requests outstanding per broker.
  const outstanding = new Map(opts.classes.map((c) => [c, 0]));
  const send = async (cls) => {
    const id = `${cls}-${seq++}`;
    figures.sent++;
    const url = sluice.url;
    if (!url) {
      figures.refused++;
      return;
    }
    outstanding.set(cls, outstanding.get(cls) + 1);
    try {
      const res = await request(`${url}/default/${cls}`, {
        method: 'POST',
        dispatcher: agent,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/soak', 'ce-type': Math.random() < 0.5 ? 'soak.a' : 'soak.b', 'content-type': 'application/json' },
        body: JSON.stringify({ seq, pad: 'x'.repeat(Math.floor(random(10, 2000))) }),
      });
      await res.body.dump();
      figures.statuses[res.statusCode] = (figures.statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 202) {
        accepted.get(cls).add(id);
        figures.accepted++;
      }
    } catch {
      figures.refused++;
    } finally {
      outstanding.set(cls, outstanding.get(cls) - 1);
    }
  };
  const loadLoop = (async () => {
    while (running) {
      for (const cls of opts.classes) {
        for (let i = 0; i < opts.rate / 10; i++) if (outstanding.get(cls) < 64) void send(cls);
      }
      await sleep(100);
    }
  })();

  // Faults: kill -9, graceful restarts, flaky subscriber outages; RSS samples.
  let nextKill = started + opts.killEveryMs;
  let nextRestart = started + opts.restartEveryMs + opts.killEveryMs / 2;
  let nextOutage = started + 60_000;
  let nextSample = started;
  while (Date.now() < end) {
    const now = Date.now();
    if (now >= nextSample) {
      figures.rss.push({ minute: Math.round(((now - started) / 60000) * 10) / 10, rssMiB: rssMiB(sluice.pid), accepted: figures.accepted });
      nextSample += 30_000;
    }
    if (now >= nextKill) {
      log(`kill -9 (pid ${sluice.pid}); accepted so far ${figures.accepted}`);
      await sluice.stop('SIGKILL');
      figures.kills++;
      await sluice.start();
      nextKill += opts.killEveryMs;
    } else if (now >= nextRestart) {
      log(`graceful restart (SIGTERM, as a reload)`);
      await sluice.stop('SIGTERM');
      figures.gracefulRestarts++;
      await sluice.start();
      nextRestart += opts.restartEveryMs;
    } else if (now >= nextOutage) {
      log('flaky subscriber down for 20 s');
      subs.flaky.setDown(true);
      figures.flakyOutages++;
      setTimeout(() => subs.flaky.setDown(false), 20_000);
      nextOutage += 120_000;
    }
    await sleep(500);
  }
  running = false;
  await loadLoop;
  while ([...outstanding.values()].some((n) => n > 0)) await sleep(100);
  subs.flaky.setDown(false);
  log(`load stopped: ${figures.accepted} accepted; waiting for every trigger to have every event`);

  // Ledger check: each accepted id at steady, at slow, and at flaky or the dead-letter sink.
  const missing = () => {
    const out = {};
    for (const cls of opts.classes) {
      const have = (name) => subs[name].received.get(cls) ?? new Map();
      const dls = have('dls');
      let steady = 0;
      let slow = 0;
      let flaky = 0;
      for (const id of accepted.get(cls)) {
        if (!have('steady').has(id)) steady++;
        if (!have('slow').has(id)) slow++;
        if (!have('flaky').has(id) && !dls.has(id)) flaky++;
      }
      out[cls] = { steady, flaky, slow };
    }
    return out;
  };
  const deadline = Date.now() + 10 * 60_000;
  let lost = missing();
  while (Object.values(lost).some((m) => m.steady + m.flaky + m.slow > 0) && Date.now() < deadline) {
    await sleep(2000);
    lost = missing();
  }
  figures.rss.push({ minute: Math.round(((Date.now() - started) / 60000) * 10) / 10, rssMiB: rssMiB(sluice.pid), accepted: figures.accepted });
  const perClass = {};
  for (const cls of opts.classes) {
    const count = (name) => {
      const m = subs[name].received.get(cls) ?? new Map();
      let total = 0;
      for (const n of m.values()) total += n;
      return { distinct: m.size, total };
    };
    const [steady, flaky, slow, dls] = ['steady', 'flaky', 'slow', 'dls'].map(count);
    perClass[cls] = {
      accepted: accepted.get(cls).size,
      lost: lost[cls],
      duplicates: { steady: steady.total - steady.distinct, flaky: flaky.total - flaky.distinct, slow: slow.total - slow.distinct },
      deadLettered: dls.distinct,
    };
  }
  await sluice.stop('SIGTERM');
  await agent.close();
  for (const s of Object.values(subs)) await s.close();
  await kafka?.stop();
  rmSync(dir, { recursive: true, force: true });

  const result = { options: opts, durationMin: opts.durationMs / 60000, ...figures, perClass };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/soak-latest.json'), JSON.stringify(result, null, 2));
  console.log(`\nSoak: ${result.durationMin} min, ${figures.kills} × kill -9, ${figures.gracefulRestarts} graceful restarts, ${figures.flakyOutages} subscriber outages`);
  console.log(
    `requests ${figures.sent}, accepted (202) ${figures.accepted}, not accepted ${figures.sent - figures.accepted} (refused while restarting or non-202: ${JSON.stringify(figures.statuses)})`,
  );
  console.log('| broker class | accepted | lost (steady / flaky / slow) | duplicates (steady / flaky / slow) | dead-lettered |');
  console.log('|---|--:|--:|--:|--:|');
  for (const [cls, r] of Object.entries(perClass)) {
    console.log(`| ${cls} | ${r.accepted} | ${r.lost.steady} / ${r.lost.flaky} / ${r.lost.slow} | ${r.duplicates.steady} / ${r.duplicates.flaky} / ${r.duplicates.slow} | ${r.deadLettered} |`);
  }
  console.log(`RSS MiB over time (minute: MiB): ${figures.rss.map((s) => `${s.minute}: ${s.rssMiB}`).join(', ')}`);
  console.log('written: bench/results/soak-latest.json');
  const totalLost = Object.values(perClass).reduce((n, r) => n + r.lost.steady + r.lost.flaky + r.lost.slow, 0);
  process.exit(totalLost === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Bench-only preload (`node --import ./bench/phase-trace.mjs`, passed to the benchmarked Sluice through NODE_OPTIONS
// with SLUICE_BENCH_TRACE_FILE set; bench/latency-attribution.mjs does that): timestamps of the phases each event goes
// through inside the Sluice process, so a slow event can be attributed to the phase that held it. Nothing of it is in
// Sluice itself, and without SLUICE_BENCH_TRACE_FILE it does nothing.
//
// Recorded (ms since the epoch, with fractions: performance.timeOrigin + performance.now(), comparable across the
// processes of one machine):
// - per event (by ce-id): request start (http.server.request.start), its INSERT (and the transaction it is in),
//   the response finish (http.server.response.finish), the delivery request handed to undici (undici:request:create)
//   and its headers written to the subscriber's socket (undici:client:sendHeaders);
// - per transaction: start, end, rows inserted; per fdatasync: start and the time its callback ran;
// - event-loop gaps over 3 ms (a 1 ms timer that came late; with the process's CPU time and involuntary context
//   switches during each), GC pauses (PerformanceObserver), SQLite statements
//   that took over 1 ms (with their SQL), and in the WAL checkpoint worker: each checkpoint's start and end.
// SIGUSR2 (also what bench/event-loop-delay.mjs listens to) writes what was recorded since the previous SIGUSR2 to
// SLUICE_BENCH_TRACE_FILE and starts afresh, so one phase can be bracketed.
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { subscribe } from 'node:diagnostics_channel';
import { PerformanceObserver } from 'node:perf_hooks';
import workerThreads, { isMainThread } from 'node:worker_threads';

const file = process.env.SLUICE_BENCH_TRACE_FILE;
const origin = performance.timeOrigin;
const now = () => origin + performance.now();
const ID = /"id":"([^"]+)"/;

if (file && isMainThread) {
  let t = fresh();
  function fresh() {
    return { events: new Map(), txns: [], syncs: [], gaps: [], gcs: [], slow: [] };
  }
  const ev = (id) => {
    let e = t.events.get(id);
    if (!e) t.events.set(id, (e = {}));
    return e;
  };
  const ceId = (headers) => {
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'ce-id') return String(headers[i + 1]);
      return undefined;
    }
    if (typeof headers === 'string') return /(?:^|\r\n)ce-id: ([^\r\n]+)/i.exec(headers)?.[1];
    return headers?.['ce-id'];
  };

  subscribe('http.server.request.start', ({ request }) => {
    const id = request.headers['ce-id'];
    if (id) ev(id).arrive = now();
  });
  subscribe('http.server.response.finish', ({ request }) => {
    const id = request.headers['ce-id'];
    if (id) ev(id).ack = now();
  });
  subscribe('undici:request:create', ({ request }) => {
    const id = ceId(request.headers);
    if (id) ev(id).send = now();
  });
  subscribe('undici:client:sendHeaders', ({ request }) => {
    const id = ceId(request.headers);
    if (id) ev(id).sent = now();
  });

  // fdatasync of the WAL (the store imports it by name from node:fs: patched before the store loads).
  const fdatasync = fs.fdatasync;
  fs.fdatasync = (fd, cb) => {
    const rec = { start: now(), txn: txnSeq };
    t.syncs.push(rec);
    return fdatasync(fd, (err) => {
      rec.end = now();
      cb(err);
    });
  };
  // The WAL checkpoint worker (an eval'd CommonJS source; preloads do not run in workers): its source gets a prefix
  // that times each checkpoint and appends them to <file>.checkpoints, one JSON array per line.
  const Worker = workerThreads.Worker;
  workerThreads.Worker = class extends Worker {
    constructor(source, options) {
      if (options?.eval && String(source).includes('wal_checkpoint')) {
        source = `(() => {
          const D = require(require('node:worker_threads').workerData.driver);
          const fs = require('node:fs');
          const pragma = D.prototype.pragma;
          const origin = performance.timeOrigin;
          D.prototype.pragma = function (s, o) {
            if (!String(s).startsWith('wal_checkpoint')) return pragma.call(this, s, o);
            const start = origin + performance.now();
            const r = pragma.call(this, s, o);
            fs.appendFileSync(${JSON.stringify(`${file}.checkpoints`)}, JSON.stringify([[start, origin + performance.now(), r && r[0] ? r[0].log : null, r && r[0] ? r[0].checkpointed : null]]) + '\\n');
            return r;
          };
        })();\n${source}`;
      }
      super(source, options);
    }
  };
  syncBuiltinESMExports();

  // better-sqlite3, as the store resolves it: transactions, the INSERT of each event, slow statements.
  const req = createRequire(new URL('../packages/store/package.json', import.meta.url));
  const Database = req(req.resolve('better-sqlite3'));
  let txnSeq = 0;
  let current;
  const transaction = Database.prototype.transaction;
  Database.prototype.transaction = function (fn) {
    const wrapped = transaction.call(this, fn);
    return function (...args) {
      const rec = { n: ++txnSeq, start: now(), rows: 0 };
      const outer = current;
      current = rec;
      try {
        return wrapped.apply(this, args);
      } finally {
        current = outer;
        rec.end = now();
        if (rec.rows > 0 || rec.end - rec.start > 1) t.txns.push(rec);
      }
    };
  };
  const patched = new WeakSet();
  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function (source) {
    const stmt = prepare.call(this, source);
    const proto = Object.getPrototypeOf(stmt);
    if (!patched.has(proto)) {
      patched.add(proto);
      for (const m of ['run', 'all', 'get']) {
        const orig = proto[m];
        proto[m] = function (...args) {
          const start = now();
          try {
            return orig.apply(this, args);
          } finally {
            const end = now();
            if (this.source.startsWith('INSERT INTO events')) {
              const id = ID.exec(args[1])?.[1];
              if (id) {
                const e = ev(id);
                e.insert = start;
                e.txn = current?.n;
              }
              if (current) current.rows++;
            } else if (end - start > 1) t.slow.push([start, end, this.source.slice(0, 60)]);
          }
        };
      }
    }
    return stmt;
  };

  // Event-loop gaps: a 1 ms timer that fires late by more than 3 ms, with the CPU time the whole process spent in it
  // (µs, every thread) and the involuntary context switches it took: a gap with little CPU is the process not
  // scheduled, one with CPU about its length is work on the event loop.
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let lastSwitches = process.resourceUsage().involuntaryContextSwitches;
  setInterval(() => {
    const p = performance.now();
    const cpu = process.cpuUsage();
    const switches = process.resourceUsage().involuntaryContextSwitches;
    if (p - last > 4) t.gaps.push([origin + last, origin + p, cpu.user + cpu.system - lastCpu.user - lastCpu.system, switches - lastSwitches]);
    last = p;
    lastCpu = cpu;
    lastSwitches = switches;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const g of list.getEntries()) t.gcs.push([origin + g.startTime, g.duration, g.detail?.kind ?? g.kind]);
  }).observe({ entryTypes: ['gc'] });

  process.on('SIGUSR2', () => {
    // hrOffset maps these times onto the monotonic clock of a --cpu-prof profile (µs): (time - origin + hrOffset) * 1000.
    const out = { ...t, events: [...t.events], origin, hrOffset: Number(process.hrtime.bigint()) / 1e6 - performance.now() };
    t = fresh();
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(out));
    fs.renameSync(`${file}.tmp`, file);
  });
}

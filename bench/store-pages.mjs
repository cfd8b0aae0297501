// Pages the embedded store writes to its write-ahead log, per commit: a figure that does not depend on the load of the
// machine (SQLite writes every page a transaction changed once per commit, as a 4 KiB frame plus a 24-byte header).
// The store alone, no HTTP: one SqliteEventStore on a temporary file, driven through its public API.
//
//   node bench/store-pages.mjs
//   STORE_PAGES_BUILDS=before=/path/to/old/packages/store/dist/index.js,after=packages/store/dist/index.js node bench/store-pages.mjs
//
// While a phase runs, a second connection holds a read transaction open, so no checkpoint can restart the WAL: the
// WAL file only grows, and its growth divided by 4,120 bytes is the frames written. Phases, each on a fresh store:
// - `append + cursor`: 2,000 appends of one 1 KiB event, each awaited before the next (one event per commit, what a
//   broker at a light load does), with a trigger that finishes each event at once: its cursor rides in the next commit;
// - `append, no trigger`: the same appends on a log without consumer groups (the event's pages alone);
// - `cursor only`: 200 events appended in one commit, then finished one at a time, 30 ms apart, so that every cursor
//   move is a commit of its own (the 20 ms bookkeeping flush);
// - `with cleanup`: 4,000 appends as in the first phase with the cleanup every 100 ms: frames per event including the
//   cleanup's deletes (and, from format 5, the position it keeps when it deletes the newest row).
// Then the CPU time of an append in process (durability off, so no fdatasync; `process.cpuUsage` over 5,000 appends,
// rounds alternating the builds; STORE_PAGES_CPU_ROUNDS, default 6, 0 to skip): a secondary figure, noisy on a busy
// machine (the spread of the rounds is printed).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../packages/store/package.json', import.meta.url));
const Database = require('better-sqlite3');

const builds = (process.env.STORE_PAGES_BUILDS ?? 'current=packages/store/dist/index.js').split(',').map((spec) => {
  const [name, path] = spec.split('=');
  return { name, url: pathToFileURL(isAbsolute(path) ? path : resolve(path)).href };
});
const FRAME = 4096 + 24;
const LOG = 'broker:default/bench';
const GROUP = 'trigger:default/bench';

const event = (i) => ({
  attributes: {
    specversion: '1.0',
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    source: '/bench/store-pages',
    type: 'dev.sluice.bench',
    datacontenttype: 'application/octet-stream',
    knativearrivaltime: new Date(1_700_000_000_000 + i).toISOString(),
  },
  data: Buffer.alloc(1024, i % 251),
});

const settle = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `body` on a fresh store and returns the WAL frames it wrote while a reader pinned the WAL. */
async function frames(mod, options, body) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-pages-'));
  const path = join(dir, 'sluice.db');
  const store = new mod.SqliteEventStore({ path, cleanupIntervalMs: 3_600_000, ...options });
  try {
    await store.append(LOG, [event(0)]); // the file and its tables exist, the WAL is open
    await settle(50);
    const reader = new Database(path, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM groups').get(); // the read transaction starts: the WAL cannot restart now
    const before = statSync(`${path}-wal`).size;
    const units = await body(store);
    const after = statSync(`${path}-wal`).size;
    reader.prepare('COMMIT').run();
    reader.close();
    return (after - before) / FRAME / units;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function appendEach(store, n) {
  for (let i = 1; i <= n; i++) await store.append(LOG, [event(i)]);
  await settle(50); // the last cursor move
  return n;
}

const phases = {
  'append + cursor': (mod) =>
    frames(mod, {}, async (store) => {
      store.consume(LOG, GROUP, { maxInFlight: 100 }, async () => ({ kind: 'done' }));
      await store.ready(LOG);
      return appendEach(store, 2000);
    }),
  'append, no trigger': (mod) => frames(mod, {}, (store) => appendEach(store, 2000)),
  'cursor only': (mod) => cursorOnly(mod),
  'with cleanup': (mod) =>
    frames(mod, { cleanupIntervalMs: 100 }, async (store) => {
      store.consume(LOG, GROUP, { maxInFlight: 100 }, async () => ({ kind: 'done' }));
      await store.ready(LOG);
      return appendEach(store, 4000);
    }),
};

// The events are appended before the reader pins the WAL: only the cursor moves are counted.
async function cursorOnly(mod) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-pages-'));
  const path = join(dir, 'sluice.db');
  const store = new mod.SqliteEventStore({ path, cleanupIntervalMs: 3_600_000 });
  try {
    const gates = [];
    store.consume(LOG, GROUP, { maxInFlight: 1000 }, () => new Promise((r) => gates.push(() => r({ kind: 'done' }))));
    await store.ready(LOG);
    const n = 200;
    await store.append(
      LOG,
      Array.from({ length: n }, (_, i) => event(i)),
    );
    while (gates.length < n) await settle(5);
    await settle(50);
    const reader = new Database(path, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM groups').get();
    const before = statSync(`${path}-wal`).size;
    for (const open of gates) {
      open();
      await settle(30);
    }
    const after = statSync(`${path}-wal`).size;
    reader.prepare('COMMIT').run();
    reader.close();
    return (after - before) / FRAME / n;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cpuPerAppend(mod, n) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-pages-'));
  const store = new mod.SqliteEventStore({
    path: join(dir, 'sluice.db'),
    durability: 'none',
    cleanupIntervalMs: 3_600_000,
  });
  try {
    const events = Array.from({ length: n }, (_, i) => event(i));
    for (let i = 0; i < 500; i++) await store.append(LOG, [events[i]]); // warm up
    const start = process.cpuUsage();
    for (const e of events) await store.append(LOG, [e]);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mods = await Promise.all(builds.map(async (b) => ({ ...b, mod: await import(b.url) })));
console.log(`store pages per commit (WAL frames of ${FRAME} bytes), load average ${loadavg()[0].toFixed(1)}`);
for (const m of mods) console.log(`  ${m.name}: store format ${m.mod.STORE_FORMAT}`);
console.log(`\n| phase | ${mods.map((m) => m.name).join(' | ')} |\n|---|${mods.map(() => '--:').join('|')}|`);
for (const [name, run] of Object.entries(phases)) {
  const row = [];
  for (const m of mods) row.push((await run(m.mod)).toFixed(2));
  console.log(`| ${name} | ${row.join(' | ')} |`);
}
// STORE_PAGES_CPU_ROUNDS=0 skips the CPU figure.
const ROUNDS = Number(process.env.STORE_PAGES_CPU_ROUNDS ?? 6);
if (ROUNDS > 0) await cpuRounds();

async function cpuRounds() {
  const cpu = Object.fromEntries(mods.map((m) => [m.name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const m of r % 2 === 0 ? mods : [...mods].reverse()) cpu[m.name].push(await cpuPerAppend(m.mod, 5000));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\nCPU µs per append in process (durability off, one event per commit), ${ROUNDS} rounds, load average ${loadavg()[0].toFixed(1)}:`);
  for (const m of mods) {
    const xs = cpu[m.name];
    console.log(`  ${m.name}: median ${median(xs).toFixed(1)}, rounds ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`);
  }
}

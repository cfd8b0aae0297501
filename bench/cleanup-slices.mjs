// The cost of the embedded store's cleanup slice by its size and statements: how long one slice holds the event loop
// and what a deleted row costs, on SQLite alone (better-sqlite3, the events table of store format 5, WAL,
// synchronous = NORMAL, no automatic checkpoint), 1 KiB events written three to a commit as under load.
//
//   node bench/cleanup-slices.mjs                       # slices of 500, 200, 100, 50 rows; BENCH_CLEANUP_ROWS=30000
//   BENCH_CLEANUP_SLICES=500,100 BENCH_CLEANUP_ROUNDS=3 node bench/cleanup-slices.mjs
//
// Two ways to delete a slice: `select+range`, the store's (packages/store/src/sqlite-store.ts: `cleanupSlice` picks the
// rows and their sizes, `cleanup` deletes the range they span), and `returning`, its statement until December 2026
// (one DELETE of the picked rows … RETURNING their sizes).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const Database = createRequire(new URL('../packages/store/package.json', import.meta.url))('better-sqlite3');
const ROWS = Number(process.env.BENCH_CLEANUP_ROWS ?? 30_000);
const SLICES = (process.env.BENCH_CLEANUP_SLICES ?? '500,200,100,50').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_CLEANUP_ROUNDS ?? 2);
const LOG = 'broker:default/default';
const WAYS = {
  'select+range': (db) => {
    const pick = db.prepare('SELECT seq, coalesce(length(data), 0) FROM events WHERE log = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?').raw(true);
    const remove = db.prepare('DELETE FROM events WHERE seq >= ? AND seq <= ? AND log = ?');
    return (from, to, limit) => {
      const rows = pick.all(LOG, from, to, limit);
      if (rows.length > 0) remove.run(rows[0][0], rows[rows.length - 1][0], LOG);
      return rows.map(([seq]) => seq);
    };
  },
  returning: (db) => {
    const remove = db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE log = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?) RETURNING seq, coalesce(length(data), 0) AS n');
    return (from, to, limit) => remove.all(LOG, from, to, limit).map((r) => r.seq);
  },
};

function round(slice, way) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cleanup-'));
  const db = new Database(join(dir, 'store.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE events (seq INTEGER PRIMARY KEY, log TEXT NOT NULL, attrs TEXT NOT NULL, data BLOB)');
    const insert = db.prepare('INSERT INTO events (seq, log, attrs, data) VALUES (?, ?, ?, ?)');
    const attrs = JSON.stringify({ specversion: '1.0', id: 'bench-123456', source: 'bench', type: 'bench.event', datacontenttype: 'application/json', knativearrivaltime: new Date().toISOString() });
    const data = Buffer.alloc(1024, 7);
    let seq = 0;
    const three = db.transaction(() => {
      for (let i = 0; i < 3; i++) insert.run(++seq, LOG, attrs, data);
    });
    while (seq < ROWS) three();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const cleanup = WAYS[way](db);
    const slices = [];
    const start = performance.now();
    for (let from = 0; ;) {
      const t = performance.now();
      const seqs = db.transaction(() => cleanup(from, seq, slice))();
      slices.push(performance.now() - t);
      if (seqs.length === 0) break;
      from = seqs[seqs.length - 1];
    }
    const total = performance.now() - start;
    slices.sort((a, b) => a - b);
    return { total, p50: slices[slices.length >> 1], max: slices[slices.length - 1], walKiB: statSync(join(dir, 'store.db-wal')).size / 1024 };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`Cleanup slices: ${ROWS.toLocaleString('en-US')} rows of 1 KiB deleted in slices; ${ROUNDS} rounds, sizes alternating`);
console.log('| slice rows | statements | round | µs per deleted row | slice p50 / max ms | WAL written KiB per 1,000 rows |\n|--:|---|--:|--:|--:|--:|');
for (let r = 1; r <= ROUNDS; r++) {
  for (const slice of SLICES) {
    for (const way of Object.keys(WAYS)) {
      const x = round(slice, way);
      console.log(`| ${slice} | ${way} | ${r} | ${((1000 * x.total) / ROWS).toFixed(2)} | ${x.p50.toFixed(2)} / ${x.max.toFixed(2)} | ${((1000 * x.walKiB) / ROWS).toFixed(0)} |`);
    }
  }
}

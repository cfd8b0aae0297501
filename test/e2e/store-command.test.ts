// `sluice store check|salvage` on a deliberately damaged store (docs/security.md, "Corrupt store"): the CLI as a user
// runs it, then `sluice run` on the salvaged store delivers what was readable from where the trigger stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '@sluice/store';
import { runCli, startSluice, startSubscriber, tempDir } from './harness.js';
import { broker, documents, trigger } from './manifests.js';

const EVENTS = 2000;

test('store check finds the damage, run refuses and names salvage, salvage keeps every readable event and offset', async () => {
  const dir = tempDir('sluice-store-cmd-');
  const dataDir = join(dir.path, 'store');
  const sub = await startSubscriber();
  try {
    // A store as `sluice run` leaves it: EVENTS events of broker default/b, trigger default/t done with the first 100.
    mkdirSync(dataDir, { mode: 0o700 });
    const store = new SqliteEventStore({ path: join(dataDir, 'sluice.db'), cleanupIntervalMs: 3_600_000 });
    for (let i = 0; i < EVENTS; i += 500) {
      await store.append(
        'broker:default/b',
        Array.from({ length: 500 }, (_, k) => ({ attributes: { specversion: '1.0', id: `e${i + k + 1}`, source: '/s', type: 't' }, data: Buffer.alloc(800, 'x') })),
      );
    }
    await store.close();
    const db = new Database(join(dataDir, 'sluice.db'));
    db.prepare('INSERT INTO groups (grp, log, cursor) VALUES (?, ?, ?)').run('trigger:default/t', 'broker:default/b', 100);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const page = db.prepare("SELECT pageno, ncell FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 30").get() as { pageno: number; ncell: number };
    db.close();
    const fd = openSync(join(dataDir, 'sluice.db'), 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (page.pageno - 1) * pageSize);
    closeSync(fd);

    const check = await runCli(['store', 'check', '--data-dir', dataDir]);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /integrity: \d+ problems?/);
    assert.match(check.stdout, /sluice store salvage --data-dir/);

    const yaml = documents(broker('b'), trigger('t', { broker: 'b', subscriber: sub.url }));
    await assert.rejects(startSluice({ yaml, dataDir: dir.path }), (err: Error) => /SLUICE_STORE_CORRUPT|is corrupt/.test(err.message) && /sluice store salvage --data-dir/.test(err.message));

    const salvage = await runCli(['store', 'salvage', '--data-dir', dataDir]);
    assert.equal(salvage.code, 0, salvage.stdout + salvage.stderr);
    assert.match(salvage.stdout, new RegExp(`events: ${(EVENTS - page.ncell).toLocaleString('en-US')} copied`));
    assert.match(salvage.stdout, /group offsets: 1 copied/);
    assert.match(salvage.stdout, /events: ids [\d,]+–[\d,]+ unreadable, skipped/);
    const kept = /old store kept as: (\S+)/.exec(salvage.stdout)![1]!;
    assert.ok(existsSync(kept));
    const again = await runCli(['store', 'check', '--data-dir', dataDir]);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /integrity: ok/);

    // Sluice starts on the salvaged store; the trigger goes on after event 100 with every readable event.
    const sluice = await startSluice({ yaml, dataDir: dir.path });
    try {
      const locked = await runCli(['store', 'check', '--data-dir', dataDir]);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr, new RegExp(`in use by another sluice \\(pid ${sluice.child.pid}\\)`));
      const expected = EVENTS - 100 - page.ncell;
      await sub.waitForCount(expected, 60_000);
      const ids = sub.ids();
      assert.equal(ids.length, expected);
      assert.ok(!ids.includes('e100') && ids.includes('e101') && ids.includes(`e${EVENTS}`));
    } finally {
      await sluice.stop();
    }
  } finally {
    await sub.close();
    dir.remove();
  }
});

test('store commands: usage errors exit 2, a directory without a store exits 1', async () => {
  const dir = tempDir('sluice-store-cmd-');
  try {
    assert.equal((await runCli(['store', 'fix'])).code, 2);
    const none = await runCli(['store', 'check', '--data-dir', dir.path]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /there is no store in/);
  } finally {
    dir.remove();
  }
});

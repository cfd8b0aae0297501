import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSluiceError } from '@sluice/core';
import { SqliteEventStore } from '../src/index.js';
import { runStoreContract } from '@sluice/testing';

runStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  return {
    open: async () => new SqliteEventStore({ path: join(dir, 'db.sqlite'), cleanupIntervalMs: 50 }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('[sqlite] append fails fast with SLUICE_STORE_OVERLOADED beyond the pending limit', async () => {
  const store = new SqliteEventStore({ path: ':memory:', maxPendingEvents: 2 });
  const e = { attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' }, data: undefined };
  const first = store.append('log', [e, e]);
  await assert.rejects(store.append('log', [e]), (err: unknown) => isSluiceError(err, 'SLUICE_STORE_OVERLOADED') && err.retryable);
  await first;
  await store.close();
});

test('[sqlite] consumed events are removed from disk; backlog counts what the slowest group has not finished', async () => {
  const store = new SqliteEventStore({ path: ':memory:', cleanupIntervalMs: 20 });
  const e = (id: string) => ({ attributes: { specversion: '1.0', id, source: '/s', type: 't' }, data: undefined });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  store.consume('log', 'slow', { maxInFlight: 1 }, async () => {
    await gate;
    return { kind: 'done' };
  });
  await store.retainGroups('log', ['slow']);
  await store.append('log', [e('1'), e('2'), e('3')]);
  assert.equal(store.stats('log').backlog, 3);
  release();
  for (let i = 0; i < 100 && store.stats('log').backlog > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.stats('log').backlog, 0);
  await store.close();
});

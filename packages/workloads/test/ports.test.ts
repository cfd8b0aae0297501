import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ephemeralRange, freePort, isPortFree, pickRange } from '../src/ports.js';

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
  });
const close = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

test("the ephemeral range is read from Linux's setting, else the IANA range", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ports-'));
  try {
    const file = join(dir, 'range');
    writeFileSync(file, '32768\t60999\n');
    assert.deepEqual(ephemeralRange(file), [32768, 60999]);
    writeFileSync(file, 'garbage\n');
    assert.deepEqual(ephemeralRange(file), [49152, 65535]);
    assert.deepEqual(ephemeralRange(join(dir, 'missing')), [49152, 65535]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ports are picked from the larger side outside the ephemeral range, when it is large enough', () => {
  assert.deepEqual(pickRange([32768, 60999]), [10000, 32767]);
  assert.deepEqual(pickRange([49152, 65535]), [10000, 49151]);
  assert.deepEqual(pickRange([1024, 40000]), [40001, 65535]);
  assert.equal(pickRange([1024, 65000]), undefined);
});

test("a free port lies outside this machine's ephemeral range and can be listened on", async () => {
  const [lo, hi] = ephemeralRange();
  const range = pickRange([lo, hi]);
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (range) assert.ok(port < lo || port > hi, `${port} is outside ${lo}-${hi}`);
    const s = await listen(port);
    await close(s);
  }
});

test('a port that is taken, or handed out already, is skipped', async () => {
  // Three neighbouring free ports: the middle one is made busy, the first is handed out, the last is the answer.
  let first = await freePort();
  while (!(await isPortFree(first + 1)) || !(await isPortFree(first + 2))) first = await freePort();
  const busy = await listen(first + 1);
  try {
    assert.equal(await isPortFree(first + 1), false);
    const range = [first, first + 2] as const;
    const at = (p: number) => (p - first + 0.5) / 3;
    const picks = [at(first + 1), at(first), at(first + 2)];
    const port = await freePort({ range, taken: new Set([first]), random: () => picks.shift() ?? 0.99 });
    assert.equal(port, first + 2);
    assert.equal(picks.length, 0, 'every pick was tried');
  } finally {
    await close(busy);
  }
});

test('with no range to pick from, the kernel hands one out', async () => {
  const port = await freePort({ range: undefined });
  const s = await listen(port);
  await close(s);
});

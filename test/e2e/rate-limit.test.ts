// Per-client rate limits per broker (docs/security.md): sluice.dev/client-rate-limit answers 429 with Retry-After.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSluice, startSubscriber, waitFor } from './harness.js';
import { forwardingBrokers, sendEvent } from './trust-fixtures.js';

test("a broker with sluice.dev/client-rate-limit answers 429 with Retry-After over the rate; others and Sluice's own sends are not limited", async () => {
  const sub = await startSubscriber();
  const sluice = await startSluice({
    yaml: forwardingBrokers('open', 'limited', sub.url, { annotations: { 'sluice.dev/client-rate-limit': '1' } }),
  });
  try {
    // Ten at once: the bucket holds one request, and it refills at one per second.
    const limited = await Promise.all(Array.from({ length: 10 }, (_, i) => sendEvent(`${sluice.url}/default/limited`, `l${i}`)));
    const refused = limited.filter((r) => r.status === 429);
    assert.ok(refused.length >= 5, `most of the burst refused (${limited.map((r) => r.status).join(',')})`);
    assert.equal(refused[0]!.headers.get('retry-after'), '1');
    assert.match(refused[0]!.body, /SLUICE_RATE_LIMITED/);
    const open = await Promise.all(Array.from({ length: 10 }, (_, i) => sendEvent(`${sluice.url}/default/open`, `o${i}`)));
    assert.ok(
      open.every((r) => r.status === 202),
      'the open broker is not limited',
    );
    // All ten forwarded by Sluice into the limited broker arrive: its own sends are not limited.
    await waitFor(() => Array.from({ length: 10 }, (_, i) => `o${i}`).every((id) => sub.ids().includes(id)), 'the forwarded events');
  } finally {
    await sluice.stop();
    await sub.close();
  }
});

// What an OIDC token on each delivery costs the sender (--authentication-oidc enabled), as CPU per delivery against
// the same deliveries without one, measured in the same run: deliverOnce through the production sender (undici) to a
// subscriber on loopback, 32 in flight, rounds alternating the two so that drift on a shared machine hits both alike.
// The subscriber runs in this process too, so the CPU figures include its side (the ratio is the end-to-end cost in
// one process). Also the CPU of one token lookup (cached) and of one ES256 signature (a new audience or sender).
// Run alone with `node bench/oidc-sending.mjs`, or as part of `npm run bench`.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OidcIssuer } from '../packages/broker/dist/index.js';
import { UndiciSender, deliverOnce } from '../packages/delivery/dist/index.js';
import { toDeliveryPolicy } from '../packages/core/dist/index.js';

const DELIVERIES = Number(process.env.BENCH_OIDC_DELIVERIES ?? 20_000);
const ROUNDS = Number(process.env.BENCH_OIDC_ROUNDS ?? 3);
const IN_FLIGHT = 32;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the phase and returns its figures. */
export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-oidc-'));
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(202, { 'content-length': '0' }).end());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const issuer = new OidcIssuer({ issuer: 'http://127.0.0.1:8080', dir });
  const plainSender = new UndiciSender();
  const oidcSender = new UndiciSender(undefined, { tokens: issuer });
  const policy = toDeliveryPolicy({ retry: 0, timeout: 'PT10S' });
  const event = { attributes: { specversion: '1.0', id: '1', source: '/bench', type: 'bench', datacontenttype: 'application/json' }, data: Buffer.from(JSON.stringify({ x: 'y'.repeat(1000) })) };
  const oidc = { audience: 'bench-subscriber', subject: 'system:serviceaccount:default:bench-oidc-eventing.knative.dev-trigger' };
  const phase = async (sender, target) => {
    let next = 0;
    let failed = 0;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next++ < DELIVERIES) {
          const o = await deliverOnce(sender, target, event, policy, Date.now());
          if (o.kind !== 'success') failed++;
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    return { cpuMicrosPerDelivery: (used.user + used.system) / DELIVERIES, perSec: DELIVERIES / ((performance.now() - t0) / 1000), failed };
  };
  const plain = [];
  const withToken = [];
  let failed = 0;
  await phase(plainSender, { url, expectReply: false }); // warm-up of both paths
  await phase(oidcSender, { url, expectReply: false, oidc });
  for (let r = 0; r < ROUNDS; r++) {
    const a = await phase(plainSender, { url, expectReply: false });
    const b = await phase(oidcSender, { url, expectReply: false, oidc });
    plain.push(a.cpuMicrosPerDelivery);
    withToken.push(b.cpuMicrosPerDelivery);
    failed += a.failed + b.failed;
  }
  // The token itself: a cached lookup, and a signature (what a new audience or sender, or a renewal, costs).
  const micros = (fn, n) => {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const u = process.cpuUsage(t);
    return (u.user + u.system) / n;
  };
  const cachedTokenMicros = micros(() => issuer.token(oidc.audience, oidc.subject), 200_000);
  const signMicros = micros((i) => issuer.token(`aud-${i}`, oidc.subject), 2_000);
  await plainSender.close();
  await oidcSender.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
  const p = median(plain);
  const o = median(withToken);
  return { deliveries: DELIVERIES, rounds: ROUNDS, cpuMicrosPerDelivery: { plain: p, oidc: o }, ratio: o / p, cachedTokenMicros, signMicros, failed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}

// What TLS and static-token checking cost on broker ingress, as ratios to plain HTTP measured in the same run:
// the same durable broker (no triggers, so the figure is ingress + store) is loaded in turn over plain HTTP, over
// HTTPS (ECDSA P-256 certificate, keep-alive connections), and over plain HTTP with a bearer token checked on each
// request. Rounds alternate the three so that drift on a shared machine hits them alike; the ratios are medians.
// Run alone with `node bench/trust.mjs`, or as part of `npm run bench`. Needs openssl for the certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSluice } from '@sluice/testing';
import { closedLoop } from './load.mjs';

const DURATION = Number(process.env.BENCH_DURATION_MS ?? 8000);
const ROUNDS = Number(process.env.BENCH_TRUST_ROUNDS ?? 2);
const TOKEN = 'bench-token-0123456789abcdef';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the phase and returns its figures. */
export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-tls-'));
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const broker = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n';
  const guarded = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: ${TOKEN}\n---\napiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  annotations:\n    sluice.dev/ingress-auth-secret: creds\n`;
  const setups = {
    http: { yaml: broker, args: [], load: {} },
    https: { yaml: broker, args: ['--tls-cert', cert, '--tls-key', key], load: { connect: { ca: readFileSync(cert, 'utf8') } } },
    token: { yaml: guarded, args: [], load: { headers: { authorization: `Bearer ${TOKEN}` } } },
  };
  const rates = { http: [], https: [], token: [] };
  const failures = { http: 0, https: 0, token: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, setup] of Object.entries(setups)) {
      const sluice = await startSluice({ yaml: setup.yaml, args: setup.args, stderr: 'inherit' });
      const load = await closedLoop(`${sluice.url}/default/default`, { concurrency: 64, durationMs: DURATION, ...setup.load });
      rates[name].push(load.rate);
      failures[name] += load.failed;
      await sluice.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const ratio = (name) => median(rates[name].map((r, i) => r / rates.http[i]));
  return {
    rounds: ROUNDS,
    perSec: { http: median(rates.http), https: median(rates.https), token: median(rates.token) },
    ratioToHttp: { https: ratio('https'), token: ratio('token') },
    failures,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

// What TLS and static-token checking cost on broker ingress, as ratios to plain HTTP measured in the same run:
// the same durable broker (no triggers, so the figure is ingress + store) is loaded in turn over plain HTTP, over
// HTTPS (ECDSA P-256 certificate, keep-alive connections), over plain HTTP with a static bearer token checked on each
// request, and over plain HTTP with an OIDC JWT (ES256) verified on each request against an issuer served here. Rounds alternate the three so that drift on a shared machine hits them alike; the ratios are medians.
// Run alone with `node bench/trust.mjs`, or as part of `npm run bench`. Needs openssl for the certificate.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { OidcVerifier, StaticCredentials } from '../packages/broker/dist/index.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noopLogger } from '@sluice/core';
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
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  const broker = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n';
  const guarded = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: ${TOKEN}\n---\napiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  annotations:\n    sluice.dev/ingress-auth-secret: creds\n`;
  // A local OIDC issuer: discovery and the JWKS of one ES256 key; one token for the broker's audience.
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  const issuerServer = createServer((req, res) => {
    const base = `http://127.0.0.1:${issuerServer.address().port}`;
    const body = req.url === '/keys' ? { keys: [jwk] } : { issuer: base, jwks_uri: `${base}/keys` };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise((r) => issuerServer.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${issuerServer.address().port}`;
  const jwt = await new SignJWT({ sub: 'bench' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('eventing.knative.dev/broker/default/default')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const setups = {
    http: { yaml: broker, args: [], load: {} },
    https: { yaml: broker, args: ['--tls-cert', cert, '--tls-key', key], load: { connect: { ca: readFileSync(cert, 'utf8') } } },
    token: { yaml: guarded, args: [], load: { headers: { authorization: `Bearer ${TOKEN}` } } },
    oidc: { yaml: broker, args: ['--oidc-issuer', issuer], load: { headers: { authorization: `Bearer ${jwt}` } } },
  };
  const rates = { http: [], https: [], token: [], oidc: [] };
  const failures = { http: 0, https: 0, token: 0, oidc: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, setup] of Object.entries(setups)) {
      const sluice = await startSluice({ yaml: setup.yaml, args: setup.args, stderr: 'inherit' });
      const load = await closedLoop(`${sluice.url}/default/default`, { concurrency: 64, durationMs: DURATION, ...setup.load });
      rates[name].push(load.rate);
      failures[name] += load.failed;
      await sluice.stop();
    }
  }
  // CPU per check, in process (less sensitive than the rates to other work on the machine).
  const cpuMicros = async (fn, n) => {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / n;
  };
  const creds = new StaticCredentials([TOKEN], undefined);
  const verifier = new OidcVerifier({ issuers: [issuer] }, noopLogger);
  const aud = 'eventing.knative.dev/broker/default/default';
  await verifier.verify(`Bearer ${jwt}`, aud);
  const local = createLocalJWKSet({ keys: [jwk] });
  const cpuPerCheck = {
    staticTokenMicros: await cpuMicros(() => creds.accepts(`Bearer ${TOKEN}`), 100_000),
    oidcRepeatedTokenMicros: await cpuMicros(() => verifier.verify(`Bearer ${jwt}`, aud), 50_000),
    oidcSignatureMicros: await cpuMicros(() => jwtVerify(jwt, local, { issuer, audience: aud }), 2000),
  };
  rmSync(dir, { recursive: true, force: true });
  issuerServer.close();
  const ratio = (name) => median(rates[name].map((r, i) => r / rates.http[i]));
  return {
    rounds: ROUNDS,
    perSec: { http: median(rates.http), https: median(rates.https), token: median(rates.token), oidc: median(rates.oidc) },
    ratioToHttp: { https: ratio('https'), token: ratio('token'), oidc: ratio('oidc') },
    failures,
    cpuPerCheck,
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

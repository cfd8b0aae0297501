// The admin API over HTTPS (docs/security.md "The admin API"): --admin-tls-cert/--admin-tls-key with a certificate
// of a locally made CA, the CLI trusting that CA with --admin-ca or SLUICE_ADMIN_CA (and saying so when it does not),
// tokens over TLS, a new certificate picked up without a restart, and an unusable pair refused at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { cleanupScope, runCli, startSluice, tempDir, waitFor } from './harness.js';
import { issueCert, makeCa, needsOpenssl, peerFingerprint, replaceCert } from './trust-fixtures.js';

const cleanup = cleanupScope();

test('the admin API over HTTPS with a certificate of our own CA: the CLI trusts it with --admin-ca, a new certificate is picked up live', needsOpenssl, async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const ca = makeCa(dir.path, 'ca');
  const served = { cert: join(dir.path, 'admin.crt'), key: join(dir.path, 'admin.key') };
  replaceCert(served, issueCert(dir.path, ca, 'admin-1', 'serverAuth'));
  const sluice = await startSluice({
    yaml: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n',
    args: ['--admin-tls-cert', served.cert, '--admin-tls-key', served.key],
  });
  cleanup.add(() => sluice.stop());
  assert.match(sluice.adminUrl, /^https:\/\/127\.0\.0\.1:\d+$/, 'the ready line names the https address');
  const caPem = readFileSync(ca.cert, 'utf8');
  const trusted = new Agent({ connect: { ca: caPem } });
  cleanup.add(() => trusted.close());
  assert.equal((await undiciFetch(`${sluice.adminUrl}/livez`, { dispatcher: trusted })).status, 200);
  // Plain HTTP to the port gets no answer from the admin API.
  await assert.rejects(fetch(sluice.adminUrl.replace('https:', 'http:') + '/livez'));

  const server = ['--server', sluice.adminUrl];
  const untrusted = await runCli(['get', 'brokers', ...server]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /^sluice: cannot verify the certificate of the Sluice admin API at https:.*: pass the CA that signed it with --admin-ca or SLUICE_ADMIN_CA\n$/);
  const got = await runCli(['get', 'brokers', ...server, '--admin-ca', ca.cert]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /^NAME\s+URL\s+READY/);
  const viaEnv = await runCli(['dlq', 'purge', 'broker:default', '--all', ...server, '--token', sluice.adminToken], { env: { SLUICE_ADMIN_CA: ca.cert } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, /purged 0/);
  // The token rules hold over TLS as over plain HTTP.
  const refused = await runCli(['dlq', 'purge', 'broker:default', '--all', ...server, '--admin-ca', ca.cert], { env: { SLUICE_DATA_DIR: join(dir.path, 'nowhere') } });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /HTTP 401/);

  // A new certificate from the same CA replaces the old one without a restart.
  const port = Number(new URL(sluice.adminUrl).port);
  const before = await peerFingerprint(port, caPem);
  replaceCert(served, issueCert(dir.path, ca, 'admin-2', 'serverAuth'));
  await waitFor(async () => (await peerFingerprint(port, caPem)) !== before, 'the admin API to serve the new certificate', 15_000);
  const after2 = await runCli(['get', 'brokers', ...server, '--admin-ca', ca.cert]);
  assert.equal(after2.code, 0, after2.stderr);
});

test('an admin certificate that cannot be read stops sluice run with SLUICE_TLS_INVALID', needsOpenssl, async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  writeFileSync(join(dir.path, 'c.yaml'), 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n');
  const r = await runCli([
    'run',
    '-f',
    join(dir.path, 'c.yaml'),
    '--port',
    '0',
    '--admin-port',
    '0',
    '--data-dir',
    join(dir.path, 'data'),
    '--admin-tls-cert',
    join(dir.path, 'none.crt'),
    '--admin-tls-key',
    join(dir.path, 'none.key'),
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^sluice: --admin-tls-cert\/--admin-tls-key: cannot read the TLS certificate or key/);
});

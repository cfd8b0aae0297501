// The admin API over HTTPS (docs/security.md "The admin API"): --admin-tls-cert/--admin-tls-key with a certificate
// of a locally made CA, the CLI trusting that CA with --admin-ca or SLUICE_ADMIN_CA (and saying so when it does not),
// tokens over TLS, a new certificate picked up without a restart, and an unusable pair refused at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { cleanupScope, runCli, startSluice, tempDir, waitFor } from './harness.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const cleanup = cleanupScope();

const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });

/** A CA of our own: key and self-signed certificate. */
function makeCa(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=Sluice test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', key, '-out', cert]);
  return { cert, key };
}

/** A server certificate for 127.0.0.1 and localhost signed by `ca`. */
function issue(dir: string, ca: { cert: string; key: string }, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

function fingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

test('the admin API over HTTPS with a certificate of our own CA: the CLI trusts it with --admin-ca, a new certificate is picked up live', { skip: hasOpenssl || process.env['CI'] === 'true' ? false : 'openssl is not installed' }, async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const ca = makeCa(dir.path);
  const first = issue(dir.path, ca, 'admin-1');
  const certFile = join(dir.path, 'admin.crt');
  const keyFile = join(dir.path, 'admin.key');
  writeFileSync(certFile, readFileSync(first.cert));
  writeFileSync(keyFile, readFileSync(first.key));
  const sluice = await startSluice({
    yaml: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n',
    args: ['--admin-tls-cert', certFile, '--admin-tls-key', keyFile],
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
  const before = await fingerprint(port, caPem);
  const second = issue(dir.path, ca, 'admin-2');
  writeFileSync(keyFile, readFileSync(second.key));
  writeFileSync(certFile, readFileSync(second.cert));
  await waitFor(async () => (await fingerprint(port, caPem)) !== before, 'the admin API to serve the new certificate', 15_000);
  const after2 = await runCli(['get', 'brokers', ...server, '--admin-ca', ca.cert]);
  assert.equal(after2.code, 0, after2.stderr);
});

test('an admin certificate that cannot be read stops sluice run with SLUICE_TLS_INVALID', { skip: hasOpenssl || process.env['CI'] === 'true' ? false : 'openssl is not installed' }, async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  writeFileSync(join(dir.path, 'c.yaml'), 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n');
  const r = await runCli(['run', '-f', join(dir.path, 'c.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'data'), '--admin-tls-cert', join(dir.path, 'none.crt'), '--admin-tls-key', join(dir.path, 'none.key')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^sluice: --admin-tls-cert\/--admin-tls-key: cannot read the TLS certificate or key/);
});

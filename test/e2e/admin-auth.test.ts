// Authentication and authorization of the admin API against a spawned `sluice run` (docs/security.md "The admin
// API"): the generated token and where the CLI finds it, token files with view and edit roles, 401/403 as JSON and as
// one-line CLI errors, anonymous reads on loopback only, a change from another Origin refused, a rotated token file
// picked up, and refusals at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { cleanupScope, runCli, tempDir, waitFor, type SluiceProcess } from './harness.js';
import { startSluiceIn } from './fixtures.js';

const YAML = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
`;

const cleanup = cleanupScope();

const start = (args: string[] = [], dataDir?: string): Promise<SluiceProcess> => startSluiceIn(cleanup, { yaml: YAML, args, ...(dataDir ? { dataDir } : {}) });

const purge = (sluice: SluiceProcess, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${sluice.adminUrl}/api/v1/deadletters/default/default/purge`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"all":true}' });

async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

test('by default: a generated edit token (0600) in the data dir, reads open on loopback, changes need the token; the CLI finds it through SLUICE_DATA_DIR', async () => {
  const sluice = await start();
  const tokenFile = join(sluice.dataDir, 'store', 'admin-token');
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  assert.ok(sluice.adminToken.length >= 32);
  assert.match(sluice.output(), /admin API token generated in .*admin-token \(mode 0600\)/);
  assert.doesNotMatch(sluice.output(), new RegExp(sluice.adminToken), 'the token itself is never logged');

  assert.equal((await fetch(`${sluice.adminUrl}/api/v1/brokers`)).status, 200);
  const anon = await purge(sluice);
  assert.equal(anon.status, 401);
  assert.equal(await codeOf(anon), 'SLUICE_ADMIN_UNAUTHORIZED');
  assert.equal((await purge(sluice, sluice.adminHeaders)).status, 200);
  assert.match(sluice.output(), /admin API: POST \/api\/v1\/deadletters\/default\/default\/purge by generated/, 'changes are logged with who made them');

  // The CLI: reads work without a token; a change without one is a one-line error saying how to pass a token.
  const list = await runCli(['dlq', 'list', 'broker:default', '--server', sluice.adminUrl]);
  assert.equal(list.code, 0, list.stderr);
  const refused = await runCli(['dlq', 'purge', 'broker:default', '--all', '--server', sluice.adminUrl], { env: { SLUICE_DATA_DIR: join(sluice.dataDir, 'nowhere') } });
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr.split('\n').filter((l) => l !== '').length, 1, refused.stderr);
  assert.match(refused.stderr, /^sluice dlq: .*HTTP 401.*Pass a token with --token or SLUICE_ADMIN_TOKEN/);
  // With SLUICE_DATA_DIR naming the data dir, the generated token is read without --token.
  const found = await runCli(['dlq', 'purge', 'broker:default', '--all', '--server', sluice.adminUrl], { env: { SLUICE_DATA_DIR: join(sluice.dataDir, 'store') } });
  assert.equal(found.code, 0, found.stderr);
  assert.match(found.stdout, /purged 0/);
  // ... but only to a loopback server: the local token is not handed to another host (here a server on this
  // machine's non-loopback address that records what it gets).
  const address = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  if (address !== undefined) {
    const seen: Array<string | undefined> = [];
    const other = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"purged":0}');
    });
    await new Promise<void>((r) => other.listen(0, address, r));
    cleanup.add(() => new Promise((r) => other.close(r)));
    const elsewhere = await runCli(['dlq', 'purge', 'broker:default', '--all', '--server', `http://${address}:${(other.address() as AddressInfo).port}`], {
      env: { SLUICE_DATA_DIR: join(sluice.dataDir, 'store') },
    });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.deepEqual(seen, [undefined]);
  }
  // A generated token of another local sluice (a stale data dir) is not accepted: reads still work, a change says how.
  const stale = join(sluice.dataDir, 'other-instance');
  mkdirSync(stale);
  writeFileSync(join(stale, 'admin-token'), 'token-of-another-sluice-0123456789abcdef\n');
  const staleRead = await runCli(['dlq', 'list', 'broker:default', '--server', sluice.adminUrl], { env: { SLUICE_DATA_DIR: stale } });
  assert.equal(staleRead.code, 0, staleRead.stderr);
  const staleChange = await runCli(['dlq', 'purge', 'broker:default', '--all', '--server', sluice.adminUrl], { env: { SLUICE_DATA_DIR: stale } });
  assert.equal(staleChange.code, 1);
  assert.match(staleChange.stderr, /HTTP 401\)\. Pass a token with --token or SLUICE_ADMIN_TOKEN/);
  // SLUICE_ADMIN_TOKEN works as --token does.
  const viaEnv = await runCli(['dlq', 'purge', 'broker:default', '--all', '--server', sluice.adminUrl], {
    env: { SLUICE_ADMIN_TOKEN: sluice.adminToken, SLUICE_DATA_DIR: join(sluice.dataDir, 'nowhere') },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);

  // A change from another Origin is refused even with the token (a cross-site request).
  const cross = await purge(sluice, { ...sluice.adminHeaders, origin: 'https://attacker.example' });
  assert.equal(cross.status, 403);
  assert.equal(await codeOf(cross), 'SLUICE_ADMIN_CROSS_ORIGIN');
});

test('a token file with view and edit tokens and --admin-anonymous none: 401 without, 403 for view on a change; a rotated file is picked up', async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const file = join(dir.path, 'tokens');
  const edit = 'edit-0123456789abcdef-token';
  const view = 'view-0123456789abcdef-token';
  writeFileSync(file, `# admin API tokens\n${edit},edit,ops\n${view},view,grafana\n`);
  // A token generated by an earlier start in the same data dir would no longer work: it is removed.
  mkdirSync(join(dir.path, 'run', 'store'), { recursive: true });
  writeFileSync(join(dir.path, 'run', 'store', 'admin-token'), 'stale-token-from-before-0123456789\n');
  const sluice = await start(['--admin-token-file', file, '--admin-anonymous', 'none'], join(dir.path, 'run'));
  assert.equal(existsSync(join(sluice.dataDir, 'store', 'admin-token')), false);

  const anon = await fetch(`${sluice.adminUrl}/api/v1/brokers`);
  assert.equal(anon.status, 401);
  assert.equal(await codeOf(anon), 'SLUICE_ADMIN_UNAUTHORIZED');
  assert.equal((await fetch(`${sluice.adminUrl}/readyz`)).status, 200, 'probes need no token');
  assert.equal((await fetch(`${sluice.adminUrl}/ui/`)).status, 200, 'the dashboard page loads, to ask for a token');
  const asViewer = await purge(sluice, { authorization: `Bearer ${view}` });
  assert.equal(asViewer.status, 403);
  assert.equal(await codeOf(asViewer), 'SLUICE_ADMIN_FORBIDDEN');
  assert.equal((await purge(sluice, { authorization: `Bearer ${edit}` })).status, 200);

  const server = ['--server', sluice.adminUrl];
  const noToken = await runCli(['get', 'brokers', ...server]);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /^sluice: the admin API at .* refused the request: the admin API needs a token.*HTTP 401\)\. Pass a token with --token or SLUICE_ADMIN_TOKEN/);
  const got = await runCli(['get', 'brokers', ...server, '--token', view]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /^NAME\s+URL\s+READY/);
  const described = await runCli(['describe', 'broker', 'default', ...server, '--token', view]);
  assert.equal(described.code, 0, described.stderr);
  const viewerPurge = await runCli(['dlq', 'purge', 'broker:default', '--all', ...server, '--token', view]);
  assert.equal(viewerPurge.code, 1);
  assert.match(viewerPurge.stderr, /^sluice dlq: .*needs the edit role; token grafana has view \(SLUICE_ADMIN_FORBIDDEN, HTTP 403\)\. Pass a token with the edit role/);
  const replay = await runCli(['replay', 'broker:default', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', ...server, '--token', view]);
  assert.equal(replay.code, 1);
  assert.match(replay.stderr, /HTTP 403/);
  const editorPurge = await runCli(['dlq', 'purge', 'broker:default', '--all', ...server, '--token', edit]);
  assert.equal(editorPurge.code, 0, editorPurge.stderr);

  // Rotation: the file is read again when it changes; the old token stops working, the new one works.
  const rotated = 'rotated-0123456789abcdef-token';
  writeFileSync(file, `${rotated},edit,ops\n`);
  await waitFor(async () => (await purge(sluice, { authorization: `Bearer ${rotated}` })).status === 200, 'the rotated token to be accepted', 15_000);
  assert.equal((await purge(sluice, { authorization: `Bearer ${edit}` })).status, 401);
  // A broken file keeps the tokens in force, with an error in the log.
  writeFileSync(file, 'short\n');
  await waitFor(() => /admin API tokens not reloaded: keeping the previous ones/.test(sluice.output()), 'the refused reload in the log', 15_000);
  assert.equal((await purge(sluice, { authorization: `Bearer ${rotated}` })).status, 200);
});

test('on a non-loopback address nothing is readable without a token, and the log warns about plain HTTP', async () => {
  const sluice = await start(['--admin-host', '0.0.0.0']);
  assert.match(sluice.output(), /the admin API listens on 0\.0\.0\.0 over plain HTTP: its tokens cross the network in clear/);
  const anon = await fetch(`${sluice.adminUrl}/api/v1/brokers`);
  assert.equal(anon.status, 401);
  assert.equal((await fetch(`${sluice.adminUrl}/api/v1/brokers`, { headers: sluice.adminHeaders })).status, 200);
  const open = await start(['--admin-host', '0.0.0.0', '--admin-anonymous', 'view']);
  assert.match(open.output(), /lets anyone who can reach it read every resource, dead letter and live event without a token/);
  assert.equal((await fetch(`${open.adminUrl}/api/v1/brokers`)).status, 200);
});

/** A raw request with a chosen Host header (fetch does not let a caller set Host). */
function rawRequest(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"all":true}' : undefined);
  });
}

test('DNS rebinding: another Host is refused on loopback; a name given with --admin-allowed-host (a reverse proxy) is answered and its pages may act', async () => {
  const sluice = await start(['--admin-allowed-host', 'sluice.example.com']);
  const url = `${sluice.adminUrl}/api/v1/brokers`;
  const rebound = await rawRequest(url, 'GET', { host: 'attacker.example' });
  assert.equal(rebound.status, 403);
  assert.match(rebound.body, /SLUICE_ADMIN_HOST/);
  assert.equal((await rawRequest(url, 'GET', { host: 'sluice.example.com' })).status, 200);
  const purgeUrl = `${sluice.adminUrl}/api/v1/deadletters/default/default/purge`;
  const proxied = await rawRequest(purgeUrl, 'POST', { host: '127.0.0.1', origin: 'https://sluice.example.com', 'content-type': 'application/json', ...sluice.adminHeaders });
  assert.equal(proxied.status, 200, proxied.body);
  const otherLocal = await rawRequest(purgeUrl, 'POST', { host: '127.0.0.1', origin: 'http://localhost:3000', 'content-type': 'application/json', ...sluice.adminHeaders });
  assert.equal(otherLocal.status, 403);
  assert.match(otherLocal.body, /SLUICE_ADMIN_CROSS_ORIGIN/);
});

test('refused at start: a bad token file names file:line (exit 1); --admin-tls-cert without a key is a usage error (exit 2)', async () => {
  const dir = tempDir();
  cleanup.add(() => dir.remove());
  const file = join(dir.path, 'tokens');
  writeFileSync(file, 'edit-0123456789abcdef-token,root\n');
  writeFileSync(join(dir.path, 'c.yaml'), YAML);
  const bad = await runCli(['run', '-f', join(dir.path, 'c.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', join(dir.path, 'data'), '--admin-token-file', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`${file}:1: role must be view or edit, got "root"`));
  const usage = await runCli(['run', '-f', join(dir.path, 'c.yaml'), '--admin-tls-cert', file]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--admin-tls-cert and --admin-tls-key go together/);
  assert.equal(readFileSync(file, 'utf8'), 'edit-0123456789abcdef-token,root\n');
});

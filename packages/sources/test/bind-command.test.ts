import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSluiceError } from '@sluice/core';
import { loadConfig } from '@sluice/config';
import { resolveBinding, resolveSinkArgument, runBoundCommand } from '../src/bind-command.js';

test('--sink: URLs as they are, broker:NAME[:NAMESPACE] on the server', () => {
  assert.equal(resolveSinkArgument('http://h:1/x', 'http://s:8080'), 'http://h:1/x');
  assert.equal(resolveSinkArgument('broker:default', 'http://s:8080/'), 'http://s:8080/default/default');
  assert.equal(resolveSinkArgument('broker:b1:team-a', 'http://s:8080'), 'http://s:8080/team-a/b1');
  assert.throws(
    () => resolveSinkArgument('ksvc:x', 'http://s'),
    (e) => isSluiceError(e, 'SLUICE_BIND_USAGE'),
  );
});

test('resolveBinding: variables, and the caller may not override the Knative ones', () => {
  const b = resolveBinding({ sink: 'broker:default', server: 'http://127.0.0.1:9', ceOverride: ['team=a'], sinkTimeout: 7 }, undefined, { PATH: '/bin', K_SINK: 'stale', NAME: 'mine' });
  assert.equal(b.env['K_SINK'], 'http://127.0.0.1:9/default/default');
  assert.equal(b.env['K_CE_OVERRIDES'], '{"extensions":{"team":"a"}}');
  assert.equal(b.env['K_SINK_TIMEOUT'], '7');
  assert.equal(b.env['NAME'], 'mine');
  assert.equal(b.env['NAMESPACE'], 'default');
  assert.equal(b.env['PATH'], '/bin');
  assert.throws(() => resolveBinding({ server: 'http://x', ceOverride: [] }, undefined), /exactly one of --sink and --binding/);
});

test('resolveBinding --binding: finds the SinkBinding by name or by its Process subject', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bind-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'b.yaml');
  writeFileSync(
    file,
    `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: { name: bind-worker, namespace: team-a }
spec:
  subject: { apiVersion: sluice.dev/v1alpha1, kind: Process, name: worker }
  sink:
    ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: main }
    CACerts: PEM
  ceOverrides: { extensions: { team: a, env: dev } }
`,
  );
  const { config, errors } = loadConfig([file]);
  assert.deepEqual(errors, []);
  for (const name of ['bind-worker:team-a', 'worker:team-a']) {
    const b = resolveBinding({ binding: name, server: 'http://127.0.0.1:9', ceOverride: ['env=prod'] }, config, {});
    assert.equal(b.sinkUrl, 'http://127.0.0.1:9/team-a/main');
    assert.equal(b.env['K_CE_OVERRIDES'], '{"extensions":{"team":"a","env":"prod"}}');
    assert.equal(b.env['K_CA_CERTS'], 'PEM');
    assert.equal(b.env['NAMESPACE'], 'team-a');
    assert.equal(b.env['NAME'], 'bind-worker');
  }
  assert.throws(() => resolveBinding({ binding: 'worker', server: 'http://x', ceOverride: [] }, config, {}), /no SinkBinding "default\/worker"/);
  // The OIDC token sluice run keeps for the SinkBinding in its data dir is passed when it is there, and only then.
  const dataDir = join(dir, 'data');
  assert.equal(resolveBinding({ binding: 'worker:team-a', server: 'http://x', ceOverride: [], dataDir }, config, {}).env['SLUICE_OIDC_TOKEN_FILE'], undefined);
  const tokenDir = join(dataDir, 'oidc-tokens', 'sinkbinding', 'team-a', 'bind-worker');
  mkdirSync(tokenDir, { recursive: true });
  writeFileSync(join(tokenDir, 'token'), 'jwt');
  const withToken = resolveBinding({ binding: 'worker:team-a', server: 'http://x', ceOverride: [], dataDir }, config, {});
  assert.equal(withToken.env['SLUICE_OIDC_TOKEN_FILE'], join(tokenDir, 'token'));
  assert.equal(withToken.tokenFile, join(tokenDir, 'token'));
  // --sink names no SinkBinding, so no identity: nothing is passed.
  assert.equal(resolveBinding({ sink: 'broker:main:team-a', server: 'http://x', ceOverride: [], dataDir }, undefined, {}).env['SLUICE_OIDC_TOKEN_FILE'], undefined);
});

test('runBoundCommand: exit codes of the child, 127 when not found', async () => {
  const env = { PATH: process.env['PATH'] ?? '' };
  assert.equal(await runBoundCommand([process.execPath, '-e', 'process.exit(7)'], env, { interactive: false }), 7);
  assert.equal(await runBoundCommand([process.execPath, '-e', 'process.kill(process.pid, "SIGKILL")'], env, { interactive: false }), 137);
  assert.equal(await runBoundCommand(['/no/such/command'], env, { interactive: false }), 127);
  await assert.rejects(runBoundCommand([], env), /missing the command/);
});

test('sluice bind forwards signals to the child and exits with its code', async () => {
  // A parent process running runBoundCommand, signalled like a user would; the child reports the signal it got.
  const script = `
    import { runBoundCommand } from ${JSON.stringify(new URL('../src/bind-command.ts', import.meta.url).href)};
    const child = 'process.on("SIGTERM", () => { console.log("child got SIGTERM"); process.exit(42) }); console.log("ready"); setInterval(() => {}, 1000)';
    process.exitCode = await runBoundCommand([process.execPath, '-e', child], process.env, { interactive: false });
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('ready')) parent.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      parent.kill('SIGKILL');
      reject(new Error('timed out'));
    }, 15_000);
    parent.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.match(out, /child got SIGTERM/);
  assert.equal(code, 42);
});

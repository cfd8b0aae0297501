// OIDC identity of the processes Sluice starts (docs/security.md "Tokens for the processes Sluice starts"): with
// --authentication-oidc enabled a ContainerSource's process, a workload a SinkBinding binds, or a process started by
// hand with `sluice bind --binding`, finds a token naming the source or binding in the file that
// SLUICE_OIDC_TOKEN_FILE names, sends with it to a broker, and the broker's EventPolicy can name the sender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { runCli, startSluice, startSubscriber, tempDir, testEngine, waitFor } from './harness.js';
import { broker, brokerRef, documents, eventPolicy, resource, trigger, type EventPolicySpec, type Ref } from './manifests.js';

// Reads the token file, sends one event to K_SINK with it, prints the answer's status, then stays up.
const SEND = [
  "const fs=require('fs');",
  'const token=fs.readFileSync(process.env.SLUICE_OIDC_TOKEN_FILE,"utf8");',
  "fetch(process.env.K_SINK,{method:'POST',headers:{authorization:'Bearer '+token,'ce-specversion':'1.0','ce-id':process.env.EVENT_ID||process.env.NAME,'ce-source':'/proc','ce-type':'t','content-type':'application/json'},body:'{}'})",
  ".then((r)=>console.log('sent status '+r.status));",
  'setInterval(()=>{},1e6);',
].join('');

const containerSource = (name: string, container: object): string =>
  resource('sources.knative.dev/v1', 'ContainerSource', name, { template: { spec: { containers: [{ name: 'main', ...container }] } }, sink: { ref: brokerRef('guarded') } });

const source = (name: string): string => containerSource(name, { command: ['node', '-e', SEND] });

const sourceRef = (kind: 'ContainerSource' | 'SinkBinding', name: string): Ref => ({ apiVersion: 'sources.knative.dev/v1', kind, name });

/** The broker `guarded` with its trigger to `subscriber`, and an EventPolicy. */
const guarded = (policy: string, spec: EventPolicySpec, subscriber: string): string => documents(broker('guarded'), eventPolicy(policy, spec), trigger('out', { broker: 'guarded', subscriber }));

test("a ContainerSource process sends with the token Sluice keeps for it; the broker's EventPolicy names the source", async () => {
  const sub = await startSubscriber();
  const yaml = documents(guarded('emitter-only', { to: [brokerRef('guarded')], from: [sourceRef('ContainerSource', 'emitter')] }, sub.url), source('emitter'), source('intruder'));
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled'] });
  try {
    await sub.waitForCount(1);
    assert.deepEqual(sub.ids(), ['emitter']);
    await waitFor(() => /sent status 202/.test(sluice.output()) && /sent status 403/.test(sluice.output()), 'both processes to have sent');
    // The token file: owner-only, in the data directory; its token names the source and the broker's audience.
    const file = join(sluice.dataDir, 'store', 'oidc-tokens', 'containersource', 'default', 'emitter', 'token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const claims = decodeJwt(readFileSync(file, 'utf8'));
    assert.equal(claims.sub, 'system:serviceaccount:default:emitter-oidc-sources.knative.dev-containersource');
    assert.equal(claims.aud, 'eventing.knative.dev/broker/default/guarded');
    assert.equal(sub.received.length, 1, 'the intruder was refused');
  } finally {
    await sluice.stop();
    await sub.close();
  }
});

test('a workload bound by a SinkBinding sends with the token kept for the binding, which an EventPolicy names', async () => {
  const sub = await startSubscriber();
  const yaml = documents(
    guarded('binding-only', { from: [sourceRef('SinkBinding', 'bind-app')] }, sub.url),
    resource('v1', 'Pod', 'app', { restartPolicy: 'Never', containers: [{ name: 'main', command: ['node', '-e', SEND], env: [{ name: 'EVENT_ID', value: 'from-pod' }] }] }),
    resource('sources.knative.dev/v1', 'SinkBinding', 'bind-app', { subject: { apiVersion: 'v1', kind: 'Pod', name: 'app' }, sink: { ref: brokerRef('guarded') } }),
  );
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled'] });
  try {
    await sub.waitForCount(1, 30_000);
    assert.deepEqual(sub.ids(), ['from-pod']);
    const file = join(sluice.dataDir, 'store', 'oidc-tokens', 'sinkbinding', 'default', 'bind-app', 'token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(decodeJwt(readFileSync(file, 'utf8')).sub, 'system:serviceaccount:default:bind-app-oidc-sources.knative.dev-sinkbinding');
  } finally {
    await sluice.stop();
    await sub.close();
  }
});

test('a ContainerSource run as a container reads the token at /oidc/token, where Knative mounts it', async (t) => {
  const e = await testEngine(t);
  if (!e) return;
  const sub = await startSubscriber();
  const yaml = documents(guarded('image-only', { from: [sourceRef('ContainerSource', 'image')] }, sub.url), containerSource('image', { image: e.image }));
  const sluice = await startSluice({ yaml, args: ['--authentication-oidc', 'enabled'], env: e.env });
  try {
    await sub.waitForCount(1, 60_000);
    assert.equal(sub.received[0]!.event?.attributes['source'], '/ce-app/image');
    // The container saw the variable pointing at the mount, not the host path.
    assert.match(String(sub.received[0]!.headers['ce-envnames']), /sluiceoidctokenfile/);
  } finally {
    await sluice.stop();
    await sub.close();
  }
});

// Sends one event to K_SINK, with the token of SLUICE_OIDC_TOKEN_FILE when there is one, prints the status and exits.
const SEND_ONCE = [
  "const fs=require('fs');",
  'const f=process.env.SLUICE_OIDC_TOKEN_FILE;',
  "const auth=f?{authorization:'Bearer '+fs.readFileSync(f,'utf8')}:{};",
  "fetch(process.env.K_SINK,{method:'POST',headers:{...auth,'ce-specversion':'1.0','ce-id':process.env.NAME+'-'+process.pid,'ce-source':'/bind','ce-type':'t','content-type':'application/json'},body:'{}'})",
  ".then((r)=>{console.log('sent status '+r.status);process.exit(0)});",
].join('');

test('a process started with sluice bind --binding sends with the token sluice run keeps for the SinkBinding, which an EventPolicy names', async () => {
  const sub = await startSubscriber();
  const binding = (name: string): string =>
    resource('sources.knative.dev/v1', 'SinkBinding', name, { subject: { apiVersion: 'sluice.dev/v1alpha1', kind: 'Process', name }, sink: { ref: brokerRef('guarded') } });
  const yaml = documents(guarded('producer-only', { to: [brokerRef('guarded')], from: [sourceRef('SinkBinding', 'producer')] }, sub.url), binding('producer'), binding('stranger'));
  const dir = tempDir('sluice-bind-oidc-');
  const sluice = await startSluice({ yaml, dataDir: dir.path, args: ['--authentication-oidc', 'enabled'] });
  try {
    const bind = (how: string[]) => runCli(['bind', ...how, '--server', sluice.url, '--data-dir', join(sluice.dataDir, 'store'), '--', process.execPath, '-e', SEND_ONCE]);
    const file = join(sluice.dataDir, 'config.yaml');
    const tokenFile = join(sluice.dataDir, 'store', 'oidc-tokens', 'sinkbinding', 'default', 'producer', 'token');
    const ok = await bind(['--binding', 'producer', '-f', file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /sent status 202/);
    assert.ok(ok.stderr.includes(`SLUICE_OIDC_TOKEN_FILE=${tokenFile}`), ok.stderr);
    const claims = decodeJwt(readFileSync(tokenFile, 'utf8'));
    assert.equal(claims.sub, 'system:serviceaccount:default:producer-oidc-sources.knative.dev-sinkbinding');
    assert.equal(claims.aud, 'eventing.knative.dev/broker/default/guarded');
    // Another SinkBinding's token names another sender: the policy refuses it.
    const stranger = await bind(['--binding', 'stranger', '-f', file]);
    assert.match(stranger.stdout, /sent status 403/);
    // --sink names no SinkBinding, so the process has no identity and no token.
    const anonymous = await bind(['--sink', 'broker:guarded']);
    assert.doesNotMatch(anonymous.stderr, /SLUICE_OIDC_TOKEN_FILE/);
    assert.match(anonymous.stdout, /sent status 401/);
    await sub.waitForCount(1);
    assert.match(sub.ids()[0]!, /^producer-/);
    // A live change of another SinkBinding restarts the components, and this one's file stays as it is meanwhile (a
    // bound process may read it any time); once sluice run stops, it is gone.
    const before = statSync(tokenFile).ino;
    writeFileSync(file, `${yaml}  ceOverrides:\n    extensions:\n      changed: "yes"\n`);
    sluice.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: applied: SinkBinding default\/stranger configured/.test(sluice.output()), 'the SIGHUP record', 60_000);
    assert.equal(statSync(tokenFile).ino, before);
    assert.match((await bind(['--binding', 'producer', '-f', file])).stdout, /sent status 202/);
    assert.equal(await sluice.stop(), 0);
    assert.equal(existsSync(tokenFile), false);
  } finally {
    await sluice.stop();
    await sub.close();
    dir.remove();
  }
});

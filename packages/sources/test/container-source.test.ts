import { test } from 'node:test';
import type { SluiceConfig } from '@sluice/config';
import assert from 'node:assert/strict';
import { ContainerSourceComponent, checkContainerSource, containerEnvironment, expandVariables, type ContainerSource } from '../src/container-source.js';
import { ConfigValues, engineProcessSpec } from '@sluice/workloads';
import { bindingVariables } from '../src/sink-binding.js';
import { waitFor } from '@sluice/testing';
import { startSinkAndRuntime } from './helpers.js';

function cs(containers: ContainerSource['spec']['template']['spec']['containers'], annotations?: Record<string, string>): ContainerSource {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ContainerSource',
    metadata: { name: 'src', ...(annotations ? { annotations } : {}) },
    spec: { template: { spec: { containers } }, sink: { uri: 'http://127.0.0.1:1/' }, ceOverrides: { extensions: { team: 'a' } } },
  };
}

test('$(VAR) expansion as the kubelet does it', () => {
  const vars = { K_SINK: 'http://x/', A: 'a' };
  assert.equal(expandVariables('--sink=$(K_SINK)', vars), '--sink=http://x/');
  assert.equal(expandVariables('$(A)$(A)-$(MISSING)', vars), 'aa-$(MISSING)');
  assert.equal(expandVariables('$$(A) costs $$5', vars), '$(A) costs $5');
});

test('container env: base, binding defaults, own env (expanded), injected variables last', () => {
  const binding = bindingVariables({ sinkUrl: 'http://sink/', ceOverrides: { extensions: { a: 'b' } }, caCerts: 'PEM', namespace: 'ns', name: 'src', sinkTimeoutSeconds: 5 });
  const { env, own } = containerEnvironment({ env: [{ name: 'NAME', value: 'mine' }, { name: 'TARGET', value: '$(K_SINK)events' }, { name: 'EMPTY' }] }, binding, {
    PATH: '/bin',
    K_SINK: 'from-parent',
    NAMESPACE: 'parent',
  });
  assert.equal(env['PATH'], '/bin');
  assert.equal(env['K_SINK'], 'http://sink/');
  assert.equal(env['K_CE_OVERRIDES'], '{"extensions":{"a":"b"}}');
  assert.equal(env['K_CA_CERTS'], 'PEM');
  assert.equal(env['K_SINK_TIMEOUT'], '5');
  assert.equal(env['NAMESPACE'], 'ns');
  assert.equal(env['NAME'], 'mine', 'the user may override NAME');
  assert.equal(env['TARGET'], 'http://sink/events');
  assert.equal(env['EMPTY'], '');
  assert.deepEqual(Object.keys(own).sort(), ['EMPTY', 'K_CA_CERTS', 'K_CE_OVERRIDES', 'K_SINK', 'K_SINK_TIMEOUT', 'NAME', 'NAMESPACE', 'TARGET']);
});

test('bindingVariables leaves out what is not set', () => {
  const { injected, defaults } = bindingVariables({ sinkUrl: 'http://s/', namespace: 'default', name: 'x' });
  assert.deepEqual(injected, { K_SINK: 'http://s/' });
  assert.deepEqual(defaults, { NAMESPACE: 'default', NAME: 'x' });
});

test('checkContainerSource', () => {
  const msgs = (s: ContainerSource): string[] => checkContainerSource(s).map((p) => `${p.path.join('.')}: ${p.message}`);
  assert.deepEqual(msgs(cs([{ name: 'a', command: ['node', 'x.mjs'] }])), []);
  assert.deepEqual(msgs(cs([{ name: 'a', image: 'img' }])), [], 'an image without a command runs through the engine');
  assert.match(msgs(cs([{ name: 'a', image: 'img' }], { 'sluice.dev/runtime': 'process' }))[0]!, /^spec\.template\.spec\.containers\.0\.image: container "a": missing command/);
  assert.match(msgs(cs([{ args: ['x'] }]))[0]!, /^spec\.template\.spec\.containers\.0: container "src-0": needs a command/);
  assert.deepEqual(msgs(cs([{ name: 'a', image: 'img' }], { 'sluice.dev/runtime': 'container' })), []);
  assert.match(msgs(cs([{ name: 'a', command: ['x'] }], { 'sluice.dev/runtime': 'container' }))[0]!, /missing image/);
  assert.match(msgs(cs([{ name: 'a', command: ['x'] }], { 'sluice.dev/runtime': 'vm' }))[0]!, /must be "process" or "container"/);
  assert.match(msgs(cs([{ name: 'a', command: ['x'] }], { 'sluice.dev/sink-timeout': '1.5' }))[0]!, /whole number of seconds/);
  assert.match(
    msgs(
      cs([
        { name: 'a', command: ['x'] },
        { name: 'a', command: ['y'] },
      ]),
    )[0]!,
    /duplicate container name "a"/,
  );
  assert.match(msgs(cs([{ name: 'a', command: ['x'], env: [{ name: 'K_SINK', value: 'x' }] }]))[0]!, /env\.0\.name: K_SINK is set by Sluice/);
});

test('container engine command line: host network, env by name only, entrypoint from command', () => {
  const spec = engineProcessSpec('/usr/bin/docker', { image: 'img:1', command: ['/bin/app', '--x'], args: ['--y'], envNames: ['K_SINK', 'SECRET'], workingDir: '/w' }, { K_SINK: 'u', SECRET: 's' });
  assert.equal(spec.command, '/usr/bin/docker');
  assert.deepEqual(spec.args, ['run', '--rm', '--network', 'host', '-e', 'K_SINK', '-e', 'SECRET', '-w', '/w', '--entrypoint', '/bin/app', 'img:1', '--x', '--y']);
  assert.ok(!spec.args.some((a) => a.includes('=s')), 'values are not on the command line');
  assert.deepEqual(engineProcessSpec('podman', { image: 'img', args: ['a'], envNames: [] }, {}).args, ['run', '--rm', '--network', 'host', 'img', 'a']);
});

test('ContainerSourceComponent runs the command with the binding and stops it', async (t) => {
  const { sink, logger, rt } = await startSinkAndRuntime(t);
  const src = cs([
    {
      name: 'poster',
      command: [process.execPath, '-e'],
      args: [
        'fetch(process.env.K_SINK, { method: "POST", headers: { "ce-specversion": "1.0", "ce-id": "1", "ce-type": "t", "ce-source": "s", "x-overrides": process.env.K_CE_OVERRIDES, "x-arg": process.argv[1] }, body: "hi" }).then(() => setInterval(() => {}, 1000))',
        '$(NAMESPACE)/$(NAME)',
      ],
    },
  ]);
  src.spec.sink = { uri: new URL('in', sink.url).toString() };
  const c = new ContainerSourceComponent(src);
  await c.start(rt.ctx);
  await waitFor(() => sink.received.length === 1, 'the child to post', 5000);
  const r = sink.received[0]!;
  assert.equal(r.url, '/in');
  assert.equal(r.headers['x-overrides'], '{"extensions":{"team":"a"}}');
  assert.equal(r.headers['x-arg'], 'default/src');
  const pid = c.pids()['poster']!;
  assert.ok(pid > 0);
  await c.stop();
  assert.throws(() => process.kill(pid, 0));
  assert.ok(logger.lines.some((l) => l.bindings['container'] === 'poster' && l.msg === 'process started'));
});

test('ContainerSourceComponent: env valueFrom reads the configuration’s Secrets; Sluice’s own environment is not passed on', async (t) => {
  const { sink, rt } = await startSinkAndRuntime(t);
  const config = {
    resources: [{ apiVersion: 'v1', kind: 'Secret', key: 'default/creds', namespace: 'default', name: 'creds', value: { stringData: { token: 's3cret' } } }],
    brokers: [],
    triggers: [],
  } as unknown as SluiceConfig;
  const src = cs([
    {
      name: 'poster',
      command: [process.execPath, '-e'],
      args: [
        'fetch(process.env.K_SINK, { method: "POST", headers: { "ce-specversion": "1.0", "ce-id": "1", "ce-type": "t", "ce-source": "s", "x-token": process.env.TOKEN, "x-leak": String(process.env.SLUICE_TEST_LEAK) }, body: "hi" }).then(() => setInterval(() => {}, 1000))',
      ],
      env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }],
    },
  ]);
  src.spec.sink = { uri: sink.url + 'in' };
  const c = new ContainerSourceComponent(src, { values: new ConfigValues(config), baseEnv: { PATH: process.env['PATH'], SLUICE_TEST_LEAK: 'no' } });
  await c.start(rt.ctx);
  t.after(() => c.stop());
  await waitFor(() => sink.received.length === 1, 'the child to post', 5000);
  assert.equal(sink.received[0]!.headers['x-token'], 's3cret');
  assert.equal(sink.received[0]!.headers['x-leak'], 'undefined');
});

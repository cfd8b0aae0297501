import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationResolver } from '../src/index.js';

test('uri, Broker and Service refs, relative uri under a ref, registered kinds', () => {
  const r = new DestinationResolver({ ingressBaseUrl: 'http://127.0.0.1:8080' });
  assert.equal(r.resolve({ uri: 'http://x/y' }), 'http://x/y');
  assert.equal(r.resolve({ ref: { kind: 'Broker', name: 'b' } }, 'ns'), 'http://127.0.0.1:8080/ns/b');
  assert.equal(r.resolve({ ref: { kind: 'Service', name: 'svc', namespace: 'other' } }, 'ns'), 'http://svc.other.svc.cluster.local');
  assert.equal(r.resolve({ ref: { kind: 'Service', name: 'svc' }, uri: '/hook' }, 'ns'), 'http://svc.ns.svc.cluster.local/hook');
  r.register('Channel', (ns, name) => `http://127.0.0.1:8080/channels/${ns}/${name}`);
  assert.equal(r.resolve({ ref: { kind: 'Channel', name: 'c' } }), 'http://127.0.0.1:8080/channels/default/c');
  assert.throws(() => r.resolve({ ref: { kind: 'Nope', name: 'x' } }), /cannot resolve a ref to kind Nope/);
  const custom = new DestinationResolver({ ingressBaseUrl: 'http://h', serviceUrlTemplate: 'http://127.0.0.1:9000/{namespace}/{name}' });
  assert.equal(custom.resolve({ ref: { kind: 'Service', name: 'svc' } }, 'ns'), 'http://127.0.0.1:9000/ns/svc');
});

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
  const custom = new DestinationResolver({
    ingressBaseUrl: 'http://h',
    serviceUrlTemplate: 'http://127.0.0.1:9000/{namespace}/{name}',
  });
  assert.equal(custom.resolve({ ref: { kind: 'Service', name: 'svc' } }, 'ns'), 'http://127.0.0.1:9000/ns/svc');
});

test('a ref with a relative uri keeps the address path (path-style --service-url-template) and appends its own', () => {
  const r = new DestinationResolver({
    ingressBaseUrl: 'http://h',
    serviceUrlTemplate: 'http://gateway:9000/services/{namespace}/{name}',
  });
  assert.equal(r.resolve({ ref: { kind: 'Service', name: 'my-service' }, uri: '/my-custom-path' }, 'ns'), 'http://gateway:9000/services/ns/my-service/my-custom-path');
  assert.equal(r.resolve({ ref: { kind: 'Service', name: 's' }, uri: 'a/b?x=1' }, 'ns'), 'http://gateway:9000/services/ns/s/a/b?x=1');
  assert.equal(r.resolve({ ref: { kind: 'Broker', name: 'b' }, uri: '/extra' }, 'ns'), 'http://h/ns/b/extra');
});

test('Services Sluice runs resolve to where they run; others follow the template', () => {
  const r = new DestinationResolver({ ingressBaseUrl: 'http://h' });
  r.registerService('default', 'hello', 'http://127.0.0.1:41234');
  assert.equal(r.resolve({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' } }), 'http://127.0.0.1:41234');
  assert.equal(r.resolve({ ref: { kind: 'Service', name: 'hello' }, uri: '/path' }), 'http://127.0.0.1:41234/path');
  assert.equal(r.resolve({ ref: { kind: 'Service', name: 'hello', namespace: 'other' } }), 'http://hello.other.svc.cluster.local');
  assert.ok(r.runsService('default', 'hello'));
  assert.throws(() => r.registerService('default', 'hello', 'http://x'), /already has an address/);
});

test('a ref with a uri resolves only to paths under the ref, never to another host', () => {
  const resolver = new DestinationResolver({ ingressBaseUrl: 'http://127.0.0.1:8080' });
  assert.equal(resolver.resolve({ ref: { kind: 'Broker', name: 'b' }, uri: 'extra' }, 'ns'), 'http://127.0.0.1:8080/ns/b/extra');
  for (const uri of ['//evil.example/x', '\\\\evil.example/x', 'http://evil.example/']) {
    assert.equal(new URL(resolver.resolve({ ref: { kind: 'Broker', name: 'b' }, uri }, 'ns')).host, '127.0.0.1:8080', uri);
  }
});

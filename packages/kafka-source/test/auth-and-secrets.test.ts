import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetWindow } from '../src/offset-window.js';
import { bootstrapBrokers } from '@sluice/plugin';
import { resolveNet } from '../src/kafka-auth.js';
import { SecretStore } from '@sluice/config';
import { defaultConsumerGroup } from '../src/kafka-source-types.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('secrets: Secret documents (stringData wins over data), then the secrets directory', () => {
  const files = new Map([['/secrets/team-a/kafka/password', 'from-file\n']]);
  const store = new SecretStore({
    documents: new Map([['team-a/auth', { data: { user: b64('alice'), password: b64('old') }, stringData: { password: 'new' } }]]),
    dir: '/secrets',
    readFile: (p) => {
      const v = files.get(p);
      if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return v;
    },
  });
  assert.deepEqual(store.lookup('team-a', { name: 'auth', key: 'user' }), { ok: true, value: 'alice' });
  assert.deepEqual(store.lookup('team-a', { name: 'auth', key: 'password' }), { ok: true, value: 'new' });
  assert.deepEqual(store.lookup('team-a', { name: 'kafka', key: 'password' }), { ok: true, value: 'from-file' });
  const missingKey = store.lookup('team-a', { name: 'auth', key: 'token' });
  assert.equal(missingKey.ok, false);
  assert.match(!missingKey.ok ? missingKey.message : '', /Secret "team-a\/auth" has no key "token"/);
  const noFile = store.lookup('team-b', { name: 'kafka', key: 'password' });
  assert.match(!noFile.ok ? noFile.message : '', /\/secrets\/team-b\/kafka\/password cannot be read \(ENOENT\)/);
  assert.deepEqual(store.lookup('team-a', { name: 'auth', key: 'token', optional: true }), { ok: true, value: undefined });
  assert.deepEqual(store.lookup('team-b', { name: 'kafka', key: 'password', optional: true }), { ok: true, value: undefined });
  const none = new SecretStore().lookup('default', { name: 'x', key: 'y' });
  assert.match(!none.ok ? none.message : '', /Secret "default\/x" is not declared: add a "v1 Secret" document .* or set SLUICE_SECRETS_DIR/);
});

test('net: SASL and TLS resolve to kafkajs settings', () => {
  const store = new SecretStore({
    documents: new Map([['default/kafka', { stringData: { user: 'u', password: 'p', type: 'SCRAM-SHA-512\n', ca: 'CA-PEM', cert: 'CERT', key: 'KEY' } }]]),
  });
  const ref = (key: string) => ({ secretKeyRef: { name: 'kafka', key } });
  const r = resolveNet(
    { sasl: { enable: true, user: ref('user'), password: ref('password'), type: ref('type') }, tls: { enable: true, caCert: ref('ca'), cert: ref('cert'), key: ref('key') } },
    'default',
    store,
  );
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  assert.deepEqual(r.ssl, { ca: ['CA-PEM'], cert: 'CERT', key: 'KEY' });
  const plain = resolveNet({ sasl: { enable: true, user: ref('user'), password: ref('password') }, tls: { enable: true } }, 'default', store);
  assert.deepEqual(plain.sasl, { mechanism: 'plain', username: 'u', password: 'p' });
  assert.equal(plain.ssl, true);
  // Disabled blocks are ignored, secrets included.
  const off = resolveNet({ sasl: { enable: false, user: { secretKeyRef: { name: 'missing', key: 'x' } } }, tls: {} }, 'default', store);
  assert.deepEqual(off, { ssl: undefined, sasl: undefined, problems: [] });
});

test('net: problems name the field', () => {
  const store = new SecretStore({ documents: new Map([['default/kafka', { stringData: { user: 'u', type: 'GSSAPI' } }]]) });
  const ref = (key: string) => ({ secretKeyRef: { name: 'kafka', key } });
  const r = resolveNet({ sasl: { enable: true, password: ref('password'), type: ref('type'), roleARN: ref('arn') }, tls: { enable: true, cert: ref('user') } }, 'default', store);
  const got = r.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
  assert.deepEqual(got, [
    'spec.net.sasl.roleARN: is for OAUTHBEARER, which Sluice does not support (use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)',
    'spec.net.sasl: enable is true but user is not set (a secretKeyRef to the SASL user name)',
    'spec.net.sasl.password.secretKeyRef: Secret "default/kafka" has no key "password" in data or stringData',
    'spec.net.sasl.type.secretKeyRef: the secret holds "GSSAPI"; supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512',
    'spec.net.tls: cert and key go together: set both for client authentication, or neither',
  ]);
  assert.equal(r.sasl, undefined);
});

test('bootstrap servers: lists and comma-separated entries', () => {
  assert.deepEqual(bootstrapBrokers(['a:9092, b:9093', 'c:9094']), ['a:9092', 'b:9093', 'c:9094']);
});

test('default consumer group is stable and unambiguous', () => {
  assert.equal(defaultConsumerGroup('default', 'orders'), 'knative-kafka-source-default_orders');
  assert.notEqual(defaultConsumerGroup('a-b', 'c'), defaultConsumerGroup('a', 'b-c'));
});

test('offset window: the commit point never passes an unfinished record', () => {
  const w = new OffsetWindow();
  for (const o of ['10', '11', '12', '13']) w.start(o);
  assert.equal(w.size, 4);
  assert.equal(w.finish('12'), undefined);
  assert.equal(w.finish('11'), undefined);
  assert.equal(w.finish('10'), '12');
  assert.equal(w.size, 1);
  w.start('14');
  assert.equal(w.finish('14'), undefined);
  assert.equal(w.finish('13'), '14');
  assert.equal(w.size, 0);
  assert.equal(w.finish('99'), undefined);
  // Long runs compact without losing track.
  const big = new OffsetWindow();
  for (let i = 0; i < 5000; i++) big.start(String(i));
  let last: string | undefined;
  for (let i = 0; i < 5000; i++) last = big.finish(String(i)) ?? last;
  assert.equal(last, '4999');
  assert.equal(big.size, 0);
});

// Unit tests of the KafkaSink logic that needs no Kafka: the CloudEvents Kafka binding (binary and structured), and
// Knative's auth Secret format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretStore } from '@sluice/config';
import { eventToRecord, resolveSinkAuth } from '../src/index.js';

const event = {
  attributes: { specversion: '1.0', id: '1', source: '/s', type: 't', datacontenttype: 'application/json', partitionkey: 'k-1', count: 3 },
  data: Buffer.from('{"a":1}'),
};

test('binary mode: ce_ headers, content-type, data as the value, partitionkey as the key', () => {
  const r = eventToRecord(event, 'binary');
  assert.equal(r.key, 'k-1');
  assert.equal(r.value?.toString(), '{"a":1}');
  assert.deepEqual(r.headers, { ce_specversion: '1.0', ce_id: '1', ce_source: '/s', ce_type: 't', 'content-type': 'application/json', ce_partitionkey: 'k-1', ce_count: '3' });
  const noData = eventToRecord({ attributes: { specversion: '1.0', id: '2', source: '/s', type: 't' }, data: undefined }, 'binary');
  assert.equal(noData.key, null);
  assert.equal(noData.value, null);
});

test('structured mode: the JSON format as the value, typed attributes kept', () => {
  const r = eventToRecord(event, 'structured');
  assert.equal(r.key, 'k-1');
  assert.deepEqual(r.headers, { 'content-type': 'application/cloudevents+json; charset=UTF-8' });
  assert.deepEqual(JSON.parse(r.value!.toString()), { specversion: '1.0', id: '1', source: '/s', type: 't', datacontenttype: 'application/json', partitionkey: 'k-1', count: 3, data: { a: 1 } });
});

const store = (data: Record<string, string>) => new SecretStore({ documents: new Map([['ns/auth', { stringData: data }]]) });

test('Knative auth Secrets: SASL_SSL with SCRAM and a CA, SSL with a client certificate, PLAINTEXT', () => {
  assert.deepEqual(resolveSinkAuth('ns', 'auth', store({ protocol: 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', user: 'u', password: 'p', 'ca.crt': 'CA' })), {
    ssl: { ca: ['CA'] },
    sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    problems: [],
  });
  assert.deepEqual(resolveSinkAuth('ns', 'auth', store({ protocol: 'SSL', 'user.crt': 'C', 'user.key': 'K' })), { ssl: { cert: 'C', key: 'K' }, sasl: undefined, problems: [] });
  assert.deepEqual(resolveSinkAuth('ns', 'auth', store({ protocol: 'SSL', 'user.skip': 'true', 'user.crt': 'C' })), { ssl: true, sasl: undefined, problems: [] });
  assert.deepEqual(resolveSinkAuth('ns', 'auth', store({ protocol: 'PLAINTEXT' })), { ssl: undefined, sasl: undefined, problems: [] });
  assert.equal(resolveSinkAuth('ns', 'auth', store({ protocol: 'SASL_PLAINTEXT', user: 'u', password: 'p' })).sasl?.mechanism, 'plain');
});

test('bad auth Secrets are explained', () => {
  const problems = (data: Record<string, string>, keys?: string[]) => resolveSinkAuth('ns', 'auth', store(data), keys).problems;
  assert.match(problems({})[0]!, /needs a "protocol" key/);
  assert.match(problems({ protocol: 'TLS' })[0]!, /protocol "TLS" is not one of PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL/);
  assert.match(problems({ protocol: 'SASL_SSL', user: 'u' })[0]!, /needs "user" and "password"/);
  assert.match(problems({ protocol: 'SASL_SSL', 'sasl.mechanism': 'GSSAPI', user: 'u', password: 'p' })[0]!, /GSSAPI/);
  assert.match(problems({ protocol: 'SSL', 'user.crt': 'C' })[0]!, /user\.crt and user\.key go together/);
  assert.match(problems({ protocol: 'PLAINTEXT', tls: 'x' }, ['protocol', 'tls'])[0]!, /key "tls", which Knative's Kafka auth format does not define/);
  assert.match(resolveSinkAuth('ns', 'missing', store({})).problems[0]!, /Secret "ns\/missing" is not declared/);
});

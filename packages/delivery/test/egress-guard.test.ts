import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '@sluice/core';
import { EgressGuard, redactUrl } from '../src/index.js';

test('link-local and metadata addresses are denied by default, in decimal, hex, octal, IPv6 and mapped forms', () => {
  const guard = new EgressGuard();
  for (const url of [
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.0xa9fe/',
    'http://[fd00:ec2::254]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fe80::1]/',
    'http://100.100.100.200/',
    'http://metadata.google.internal/',
    'http://Metadata.Google.Internal./',
  ]) {
    assert.throws(
      () => guard.checkUrl(url),
      (err: unknown) => isSluiceError(err, 'SLUICE_DESTINATION_FORBIDDEN'),
      url,
    );
  }
  for (const url of ['http://127.0.0.1:8080/', 'http://10.1.2.3/', 'https://example.com/', 'http://[::1]:9/']) guard.checkUrl(url);
});

test('allow exempts from the deny rules; deny adds CIDRs and names; bad rules are errors', () => {
  const guard = new EgressGuard({ allow: ['169.254.10.0/24'], deny: ['10.0.0.0/8', 'internal.example', 'fd00::/8'] });
  guard.checkUrl('http://169.254.10.7/');
  assert.throws(() => guard.checkUrl('http://169.254.11.7/'));
  assert.throws(() => guard.checkUrl('http://10.200.0.1/'));
  assert.throws(() => guard.checkUrl('http://INTERNAL.example/'));
  assert.throws(() => guard.checkUrl('http://[fd12::1]/'));
  for (const bad of ['10.0.0.0/33', 'not a host', '1.2.3.4/x']) {
    assert.throws(
      () => new EgressGuard({ deny: [bad] }),
      (err: unknown) => isSluiceError(err, 'SLUICE_EGRESS_RULE_INVALID'),
      bad,
    );
  }
});

test('the connect-time lookup refuses names that resolve to a denied address', async () => {
  const guard = new EgressGuard({ deny: ['127.0.0.1', '::1'] });
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guard.lookup('localhost', {}, (e) => resolve(e)));
  assert.equal(err?.code, 'SLUICE_DESTINATION_FORBIDDEN');
  assert.match(err.message, /localhost resolves to/);
  const ok = await new Promise<{ err: unknown; address: unknown }>((resolve) => new EgressGuard().lookup('localhost', {}, (e, address) => resolve({ err: e, address })));
  assert.equal(ok.err, null);
  assert.match(String(ok.address), /^(127\.0\.0\.1|::1)$/);
});

test('redactUrl hides passwords', () => {
  assert.equal(redactUrl('http://alice:s3cret@h:1/p'), 'http://alice:***@h:1/p');
  assert.equal(redactUrl('http://h/p'), 'http://h/p');
});

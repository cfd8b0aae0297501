import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasRedactedPassword, redactCredentials, redactUrl, redactUrlsIn } from '../src/index.js';

test('redactUrl replaces only the password', () => {
  assert.equal(redactUrl('http://alice:s3cret@h:1/p?q=1'), 'http://alice:***@h:1/p?q=1');
  assert.equal(redactUrl('http://alice@h/'), 'http://alice@h/');
  assert.equal(redactUrl('http://h/p'), 'http://h/p');
  assert.equal(redactUrl('not a url'), 'not a url');
});

test('redactUrlsIn rewrites every URL with a password in a text, and stops at a double quote', () => {
  assert.equal(redactUrlsIn('POST http://a:p1@x/ failed; then https://b:p%402@y:8/z'), 'POST http://a:***@x/ failed; then https://b:***@y:8/z');
  assert.equal(redactUrlsIn('mail me at a@b.c, see http://h/'), 'mail me at a@b.c, see http://h/');
  // JSON text: a URL in one string and an `@` in the next are never read as one URL.
  const json = JSON.stringify({ a: 'http://host', b: 'z@w', c: 'http://u:pw@h/' });
  assert.deepEqual(JSON.parse(redactUrlsIn(json)), { a: 'http://host', b: 'z@w', c: 'http://u:***@h/' });
});

test('redactCredentials copies only what holds a password and leaves the value as it was', () => {
  const clean = { uri: 'http://h/' };
  const value = { spec: { subscriber: { uri: 'http://u:pw@h/' } }, status: { conditions: [{ message: 'POST http://u:pw@h/: 503' }] }, other: clean, n: 3, at: null };
  const out = redactCredentials(value);
  assert.deepEqual(out, { spec: { subscriber: { uri: 'http://u:***@h/' } }, status: { conditions: [{ message: 'POST http://u:***@h/: 503' }] }, other: clean, n: 3, at: null });
  assert.equal(out.other, clean, 'an untouched part is shared');
  assert.equal(value.spec.subscriber.uri, 'http://u:pw@h/', 'the original keeps the real password');
  assert.deepEqual(redactCredentials({ 'http://u:pw@h/': 1 }), { 'http://u:***@h/': 1 });
});

test('hasRedactedPassword recognises a value read back from the admin API', () => {
  assert.equal(hasRedactedPassword('http://u:***@h/'), true);
  assert.equal(hasRedactedPassword('http://u:pw@h/'), false);
  assert.equal(hasRedactedPassword('http://h/***@'), false);
  assert.equal(hasRedactedPassword('a ***@ b'), false);
});

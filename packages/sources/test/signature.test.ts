import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { githubSignature, standardWebhooksKey, standardWebhooksSignature, verifyGithubSignature, verifyStandardWebhooks } from '../src/signature.js';

const SECRET = 'fixed-test-secret';
const BODY = Buffer.from('{"action":"opened","number":42}');

test('GitHub: accepts the HMAC-SHA256 computed independently with node:crypto', () => {
  const expected = 'sha256=' + createHmac('sha256', SECRET).update(BODY).digest('hex');
  assert.equal(githubSignature(SECRET, BODY), expected);
  assert.deepEqual(verifyGithubSignature(SECRET, BODY, expected), { ok: true });
  assert.deepEqual(verifyGithubSignature(SECRET, BODY, expected.toUpperCase().replace('SHA256=', 'sha256=')), { ok: true });
});

test("GitHub: the known-answer vector from GitHub's documentation", () => {
  const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  assert.deepEqual(verifyGithubSignature("It's a Secret to Everybody", Buffer.from('Hello, World!'), header), { ok: true });
});

test('GitHub: rejects tampered bodies, wrong secrets and malformed or missing headers', () => {
  const good = githubSignature(SECRET, BODY);
  const reject = (secret: string, body: Buffer, header: string | undefined): string => {
    const r = verifyGithubSignature(secret, body, header);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.match(reject(SECRET, Buffer.from('{"action":"opened","number":43}'), good), /does not match/);
  assert.match(reject('other-secret', BODY, good), /does not match/);
  assert.match(reject(SECRET, BODY, undefined), /missing/);
  assert.match(reject(SECRET, BODY, ''), /missing/);
  assert.match(reject(SECRET, BODY, good.replace('sha256=', 'sha1=')), /malformed/);
  assert.match(reject(SECRET, BODY, good.slice(0, -2)), /malformed/);
  assert.match(reject(SECRET, BODY, 'sha256=' + 'z'.repeat(64)), /malformed/);
});

test('Standard Webhooks: the example vector of the specification', () => {
  const key = standardWebhooksKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')!;
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = '1614265330';
  const body = Buffer.from('{"test": 2432232314}');
  assert.equal(standardWebhooksSignature(key, id, ts, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  const now = 1614265330 * 1000;
  const headers = { id, timestamp: ts, signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' };
  assert.deepEqual(verifyStandardWebhooks(key, headers, body, now, 300_000), { ok: true });
  // Several signatures (key rotation): any valid v1 entry passes.
  assert.deepEqual(verifyStandardWebhooks(key, { ...headers, signature: `v1,AAAA v2,xyz ${headers.signature}` }, body, now, 300_000), { ok: true });
});

test('Standard Webhooks: rejects bad signatures, stale or future timestamps and missing headers', () => {
  const key = standardWebhooksKey('whsec_' + Buffer.from('a-32-byte-secret-for-this-test!!').toString('base64'))!;
  const ts = '1700000000';
  const sig = standardWebhooksSignature(key, 'msg_1', ts, BODY);
  const now = 1700000000 * 1000;
  const check = (h: { id?: string; timestamp?: string; signature?: string }, body = BODY, at = now) =>
    verifyStandardWebhooks(key, { id: h.id, timestamp: h.timestamp, signature: h.signature }, body, at, 300_000);
  assert.deepEqual(check({ id: 'msg_1', timestamp: ts, signature: sig }), { ok: true });
  assert.equal(check({ id: 'msg_2', timestamp: ts, signature: sig }).ok, false, 'the id is signed');
  assert.equal(check({ id: 'msg_1', timestamp: ts, signature: sig }, Buffer.from('other')).ok, false);
  assert.match(JSON.stringify(check({ id: 'msg_1', timestamp: ts, signature: sig }, BODY, now + 301_000)), /outside the tolerance/);
  assert.match(JSON.stringify(check({ id: 'msg_1', timestamp: ts, signature: sig }, BODY, now - 301_000)), /outside the tolerance/);
  assert.match(JSON.stringify(check({ timestamp: ts, signature: sig })), /missing/);
  assert.match(JSON.stringify(check({ id: 'msg_1', timestamp: 'yesterday', signature: sig })), /malformed/);
  assert.equal(check({ id: 'msg_1', timestamp: ts, signature: sig.replace('v1,', 'v2,') }).ok, false);
});

test('Standard Webhooks secrets: base64 with an optional whsec_ prefix', () => {
  assert.deepEqual(standardWebhooksKey('whsec_AQID'), Buffer.from([1, 2, 3]));
  assert.deepEqual(standardWebhooksKey('AQID'), Buffer.from([1, 2, 3]));
  assert.equal(standardWebhooksKey('whsec_'), undefined);
  assert.equal(standardWebhooksKey('not base64!'), undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { isSluiceError } from '@sluice/core';
import { OIDC_KEYS_FILE, OidcIssuer } from '../src/index.js';

const DAY = 24 * 3600_000;

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-issuer-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'tokens verify against the JWKS, are cached per audience and subject, and renewed shortly before they expire',
  withDir(async (dir) => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const issuer = new OidcIssuer({ issuer: 'http://127.0.0.1:8080/', dir, lifetimeSeconds: 600, now: () => now });
    assert.equal(issuer.issuer, 'http://127.0.0.1:8080');
    const t1 = issuer.token('aud-1', 'system:serviceaccount:default:x');
    assert.equal(issuer.token('aud-1', 'system:serviceaccount:default:x'), t1);
    assert.notEqual(issuer.token('aud-2', 'system:serviceaccount:default:x'), t1);
    assert.notEqual(issuer.token('aud-1', 'system:serviceaccount:default:y'), t1);
    const { payload } = await jwtVerify(t1, createLocalJWKSet(issuer.jwks()), {
      issuer: 'http://127.0.0.1:8080',
      audience: 'aud-1',
      currentDate: new Date(now),
    });
    assert.equal(payload.sub, 'system:serviceaccount:default:x');
    assert.equal(payload.exp! - payload.iat!, 600);
    now += 7 * 60_000; // 3 minutes left: still reused
    assert.equal(issuer.token('aud-1', 'system:serviceaccount:default:x'), t1);
    now += 90_000; // 90 s left: renewed
    assert.notEqual(issuer.token('aud-1', 'system:serviceaccount:default:x'), t1);
    assert.equal(statSync(join(dir, OIDC_KEYS_FILE)).mode & 0o777, 0o600);
  }),
);

test(
  'subjectOf recognises its own tokens for the right audience only, also those of an earlier process',
  withDir((dir) => {
    let now = Date.now();
    const a = new OidcIssuer({ issuer: 'http://sluice.example', dir, now: () => now });
    const t = a.token('eventing.knative.dev/broker/default/b', 'system:serviceaccount:default:s');
    assert.equal(a.subjectOf(t, 'eventing.knative.dev/broker/default/b'), 'system:serviceaccount:default:s');
    assert.equal(a.subjectOf(t, 'eventing.knative.dev/broker/default/other'), undefined);
    const b = new OidcIssuer({ issuer: 'http://sluice.example', dir, now: () => now }); // same key file: a restart
    assert.equal(b.kid, a.kid);
    assert.equal(b.subjectOf(t, 'eventing.knative.dev/broker/default/b'), 'system:serviceaccount:default:s');
    const [h, p, s] = t.split('.') as [string, string, string];
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'system:serviceaccount:default:admin' })).toString('base64url')}.${s}`;
    assert.equal(b.subjectOf(forged, 'eventing.knative.dev/broker/default/b'), undefined);
    const other = new OidcIssuer({ issuer: 'http://other.example', dir, now: () => now });
    assert.equal(other.subjectOf(t, 'eventing.knative.dev/broker/default/b'), undefined, 'another issuer name');
    now += 16 * 60_000;
    assert.equal(b.subjectOf(t, 'eventing.knative.dev/broker/default/b'), undefined, 'expired');
  }),
);

test(
  'a signing key older than the rotation age is replaced at start and the old one stays published for a day',
  withDir((dir) => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const first = new OidcIssuer({ issuer: 'http://s', dir, now: () => now, rotateAfterMs: 30 * DAY });
    now += 31 * DAY;
    const second = new OidcIssuer({ issuer: 'http://s', dir, now: () => now, rotateAfterMs: 30 * DAY });
    assert.notEqual(second.kid, first.kid);
    assert.deepEqual(
      second.jwks().keys.map((k) => k.kid),
      [second.kid, first.kid],
    );
    now += 2 * DAY;
    const third = new OidcIssuer({ issuer: 'http://s', dir, now: () => now, rotateAfterMs: 30 * DAY });
    assert.equal(third.kid, second.kid);
    assert.deepEqual(
      third.jwks().keys.map((k) => k.kid),
      [second.kid],
    );
    assert.equal((JSON.parse(readFileSync(join(dir, OIDC_KEYS_FILE), 'utf8')) as { keys: unknown[] }).keys.length, 1);
  }),
);

test(
  'an unreadable key file stops start with SLUICE_OIDC_KEY_INVALID',
  withDir((dir) => {
    writeFileSync(join(dir, OIDC_KEYS_FILE), '{not json');
    assert.throws(
      () => new OidcIssuer({ issuer: 'http://s', dir }),
      (err) => isSluiceError(err, 'SLUICE_OIDC_KEY_INVALID') && /move the file aside/.test(err.message),
    );
  }),
);

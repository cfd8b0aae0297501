import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '@sluice/core';
import type { TokenSource } from '@sluice/delivery';

/** Options of {@link OidcIssuer}. */
export interface OidcIssuerOptions {
  /** The issuer URL (`iss`): where `/.well-known/openid-configuration` is served, e.g. `http://127.0.0.1:8080`. */
  readonly issuer: string;
  /** Directory of the signing keys (`oidc-signing-keys.json`, mode 0600); usually the data directory. */
  readonly dir: string;
  /** Token lifetime in seconds (default 15 minutes). */
  readonly lifetimeSeconds?: number;
  /** A signing key older than this is replaced at start (default 30 days); the previous one stays published a day. */
  readonly rotateAfterMs?: number;
  readonly now?: () => number;
}

/** File of the signing keys in the data directory. */
export const OIDC_KEYS_FILE = 'oidc-signing-keys.json';
/** Path of the JWKS on the ingress port (as the Kubernetes API server serves its own). */
export const JWKS_PATH = '/openid/v1/jwks';
/** Path of the discovery document, relative to the issuer. */
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

const DEFAULT_LIFETIME_S = 15 * 60;
/** A cached token is replaced this long before it expires, so that a verifier's clock may run a little ahead. */
const RENEW_BEFORE_S = 2 * 60;
const DEFAULT_ROTATE_MS = 30 * 24 * 3600_000;
/** How long a replaced key stays in the JWKS: far longer than a token lives and than verifiers cache a JWKS. */
const RETIRED_KEY_KEPT_MS = 24 * 3600_000;
const MAX_CACHED = 10_000;

interface StoredKey {
  readonly kid: string;
  readonly createdAt: string;
  readonly privateJwk: JsonWebKey;
}

interface LoadedKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JsonWebKey;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** RFC 7638 thumbprint of an EC public key: a stable key id that anyone can recompute from the JWKS. */
function thumbprint(jwk: JsonWebKey): string {
  return b64url(
    createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
      .digest(),
  );
}

/**
 * Sluice's own OIDC issuer (Knative's `authentication-oidc` feature, sending side): signs short-lived ES256 JWTs
 * that name a sending resource (`sub`) for a destination's audience (`aud`), and publishes the discovery document
 * and JWKS that subscribers verify them with. Tokens are cached per (audience, subject) until shortly before they
 * expire, so a delivery costs one map lookup. The signing keys live in the data directory (0600), so tokens stay
 * verifiable across a restart; a key older than `rotateAfterMs` is replaced at start and kept published a day.
 */
export class OidcIssuer implements TokenSource {
  readonly issuer: string;
  readonly #keys: LoadedKey[];
  readonly #lifetime: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { token: string; renewAtMs: number }>();
  /** Tokens this process signed, with what they say: Sluice's own ingress recognises them without a signature check. */
  readonly #minted = new Map<string, { audience: string; subject: string; expMs: number }>();

  constructor(options: OidcIssuerOptions) {
    try {
      new URL(options.issuer);
    } catch {
      throw new SluiceError('SLUICE_CONFIG_INVALID', `OIDC issuer URL ${JSON.stringify(options.issuer)} is not a URL`);
    }
    this.issuer = options.issuer.replace(/\/$/, '');
    this.#lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_S;
    this.#now = options.now ?? Date.now;
    this.#keys = loadKeys(options.dir, this.#now(), options.rotateAfterMs ?? DEFAULT_ROTATE_MS);
  }

  /** The key id that signs new tokens. */
  get kid(): string {
    return this.#keys[0]!.kid;
  }

  /** A bearer token for `audience` naming `subject`; reused until shortly before it expires. */
  token(audience: string, subject: string): string {
    const key = `${audience}\n${subject}`;
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && now < hit.renewAtMs) return hit.token;
    const iat = Math.floor(now / 1000);
    const exp = iat + this.#lifetime;
    const signer = this.#keys[0]!;
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: signer.kid, typ: 'JWT' }));
    const payload = b64url(JSON.stringify({ iss: this.issuer, sub: subject, aud: audience, iat, nbf: iat, exp }));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
    const token = `${header}.${payload}.${b64url(signature)}`;
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    if (this.#minted.size >= MAX_CACHED) this.#minted.clear();
    this.#cache.set(key, { token, renewAtMs: (exp - Math.min(RENEW_BEFORE_S, this.#lifetime / 2)) * 1000 });
    this.#minted.set(token, { audience, subject, expMs: exp * 1000 });
    return token;
  }

  /**
   * The subject of a token this issuer signed for `audience` (undefined when it is not one, has expired or is for
   * another audience). Tokens of this process are recognised by a map lookup, others by their signature.
   */
  subjectOf(token: string, audience: string): string | undefined {
    const now = this.#now();
    const m = this.#minted.get(token);
    if (m !== undefined) return m.audience === audience && now < m.expMs ? m.subject : undefined;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as { alg?: unknown; kid?: unknown };
      const key = this.#keys.find((k) => k.kid === header.kid);
      if (header.alg !== 'ES256' || key === undefined) return undefined;
      const ok = verify(
        'sha256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        { key: createPublicKey({ key: key.publicJwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
        Buffer.from(parts[2]!, 'base64url'),
      );
      if (!ok) return undefined;
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as { iss?: unknown; aud?: unknown; sub?: unknown; exp?: unknown; nbf?: unknown };
      const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (claims.iss !== this.issuer || !auds.includes(audience) || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
      if (now >= claims.exp * 1000 || (typeof claims.nbf === 'number' && now < claims.nbf * 1000 - 60_000)) return undefined;
      return claims.sub;
    } catch {
      return undefined;
    }
  }

  /** The OpenID discovery document of the issuer. */
  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}${JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    };
  }

  /** The public keys (the signing key and a recently replaced one). */
  jwks(): { keys: JsonWebKey[] } {
    return { keys: this.#keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: 'ES256', use: 'sig' })) };
  }
}

/** Reads the keys (newest first), making or rotating the signing key and writing the file back (0600) when changed. */
function loadKeys(dir: string, now: number, rotateAfterMs: number): LoadedKey[] {
  const path = join(dir, OIDC_KEYS_FILE);
  let stored: StoredKey[] = [];
  if (existsSync(path)) {
    try {
      const doc = JSON.parse(readFileSync(path, 'utf8')) as { keys?: StoredKey[] };
      if (!Array.isArray(doc.keys)) throw new Error('no "keys" array');
      stored = doc.keys;
    } catch (err) {
      throw new SluiceError('SLUICE_OIDC_KEY_INVALID', `cannot read the OIDC signing keys ${path}: ${(err as Error).message} (move the file aside to make a new key)`, { cause: err });
    }
  }
  stored.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  let changed = false;
  const newest = stored[0];
  if (newest === undefined || now - Date.parse(newest.createdAt) >= rotateAfterMs) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = privateKey.export({ format: 'jwk' });
    stored.unshift({ kid: thumbprint(privateJwk), createdAt: new Date(now).toISOString(), privateJwk });
    changed = true;
  }
  // A replaced key stays published until its successor has signed for a day: tokens it signed are long expired.
  const successorAge = now - Date.parse(stored[0]!.createdAt);
  const kept = successorAge < RETIRED_KEY_KEPT_MS ? stored.slice(0, 2) : stored.slice(0, 1);
  if (kept.length !== stored.length) changed = true;
  if (changed) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ keys: kept }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  }
  return kept.map((k) => {
    try {
      const privateKey = createPrivateKey({ key: k.privateJwk, format: 'jwk' });
      const pub = createPublicKey(privateKey).export({ format: 'jwk' });
      return { kid: k.kid, privateKey, publicJwk: { kty: pub.kty!, crv: pub.crv!, x: pub.x!, y: pub.y! } };
    } catch (err) {
      throw new SluiceError('SLUICE_OIDC_KEY_INVALID', `the OIDC signing key ${k.kid} in ${path} cannot be used: ${(err as Error).message} (move the file aside to make a new key)`, { cause: err });
    }
  });
}

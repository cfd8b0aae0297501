import type * as Jose from 'jose';
import { SluiceError, lazyLibrary, type Logger } from '@sluice/core';

type JWTVerifyGetKey = Jose.JWTVerifyGetKey;

// jose loads with the first verifier (only with OIDC on), never for a configuration that verifies no token.
const joseLibrary = lazyLibrary('jose', () => import('jose'));

/** How ingress verifies OIDC bearer tokens (Knative's `authentication-oidc` feature, on the receiving side). */
export interface OidcOptions {
  /** Issuer URLs whose tokens are accepted (`iss`); each serves `/.well-known/openid-configuration`. */
  readonly issuers: readonly string[];
  /** Clock skew tolerated on `exp`/`nbf`/`iat` (default 60 s, at most 5 min). */
  readonly clockSkewSeconds?: number;
}

/** The audience of a broker, as Knative gives it in the broker's status (`eventing.knative.dev/broker/{ns}/{name}`). */
export function brokerAudience(namespace: string, name: string): string {
  return `eventing.knative.dev/broker/${namespace}/${name}`;
}

/** Why a token was refused, or ok with the verified subject. */
export type TokenVerdict = { readonly ok: true; readonly subject: string | undefined } | { readonly ok: false; readonly message: string };

const MAX_SKEW_SECONDS = 300;
const MAX_CACHED_TOKENS = 10_000;
const DISCOVERY_RETRY_MS = 30_000;

/**
 * Verifies `Authorization: Bearer <JWT>` against configured issuers: the issuer's discovery document is fetched once
 * (retried after 30 s when it fails), its JWKS is fetched and cached by `jose` (refetched for an unknown key id, at
 * most every 30 s), and the token must be signed by it, name that issuer, carry the expected audience and be within
 * its validity with a bounded clock skew. A verified token is remembered until it expires (at most 10,000 of them),
 * so a producer that reuses its token pays the signature check once.
 */
export class OidcVerifier {
  readonly #issuers: ReadonlySet<string>;
  readonly #skew: number;
  /** Tokens already verified, by token and audience, with their expiry (ms): a producer reuses its token. */
  readonly #verified = new Map<string, { expMs: number; subject: string | undefined }>();
  readonly #keys = new Map<string, { jwks?: JWTVerifyGetKey; pending?: Promise<JWTVerifyGetKey> | undefined; failedAt?: number }>();
  #jose: typeof Jose | undefined;

  constructor(
    options: OidcOptions,
    private readonly logger: Logger,
  ) {
    if (options.issuers.length === 0) throw new SluiceError('SLUICE_CONFIG_INVALID', 'OIDC needs at least one issuer');
    for (const iss of options.issuers) {
      try {
        new URL(iss);
      } catch {
        throw new SluiceError('SLUICE_CONFIG_INVALID', `OIDC issuer ${JSON.stringify(iss)} is not a URL`);
      }
    }
    this.#issuers = new Set(options.issuers);
    const skew = options.clockSkewSeconds ?? 60;
    if (!(skew >= 0 && skew <= MAX_SKEW_SECONDS)) throw new SluiceError('SLUICE_CONFIG_INVALID', `OIDC clock skew must be 0 to ${MAX_SKEW_SECONDS} seconds`);
    this.#skew = skew;
  }

  /**
   * Loads the JWT library (jose), which {@link verify} otherwise loads on its first token: a runtime calls it while
   * starting, so an install without it fails then (`SLUICE_LIBRARY_UNAVAILABLE`), not on a request.
   */
  async load(): Promise<typeof Jose> {
    this.#jose ??= await joseLibrary('OIDC token verification (--oidc-issuer)');
    return this.#jose;
  }

  /** Verifies a bearer token for `audience`. */
  async verify(authorization: string | undefined, audience: string): Promise<TokenVerdict> {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return { ok: false, message: 'a bearer token (OIDC) is required' };
    const token = authorization.slice(7).trim();
    const cacheKey = `${audience} ${token}`;
    const hit = this.#verified.get(cacheKey);
    if (hit !== undefined && Date.now() < hit.expMs) return { ok: true, subject: hit.subject };
    const { decodeJwt, jwtVerify } = this.#jose ?? (await this.load());
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, message: 'the bearer token is not a JWT' };
    }
    if (typeof iss !== 'string' || !this.#issuers.has(iss)) return { ok: false, message: 'the token was not issued by a trusted issuer' };
    let keys: JWTVerifyGetKey;
    try {
      keys = await this.#jwks(iss);
    } catch (err) {
      this.logger.warn({ issuer: iss, err }, 'OIDC issuer unreachable: tokens from it are refused');
      return { ok: false, message: `the issuer's keys cannot be fetched` };
    }
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: iss, audience, clockTolerance: this.#skew });
      // Remembered until it expires (plus the skew, as jwtVerify allows); bounded, cleared when full.
      if (typeof payload.exp === 'number') {
        if (this.#verified.size >= MAX_CACHED_TOKENS) this.#verified.clear();
        this.#verified.set(cacheKey, { expMs: (payload.exp + this.#skew) * 1000, subject: payload.sub });
      }
      return { ok: true, subject: payload.sub };
    } catch (err) {
      return { ok: false, message: `invalid token: ${(err as Error).message}` };
    }
  }

  #jwks(issuer: string): Promise<JWTVerifyGetKey> {
    let entry = this.#keys.get(issuer);
    if (entry?.jwks) return Promise.resolve(entry.jwks);
    if (entry?.pending) return entry.pending;
    if (entry?.failedAt !== undefined && Date.now() - entry.failedAt < DISCOVERY_RETRY_MS) return Promise.reject(new Error('discovery failed recently'));
    entry = {};
    this.#keys.set(issuer, entry);
    const e = entry;
    e.pending = (async () => {
      const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') throw new Error('discovery document does not name this issuer and a jwks_uri');
      const { createRemoteJWKSet } = await this.load();
      e.jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
      return e.jwks;
    })();
    e.pending.then(
      () => (e.pending = undefined),
      () => {
        e.pending = undefined;
        e.failedAt = Date.now();
      },
    );
    return e.pending;
  }
}

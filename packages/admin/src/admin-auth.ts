import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, join } from 'node:path';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { SluiceError } from '@sluice/core';
import { adminError } from './errors.js';

/** What a caller of the admin API may do: `view` reads (every GET), `edit` also changes (every other method). */
export type AdminRole = 'view' | 'edit';

/** One bearer token the admin API accepts. */
export interface AdminToken {
  readonly token: string;
  readonly role: AdminRole;
  /** Who holds it, for the log line of each change (`file:line` when the token file names nobody). */
  readonly name: string;
}

/** Who made a request, as the admin API decided. */
export interface AdminIdentity {
  readonly name: string;
  readonly role: AdminRole;
  /** True when the request carried no token and got the anonymous role. */
  readonly anonymous: boolean;
}

/** How the admin API authenticates and authorizes; see docs/security.md#the-admin-api. */
export interface AdminAuthOptions {
  readonly tokens: readonly AdminToken[];
  /** The role of a request without a token; `none` answers 401. */
  readonly anonymous: AdminRole | 'none';
  /**
   * Host names (without port) accepted in the `Host` header, against DNS rebinding; undefined accepts any. The CLI
   * sets the loopback names when the admin API listens on loopback.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Host names of pages, besides the admin API's own origin, whose changes are accepted: the public name of a
   * reverse proxy that forwards to the admin API under another `Host`. Never the loopback names (another local
   * server's page must not act).
   */
  readonly trustedOrigins?: readonly string[];
}

/** Shortest token a token file may hold: 16 characters (the generated one has 43). */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Name of the token Sluice generates in its data directory when no token file is given. */
export const GENERATED_TOKEN_FILE = 'admin-token';

/** Host names of the loopback interface, accepted by default when the admin API listens there. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** True for 127.0.0.0/8, ::1, `localhost` and the IPv4-mapped loopback. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Reads a token file: one token a line, `token[,role[,name]]` (the Kubernetes static token file's shape), role `view`
 * or `edit` (default `edit`, so a file holding one bare token — a mounted Secret, the generated file — is an admin
 * token); blank lines and `#` comments are skipped. Throws SLUICE_ADMIN_TOKEN_FILE naming `file:line` for a bad line.
 */
export function readTokenFile(file: string): AdminToken[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SluiceError('SLUICE_ADMIN_TOKEN_FILE', `cannot read the admin token file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const tokens: AdminToken[] = [];
  const bad = (line: number, why: string): SluiceError => new SluiceError('SLUICE_ADMIN_TOKEN_FILE', `${file}:${line}: ${why}`);
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [token = '', role = 'edit', name = `${basename(file)}:${i + 1}`, ...rest] = line.split(',').map((s) => s.trim());
    if (rest.length > 0) throw bad(i + 1, 'expected token[,role[,name]]');
    if (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) throw bad(i + 1, `a token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces`);
    if (role !== 'view' && role !== 'edit') throw bad(i + 1, `role must be view or edit, got "${role}"`);
    if (tokens.some((t) => t.token === token)) throw bad(i + 1, 'the same token appears twice');
    tokens.push({ token, role, name });
  });
  if (tokens.length === 0) throw new SluiceError('SLUICE_ADMIN_TOKEN_FILE', `the admin token file ${file} holds no token`);
  return tokens;
}

/**
 * The token Sluice uses when the operator gave none: `<dataDir>/admin-token`, made at first start with 32 random
 * bytes (mode 0600, in a 0700 directory) and kept, so the local CLI can read it as Docker's CLI reads its socket.
 * Returns the path and whether it was just made.
 */
export function ensureGeneratedToken(dataDir: string): { file: string; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, GENERATED_TOKEN_FILE);
  if (existsSync(file)) {
    // A token others can read is no secret: tighten it, as ssh insists on for its keys.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { file, created: false };
  }
  writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  return { file, created: true };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The identity a request was given, set by {@link AdminAuth.middleware}. */
export function identityOf(res: Response): AdminIdentity | undefined {
  return (res.locals as { identity?: AdminIdentity }).identity;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The host part of a `Host` header or URL authority, lower-case, without port or brackets. */
function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  // One colon separates a port; more are a bare IPv6 address (a configured name, never a Host header).
  return a.split(':').length === 2 ? a.slice(0, a.indexOf(':')) : a;
}

/**
 * Authentication and authorization of the admin API. One middleware in front of every route (after `/livez` and
 * `/readyz`, which stay open for probes, and the public routes): it refuses changes from another `Origin`, finds
 * the caller from `Authorization: Bearer <token>` (or the anonymous role), and requires `view` for GET/HEAD/OPTIONS
 * and `edit` for every other method. Routes added later are covered without doing anything; a GET that must need
 * `edit` puts {@link requireRole} in front of itself.
 */
export class AdminAuth {
  #tokens: ReadonlyArray<{ readonly digest: Buffer; readonly token: AdminToken }> = [];
  readonly #anonymous: AdminRole | 'none';
  readonly #allowedHosts: ReadonlySet<string> | undefined;
  readonly #trustedOrigins: ReadonlySet<string>;

  constructor(options: AdminAuthOptions) {
    this.#anonymous = options.anonymous;
    this.#allowedHosts = options.allowedHosts ? new Set(options.allowedHosts.map(hostName)) : undefined;
    this.#trustedOrigins = new Set((options.trustedOrigins ?? []).map(hostName));
    this.setTokens(options.tokens);
  }

  /** Replaces the accepted tokens (a token file that changed); requests in progress keep the identity they got. */
  setTokens(tokens: readonly AdminToken[]): void {
    this.#tokens = tokens.map((token) => ({ digest: digest(token.token), token }));
  }

  /** The role of requests without a token. */
  get anonymous(): AdminRole | 'none' {
    return this.#anonymous;
  }

  /**
   * The token's holder, or undefined. Every configured token is compared, in constant time over digests (the
   * digest also hides the token's length), so the time taken says nothing about which one was close.
   */
  authenticate(presented: string): AdminToken | undefined {
    const d = digest(presented);
    let found: AdminToken | undefined;
    for (const t of this.#tokens) if (timingSafeEqual(d, t.digest) && found === undefined) found = t.token;
    return found;
  }

  /**
   * Refuses requests whose `Host` is not an allowed name: a page on another site whose name was re-pointed at
   * 127.0.0.1 (DNS rebinding) sends its own name. Goes in front of everything but the probes, public routes included.
   */
  hostCheck(): RequestHandler {
    return (req: Request, _res: Response, next: NextFunction) => {
      const host = req.headers.host ?? '';
      if (this.#allowedHosts && !this.#allowedHosts.has(hostName(host))) {
        throw adminError(
          'SLUICE_ADMIN_HOST',
          `the admin API does not answer to the host name "${hostName(host)}" (allowed: ${[...this.#allowedHosts].join(', ')}; add more with --admin-allowed-host)`,
        );
      }
      next();
    };
  }

  /** The authentication and authorization middleware; see the class. */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const host = req.headers.host ?? '';
      const safe = SAFE_METHODS.has(req.method);
      const origin = req.headers.origin;
      if (!safe && origin !== undefined && !this.#sameOrigin(origin, host)) {
        throw adminError('SLUICE_ADMIN_CROSS_ORIGIN', `changes are refused from another origin (${origin})`);
      }
      const identity = this.#identify(req, res);
      if (identity === undefined) return;
      res.locals['identity'] = identity;
      const needed: AdminRole = safe ? 'view' : 'edit';
      if (!allows(identity.role, needed)) {
        // Without a token the answer is 401 (a token would help); with one that has too little, 403.
        if (identity.anonymous) {
          res.setHeader('www-authenticate', 'Bearer realm="sluice-admin"');
          throw adminError('SLUICE_ADMIN_UNAUTHORIZED', `${req.method} ${req.originalUrl.split('?')[0]} needs a token with the ${needed} role: send Authorization: Bearer <token>`);
        }
        throw forbidden(identity, needed, req);
      }
      next();
    };
  }

  /** The page that sent a change is the admin API's own (host and port of `Host`), or one the operator named. */
  #sameOrigin(origin: string, host: string): boolean {
    if (origin === 'null') return false;
    const authority = authorityOf(origin);
    if (hostName(authority) === hostName(host) && portOf(authority) === portOf(host)) return true;
    return this.#trustedOrigins.has(hostName(authority));
  }

  #identify(req: Request, res: Response): AdminIdentity | undefined {
    const header = req.headers.authorization;
    if (header === undefined) {
      if (this.#anonymous !== 'none') return { name: 'anonymous', role: this.#anonymous, anonymous: true };
      res.setHeader('www-authenticate', 'Bearer realm="sluice-admin"');
      throw adminError('SLUICE_ADMIN_UNAUTHORIZED', 'the admin API needs a token: send Authorization: Bearer <token>');
    }
    const m = /^Bearer +(\S+) *$/i.exec(header);
    const token = m ? this.authenticate(m[1]!) : undefined;
    if (!token) {
      // A wrong token is an error even where anonymous reads are allowed: a client that means to authenticate
      // should learn its token is not accepted, not silently get less.
      res.setHeader('www-authenticate', 'Bearer realm="sluice-admin", error="invalid_token"');
      throw adminError('SLUICE_ADMIN_UNAUTHORIZED', m ? 'the admin API does not accept this token' : 'the Authorization header must be "Bearer <token>"');
    }
    return { name: token.name, role: token.role, anonymous: false };
  }
}

function authorityOf(origin: string): string {
  return origin.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
}

function portOf(authority: string): string {
  const m = /:(\d+)$/.exec(authority.replace(/^\[[^\]]*\]/, ''));
  return m ? m[1]! : '';
}

function allows(have: AdminRole, need: AdminRole): boolean {
  return have === 'edit' || need === 'view';
}

function forbidden(identity: AdminIdentity, needed: AdminRole, req: Request): SluiceError {
  const who = identity.anonymous ? 'a request without a token' : `token ${identity.name}`;
  return adminError(
    identity.anonymous ? 'SLUICE_ADMIN_UNAUTHORIZED' : 'SLUICE_ADMIN_FORBIDDEN',
    `${req.method} ${req.originalUrl.split('?')[0]} needs the ${needed} role; ${who} has ${identity.role}`,
  );
}

/**
 * Requires a role beyond what the method needs, e.g. `router.get('/secrets', requireRole('edit'), handler)`. Works
 * behind {@link AdminAuth.middleware}; on a server without authentication it lets everything through.
 */
export function requireRole(role: AdminRole): RequestHandler {
  return (req, res, next) => {
    const identity = identityOf(res);
    if (identity !== undefined && !allows(identity.role, role)) {
      if (identity.anonymous) res.setHeader('www-authenticate', 'Bearer realm="sluice-admin"');
      throw forbidden(identity, role, req);
    }
    next();
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { DEFAULT_NAMESPACE, SluiceError, type Broker } from '@sluice/core';
import type { SecretStore } from '@sluice/config';

/**
 * Broker annotation naming a `v1 Secret` (in the broker's namespace) whose keys `token` (bearer tokens, one per line)
 * and/or `username` + `password` (basic auth) a producer must present to the broker's ingress.
 */
export const INGRESS_AUTH_ANNOTATION = 'sluice.dev/ingress-auth-secret';

/** Broker annotation `required`: producers must present a client certificate signed by `--tls-client-ca` (mTLS). */
export const CLIENT_CERT_ANNOTATION = 'sluice.dev/client-cert';

const digest = (v: string): Buffer => createHash('sha256').update(v).digest();

/** Checks an `Authorization` header against a broker's static credentials, in constant time per credential. */
export class StaticCredentials {
  readonly #accepted: Buffer[];

  constructor(tokens: readonly string[], basic: { username: string; password: string } | undefined) {
    this.#accepted = tokens.map((t) => digest(`Bearer ${t}`));
    if (basic) this.#accepted.push(digest(`Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`));
  }

  /** Whether the header carries one of the credentials. */
  accepts(authorization: string | undefined): boolean {
    if (authorization === undefined) return false;
    // Scheme names are case-insensitive; compare digests so that the time taken says nothing about the secret.
    const space = authorization.indexOf(' ');
    const normal =
      space < 0 ? authorization : authorization.slice(0, space).toLowerCase() === 'bearer' ? `Bearer ${authorization.slice(space + 1).trim()}` : `Basic ${authorization.slice(space + 1).trim()}`;
    const d = digest(normal);
    let ok = false;
    for (const a of this.#accepted) if (timingSafeEqual(a, d)) ok = true;
    return ok;
  }
}

/** The static credentials of a broker, or undefined when it has none; throws SLUICE_CONFIG_SECRET when unreadable. */
export function brokerCredentials(broker: Broker, secrets: SecretStore): StaticCredentials | undefined {
  const name = broker.metadata.annotations?.[INGRESS_AUTH_ANNOTATION];
  if (name === undefined) return undefined;
  const ns = broker.metadata.namespace ?? DEFAULT_NAMESPACE;
  const read = (key: string): string | undefined => {
    const r = secrets.lookup(ns, { name, key, optional: true });
    if (!r.ok) throw new SluiceError('SLUICE_CONFIG_SECRET', `broker ${ns}/${broker.metadata.name}: ${INGRESS_AUTH_ANNOTATION}: ${r.message}`);
    return r.value;
  };
  const tokens = (read('token') ?? '')
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const username = read('username');
  const password = read('password');
  if ((username === undefined) !== (password === undefined)) {
    throw new SluiceError('SLUICE_CONFIG_SECRET', `broker ${ns}/${broker.metadata.name}: secret ${ns}/${name} needs both username and password for basic auth`);
  }
  if (tokens.length === 0 && username === undefined) {
    throw new SluiceError('SLUICE_CONFIG_SECRET', `broker ${ns}/${broker.metadata.name}: secret ${ns}/${name} has no token, nor username and password`);
  }
  if (tokens.some((t) => t.length < 16)) {
    throw new SluiceError('SLUICE_CONFIG_SECRET', `broker ${ns}/${broker.metadata.name}: each token in secret ${ns}/${name} must be at least 16 characters`);
  }
  return new StaticCredentials(tokens, username !== undefined ? { username, password: password! } : undefined);
}

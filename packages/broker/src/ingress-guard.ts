import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Broker } from '@sluice/core';
import { SecretStore, type SluiceConfig } from '@sluice/config';
import { brokerRateLimiter, type ClientRateLimiter } from './rate-limit.js';
import { CLIENT_CERT_ANNOTATION, brokerCredentials, type StaticCredentials } from './ingress-auth.js';
import { brokerAudience, type OidcVerifier } from './oidc-verifier.js';
import { brokerTarget, type EventPolicies } from './event-policy.js';
import type { OidcIssuer } from './oidc-issuer.js';
import { authorizeIngress } from './ingress-authorization.js';
import type { AuthVerdict, IngressBackend } from './http-ingress.js';

/** Per-broker access rules of the ingress: static credentials, brokers that require a client certificate, rate limiters. */
export interface BrokerAccess {
  readonly credentials: Map<string, StaticCredentials>;
  readonly certBrokers: Set<string>;
  readonly limiters: Map<string, ClientRateLimiter>;
}

/**
 * Reads the access rules of every broker (`namespace/name` → Broker) from its annotations and the configuration's
 * Secrets; what is wrong is pushed onto `problems`. `clientCa` says whether HTTPS asks clients for certificates.
 */
export function brokerAccess(brokers: ReadonlyMap<string, Broker>, config: SluiceConfig, clientCa: boolean, problems: string[]): BrokerAccess {
  // Static credentials per broker (docs/security.md); Sluice's own components (sources, channels, triggers that
  // target a broker) send through the runtime's sender, which carries a random per-process token instead.
  const credentials = new Map<string, StaticCredentials>();
  const secrets = SecretStore.fromConfig(config);
  const certBrokers = new Set<string>();
  const limiters = new Map<string, ClientRateLimiter>();
  for (const [key, b] of brokers) {
    try {
      const c = brokerCredentials(b, secrets);
      if (c) credentials.set(key, c);
    } catch (err) {
      problems.push((err as Error).message);
    }
    // Brokers that require a client certificate (mTLS): the server asks every client for one, these brokers insist.
    const v = b.metadata.annotations?.[CLIENT_CERT_ANNOTATION];
    if (v !== undefined) {
      if (v !== 'required') problems.push(`broker ${key}: annotation ${CLIENT_CERT_ANNOTATION} must be "required", got ${JSON.stringify(v)}`);
      else if (!clientCa) problems.push(`broker ${key}: ${CLIENT_CERT_ANNOTATION} needs HTTPS with client certificates (--tls-cert, --tls-key and --tls-client-ca)`);
      else certBrokers.add(key);
    }
    const l = brokerRateLimiter(b);
    if (l) limiters.set(key, l);
  }
  return { credentials, certBrokers, limiters };
}

/** What the ingress guard of the brokers is built from. */
export interface IngressGuardDeps {
  readonly access: BrokerAccess;
  /** The `Authorization` value of Sluice's own sends: always accepted, never rate-limited. */
  readonly internalAuth: string;
  /** Verifies tokens of trusted issuers (`--oidc-issuer`); undefined when none are configured. */
  readonly oidc: OidcVerifier | undefined;
  /** Sluice's own OIDC issuer, when it signs tokens for its deliveries. */
  readonly issuer: OidcIssuer | undefined;
  /** EventPolicies and the default mode, with the authentication-oidc feature on. */
  readonly policies: EventPolicies | undefined;
  /** The labels of a broker (`namespace/name`), for EventPolicy selectors. */
  readonly brokerLabels: (key: string) => Readonly<Record<string, string>>;
}

/**
 * The broker ingress's authentication and rate limits, as the `authenticate` and `rateLimit` of an
 * {@link IngressBackend}: each present only when some broker needs it, so a setup that uses none pays nothing.
 */
export function ingressGuard(deps: IngressGuardDeps): Pick<IngressBackend, 'authenticate' | 'rateLimit'> {
  const { access, internalAuth, oidc, issuer, policies } = deps;
  const { credentials, certBrokers, limiters } = access;
  const guard: Pick<IngressBackend, 'authenticate' | 'rateLimit'> = {};
  if (credentials.size > 0 || certBrokers.size > 0 || oidc !== undefined || policies !== undefined) {
    guard.authenticate = (ns: string, name: string, req: IncomingMessage): AuthVerdict | Promise<AuthVerdict> => {
      const key = `${ns}/${name}`;
      const authorization = req.headers.authorization;
      // Sluice's per-process token (its sends through a `uri`) names no sender: with the authentication-oidc
      // feature on it does not pass where EventPolicies decide (Knative: a uri has no audience, so no token).
      if (authorization === internalAuth && (policies === undefined || credentials.has(key))) return { ok: true };
      // A token Sluice's own issuer signed for this broker: one of Sluice's own sends, naming its sender.
      const own = issuer !== undefined && authorization?.startsWith('Bearer ') ? issuer.subjectOf(authorization.slice(7), brokerAudience(ns, name)) : undefined;
      if (policies !== undefined && !credentials.has(key)) {
        // Knative's authentication-oidc feature: the rules every addressable shares ({@link authorizeIngress}).
        return authorizeIngress({ policies, verifier: oidc, issuer }, { ...brokerTarget(ns, name, deps.brokerLabels(key)), audiences: [brokerAudience(ns, name)] }, authorization);
      }
      if (own !== undefined) return { ok: true };
      if (certBrokers.has(key) && (req.socket as TLSSocket).authorized !== true) {
        return { ok: false, message: `broker ${key} requires a client certificate signed by the configured CA` };
      }
      const creds = credentials.get(key);
      if (creds !== undefined) {
        return creds.accepts(authorization) ? { ok: true } : { ok: false, message: `broker ${key} requires credentials (Authorization: Bearer <token> or Basic)` };
      }
      if (oidc === undefined) return { ok: true };
      return oidc.verify(authorization, brokerAudience(ns, name)).then((v) => (v.ok ? { ok: true } : { ok: false, message: `broker ${key}: ${v.message}` }));
    };
  }
  if (limiters.size > 0) {
    // Sluice's own sends (its token) are not limited: they come from the same address as local producers.
    guard.rateLimit = (ns: string, name: string, req: IncomingMessage): number =>
      req.headers.authorization === internalAuth ? 0 : (limiters.get(`${ns}/${name}`)?.take(req.socket.remoteAddress ?? '') ?? 0);
  }
  return guard;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { SluiceError, type CloudEvent } from '@sluice/core';
import type { AuthVerdict, IngressAuthTarget, RuntimeContext } from '@sluice/plugin';
import { refuse } from './http-ingress.js';
import type { EventPolicies } from './event-policy.js';
import type { OidcIssuer } from './oidc-issuer.js';
import type { OidcVerifier } from './oidc-verifier.js';

/** What authorizing a request needs: the policies in force, the trusted issuers' verifier, Sluice's own issuer. */
export interface IngressAuthorizationDeps {
  readonly policies: EventPolicies;
  /** Verifies tokens of the `--oidc-issuer` issuers (producers); undefined: only Sluice's own tokens are accepted. */
  readonly verifier: OidcVerifier | undefined;
  /** Sluice's own issuer: its tokens name Sluice's senders (triggers, subscriptions, sources, workloads). */
  readonly issuer: OidcIssuer | undefined;
}

const describe = (t: IngressAuthTarget): string => `${t.kinds[0]!.kind.toLowerCase()} ${t.namespace}/${t.name}`;

/**
 * Knative's authorization of a request to an addressable (Broker, channel, flow) with the authentication-oidc feature
 * on: a token for one of the target's audiences, signed by Sluice's own issuer or a trusted one, is required (401
 * without); then the target's EventPolicies or the default mode decide (403, after decoding when a policy filters by
 * event). Every addressable's ingress goes through here, so they all follow the same rules.
 */
export function authorizeIngress(deps: IngressAuthorizationDeps, target: IngressAuthTarget, authorization: string | undefined): AuthVerdict | Promise<AuthVerdict> {
  const token = authorization !== undefined && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : undefined;
  if (token !== undefined && deps.issuer !== undefined) {
    for (const audience of target.audiences) {
      const own = deps.issuer.subjectOf(token, audience);
      if (own !== undefined) return decide(deps.policies, target, own);
    }
  }
  const verifier = deps.verifier;
  if (verifier === undefined) return { ok: false, message: `${describe(target)}: a bearer token (OIDC) for audience ${target.audiences[0]} is required` };
  return (async (): Promise<AuthVerdict> => {
    let last: string | undefined;
    for (const audience of target.audiences) {
      const v = await verifier.verify(authorization, audience);
      if (!v.ok) {
        last = v.message;
        continue;
      }
      if (v.subject === undefined) return { ok: false, message: `${describe(target)}: the token names no subject (sub)` };
      return decide(deps.policies, target, v.subject);
    }
    return { ok: false, message: `${describe(target)}: ${last ?? 'a bearer token (OIDC) is required'}` };
  })();
}

/**
 * Authentication without the authentication-oidc feature, with `--oidc-issuer` (Sluice's own option, as brokers have
 * it): a request to an addressable a component serves needs a valid token of a trusted issuer for one of its
 * audiences, whatever its subject (no EventPolicy applies), or Sluice's own per-process token (its own sends).
 */
export function authenticateIngress(verifier: OidcVerifier, internalAuth: string, target: IngressAuthTarget, authorization: string | undefined): AuthVerdict | Promise<AuthVerdict> {
  if (authorization === internalAuth) return { ok: true };
  return (async (): Promise<AuthVerdict> => {
    let last: string | undefined;
    for (const audience of target.audiences) {
      const v = await verifier.verify(authorization, audience);
      if (v.ok) return { ok: true };
      last = v.message;
    }
    return { ok: false, message: `${describe(target)}: ${last ?? 'a bearer token (OIDC) is required'}` };
  })();
}

/** The verdict for an authenticated subject: the inner channels of a flow take only their subjects; else the policies. */
function decide(policies: EventPolicies, target: IngressAuthTarget, subject: string): AuthVerdict {
  if (target.onlySubjects !== undefined) {
    if (target.onlySubjects.includes(subject)) return { ok: true };
    const why = `${subject} may not send to ${describe(target)}: it takes events only from ${target.onlySubjects.join(', ')}`;
    return { ok: true, authorize: () => why };
  }
  const authorize = policies.authorizer(target, subject);
  return authorize === undefined ? { ok: true } : { ok: true, authorize };
}

/**
 * For a component that serves an addressable of its own (JobSink, KafkaSink, EventTransform): with the authentication-oidc feature on,
 * authenticates the request by the shared rules and answers 401 itself (then returns undefined); else returns the
 * check of the decoded events, which throws SLUICE_FORBIDDEN (403) for events the policies refuse.
 */
export async function authorizeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  authorize: RuntimeContext['authorizeIngress'],
  target: IngressAuthTarget,
): Promise<((events: readonly CloudEvent[]) => void) | undefined> {
  if (authorize === undefined) return () => undefined;
  const verdict = await authorize(target, req.headers.authorization);
  if (!verdict.ok) {
    refuse(req, res, 'SLUICE_UNAUTHORIZED', verdict.message, { 'www-authenticate': 'Bearer realm="sluice"' });
    return undefined;
  }
  const check = verdict.authorize;
  return (events) => {
    const why = check?.(events);
    if (why !== undefined) throw new SluiceError('SLUICE_FORBIDDEN', why);
  };
}

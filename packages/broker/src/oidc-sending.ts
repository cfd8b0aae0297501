import { DEFAULT_NAMESPACE, oidcSubject, type Destination, type Trigger } from '@sluice/core';
import type { SluiceConfig } from '@sluice/config';
import type { OidcTarget } from '@sluice/delivery';

/** The OIDC target of a delivery to `dest` by `subject`: set when the destination names an audience. */
export function destinationOidc(dest: Destination | undefined, subject: string): OidcTarget | undefined {
  return dest?.audience !== undefined && dest.audience !== '' ? { audience: dest.audience, subject } : undefined;
}

/** A Trigger's identity (`…-oidc-eventing.knative.dev-trigger`) towards its subscriber and dead-letter sink. */
export function triggerOidc(trigger: Trigger, deadLetterSink: Destination | undefined): { subscriberOidc?: OidcTarget; deadLetterOidc?: OidcTarget } {
  const subject = oidcSubject('eventing.knative.dev', 'Trigger', trigger.metadata.namespace ?? DEFAULT_NAMESPACE, trigger.metadata.name);
  const subscriberOidc = destinationOidc(trigger.spec.subscriber, subject);
  const deadLetterOidc = destinationOidc(deadLetterSink, subject);
  return { ...(subscriberOidc ? { subscriberOidc } : {}), ...(deadLetterOidc ? { deadLetterOidc } : {}) };
}

/** `Kind namespace/name: path` of every destination in the configuration that sets an `audience`. */
export function destinationAudiences(config: SluiceConfig): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: string, where: string): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`, where));
      return;
    }
    const o = v as Record<string, unknown>;
    if (typeof o['audience'] === 'string' && (o['uri'] !== undefined || o['ref'] !== undefined)) found.push(`${where}: ${path}`);
    for (const [k, x] of Object.entries(o)) walk(x, path === '' ? k : `${path}.${k}`, where);
  };
  for (const r of config.resources) walk(r.value['spec'], 'spec', `${r.kind} ${r.key}`);
  return found;
}

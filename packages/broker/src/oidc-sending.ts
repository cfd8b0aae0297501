import { DEFAULT_NAMESPACE, oidcAudience, oidcSubject, type Destination, type Trigger } from '@sluice/core';
import type { SluiceConfig } from '@sluice/config';
import type { OidcTarget } from '@sluice/delivery';

/** The addressables Sluice serves that have an OIDC audience, by kind, with their API group. */
const AUDIENCE_GROUPS: Readonly<Record<string, string>> = {
  Broker: 'eventing.knative.dev',
  Channel: 'messaging.knative.dev',
  InMemoryChannel: 'messaging.knative.dev',
  KafkaChannel: 'messaging.knative.dev',
  Sequence: 'flows.knative.dev',
  Parallel: 'flows.knative.dev',
  JobSink: 'sinks.knative.dev',
  KafkaSink: 'eventing.knative.dev',
  EventTransform: 'eventing.knative.dev',
};

/**
 * The audience of a destination declared in `namespace`: its `audience`, else for a `ref` to an addressable Sluice
 * serves (Broker, channel, Sequence, Parallel, JobSink, KafkaSink, EventTransform) that addressable's audience (`<group>/<kind>/<namespace>/<name>`, as
 * Knative resolves it from the addressable's status); undefined otherwise.
 */
export function destinationAudience(dest: Destination | undefined, namespace: string): string | undefined {
  if (dest?.audience !== undefined && dest.audience !== '') return dest.audience;
  const ref = dest?.ref;
  if (ref === undefined) return undefined;
  const group = Object.hasOwn(AUDIENCE_GROUPS, ref.kind) ? AUDIENCE_GROUPS[ref.kind] : undefined;
  if (group === undefined || (ref.apiVersion !== undefined && !ref.apiVersion.startsWith(`${group}/`))) return undefined;
  return oidcAudience(group, ref.kind, ref.namespace ?? namespace, ref.name);
}

/** The OIDC target of a delivery to `dest` (declared in `namespace`) by `subject`, when the destination has an audience. */
export function destinationOidc(dest: Destination | undefined, subject: string, namespace: string): OidcTarget | undefined {
  const audience = destinationAudience(dest, namespace);
  return audience !== undefined ? { audience, subject } : undefined;
}

/** A Trigger's identity (`…-oidc-eventing.knative.dev-trigger`) towards its subscriber and dead-letter sink. */
export function triggerOidc(trigger: Trigger, deadLetterSink: Destination | undefined, deadLetterNamespace: string): { subscriberOidc?: OidcTarget; deadLetterOidc?: OidcTarget } {
  const ns = trigger.metadata.namespace ?? DEFAULT_NAMESPACE;
  const subject = oidcSubject('eventing.knative.dev', 'Trigger', ns, trigger.metadata.name);
  const subscriberOidc = destinationOidc(trigger.spec.subscriber, subject, ns);
  const deadLetterOidc = destinationOidc(deadLetterSink, subject, deadLetterNamespace);
  return { ...(subscriberOidc ? { subscriberOidc } : {}), ...(deadLetterOidc ? { deadLetterOidc } : {}) };
}

/** `Kind namespace/name: path` of every destination in the configuration that sets an `audience`. */
export function destinationAudiences(config: SluiceConfig): string[] {
  return specObjects(config)
    .filter(({ value: o }) => typeof o['audience'] === 'string' && (o['uri'] !== undefined || o['ref'] !== undefined))
    .map(({ at }) => at);
}

/**
 * `Kind namespace/name: path` of every destination that sends to Sluice's own ingress (`baseUrl`'s origin) through a
 * `uri` without an `audience`. Knative knows an audience only for a `ref` (from the addressable's status), so such a
 * send carries no token, and an ingress that requires one refuses it.
 */
export function ownUriDestinations(config: SluiceConfig, baseUrl: string): string[] {
  let origin: string;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    return [];
  }
  return specObjects(config)
    .filter(({ value: o }) => {
      if (typeof o['uri'] !== 'string' || o['ref'] !== undefined || (o['audience'] !== undefined && o['audience'] !== '')) return false;
      try {
        return new URL(o['uri']).origin === origin;
      } catch {
        return false; // a relative or invalid uri is reported by validation, not here
      }
    })
    .map(({ at }) => at);
}

/** Every object under each resource's `spec`, with where it is (`Kind namespace/name: spec.path`), depth first. */
function specObjects(config: SluiceConfig): Array<{ readonly value: Record<string, unknown>; readonly at: string }> {
  const found: Array<{ value: Record<string, unknown>; at: string }> = [];
  const walk = (v: unknown, path: string, where: string): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`, where));
      return;
    }
    const o = v as Record<string, unknown>;
    found.push({ value: o, at: `${where}: ${path}` });
    for (const [k, x] of Object.entries(o)) walk(x, path === '' ? k : `${path}.${k}`, where);
  };
  for (const r of config.resources) walk(r.value['spec'], 'spec', `${r.kind} ${r.key}`);
  return found;
}

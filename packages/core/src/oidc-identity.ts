import { createHash } from 'node:crypto';

// The identities Knative's `authentication-oidc` feature gives to the resources that send events. Knative creates one
// service account per sending resource (Trigger, Subscription, source, …) and requests tokens for it; a token's `sub`
// is that account's name in Kubernetes form. Sluice has no Kubernetes, but it names its senders the same way so that
// an EventPolicy written for a cluster names the same senders here.

/** Longest name Kubernetes allows for the objects Knative names this way (a DNS label). */
const LONGEST = 63;
/** Characters of an MD5 hex digest. */
const MD5_HEX = 32;
/** How much of the parent name is kept before the digest when the name would be too long. */
const HEAD = LONGEST - MD5_HEX;

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** Drops trailing characters a DNS label may not end with (left by cutting a name short). */
function validName(n: string): string {
  let end = n.length;
  while (end > 0 && !/[a-zA-Z0-9]/.test(n[end - 1]!)) end--;
  return n.slice(0, end);
}

/**
 * `parent + suffix`, shortened to 63 characters with an MD5 digest of the parent (or of both, when the suffix leaves
 * no room) as Knative's child names are, so that two long parents still get distinct names.
 */
export function childName(parent: string, suffix: string): string {
  if (parent.length <= LONGEST - suffix.length) return validName(parent + suffix);
  if (HEAD - suffix.length <= 0) {
    const digest = md5(parent + suffix);
    const ret = (HEAD < parent.length ? parent.slice(0, HEAD) : parent) + digest;
    const room = LONGEST - ret.length;
    return validName(room > 0 ? ret + suffix.slice(0, room) : ret);
  }
  return validName(parent.slice(0, HEAD - suffix.length) + md5(parent) + suffix);
}

/** The API group of an `apiVersion` (`eventing.knative.dev/v1` → `eventing.knative.dev`; `v1` → the core group ""). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The OIDC service account Knative names for a sending resource: `<name>-oidc-<group>-<kind>`, lower case. */
export function oidcServiceAccountName(group: string, kind: string, name: string): string {
  return childName(name, `-oidc-${group}-${kind}`).toLowerCase();
}

/** The token subject of a sending resource: `system:serviceaccount:<namespace>:<service account>`. */
export function oidcSubject(group: string, kind: string, namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${oidcServiceAccountName(group, kind, name)}`;
}

/** The audience of an addressable resource as Knative gives it: `<group>/<kind>/<namespace>/<name>`, lower case. */
export function oidcAudience(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`.toLowerCase();
}

import { createHash } from 'node:crypto';
import type { SluiceConfig } from '@sluice/config';

/** A resource of a configuration change, as kubectl reports it. */
export interface ResourceChange {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly change: 'created' | 'configured' | 'unchanged' | 'deleted';
}

/** Compares two configurations resource by resource (by apiVersion group, kind, namespace and name). */
export function diffResources(prev: SluiceConfig, next: SluiceConfig): ResourceChange[] {
  const id = (r: { apiVersion: string; kind: string; namespace: string; name: string }): string => `${r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : ''}|${r.kind}|${r.namespace}|${r.name}`;
  const before = new Map(prev.resources.map((r) => [id(r), r] as const));
  const out: ResourceChange[] = [];
  const seen = new Set<string>();
  for (const r of next.resources) {
    const k = id(r);
    seen.add(k);
    const old = before.get(k);
    const change = old === undefined ? 'created' : fingerprint(old.value) === fingerprint(r.value) ? 'unchanged' : 'configured';
    out.push({ apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, change });
  }
  for (const [k, r] of before) if (!seen.has(k)) out.push({ apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, change: 'deleted' });
  return out;
}

/** A digest of JSON-like values that does not depend on the order of object keys. */
export function fingerprint(value: unknown): string {
  const stable = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(stable);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(stable(value)) ?? '')
    .digest('base64url');
}

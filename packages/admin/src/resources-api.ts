import express, { type Router } from 'express';
import { adminError } from './errors.js';
import type { ControlPlane, ResourceView } from './control-plane.js';
import { groupOfApiVersion, pluralOf, resolveGroup, resolveKind } from './kind-names.js';

/** The kind and, where the name says or the kind needs it, the API group a typed name means. */
function kindOf(plane: ControlPlane, typed: string): { kind: string; group: string | undefined } {
  const kinds = plane.kinds();
  const kind = resolveKind(typed, kinds);
  if (kind === undefined) {
    throw adminError('SLUICE_UNKNOWN_KIND', `unknown resource kind "${typed}"; known: ${[...new Set(kinds.map(pluralOf))].join(', ')}${kinds.includes('Service') ? ', ksvc' : ''}`);
  }
  return { kind, group: resolveGroup(typed, kind, kinds) };
}

/** Whether a resource is of the kind (and group, when one is asked for). */
function isOf(r: ResourceView, k: { kind: string; group: string | undefined }): boolean {
  return r.kind === k.kind && (k.group === undefined || groupOfApiVersion(r.apiVersion) === k.group);
}

/**
 * `GET /api/v1/kinds`, `GET /api/v1/{kind}[?namespace=ns]` (list) and `GET /api/v1/{kind}/{namespace}/{name}`.
 * `{kind}` is what kubectl accepts: `triggers`, `trigger`, `Trigger`, a short name (`imc`).
 */
export function resourceRoutes(plane: () => ControlPlane): Router {
  const router = express.Router();
  router.get('/kinds', (_req, res) => {
    // Knative's Service and the core Service share a kind name: the core one is `services`, Knative's `ksvc` (kubectl's names).
    const kinds = plane().kinds();
    const unique = [...new Set(kinds)].map((kind) => ({ kind, plural: pluralOf(kind) }));
    if (kinds.filter((k) => k === 'Service').length > 1) unique.push({ kind: 'Service', plural: 'ksvc' });
    res.json({ kinds: unique });
  });
  router.get('/:kind', (req, res) => {
    const p = plane();
    const kind = kindOf(p, req.params.kind);
    const ns = typeof req.query['namespace'] === 'string' ? req.query['namespace'] : undefined;
    const items = p.resources().filter((r) => isOf(r, kind) && (ns === undefined || r.metadata.namespace === ns));
    res.json({ kind: `${kind.kind}List`, items });
  });
  router.get('/:kind/:namespace/:name', (req, res) => {
    const p = plane();
    const kind = kindOf(p, req.params.kind);
    const r = p.resources().find((x) => isOf(x, kind) && x.metadata.namespace === req.params.namespace && x.metadata.name === req.params.name);
    if (!r) throw adminError('SLUICE_NOT_FOUND', `${kind.kind} ${req.params.namespace}/${req.params.name} not found`);
    res.json(r);
  });
  return router;
}

/** The resource, or a 404 SLUICE_NOT_FOUND naming it. */
export function find(plane: ControlPlane, kind: string, namespace: string, name: string): ResourceView {
  const r = plane.resources().find((x) => x.kind === kind && x.metadata.namespace === namespace && x.metadata.name === name);
  if (!r) throw adminError('SLUICE_NOT_FOUND', `${kind} ${namespace}/${name} not found`);
  return r;
}

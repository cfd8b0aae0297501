import express, { type Router } from 'express';
import { adminError } from './errors.js';
import type { ControlPlane, ResourceView } from './control-plane.js';
import { pluralOf, resolveKind } from './kind-names.js';

function kindOf(plane: ControlPlane, typed: string): string {
  const kind = resolveKind(typed, plane.kinds());
  if (kind === undefined) {
    throw adminError('SLUICE_UNKNOWN_KIND', `unknown resource kind "${typed}"; known: ${plane.kinds().map(pluralOf).join(', ')}`);
  }
  return kind;
}

/**
 * `GET /api/v1/kinds`, `GET /api/v1/{kind}[?namespace=ns]` (list) and `GET /api/v1/{kind}/{namespace}/{name}`.
 * `{kind}` is what kubectl accepts: `triggers`, `trigger`, `Trigger`, a short name (`imc`).
 */
export function resourceRoutes(plane: () => ControlPlane): Router {
  const router = express.Router();
  router.get('/kinds', (_req, res) => {
    res.json({ kinds: plane().kinds().map((kind) => ({ kind, plural: pluralOf(kind) })) });
  });
  router.get('/:kind', (req, res) => {
    const p = plane();
    const kind = kindOf(p, req.params.kind);
    const ns = typeof req.query['namespace'] === 'string' ? req.query['namespace'] : undefined;
    const items = p.resources().filter((r) => r.kind === kind && (ns === undefined || r.metadata.namespace === ns));
    res.json({ kind: `${kind}List`, items });
  });
  router.get('/:kind/:namespace/:name', (req, res) => {
    const p = plane();
    const kind = kindOf(p, req.params.kind);
    res.json(find(p, kind, req.params.namespace, req.params.name));
  });
  return router;
}

/** The resource, or a 404 SLUICE_NOT_FOUND naming it. */
export function find(plane: ControlPlane, kind: string, namespace: string, name: string): ResourceView {
  const r = plane.resources().find((x) => x.kind === kind && x.metadata.namespace === namespace && x.metadata.name === name);
  if (!r) throw adminError('SLUICE_NOT_FOUND', `${kind} ${namespace}/${name} not found`);
  return r;
}

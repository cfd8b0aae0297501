import express, { type Request, type Router } from 'express';
import { adminError } from './errors.js';

/** A resource named in a change: what kubectl prints as `trigger.eventing.knative.dev/foo`. */
export interface ResourceId {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** What a change did to one resource it named. */
export interface ChangedResource extends ResourceId {
  readonly change: 'created' | 'configured' | 'unchanged' | 'deleted';
}

/** The answer to an apply or delete. */
export interface ChangeResult {
  /** The resources the request named, in request order. */
  readonly resources: readonly ChangedResource[];
  /** Components (sources, channels, …) that were replaced or started. */
  readonly restarted: readonly string[];
  /** What deleted Triggers and Brokers still owed (kept as dead letters, or discarded). */
  readonly discarded: readonly { readonly resource: string; readonly retries: number; readonly backlog: number; readonly unread: number; readonly outcome: string }[];
  /** Components and Triggers that could not start (NotReady). */
  readonly failed: readonly string[];
  /** What the request's files hold that is accepted and ignored (`ignored: v1 Namespace x (cluster plumbing)`). */
  readonly ignored?: readonly string[];
  readonly dryRun: boolean;
}

/** Options of a change: `force` deletes what still owes events, `dryRun` checks and reports without changing. */
export interface ChangeOptions {
  readonly force: boolean;
  readonly dryRun: boolean;
}

/** Changes the running configuration (implemented by `sluice run`). Errors carry their HTTP status. */
export interface ConfigChanger {
  /** Applies manifests given as text (`path` names them in errors). */
  apply(files: readonly { readonly path: string; readonly text: string }[], options: ChangeOptions): Promise<ChangeResult>;
  /** Deletes resources by kind (as kubectl spells it), namespace and name. */
  delete(resources: readonly { readonly kind: string; readonly namespace: string; readonly name: string }[], options: ChangeOptions): Promise<ChangeResult>;
}

function flag(req: Request, name: string): boolean {
  const v = req.query[name] ?? (req.body as Record<string, unknown> | undefined)?.[name];
  if (v === undefined || v === 'false' || v === false) return false;
  if (v === '' || v === 'true' || v === true) return true;
  throw adminError('SLUICE_BAD_REQUEST', `${name} must be true or false`);
}

/**
 * The routes that change the configuration, in one router so a single authorization check can guard them all:
 * `POST /api/v1/apply` (`{"files": [{"path", "text"}]}`), `POST /api/v1/delete` (`{"resources": [{"kind",
 * "namespace", "name"}]}`) and `DELETE /api/v1/{kind}/{namespace}/{name}`; each takes `?force=true` and `?dryRun=true`.
 */
export function configRoutes(changer: () => ConfigChanger): Router {
  const router = express.Router();
  router.post('/apply', (req, res, next) => {
    const files = (req.body as { files?: unknown } | undefined)?.files;
    if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof (f as { path?: unknown }).path === 'string' && typeof (f as { text?: unknown }).text === 'string')) {
      next(adminError('SLUICE_BAD_REQUEST', 'expected {"files": [{"path": "...", "text": "..."}]} with at least one file'));
      return;
    }
    const options = { force: flag(req, 'force'), dryRun: flag(req, 'dryRun') };
    changer()
      .apply(files as { path: string; text: string }[], options)
      .then((r) => res.json(r), next);
  });
  router.post('/delete', (req, res, next) => {
    const list = (req.body as { resources?: unknown } | undefined)?.resources;
    const ok = (x: unknown): boolean => ['kind', 'namespace', 'name'].every((k) => typeof (x as Record<string, unknown>)[k] === 'string');
    if (!Array.isArray(list) || list.length === 0 || !list.every(ok)) {
      next(adminError('SLUICE_BAD_REQUEST', 'expected {"resources": [{"kind": "...", "namespace": "...", "name": "..."}]} with at least one resource'));
      return;
    }
    const options = { force: flag(req, 'force'), dryRun: flag(req, 'dryRun') };
    changer()
      .delete(list as { kind: string; namespace: string; name: string }[], options)
      .then((r) => res.json(r), next);
  });
  router.delete('/:kind/:namespace/:name', (req, res, next) => {
    const options = { force: flag(req, 'force'), dryRun: flag(req, 'dryRun') };
    changer()
      .delete([{ kind: req.params['kind'], namespace: req.params['namespace'], name: req.params['name'] }], options)
      .then((r) => res.json(r), next);
  });
  return router;
}

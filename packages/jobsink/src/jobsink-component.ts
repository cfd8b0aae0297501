import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { decodeHttp, eventToJson, isSluiceError, oidcAudience, SluiceError, type Condition, type Logger } from '@sluice/core';
import type { LoadedResource, SluiceConfig } from '@sluice/config';
import { authorizeRequest, readBody, refuse, sendError } from '@sluice/broker';
import type { IngressAuthTarget, RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import {
  ConfigValues,
  containerNameOf,
  declaredEnvironment,
  detectContainerEngine,
  expandVariables,
  processBaseEnv,
  runModeOf,
  runToCompletion,
  workloadOf,
  type ContainerEngine,
  type ContainerRunSpec,
  type Workload,
} from '@sluice/workloads';
import { JobQueue, type JobRecord } from './job-queue.js';

/** Where Knative mounts the event in a JobSink's job (a container sees it here). */
export const JOBSINK_EVENT_PATH = '/etc/jobsink-event/event';
/** Environment variable naming the event file: Sluice's, so a local process (which has no /etc mount) finds it. */
export const JOBSINK_EVENT_ENV = 'JOBSINK_EVENT_FILE';
/** First path segment of every JobSink's address: `/jobsinks/{namespace}/{name}`. */
export const JOBSINK_ROUTE = 'jobsinks';
/** Annotation: most jobs of one JobSink running at once (default: the CPUs Sluice may use, RuntimeContext.cpus). */
export const CONCURRENCY_ANNOTATION = 'sluice.dev/jobsink-concurrency';
/** Annotation: most jobs waiting to start before new events get 429 (default 1,000). */
export const MAX_PENDING_ANNOTATION = 'sluice.dev/jobsink-max-pending';

/** Address of a JobSink under a runtime's base URL. */
export const jobSinkUrl = (baseUrl: string, namespace: string, name: string): string => `${baseUrl}/${JOBSINK_ROUTE}/${namespace}/${name}`;

/** The status path of one event's job (Knative's `Location`, under the JobSink route). */
export const jobLocation = (namespace: string, name: string, source: string, id: string): string =>
  `/${JOBSINK_ROUTE}/namespaces/${namespace}/name/${name}/sources/${encodeURIComponent(source)}/ids/${encodeURIComponent(id)}`;

/** A positive integer annotation, the default when absent, NaN when invalid. */
export function intAnnotation(annotations: Readonly<Record<string, string>> | undefined, key: string, fallback: number): number {
  const v = annotations?.[key];
  if (v === undefined) return fallback;
  return /^[1-9]\d*$/.test(v) ? Number(v) : Number.NaN;
}

/** The job template of a JobSink as the batch/v1 Job workloads read. */
export function jobWorkload(r: LoadedResource): Workload {
  const job = ((r.value['spec'] as { job?: Record<string, unknown> } | undefined)?.job ?? {}) as { metadata?: Record<string, unknown>; spec?: unknown };
  const meta = (r.value['metadata'] ?? {}) as { annotations?: Record<string, string> };
  const jobMeta = { ...(job.metadata ?? {}), name: r.name, annotations: { ...meta.annotations, ...((job.metadata?.['annotations'] as Record<string, string> | undefined) ?? {}) } };
  const synthetic: LoadedResource = { ...r, apiVersion: 'batch/v1', kind: 'Job', value: { apiVersion: 'batch/v1', kind: 'Job', metadata: jobMeta, spec: job.spec } };
  return { ...workloadOf(synthetic)!, podPath: ['spec', 'job', 'spec', 'template', 'spec'] };
}

interface Sink {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly workload: Workload;
  readonly concurrency: number;
  readonly maxPending: number;
  /** Who its ingress authorizes requests as, with authentication-oidc on. */
  readonly authTarget: IngressAuthTarget;
  running: number;
}

/**
 * Every JobSink of a configuration, at `/jobsinks/{namespace}/{name}`: each event becomes one job — the Job template's
 * containers run as local processes or through the container engine, as workloads do — with the event in the
 * CloudEvents JSON format at `/etc/jobsink-event/event` (a container) or at the path in `JOBSINK_EVENT_FILE` (both).
 * The 202 is sent once the job is on disk; jobs start in order, at most `concurrency` at a time per sink; when more
 * than `maxPending` wait, new events get 429 with Retry-After. The same event (source + id) posted again is the same
 * job, as in Knative. `GET` on the `Location` of a 202 tells the job's state as Knative's JobSink does.
 */
export class JobSinkComponent implements RuntimeComponent {
  readonly name: string;
  readonly #config: SluiceConfig;
  readonly #resources: readonly LoadedResource[];
  readonly #sinks = new Map<string, Sink>();
  #queue: JobQueue | undefined;
  #ctx: RuntimeContext | undefined;
  #logger: Logger | undefined;
  #engine: ContainerEngine | undefined;
  #engineProblem: string | undefined;
  #dir = '.sluice';
  #accepting = false;
  readonly #aborts = new Set<AbortController>();
  readonly #runs = new Set<Promise<void>>();

  constructor(config: SluiceConfig, resources: readonly LoadedResource[]) {
    this.#config = config;
    this.#resources = resources;
    this.name = `JobSinks (${resources.length})`;
  }

  register(ctx: RuntimeContext): void {
    if (this.#ctx) return;
    this.#ctx = ctx;
    this.#logger = ctx.logger.child({ component: 'jobsink' });
    this.#dir = join(ctx.dataDir ?? '.sluice', 'jobsink');
    mkdirSync(this.#dir, { recursive: true });
    this.#queue = new JobQueue(join(this.#dir, 'jobs.db'));
    for (const r of this.#resources) {
      const meta = (r.value['metadata'] ?? {}) as { annotations?: Record<string, string>; labels?: Record<string, string> };
      this.#sinks.set(r.key, {
        authTarget: {
          kinds: [{ group: 'sinks.knative.dev', kind: 'JobSink' }],
          namespace: r.namespace,
          name: r.name,
          labels: meta.labels ?? {},
          audiences: [oidcAudience('sinks.knative.dev', 'JobSink', r.namespace, r.name)],
        },
        key: r.key,
        namespace: r.namespace,
        name: r.name,
        workload: jobWorkload(r),
        concurrency: intAnnotation(meta.annotations, CONCURRENCY_ANNOTATION, ctx.cpus ?? availableParallelism()),
        maxPending: intAnnotation(meta.annotations, MAX_PENDING_ANNOTATION, 1000),
        running: 0,
      });
    }
    ctx.resolver.register('JobSink', (namespace, name) => jobSinkUrl(ctx.url, namespace, name));
    ctx.route(JOBSINK_ROUTE, (req, res, rest) => void this.#serve(req, res, rest));
  }

  async start(ctx: RuntimeContext): Promise<void> {
    this.register(ctx);
    const needsEngine = [...this.#sinks.values()].some((s) =>
      s.workload.pod.containers.some((_, i) => {
        const m = runModeOf(s.workload, i);
        return 'mode' in m && m.mode === 'container';
      }),
    );
    if (needsEngine) {
      const e = await detectContainerEngine();
      if (e.ok) this.#engine = e.engine;
      else this.#engineProblem = e.reason;
    }
    this.#accepting = true;
    for (const s of this.#sinks.values()) {
      this.#report(s);
      this.#logger!.info(
        { jobSink: s.key, address: jobSinkUrl(ctx.url, s.namespace, s.name), concurrency: s.concurrency, maxPending: s.maxPending, pending: this.#queue!.pending(s.key) },
        'JobSink ready',
      );
      this.#pump(s);
    }
  }

  async stop(): Promise<void> {
    this.#accepting = false;
    // Running jobs are stopped (SIGTERM, then SIGKILL); they are marked pending at the next start and run again.
    for (const a of this.#aborts) a.abort();
    await Promise.allSettled([...this.#runs]);
    this.#queue?.close();
    this.#queue = undefined;
  }

  #report(s: Sink): void {
    const counts = this.#queue!.counts(s.key);
    const ready =
      this.#engineProblem === undefined ||
      !s.workload.pod.containers.some((_, i) => {
        const m = runModeOf(s.workload, i);
        return 'mode' in m && m.mode === 'container';
      });
    const conditions: Condition[] = [ready ? { type: 'Ready', status: 'True' } : { type: 'Ready', status: 'False', reason: 'NoContainerEngine', message: this.#engineProblem ?? '' }];
    // With authentication-oidc on, its policies as Knative's JobSink reports them (read again at each report).
    const policies = this.#ctx!.ingressPolicyStatus?.(s.authTarget);
    if (policies !== undefined) conditions.push(policies.condition);
    this.#ctx!.reportStatus('JobSink', s.namespace, s.name, conditions, {
      address: { url: jobSinkUrl(this.#ctx!.url, s.namespace, s.name), ...(policies !== undefined ? { audience: s.authTarget.audiences[0] } : {}) },
      ...(policies !== undefined && policies.policies.length > 0 ? { policies: policies.policies } : {}),
      jobs: counts,
      // The last jobs with their outcome, so the admin API answers "did my job run, and how did it end".
      recentJobs: this.#queue!.recent(s.key, 10).map((j) => ({
        source: j.source,
        id: j.eventId,
        state: j.state,
        exitCode: j.exitCode,
        logTail: j.logTail,
        location: jobLocation(s.namespace, s.name, j.source, j.eventId),
        ...(j.finishedAt ? { finishedAt: new Date(j.finishedAt).toISOString() } : {}),
      })),
    });
  }

  #pump(s: Sink): void {
    while (this.#accepting && this.#queue && s.running < s.concurrency) {
      const job = this.#queue.take(s.key, this.#ctx!.now());
      if (!job) return;
      s.running++;
      const run = this.#run(s, job).finally(() => {
        s.running--;
        this.#runs.delete(run);
        if (this.#queue) this.#report(s);
        this.#pump(s);
      });
      this.#runs.add(run);
    }
  }

  async #run(s: Sink, job: JobRecord): Promise<void> {
    const w = s.workload;
    const log = { jobSink: s.key, job: job.id, ceSource: job.source, ceId: job.eventId };
    const hostFile = join(this.#dir, String(job.id), 'event');
    mkdirSync(join(this.#dir, String(job.id)), { recursive: true });
    writeFileSync(hostFile, job.event);
    const abort = new AbortController();
    this.#aborts.add(abort);
    try {
      const values = new ConfigValues(this.#config);
      const specs: ContainerRunSpec[] = [];
      for (let i = 0; i < w.pod.containers.length; i++) {
        const c = w.pod.containers[i]!;
        const how = runModeOf(w, i);
        if ('problem' in how) throw new SluiceError('SLUICE_JOBSINK_CONTAINER', how.problem);
        if (how.mode === 'container' && !this.#engine) throw new SluiceError('SLUICE_JOBSINK_NO_ENGINE', `no container engine: ${this.#engineProblem ?? 'not detected'}`);
        const { env, problems } = declaredEnvironment(c, [...w.podPath, 'containers', i], {
          values,
          fields: { namespace: w.namespace, podName: `${w.name}-${job.id}`, labels: w.podLabels, annotations: w.annotations },
        });
        if (problems.length > 0) throw new SluiceError('SLUICE_JOBSINK_ENV', problems.map((p) => p.message).join('; '));
        const own = { ...env, [JOBSINK_EVENT_ENV]: how.mode === 'container' ? JOBSINK_EVENT_PATH : hostFile };
        const expand = (x: string): string => expandVariables(x, own);
        specs.push({
          name: `${w.namespace}-${w.name}-${job.id}-${containerNameOf(w, i)}`,
          mode: how.mode,
          image: c.image,
          command: how.command ?? c.command?.map(expand),
          args: how.command ? [] : (c.args ?? []).map(expand),
          env: how.mode === 'process' ? { ...processBaseEnv(), ...own } : own,
          workingDir: c.workingDir,
          ...(how.mode === 'container' ? { files: [{ path: JOBSINK_EVENT_PATH, content: job.event }] } : {}),
        });
      }
      this.#logger!.info(log, 'JobSink job started');
      const results = await Promise.all(
        specs.map((spec) => runToCompletion(spec, { engine: this.#engine, retries: w.backoffLimit, signal: abort.signal, baseDir: w.baseDir, tailLines: 20, logger: this.#logger! })),
      );
      if (abort.signal.aborted) return; // stopping: the job stays running in the queue and is redone at the next start
      const failed = results.find((r) => r.error !== undefined || r.exitCode !== 0);
      const tail = results
        .flatMap((r) => r.logTail)
        .slice(-20)
        .join('\n');
      const exitCode = failed ? (failed.exitCode ?? null) : 0;
      this.#queue?.finish(job.id, failed ? 'failed' : 'succeeded', exitCode, tail, this.#ctx!.now());
      if (failed) this.#logger!.warn({ ...log, exitCode, signal: failed.signal, error: failed.error, attempts: failed.attempts, logTail: tail }, 'JobSink job failed');
      else this.#logger!.info({ ...log, exitCode: 0, attempts: results[0]?.attempts, logTail: tail }, 'JobSink job succeeded');
    } catch (err) {
      this.#queue?.finish(job.id, 'failed', null, (err as Error).message, this.#ctx!.now());
      this.#logger!.warn({ ...log, err }, 'JobSink job failed to start');
    } finally {
      this.#aborts.delete(abort);
      rmSync(join(this.#dir, String(job.id)), { recursive: true, force: true });
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse, rest: readonly string[]): Promise<void> {
    if (req.method === 'GET' && rest[0] === 'namespaces') return this.#status(req, res, rest);
    const [namespace, name] = rest;
    const s = rest.length === 2 ? this.#sinks.get(`${namespace}/${name}`) : undefined;
    if (!s) {
      refuse(req, res, 'SLUICE_JOBSINK_NOT_FOUND', `no JobSink ${rest.join('/')}`);
      return;
    }
    if (req.method !== 'POST') {
      refuse(req, res, 'SLUICE_METHOD_NOT_ALLOWED', `method ${req.method} not allowed; use POST`, { allow: 'POST' });
      return;
    }
    if (!this.#accepting || !this.#queue) {
      refuse(req, res, 'SLUICE_NOT_READY', 'the JobSink is not ready (starting or draining)');
      return;
    }
    // Knative's authentication-oidc feature: a token for the JobSink's audience, then its policies or the default mode.
    const authorize = await authorizeRequest(req, res, this.#ctx!.authorizeIngress, s.authTarget);
    if (authorize === undefined) return;
    try {
      const events = decodeHttp(req.headers, await readBody(req, this.#ctx!.maxBodyBytes));
      if (events.length !== 1) throw new SluiceError('SLUICE_EVENT_INVALID', `a JobSink takes one event per request, got a batch of ${events.length}`);
      authorize(events);
      const e = events[0]!;
      const source = String(e.attributes['source']);
      const id = String(e.attributes['id']);
      const location = jobLocation(s.namespace, s.name, source, id);
      if (!this.#queue.find(s.key, source, id) && this.#queue.pending(s.key) >= s.maxPending) {
        sendError(res, 'SLUICE_JOBSINK_QUEUE_FULL', `${s.maxPending} jobs of JobSink ${s.key} are waiting to start; retry later`, { 'retry-after': '1' });
        return;
      }
      const { created } = this.#queue.enqueue(s.key, source, id, JSON.stringify(eventToJson(e)), this.#ctx!.now());
      res.writeHead(202, { location, 'content-length': 0 });
      res.end();
      if (created) {
        this.#report(s);
        this.#pump(s);
      }
    } catch (err) {
      if (isSluiceError(err)) sendError(res, err.code, err.message);
      else sendError(res, 'SLUICE_INTERNAL', (err as Error).message);
    }
  }

  // GET /jobsinks/namespaces/{ns}/name/{name}/sources/{source}/ids/{id}: Knative's answers (202 running or pending,
  // 200 Reason: Complete, 400 Reason: Failed, 404 unknown), plus a JSON body with the exit code and log tail.
  #status(req: IncomingMessage, res: ServerResponse, rest: readonly string[]): void {
    req.resume();
    const [, ns, nameKey, name, sourcesKey, source, idsKey, id] = rest;
    if (rest.length !== 8 || nameKey !== 'name' || sourcesKey !== 'sources' || idsKey !== 'ids') {
      sendError(res, 'SLUICE_BAD_PATH', `expected /${JOBSINK_ROUTE}/namespaces/{ns}/name/{name}/sources/{source}/ids/{id}`);
      return;
    }
    const job = this.#queue?.find(`${ns}/${name}`, decodeURIComponent(source!), decodeURIComponent(id!));
    if (!job) {
      sendError(res, 'SLUICE_JOBSINK_JOB_NOT_FOUND', 'no job for this event');
      return;
    }
    const body = JSON.stringify({
      state: job.state,
      exitCode: job.exitCode,
      logTail: job.logTail,
      createdAt: new Date(job.createdAt).toISOString(),
      startedAt: job.startedAt ? new Date(job.startedAt).toISOString() : null,
      finishedAt: job.finishedAt ? new Date(job.finishedAt).toISOString() : null,
    });
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    let status = 202;
    if (job.state === 'succeeded') {
      status = 200;
      headers['reason'] = 'Complete';
    } else if (job.state === 'failed') {
      status = 400;
      headers['reason'] = 'Failed';
    } else headers['location'] = jobLocation(ns!, name!, job.source, job.eventId);
    res.writeHead(status, headers);
    res.end(body);
  }
}

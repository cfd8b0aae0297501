import { createConnection } from 'node:net';
import { noopLogger, SluiceError, type Logger } from '@sluice/core';
import type { SluiceConfig } from '@sluice/config';
import { runsFrom, type ComponentFactory, type RuntimeComponent, type RuntimeContext, type SluicePlugin } from '@sluice/plugin';
import { detectContainerEngine, engineCommand, imagePresent, type ContainerEngine, type EngineChoice } from './container-engine.js';
import { ContainerProcess, OIDC_TOKEN_FILE_ENV, OIDC_TOKEN_PATH, processBaseEnv, type ContainerRunSpec, type ExitInfo, type RunnerOptions } from './container-run.js';
import { ConfigValues, declaredEnvironment, expandVariables } from './pod-spec.js';
import { workloadChecks } from './checks.js';
import { parseCronJobSchedule } from './cron-job.js';
import { freePort, isPortFree } from './ports.js';
import { WORKLOAD_KINDS, containerNameOf, runModeOf, serviceTargets, workloadsOf, type ServiceTarget, type Workload } from './workload.js';

/** A workload as a SinkBinding (or anything else that injects variables) sees it. */
export interface WorkloadSubject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** For a CronJob: the labels of the Jobs it makes (`spec.jobTemplate.metadata.labels`), which a Job selector matches. */
  readonly jobLabels?: Readonly<Record<string, string>> | undefined;
}

/** Variables injected into a workload's containers (they win over the declared env), e.g. a SinkBinding's K_SINK. */
export type EnvInjector = (subject: WorkloadSubject, ctx: RuntimeContext) => Readonly<Record<string, string>> | undefined;

/** Collaborators and settings of {@link WorkloadsComponent}. */
export interface WorkloadDeps {
  /** `--container-engine`: `podman`, `docker` or a path (default: podman, then docker, whichever works). */
  readonly engine?: string | undefined;
  /** Detects the engine (tests inject). */
  readonly detectEngine?: (choice: string | undefined) => Promise<EngineChoice>;
  readonly injectors?: readonly EnvInjector[] | ((config: SluiceConfig) => readonly EnvInjector[]);
  /** Where PATH, HOME, … of local processes come from (default: Sluice's environment). */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Environment for the Secret directory lookup (default: Sluice's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly supervisor?: RunnerOptions['supervisor'];
  /** Time given to an engine to pull an absent image. Default 120 s. */
  readonly pullTimeoutMs?: number;
  /**
   * How long start waits for the workloads that serve HTTP to listen, so that sources (which start after) do not begin
   * with refused connections. Default 15 s; a workload still not listening then keeps being waited for in the
   * background (deliveries to it are retried meanwhile).
   */
  readonly readyWaitMs?: number;
}

/** What `sluice run` reports of a workload. */
export interface WorkloadStatus {
  /** `Deployment default/hello`. */
  readonly id: string;
  readonly ready: boolean;
  /** Why it is not ready (Knative-style reason and message). */
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  /** Where refs to it resolve, when it serves HTTP. */
  readonly url?: string | undefined;
  /** Of a run-to-completion workload: `Succeeded` or `Failed` once done. */
  readonly phase?: 'Running' | 'Succeeded' | 'Failed' | undefined;
  /** Of a CronJob: when its job last started, and when it runs next (ISO-8601). */
  readonly lastScheduleTime?: string | undefined;
  readonly nextScheduleTime?: string | undefined;
}

/** Why a workload is NotReady: a condition reason and a message. */
interface NotReadyReason {
  readonly reason: string;
  readonly message: string;
}

interface Entry {
  readonly workload: Workload;
  /** The port PORT is set to, and where the Service address points. */
  port?: number | undefined;
  url?: string | undefined;
  /** Container index that serves the port. */
  servingContainer: number;
  status: WorkloadStatus;
  processes: ContainerProcess[];
  /** A readiness probe loop is running. */
  probing?: boolean;
  /** What it runs: its resource and its containers' run specs (env resolved), compared by a live change. */
  fingerprint?: string;
  /** Its probe and schedule timers, cleared when it stops. */
  readonly timers: Set<ReturnType<typeof setTimeout>>;
  /** Stopped (by a live change, or with the component): its probes, exits and schedule are ignored. */
  stopped?: boolean;
}

const newEntry = (w: Workload): Entry => ({ workload: w, servingContainer: 0, status: { id: w.id, ready: false, reason: 'Starting' }, processes: [], timers: new Set() });

/** Where a workload serves HTTP: the container that gets PORT, the port it declares, and the Services that address it. */
interface Serving {
  readonly container: number;
  readonly declared: number | undefined;
  readonly services: ReadonlyArray<{ readonly namespace: string; readonly name: string }>;
}

/** A Knative Service serves (its first container with a port, default 8080); another workload when a v1 Service selects it. */
function servingOf(w: Workload, targets: readonly ServiceTarget[]): Serving | undefined {
  if (w.knative) {
    const container = Math.max(
      0,
      w.pod.containers.findIndex((c) => (c.ports ?? []).length > 0),
    );
    return { container, declared: w.pod.containers[container]?.ports?.[0]?.containerPort ?? 8080, services: [{ namespace: w.namespace, name: w.name }] };
  }
  const mine = targets.filter((t) => t.workload === w);
  if (mine.length === 0) return undefined;
  return { container: mine[0]!.container, declared: mine[0]!.port, services: mine.map((t) => ({ namespace: t.service.namespace, name: t.service.name })) };
}

/** The addresses a configuration's workloads register: which workload serves each Service, from which container and port. */
function addressPlan(config: SluiceConfig): string {
  const workloads = workloadsOf(config);
  const targets = serviceTargets(config, workloads);
  const plan: Array<[id: string, serving: Serving]> = [];
  for (const w of workloads) {
    const s = servingOf(w, targets);
    if (s) plan.push([w.id, { ...s, services: [...s.services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)) }]);
  }
  return JSON.stringify(plan.sort(([a], [b]) => a.localeCompare(b)));
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

/** The condition that carries a workload's readiness, as its Kubernetes or Knative controller names it. */
const CONDITION_OF: Readonly<Record<string, string>> = { Service: 'ConfigurationsReady', Deployment: 'Available', Pod: 'ContainersReady', Job: 'ContainersReady' };

/** Why a container ended, as a condition reason and message (Knative reports `ExitCode<n>` for a container that exits). */
function exitReason(name: string, exit: ExitInfo): { reason: string; message: string } {
  if (exit.error !== undefined) return { reason: 'StartFailed', message: `container ${name} could not start: ${exit.error}` };
  if (exit.signal) return { reason: 'Killed', message: `container ${name} was killed by ${exit.signal}; restarting` };
  return { reason: `ExitCode${exit.code ?? 0}`, message: `container ${name} exited with code ${exit.code ?? 0}; restarting` };
}

/**
 * Runs the workloads of a configuration (Knative Services, Deployments, Pods, Jobs): each container as a local process
 * or through a container engine, with Knative Serving's runtime contract; Services that select them become addresses
 * on 127.0.0.1. A workload that cannot start is reported NotReady once and does not stop the others. A live change
 * restarts only the workloads whose resource or resolved containers changed (see {@link update}).
 */
export class WorkloadsComponent implements RuntimeComponent {
  readonly name = 'Workloads';
  #config: SluiceConfig;
  readonly #deps: WorkloadDeps;
  readonly #entries: Entry[] = [];
  #engine: EngineChoice | undefined;
  #logger: Logger = noopLogger;
  #ctx: RuntimeContext | undefined;
  #stopped = false;
  /** Ports handed to workloads (and the ingress's): never given twice. */
  readonly #ports = new Set<number>();
  /** v1 Services whose address this component reported (see #reportServiceAddresses). */
  #reportedServices = new Set<string>();

  constructor(config: SluiceConfig, deps: WorkloadDeps = {}) {
    this.#config = config;
    this.#deps = deps;
  }

  /** The state of every workload. */
  status(): WorkloadStatus[] {
    return this.#entries.map((e) => e.status);
  }

  /** The running processes of a workload, by `Kind namespace/name` (tests and debugging). */
  processes(id: string): readonly ContainerProcess[] {
    return this.#entries.find((e) => e.workload.id === id)?.processes ?? [];
  }

  async register(ctx: RuntimeContext): Promise<void> {
    this.#ctx = ctx;
    this.#logger = ctx.logger.child({ component: 'workloads' });
    this.#ports.add(Number(new URL(ctx.url).port));
    const workloads = workloadsOf(this.#config);
    const targets = serviceTargets(this.#config, workloads);
    for (const w of workloads) {
      const entry = newEntry(w);
      const serving = servingOf(w, targets);
      if (serving) {
        entry.servingContainer = serving.container;
        entry.port = await this.#choosePort(serving.declared);
        entry.url = `http://127.0.0.1:${entry.port}`;
        for (const svc of serving.services) ctx.resolver.registerService(svc.namespace, svc.name, entry.url);
        if (!w.knative && serving.declared !== undefined && serving.declared !== entry.port) {
          const svc = serving.services[0]!;
          this.#logger.info(
            { workload: w.id, declared: serving.declared, port: entry.port },
            `${w.id}: port ${serving.declared} is taken on this machine; the container gets PORT=${entry.port} and Service ${svc.namespace}/${svc.name} points there`,
          );
        }
      }
      entry.status = { ...entry.status, url: entry.url };
      this.#entries.push(entry);
      this.#setStatus(entry, entry.status);
    }
    this.#reportServiceAddresses(ctx, workloads);
    await this.#detectEngine(workloads);
  }

  /** The declared port when it is free here, else a free one outside the ephemeral range (ports.ts); never one already handed out. */
  async #choosePort(declared: number | undefined): Promise<number> {
    if (declared !== undefined && !this.#ports.has(declared) && (await isPortFree(declared))) {
      this.#ports.add(declared);
      return declared;
    }
    const p = await freePort({ taken: this.#ports });
    this.#ports.add(p);
    return p;
  }

  /** Finds the container engine, once, when a workload runs a container through one. */
  async #detectEngine(workloads: readonly Workload[]): Promise<void> {
    if (this.#engine !== undefined) return;
    const needsEngine = workloads.some((w) =>
      w.pod.containers.some((_, i) => {
        const m = runModeOf(w, i);
        return 'mode' in m && m.mode === 'container';
      }),
    );
    if (needsEngine) this.#engine = await (this.#deps.detectEngine ?? ((choice) => detectContainerEngine({ choice })))(this.#deps.engine);
  }

  /**
   * Each v1 Service's address: where a ref to it resolves (the workload it selects, or the Service URL template),
   * as `sluice get services` and `describe service` show it. A Knative Service of the same name reports its own.
   */
  #reportServiceAddresses(ctx: RuntimeContext, workloads: readonly Workload[]): void {
    const reported = new Set<string>();
    for (const r of this.#config.resources) {
      if (r.apiVersion !== 'v1' || r.kind !== 'Service') continue;
      if (workloads.some((w) => w.knative && w.namespace === r.namespace && w.name === r.name)) continue;
      try {
        const url = ctx.resolver.resolve({ ref: { kind: 'Service', name: r.name, namespace: r.namespace } }, r.namespace);
        ctx.reportStatus('Service', r.namespace, r.name, [], { address: { url } });
        reported.add(`${r.namespace}/${r.name}`);
      } catch {
        // A Service ref always resolves (to the template at worst); nothing to report otherwise.
      }
    }
    // Services a live change removed (or that a Knative Service of the same name now reports): their statuses go.
    for (const key of this.#reportedServices) {
      if (reported.has(key)) continue;
      const [ns, name] = key.split('/') as [string, string];
      if (!workloads.some((w) => w.knative && w.namespace === ns && w.name === name)) ctx.forget?.('Service', ns, name);
    }
    this.#reportedServices = reported;
  }

  /** One line per Service that refs name but nothing here runs, when it resolves to cluster DNS (unreachable here). */
  #reportClusterServices(ctx: RuntimeContext): void {
    const seen = new Set<string>();
    const visit = (v: unknown, ns: string): void => {
      if (Array.isArray(v)) {
        for (const x of v) visit(x, ns);
        return;
      }
      if (v === null || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      const ref = o['ref'] as { kind?: unknown; name?: unknown; namespace?: unknown } | undefined;
      if (ref && ref.kind === 'Service' && typeof ref.name === 'string') {
        const refNs = typeof ref.namespace === 'string' ? ref.namespace : ns;
        const key = `${refNs}/${ref.name}`;
        if (!seen.has(key) && !ctx.resolver.runsService(refNs, ref.name)) {
          seen.add(key);
          const url = ctx.resolver.resolve({ ref: { kind: 'Service', name: ref.name, namespace: refNs } }, refNs);
          if (/\.svc\.cluster\.local(?::\d+)?(\/|$)/.test(url)) {
            this.#logger.warn(
              { service: key, url },
              `Service ${key} is not run here: refs to it go to ${url}, cluster DNS that does not resolve outside a cluster (declare its workload, or set --service-url-template)`,
            );
          }
        }
      }
      for (const x of Object.values(o)) visit(x, ns);
    };
    for (const r of this.#config.resources) visit(r.value['spec'], r.namespace);
  }

  async start(ctx: RuntimeContext): Promise<void> {
    this.#reportClusterServices(ctx);
    const values = new ConfigValues(this.#config, this.#deps.env ?? process.env);
    for (const entry of this.#entries) entry.fingerprint = this.#fingerprint(entry, ctx, values);
    await this.#startEntries(this.#entries, ctx, values);
  }

  /** Starts workloads (a CronJob is scheduled), then waits a while for those that serve HTTP to listen. */
  async #startEntries(entries: readonly Entry[], ctx: RuntimeContext, values: ConfigValues): Promise<void> {
    for (const entry of entries) {
      try {
        if (entry.workload.cron) this.#scheduleCron(entry, ctx, values);
        else await this.#startOne(entry, ctx, values);
      } catch (err) {
        this.#notReady(entry, 'StartFailed', (err as Error).message);
      }
    }
    const deadline = Date.now() + (this.#deps.readyWaitMs ?? 15_000);
    const waiting = (): Entry[] => entries.filter((e) => e.status.reason === 'NotListening' && !e.stopped);
    while (waiting().length > 0 && Date.now() < deadline && !this.#stopped) await new Promise((r) => setTimeout(r, 50));
    for (const e of waiting()) {
      this.#logger.warn({ workload: e.workload.id, url: e.url }, `${e.workload.id} does not listen on ${e.url} yet; deliveries to it are retried until it does`);
    }
  }

  /** What a workload runs, to tell whether a change touches it: its resource and its containers as they would start now. */
  #fingerprint(entry: Entry, ctx: RuntimeContext, values: ConfigValues): string {
    let containers: unknown;
    try {
      containers = this.#runSpecs(entry, ctx, values);
    } catch (err) {
      containers = (err as Error).message; // it will not start either (StartFailed), for the same reason
    }
    return JSON.stringify([entry.workload.resource.value, entry.workload.baseDir, containers]);
  }

  /**
   * A change can be taken in place while every Service keeps its address: the same workloads serve the same Services
   * from the same container and declared port. Otherwise the component is replaced (with every component that may
   * have resolved one of its addresses).
   */
  canUpdate(next: RuntimeComponent): boolean {
    return next instanceof WorkloadsComponent && addressPlan(next.#config) === addressPlan(this.#config);
  }

  /**
   * Takes a changed configuration's workloads in place: those whose resource or resolved containers changed (their
   * env after Secrets, ConfigMaps and SinkBindings included) are stopped and started again on the same port, removed
   * ones are stopped, added ones start; every other workload keeps running untouched. Resolves with what restarted.
   */
  async update(next: RuntimeComponent): Promise<readonly string[]> {
    if (!(next instanceof WorkloadsComponent)) throw new SluiceError('SLUICE_PLUGIN_CONFLICT', `workloads: cannot take a change from ${next.name}`);
    const ctx = this.#ctx;
    if (!ctx) throw new SluiceError('SLUICE_NOT_READY', 'the workloads component is not registered yet');
    const config = next.#config;
    const workloads = workloadsOf(config);
    const targets = serviceTargets(config, workloads);
    await this.#detectEngine(workloads);
    this.#config = config; // #runSpecs reads the SinkBindings of the configuration it runs
    const values = new ConfigValues(config, this.#deps.env ?? process.env);
    const before = new Map(this.#entries.map((e) => [e.workload.id, e] as const));
    const entries: Entry[] = [];
    const starting: Entry[] = [];
    for (const w of workloads) {
      const old = before.get(w.id);
      const entry = newEntry(w);
      const serving = servingOf(w, targets);
      if (serving) {
        // canUpdate saw the same addresses: the workload keeps its port.
        if (old?.port === undefined) throw new SluiceError('SLUICE_NOT_READY', `workloads: ${w.id} has no port to keep`);
        entry.servingContainer = serving.container;
        entry.port = old.port;
        entry.url = old.url;
        entry.status = { ...entry.status, url: entry.url };
      }
      entry.fingerprint = this.#fingerprint(entry, ctx, values);
      if (old !== undefined && old.fingerprint === entry.fingerprint) {
        entries.push(old);
        before.delete(w.id);
      } else {
        entries.push(entry);
        starting.push(entry);
      }
    }
    // What is left of the old entries was removed or changed.
    await Promise.all([...before.values()].map((e) => this.#stopEntry(e)));
    for (const e of before.values()) {
      const w = e.workload;
      if (!entries.some((x) => x.workload.id === w.id)) {
        ctx.forget?.(w.kind, w.namespace, w.name);
        this.#logger.info({ workload: w.id }, `${w.id} stopped (removed)`);
      }
    }
    this.#entries.splice(0, this.#entries.length, ...entries);
    for (const e of starting) this.#setStatus(e, e.status);
    this.#reportServiceAddresses(ctx, workloads);
    this.#reportClusterServices(ctx);
    await this.#startEntries(starting, ctx, values);
    return starting.map((e) => e.workload.id);
  }

  async #stopEntry(entry: Entry): Promise<void> {
    entry.stopped = true;
    for (const t of entry.timers) clearTimeout(t);
    entry.timers.clear();
    await Promise.all(entry.processes.map((p) => p.stop()));
  }

  /** Sets a workload's status and reports it as Knative-style conditions (the admin API and /readyz show them). */
  #setStatus(entry: Entry, status: WorkloadStatus): void {
    if (entry.stopped) return; // a replaced entry's last exit: the status is its successor's now
    entry.status = status;
    const w = entry.workload;
    // A dependent condition as the kind's controller names it (Ready itself is derived from it by the registry).
    const type = CONDITION_OF[w.kind] ?? 'ContainersReady';
    const ready = status.ready
      ? { type, status: 'True' as const }
      : { type, status: 'False' as const, reason: status.reason ?? 'NotReady', ...(status.message !== undefined ? { message: status.message } : {}) };
    const fields: Record<string, unknown> = {};
    if (status.url !== undefined) fields['address'] = { url: status.url };
    if (status.phase !== undefined) fields['phase'] = status.phase;
    if (status.lastScheduleTime !== undefined) fields['lastScheduleTime'] = status.lastScheduleTime;
    if (status.nextScheduleTime !== undefined) fields['nextScheduleTime'] = status.nextScheduleTime;
    this.#ctx?.reportStatus(w.kind, w.namespace, w.name, [ready], fields);
  }

  #notReady(entry: Entry, reason: string, message: string): void {
    if (entry.stopped) return;
    this.#setStatus(entry, { ...entry.status, ready: false, reason, message });
    this.#logger.warn({ workload: entry.workload.id, reason }, `${entry.workload.id} is NotReady (${reason}): ${message}`);
  }

  async #startOne(entry: Entry, ctx: RuntimeContext, values: ConfigValues): Promise<void> {
    const planned = this.#runSpecs(entry, ctx, values);
    if ('reason' in planned) return this.#notReady(entry, planned.reason, planned.message);
    const { specs, engine } = planned;
    const missing = engine ? await this.#pullMissingImages(entry.workload, engine, specs) : undefined;
    if (missing) return this.#notReady(entry, missing.reason, missing.message);
    this.#launch(entry, specs, engine);
    const w = entry.workload;
    if (w.restartPolicy !== 'Always') {
      this.#setStatus(entry, { ...entry.status, ready: true, phase: 'Running', reason: undefined });
      this.#logger.info({ workload: w.id }, `${w.id} started (runs to completion)`);
      return;
    }
    if (entry.port === undefined) {
      // Knative's readiness is the port answering; with no port, a container that runs is ready.
      if (entry.processes.every((p) => p.pid !== undefined)) this.#setStatus(entry, { ...entry.status, ready: true, reason: undefined });
      this.#logger.info({ workload: w.id }, `${w.id} started`);
      if (!entry.status.ready) this.#probe(entry);
      return;
    }
    this.#setStatus(entry, { ...entry.status, reason: 'NotListening', message: `waiting for port ${entry.port}` });
    this.#logger.info({ workload: w.id, url: entry.url }, `${w.id} started; waiting for it to listen on ${entry.url}`);
    this.#probe(entry);
  }

  /**
   * How to run each container of a workload (process or container, command, args, env after Knative Serving's runtime
   * contract and the injectors), and the engine the containers need; or why it cannot run.
   */
  #runSpecs(entry: Entry, ctx: RuntimeContext, values: ConfigValues): { specs: ContainerRunSpec[]; engine: ContainerEngine | undefined } | NotReadyReason {
    const w = entry.workload;
    const subject = { apiVersion: w.apiVersion, kind: w.kind, namespace: w.namespace, name: w.name, labels: w.labels, jobLabels: w.jobLabels };
    const injected: Record<string, string> = {};
    const injectors = typeof this.#deps.injectors === 'function' ? this.#deps.injectors(this.#config) : (this.#deps.injectors ?? []);
    for (const inject of injectors) Object.assign(injected, inject(subject, ctx));
    const specs: ContainerRunSpec[] = [];
    let engine: ContainerEngine | undefined;
    for (let i = 0; i < w.pod.containers.length; i++) {
      const c = w.pod.containers[i]!;
      const cname = containerNameOf(w, i);
      const how = runModeOf(w, i);
      if ('problem' in how) return { reason: 'ContainerMissing', message: how.problem };
      if (how.mode === 'container') {
        if (!this.#engine?.ok)
          return {
            reason: 'NoContainerEngine',
            message: `container "${cname}" has no command, so its image ${c.image} must run through a container engine, but there is none: ${this.#engine && !this.#engine.ok ? this.#engine.reason : 'not detected'} (set command, or the annotation sluice.dev/command, to run it as a local process)`,
          };
        engine = this.#engine.engine;
      }
      const contract: Record<string, string> = {};
      if (entry.port !== undefined && i === entry.servingContainer) contract['PORT'] = String(entry.port);
      if (w.knative) {
        contract['K_SERVICE'] = w.name;
        contract['K_CONFIGURATION'] = w.name;
        contract['K_REVISION'] = w.revision!;
      }
      const fields = { namespace: w.namespace, podName: w.kind === 'Pod' ? w.name : `${w.name}-local`, labels: w.podLabels, annotations: w.annotations };
      const { env, problems } = declaredEnvironment(c, [...w.podPath, 'containers', i], { values, fields });
      if (problems.length > 0) return { reason: 'InvalidEnvironment', message: problems.map((p) => p.message).join('; ') };
      const own = { ...env, ...contract, ...injected };
      const expand = (s: string): string => expandVariables(s, own);
      const command = how.command ?? c.command?.map(expand);
      // An injected OIDC token file (a SinkBinding's) is mounted where Knative projects it; a process reads the host path.
      const tokenFile = injected[OIDC_TOKEN_FILE_ENV];
      if (tokenFile !== undefined && how.mode === 'container') own[OIDC_TOKEN_FILE_ENV] = OIDC_TOKEN_PATH;
      specs.push({
        name: `${w.namespace}-${w.name}-${cname}`,
        mode: how.mode,
        image: c.image,
        command,
        args: how.command ? [] : (c.args ?? []).map(expand),
        env: how.mode === 'process' ? { ...processBaseEnv(this.#deps.baseEnv ?? process.env), ...own } : own,
        workingDir: c.workingDir,
        ...(tokenFile !== undefined && how.mode === 'container' ? { mounts: [{ hostPath: tokenFile, containerPath: OIDC_TOKEN_PATH }] } : {}),
      });
    }
    return { specs, engine };
  }

  /** Pulls the images the engine does not have (as the kubelet does, unless `imagePullPolicy: Never`); why not, if it cannot. */
  async #pullMissingImages(w: Workload, engine: ContainerEngine, specs: readonly ContainerRunSpec[]): Promise<NotReadyReason | undefined> {
    for (const s of specs) {
      if (s.mode !== 'container' || (await imagePresent(engine, s.image!))) continue;
      const policy = w.pod.containers.find((c) => c.image === s.image)?.['imagePullPolicy'];
      if (policy === 'Never') return { reason: 'ImageNotPresent', message: `image ${s.image} is not in the ${engine.name} image store and imagePullPolicy is Never` };
      this.#logger.info({ workload: w.id, image: s.image }, `${w.id}: pulling ${s.image}`);
      const pull = await engineCommand(engine, ['pull', s.image!], this.#deps.pullTimeoutMs ?? 120_000);
      if (pull.code !== 0) {
        const why =
          pull.output
            .split('\n')
            .filter((l) => l.trim() !== '')
            .pop() ?? `exit ${pull.code}`;
        return { reason: 'ImagePullFailed', message: `image ${s.image} is not in the ${engine.name} image store and cannot be pulled: ${why}` };
      }
    }
    return undefined;
  }

  /**
   * Starts a process per container. A kept-running workload (`restartPolicy: Always`) is NotReady with why whenever
   * one exits, until it runs (and answers) again; one that runs to completion (a Job, a Pod with `Never`/`OnFailure`)
   * is retried on failure up to `backoffLimit` times, then Failed, or Succeeded once every container finished.
   */
  #launch(entry: Entry, specs: readonly ContainerRunSpec[], engine: ContainerEngine | undefined): void {
    const w = entry.workload;
    const once = w.restartPolicy !== 'Always';
    let failures = 0;
    let finished = 0;
    specs.forEach((spec, i) => {
      const p = new ContainerProcess(spec, {
        engine,
        baseDir: w.baseDir,
        ...(once
          ? {}
          : {
              onExit: (exit: ExitInfo) => {
                if (this.#stopped || entry.stopped) return;
                const { reason, message } = exitReason(containerNameOf(w, i), exit);
                this.#notReady(entry, reason, message);
                this.#probe(entry);
              },
            }),
        logger: this.#logger.child({ workload: w.id, container: containerNameOf(w, i) }),
        ...(this.#deps.supervisor ? { supervisor: this.#deps.supervisor } : {}),
        ...(once
          ? {
              restart: (o) => {
                const failed = o.error !== undefined || o.code !== 0;
                if (failed && w.restartPolicy === 'OnFailure' && failures < w.backoffLimit) {
                  failures++;
                  return true;
                }
                finished++;
                if (failed) {
                  this.#setStatus(entry, { ...entry.status, ready: false, phase: 'Failed', reason: 'BackoffLimitExceeded', message: `exit ${o.code ?? o.signal ?? o.error?.message}` });
                  this.#logger.warn(
                    { workload: w.id, tail: p.logTail().slice(-10) },
                    `${w.id} failed (${o.error?.message ?? (o.signal ? `killed by ${o.signal}` : `exit code ${o.code}`)}) after ${failures + 1} attempt(s)`,
                  );
                } else if (finished === specs.length && entry.status.phase !== 'Failed') {
                  this.#setStatus(entry, { ...entry.status, ready: true, phase: 'Succeeded', reason: undefined, message: undefined });
                  this.#logger.info({ workload: w.id }, `${w.id} completed`);
                }
                return false;
              },
            }
          : {}),
      });
      entry.processes.push(p);
      p.start();
    });
  }

  /**
   * Knative Serving's readiness: the container's `readinessProbe` when it is an `httpGet` (a 2xx or 3xx answer) or a
   * `tcpSocket`, else a TCP connection to its port; probed against the port Sluice gave it (`PORT`).
   */
  async #answers(entry: Entry): Promise<boolean> {
    if (!entry.processes.every((p) => p.pid !== undefined)) return false;
    if (entry.port === undefined) return true;
    const probe = entry.workload.pod.containers[entry.servingContainer]?.['readinessProbe'] as
      { httpGet?: { path?: string; httpHeaders?: Array<{ name: string; value: string }> }; timeoutSeconds?: number } | undefined;
    if (probe?.httpGet) {
      const path = probe.httpGet.path ?? '/';
      try {
        const res = await fetch(`http://127.0.0.1:${entry.port}${path.startsWith('/') ? path : `/${path}`}`, {
          headers: Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value])),
          signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000),
        });
        await res.body?.cancel();
        return res.status >= 200 && res.status < 400;
      } catch {
        return false;
      }
    }
    return canConnect(entry.port);
  }

  #probe(entry: Entry): void {
    if (entry.probing) return;
    entry.probing = true;
    const tick = async (): Promise<void> => {
      if (this.#stopped || entry.stopped) return;
      if (await this.#answers(entry)) {
        entry.probing = false;
        this.#setStatus(entry, { ...entry.status, ready: true, reason: undefined, message: undefined });
        this.#logger.info({ workload: entry.workload.id, url: entry.url }, `${entry.workload.id} is ready${entry.url ? ` at ${entry.url}` : ''}`);
        return;
      }
      const t = setTimeout(() => {
        entry.timers.delete(t);
        void tick();
      }, 200);
      t.unref();
      entry.timers.add(t);
    };
    void tick();
  }

  /**
   * A CronJob: its job template's pod runs to completion at each time of its schedule (in `spec.timeZone`, else UTC),
   * as a Job does. `concurrencyPolicy` decides what happens when the previous run is still going (Allow: both run;
   * Forbid: this one is skipped; Replace: the previous one is stopped); `suspend` skips runs. A run missed while Sluice
   * was not running is not made up. Ready while scheduled; the last run's failure shows as NotReady until a run succeeds.
   */
  #scheduleCron(entry: Entry, ctx: RuntimeContext, values: ConfigValues): void {
    const w = entry.workload;
    const cron = w.cron!;
    const parsed = parseCronJobSchedule(cron.schedule, cron.timeZone);
    if ('problem' in parsed) return this.#notReady(entry, 'InvalidSchedule', parsed.problem);
    const plan = (after: number): void => {
      if (this.#stopped || entry.stopped) return;
      const next = parsed.next(after);
      const nextScheduleTime = next === undefined ? undefined : new Date(next).toISOString();
      const ready = entry.status.phase === undefined ? { ready: true, reason: undefined, message: undefined } : {};
      this.#setStatus(entry, { ...entry.status, ...ready, nextScheduleTime });
      if (next === undefined) return;
      const t = setTimeout(
        () => {
          entry.timers.delete(t);
          this.#runCron(entry, ctx, values, next).catch((err: unknown) => this.#notReady(entry, 'StartFailed', (err as Error).message));
          plan(next);
        },
        Math.min(Math.max(0, next - Date.now()), 2_147_483_647),
      );
      entry.timers.add(t);
    };
    plan(Date.now());
    this.#logger.info(
      { workload: w.id, schedule: cron.schedule, timeZone: cron.timeZone ?? 'UTC', next: entry.status.nextScheduleTime },
      `${w.id} scheduled (${cron.schedule}, ${cron.timeZone ?? 'UTC'}); next run ${entry.status.nextScheduleTime ?? 'never'}`,
    );
  }

  async #runCron(entry: Entry, ctx: RuntimeContext, values: ConfigValues, at: number): Promise<void> {
    const w = entry.workload;
    const cron = w.cron!;
    if (cron.suspend) {
      this.#logger.info({ workload: w.id }, `${w.id} is suspended: run skipped`);
      return;
    }
    const active = entry.processes.filter((p) => p.pid !== undefined);
    if (active.length > 0 && cron.concurrencyPolicy === 'Forbid') {
      this.#logger.info({ workload: w.id }, `${w.id}: the previous run is still active: run skipped (concurrencyPolicy Forbid)`);
      return;
    }
    if (active.length > 0 && cron.concurrencyPolicy === 'Replace') {
      this.#logger.info({ workload: w.id }, `${w.id}: the previous run is still active: stopping it (concurrencyPolicy Replace)`);
      await Promise.all(active.map((p) => p.stop()));
    }
    // Finished runs are let go (Kubernetes keeps a history of Job objects; here their logs were already written).
    entry.processes = entry.processes.filter((p) => p.pid !== undefined);
    entry.status = { ...entry.status, lastScheduleTime: new Date(at).toISOString() };
    await this.#startOne(entry, ctx, values);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#entries.map((e) => this.#stopEntry(e)));
  }
}

/** A {@link ComponentFactory} running the workloads of a configuration with the given settings. */
export function workloadComponents(deps: WorkloadDeps = {}): ComponentFactory {
  // Always one component: without workloads it still reports Service refs that fall back to cluster DNS.
  // It reads the workloads, the Services that select them and the SinkBindings that bind them.
  const reads = (kind: string, apiVersion: string): boolean => WORKLOAD_KINDS.includes(`${apiVersion} ${kind}`) || kind === 'Service' || kind === 'SinkBinding';
  return (config) => [
    runsFrom(
      new WorkloadsComponent(config, deps),
      config.resources.filter((r) => reads(r.kind, r.apiVersion)).map((r) => r.value),
    ),
  ];
}

/**
 * The workloads as a plugin of `sluice`: their checks and the component that runs them. `injectors` add variables to
 * the workloads they choose (the CLI passes the SinkBinding injector of @sluice/sources). The engine is the one
 * `$SLUICE_CONTAINER_ENGINE` names (`--container-engine`), else podman, else docker.
 */
export function workloadsPlugin(deps: WorkloadDeps = {}): SluicePlugin {
  return { name: 'workloads', checks: () => [workloadChecks()], components: workloadComponents(deps) };
}

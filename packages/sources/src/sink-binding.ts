import { DEFAULT_NAMESPACE, oidcSubject, realTimers, type CloudEventOverrides, type SinkBinding } from '@sluice/core';
import { destinationAudience } from '@sluice/broker';
import { resourcesOfKind, type LoadedResource, type SluiceConfig } from '@sluice/config';
import type { RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { OIDC_TOKEN_FILE_ENV, selectorMatches, type EnvInjector } from '@sluice/workloads';
import { checkOverrideKey, encodeCeOverrides } from './ce-overrides.js';

export type { SinkBinding };
import type { SpecProblem } from './spec-problem.js';

/** The subject kind Sluice binds: a process started with `sluice bind --binding`. */
export const PROCESS_SUBJECT = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Process' } as const;

/** Workload subjects a SinkBinding binds inside `sluice run` (the workloads Sluice runs from the same configuration). */
export const WORKLOAD_SUBJECTS: readonly string[] = ['apps/v1 Deployment', 'batch/v1 Job', 'batch/v1 CronJob', 'v1 Pod', 'serving.knative.dev/v1 Service'];

export { OIDC_TOKEN_FILE_ENV, OIDC_TOKEN_PATH } from '@sluice/workloads';

/** A SinkBinding's token file, for its audience; `release` is set while it waits to be removed. */
interface TokenEntry {
  readonly file: { readonly path: string; close(): void };
  readonly audience: string;
  release?: unknown;
}

/**
 * The OIDC token files of the SinkBindings, by `namespace/name` (authentication-oidc on): made by each SinkBinding's
 * component when it registers (before any workload starts), read by the injector for workloads and by `sluice bind`
 * (from the data directory) for processes.
 */
const tokenFiles = new Map<string, TokenEntry>();

/**
 * How long a stopped SinkBinding's token file stays. A live change stops every component before the new ones register
 * (seconds, while processes exit), and the processes bound to a SinkBinding that is only restarted keep running and
 * read the file before each send: the new component takes the file over instead of it vanishing meanwhile.
 */
const RELEASE_AFTER_MS = 10_000;

let exitHook = false;
/** At exit the files of stopped SinkBindings go at once, as a stopped sluice run leaves none. */
function removeReleasedAtExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const e of tokenFiles.values()) if (e.release !== undefined) e.file.close();
  });
}

/** Variables Sluice sets and the user may not override: the Knative SinkBinding contract. */
export const INJECTED_VARIABLES: readonly string[] = ['K_SINK', 'K_CE_OVERRIDES', 'K_CA_CERTS'];

/** What a bound process is told. */
export interface BindingInput {
  /** The resolved sink URL. */
  readonly sinkUrl: string;
  readonly ceOverrides?: CloudEventOverrides | undefined;
  /** PEM certificates of the sink (`Destination.CACerts`). */
  readonly caCerts?: string | undefined;
  readonly namespace: string;
  readonly name: string;
  /** Seconds; becomes `K_SINK_TIMEOUT`. */
  readonly sinkTimeoutSeconds?: number | undefined;
}

/** The variables of a binding: `injected` always win; `defaults` may be overridden by the user's own env. */
export interface BindingVariables {
  readonly injected: Readonly<Record<string, string>>;
  readonly defaults: Readonly<Record<string, string>>;
}

/**
 * The Knative container contract: `K_SINK`, `K_CE_OVERRIDES` (when overrides are set), `K_CA_CERTS` (when the sink has
 * CACerts); plus `NAMESPACE`, `NAME` and `K_SINK_TIMEOUT` (when set), which Knative's adapter framework reads.
 */
export function bindingVariables(input: BindingInput): BindingVariables {
  const injected: Record<string, string> = { K_SINK: input.sinkUrl };
  if (input.ceOverrides?.extensions && Object.keys(input.ceOverrides.extensions).length > 0) {
    injected['K_CE_OVERRIDES'] = encodeCeOverrides(input.ceOverrides);
  }
  if (input.caCerts) injected['K_CA_CERTS'] = input.caCerts;
  const defaults: Record<string, string> = { NAMESPACE: input.namespace, NAME: input.name };
  if (input.sinkTimeoutSeconds !== undefined) defaults['K_SINK_TIMEOUT'] = String(input.sinkTimeoutSeconds);
  return { injected, defaults };
}

/** The token file key of a SinkBinding (`sinkbinding/<namespace>/<name>`), under the data directory's `oidc-tokens`. */
export const sinkBindingTokenKey = (namespace: string, name: string): string => `sinkbinding/${namespace}/${name}`;

/** The SinkBinding resources of a configuration. */
export function sinkBindings(config: SluiceConfig): { resource: LoadedResource; binding: SinkBinding }[] {
  return resourcesOfKind(config.resources, 'SinkBinding').map((r) => ({ resource: r, binding: r.value }));
}

/**
 * Finds the SinkBinding for `sluice bind --binding NAME[:NAMESPACE]`: a SinkBinding with that name, or one whose
 * subject is the Process of that name.
 */
export function findSinkBinding(config: SluiceConfig, name: string, namespace: string = DEFAULT_NAMESPACE): SinkBinding | undefined {
  const all = sinkBindings(config).filter((b) => b.resource.namespace === namespace);
  return all.find((b) => b.resource.name === name)?.binding ?? all.find((b) => b.binding.spec.subject.kind === PROCESS_SUBJECT.kind && b.binding.spec.subject.name === name)?.binding;
}

const isWorkloadSubject = (s: { apiVersion: string; kind: string }): boolean => WORKLOAD_SUBJECTS.includes(`${s.apiVersion} ${s.kind}`);

/**
 * Checks a SinkBinding's subject: a workload Sluice runs (Deployment, Job, Pod, Knative Service; by name or selector),
 * or a `sluice.dev/v1alpha1 Process` started by `sluice bind` (by name).
 */
export function checkSinkBinding(binding: SinkBinding, namespace: string): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const subject = binding.spec.subject;
  const isProcess = subject.apiVersion === PROCESS_SUBJECT.apiVersion && subject.kind === PROCESS_SUBJECT.kind;
  if (!isProcess && !isWorkloadSubject(subject)) {
    const sameKind = WORKLOAD_SUBJECTS.find((k) => k.endsWith(` ${subject.kind}`) && subject.kind !== 'Service');
    problems.push({
      path: ['spec', 'subject', sameKind || subject.kind === PROCESS_SUBJECT.kind ? 'apiVersion' : 'kind'],
      message:
        `unsupported subject ${subject.apiVersion} ${subject.kind}: Sluice binds the workloads it runs ` +
        `(${WORKLOAD_SUBJECTS.join(', ')}) and processes started with "sluice bind" (${PROCESS_SUBJECT.apiVersion} ${PROCESS_SUBJECT.kind})`,
      code: 'SLUICE_CONFIG_UNSUPPORTED_SUBJECT',
    });
  }
  if (subject.selector !== undefined) {
    if (isProcess) problems.push({ path: ['spec', 'subject', 'selector'], message: 'a Process subject is named, not selected: set subject.name', code: 'SLUICE_CONFIG_UNSUPPORTED_SUBJECT' });
    if (subject.name !== undefined) problems.push({ path: ['spec', 'subject', 'selector'], message: 'set either subject.name or subject.selector, not both' });
  } else if (subject.name === undefined || subject.name === '') {
    problems.push({ path: ['spec', 'subject'], message: isProcess ? 'the subject needs a name (the name given to sluice bind --binding)' : 'the subject needs a name or a selector' });
  }
  if (subject.namespace !== undefined && subject.namespace !== namespace) {
    problems.push({ path: ['spec', 'subject', 'namespace'], message: `the subject must be in the SinkBinding's namespace "${namespace}"` });
  }
  for (const key of Object.keys(binding.spec.ceOverrides?.extensions ?? {})) {
    const err = checkOverrideKey(key);
    if (err) problems.push({ path: ['spec', 'ceOverrides', 'extensions', key], message: err });
  }
  return problems;
}

/**
 * Binds the workloads Sluice runs as Knative's SinkBinding webhook does: a workload that a SinkBinding's subject names
 * (or selects by its labels) in the same namespace gets `K_SINK`, `K_CE_OVERRIDES` and `K_CA_CERTS`.
 */
export function sinkBindingInjector(config: SluiceConfig): EnvInjector {
  const bindings = sinkBindings(config).filter((b) => isWorkloadSubject(b.binding.spec.subject));
  return (w, ctx) => {
    const out: Record<string, string> = {};
    for (const { resource, binding } of bindings) {
      const s = binding.spec.subject;
      // A Job selector binds the Jobs a CronJob makes, which carry its jobTemplate's labels (Knative's getting-started
      // SinkBinding sample binds a CronJob's heartbeats this way).
      const cronJobs = s.apiVersion === 'batch/v1' && s.kind === 'Job' && s.selector !== undefined && w.apiVersion === 'batch/v1' && w.kind === 'CronJob';
      if ((!cronJobs && `${s.apiVersion} ${s.kind}` !== `${w.apiVersion} ${w.kind}`) || (s.namespace ?? resource.namespace) !== w.namespace || resource.namespace !== w.namespace) continue;
      const matches = cronJobs ? selectorMatches(s.selector!, w.jobLabels ?? {}) : s.name !== undefined ? s.name === w.name : s.selector !== undefined && selectorMatches(s.selector, w.labels);
      if (!matches) continue;
      const vars = bindingVariables({
        sinkUrl: ctx.resolver.resolve(binding.spec.sink, resource.namespace),
        ceOverrides: binding.spec.ceOverrides,
        caCerts: binding.spec.sink.CACerts,
        namespace: resource.namespace,
        name: resource.name,
      });
      Object.assign(out, vars.injected);
      const tokenFile = tokenFiles.get(`${resource.namespace}/${resource.name}`);
      if (tokenFile !== undefined && tokenFile.release === undefined) out[OIDC_TOKEN_FILE_ENV] = tokenFile.file.path;
    }
    return out;
  };
}

/**
 * A SinkBinding inside `sluice run`: nothing runs (the process is started by `sluice bind`), but the resolved sink
 * is logged so that the user sees what a bound process will get.
 */
export class SinkBindingComponent implements RuntimeComponent {
  readonly name: string;
  readonly #binding: SinkBinding;

  constructor(binding: SinkBinding) {
    this.#binding = binding;
    this.name = `SinkBinding ${binding.metadata.namespace ?? DEFAULT_NAMESPACE}/${binding.metadata.name}`;
  }

  /**
   * With authentication-oidc on and a sink with an audience: the token naming this SinkBinding (Knative's
   * `<name>-oidc-sources.knative.dev-sinkbinding`), kept in a file before anything it binds starts: the workloads it
   * binds are told the path, and `sluice bind --binding` finds it in the data directory for a Process subject.
   */
  register(ctx: RuntimeContext): void {
    const ns = this.#binding.metadata.namespace ?? DEFAULT_NAMESPACE;
    const key = `${ns}/${this.#binding.metadata.name}`;
    const audience = destinationAudience(this.#binding.spec.sink, ns);
    if (ctx.oidcTokenFile === undefined || audience === undefined) return;
    const held = tokenFiles.get(key);
    if (held !== undefined) {
      if (held.release === undefined) return;
      realTimers.clearTimeout(held.release);
      held.release = undefined;
      // The file of the previous component for this SinkBinding: kept as it is when its audience is the same.
      if (held.audience === audience) return;
      held.file.close();
    }
    const file = ctx.oidcTokenFile(sinkBindingTokenKey(ns, this.#binding.metadata.name), oidcSubject('sources.knative.dev', 'SinkBinding', ns, this.#binding.metadata.name), audience);
    tokenFiles.set(key, { file, audience });
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const ns = this.#binding.metadata.namespace ?? DEFAULT_NAMESPACE;
    if (isWorkloadSubject(this.#binding.spec.subject)) {
      const s = this.#binding.spec.subject;
      ctx.logger.child({ source: this.name }).info({ sink: ctx.resolver.resolve(this.#binding.spec.sink, ns) }, `binds ${s.apiVersion} ${s.kind} ${s.name ?? JSON.stringify(s.selector)}`);
      return;
    }
    ctx.logger
      .child({ source: this.name })
      .info(
        { sink: ctx.resolver.resolve(this.#binding.spec.sink, ns), subject: this.#binding.spec.subject.name },
        `bind a process with: sluice bind --binding ${this.#binding.metadata.name}${ns === DEFAULT_NAMESPACE ? '' : `:${ns}`} -f FILE --server ${ctx.url} -- COMMAND`,
      );
  }

  /** Its token file stays {@link RELEASE_AFTER_MS} for a component that takes it over, then is removed. */
  async stop(): Promise<void> {
    const key = `${this.#binding.metadata.namespace ?? DEFAULT_NAMESPACE}/${this.#binding.metadata.name}`;
    const entry = tokenFiles.get(key);
    if (entry === undefined || entry.release !== undefined) return;
    // Unreferenced: a stopping sluice run is not held by it (the exit hook removes the file then).
    entry.release = realTimers.setTimeout(() => {
      entry.file.close();
      if (tokenFiles.get(key) === entry) tokenFiles.delete(key);
    }, RELEASE_AFTER_MS);
    removeReleasedAtExit();
  }
}

import { DEFAULT_NAMESPACE, falseCondition, noopLogger, oidcSubject, trueCondition, type Clock, type ContainerSource, type Destination, type Logger, type ObjectMeta, type Timers } from '@sluice/core';
import { ADDRESSABLE_KINDS, type SluiceConfig } from '@sluice/config';
import type { RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { checkOverrideKey } from './ce-overrides.js';

export type { ContainerSource };
import {
  ConfigValues,
  ContainerProcess,
  declaredEnvironment,
  detectContainerEngine,
  expandVariables,
  type Container,
  processBaseEnv,
  type BackoffOptions,
  type EngineChoice,
  type SpawnFn,
} from '@sluice/workloads';
import { destinationAudience } from '@sluice/broker';
import { bindingVariables, INJECTED_VARIABLES, OIDC_TOKEN_FILE_ENV, OIDC_TOKEN_PATH, type BindingVariables } from './sink-binding.js';
import type { SpecProblem } from './spec-problem.js';

/** A container of a ContainerSource's pod template: a Kubernetes container (docs/sources.md lists what is honoured). */
export type ContainerSpec = Container;

/**
 * Annotation choosing how containers run: `process` (`command` + `args` locally) or `container` (the image through
 * podman or docker). Without it, a container with a `command` runs as a process and one with only an image through
 * the engine, as Knative runs it.
 */
export const RUNTIME_ANNOTATION = 'sluice.dev/runtime';

/** Annotation setting `K_SINK_TIMEOUT` (integer seconds) for the bound processes. */
export const SINK_TIMEOUT_ANNOTATION = 'sluice.dev/sink-timeout';

/** How a ContainerSource's containers are run. */
export type ContainerRuntime = 'process' | 'container';

/**
 * The runtime of a container: the annotation's when set (undefined when it has an unknown value), else `process` when
 * the container has a command and `container` when it has only an image.
 */
export function containerRuntimeOf(meta: ObjectMeta, container?: ContainerSpec): ContainerRuntime | undefined {
  const v = meta.annotations?.[RUNTIME_ANNOTATION];
  if (v === undefined) return container && container.command === undefined && container.image !== undefined ? 'container' : 'process';
  return v === 'process' || v === 'container' ? v : undefined;
}

/** `K_SINK_TIMEOUT` from the annotation: a positive integer number of seconds, NaN when invalid, undefined when unset. */
export function sinkTimeoutOf(meta: ObjectMeta): number | undefined {
  const v = meta.annotations?.[SINK_TIMEOUT_ANNOTATION];
  if (v === undefined) return undefined;
  return /^[1-9]\d*$/.test(v) ? Number(v) : Number.NaN;
}

/** The name a container runs under: its own, or Knative's default `<source>-<index>`. */
export function containerName(source: ContainerSource, index: number): string {
  return source.spec.template.spec.containers[index]?.name ?? `${source.metadata.name}-${index}`;
}

/** Checks what the schema cannot; paths are from the resource root. */
export function checkContainerSource(source: ContainerSource): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (containerRuntimeOf(source.metadata) === undefined) {
    problems.push({
      path: ['metadata', 'annotations', RUNTIME_ANNOTATION],
      message: `annotation ${RUNTIME_ANNOTATION} must be "process" or "container", got "${source.metadata.annotations?.[RUNTIME_ANNOTATION]}"`,
    });
  }
  if (Number.isNaN(sinkTimeoutOf(source.metadata))) {
    problems.push({ path: ['metadata', 'annotations', SINK_TIMEOUT_ANNOTATION], message: `annotation ${SINK_TIMEOUT_ANNOTATION} must be a whole number of seconds > 0` });
  }
  const seen = new Set<string>();
  source.spec.template.spec.containers.forEach((c, i) => {
    const at = ['spec', 'template', 'spec', 'containers', i];
    const name = containerName(source, i);
    if (seen.has(name)) problems.push({ path: [...at, 'name'], message: `duplicate container name "${name}"` });
    seen.add(name);
    const runtime = containerRuntimeOf(source.metadata, c);
    if (runtime === 'process' && c.command === undefined) {
      problems.push({
        path: c.image !== undefined ? [...at, 'image'] : at,
        message:
          c.image === undefined
            ? `container "${name}": needs a command (run as a local process) or an image (run through podman or docker)`
            : `container "${name}": missing command (required with ${RUNTIME_ANNOTATION}: process)`,
      });
    }
    if (runtime === 'container' && c.image === undefined) {
      problems.push({ path: at, message: `container "${name}": missing image (required with ${RUNTIME_ANNOTATION}: container)` });
    }
    (c.env ?? []).forEach((e, j) => {
      if (INJECTED_VARIABLES.includes(e.name)) {
        problems.push({ path: [...at, 'env', j, 'name'], message: `${e.name} is set by Sluice from spec.sink/spec.ceOverrides; remove it from env` });
      }
    });
  });
  for (const key of Object.keys(source.spec.ceOverrides?.extensions ?? {})) {
    const err = checkOverrideKey(key);
    if (err) problems.push({ path: ['spec', 'ceOverrides', 'extensions', key], message: err });
  }
  return problems;
}

export { expandVariables };

/**
 * The environment of one container: `base` (for a local process, PATH, HOME and the like; nothing for a container),
 * the binding defaults, the container's `env` (expanded in order), then the binding's injected variables, which always
 * win. Sluice's own environment is never passed on. Also returns the names the container itself defines.
 */
export function containerEnvironment(
  container: ContainerSpec,
  binding: BindingVariables,
  base: Readonly<Record<string, string | undefined>>,
  values?: { values: ConfigValues; namespace: string; name: string; labels?: Readonly<Record<string, string>>; annotations?: Readonly<Record<string, string>> },
): { env: Record<string, string>; own: Record<string, string>; problems: string[] } {
  let own: Record<string, string>;
  let problems: string[] = [];
  if (values) {
    // env / envFrom with valueFrom (Secrets, ConfigMaps, the downward API), expanded in order over the binding's variables.
    const fields = { namespace: values.namespace, podName: values.name, labels: values.labels ?? {}, annotations: values.annotations ?? {} };
    const r = declaredEnvironment(container, [], { values: values.values, fields, base: { ...binding.defaults, ...binding.injected } });
    own = r.env;
    problems = r.problems.map((p) => p.message);
  } else {
    own = { ...binding.defaults };
    for (const e of container.env ?? []) own[e.name] = expandVariables(e.value ?? '', { ...own, ...binding.injected });
  }
  Object.assign(own, binding.injected);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  return { env: Object.assign(env, own), own, problems };
}

/**
 * The sink a source's `ref` names, as `Kind namespace/name`, when it is a kind Sluice serves (Broker, channels, flows,
 * sinks) and the configuration does not declare it (yet); undefined otherwise. A `uri`, or a Service (run here or
 * elsewhere), is taken to exist.
 */
export function missingSink(config: Pick<SluiceConfig, 'resources'>, namespace: string, sink: Destination | undefined): string | undefined {
  const ref = sink?.ref;
  if (!ref || !ADDRESSABLE_KINDS.has(ref.kind)) return undefined;
  const key = `${ref.namespace ?? namespace}/${ref.name}`;
  return config.resources.some((r) => r.kind === ref.kind && r.key === key) ? undefined : `${ref.kind} ${key}`;
}

/** Collaborators of {@link ContainerSourceComponent}; production defaults when unset. */
export interface ContainerSourceDeps {
  readonly timers?: Timers;
  readonly now?: Clock;
  readonly backoff?: Partial<BackoffOptions>;
  readonly stopGraceMs?: number;
  readonly spawn?: SpawnFn;
  /** Where PATH, HOME, LANG, TZ and TMPDIR of local processes come from (default: Sluice's environment). */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** `--container-engine` (default: podman, then docker, whichever works). */
  readonly engine?: string | undefined;
  readonly detectEngine?: (choice: string | undefined) => Promise<EngineChoice>;
  /** The configuration's Secrets and ConfigMaps, for `valueFrom` and `envFrom` (without it only `value` is read). */
  readonly values?: ConfigValues;
  /**
   * The sink the source's `ref` names when it is not declared yet (`Broker default/later`), from {@link missingSink}:
   * the containers wait for it.
   */
  readonly sinkMissing?: string | undefined;
}

/** Runs a ContainerSource inside `sluice run`: one supervised process per container, bound to the sink. */
export class ContainerSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #source: ContainerSource;
  readonly #deps: ContainerSourceDeps;
  readonly #processes: ContainerProcess[] = [];
  #tokenFile: { readonly path: string; close(): void } | undefined;
  #logger: Logger = noopLogger;

  constructor(source: ContainerSource, deps: ContainerSourceDeps = {}) {
    this.name = `ContainerSource ${source.metadata.namespace ?? DEFAULT_NAMESPACE}/${source.metadata.name}`;
    this.#source = source;
    this.#deps = deps;
  }

  /** Pids of the running processes, by container name. */
  pids(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    this.#processes.forEach((p, i) => (out[containerName(this.#source, i)] = p.pid));
    return out;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const src = this.#source;
    const ns = src.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.#logger = ctx.logger.child({ source: this.name });
    if (this.#deps.sinkMissing !== undefined) {
      // As in Knative, where the SinkBinding injects K_SINK only once the sink resolves: the containers do not run
      // before their sink exists, so no event they make can be lost. Adding the sink restarts this component.
      const message = `${this.#deps.sinkMissing} does not exist yet; the containers start when it is added`;
      ctx.reportStatus('ContainerSource', ns, src.metadata.name, [falseCondition('SinkBindingReady', 'NotFound', message)]);
      this.#logger.warn({ sink: this.#deps.sinkMissing }, `${this.name} is NotReady (NotFound): its sink ${message}`);
      return;
    }
    const sinkUrl = ctx.resolver.resolve(src.spec.sink, ns);
    ctx.reportStatus('ContainerSource', ns, src.metadata.name, [trueCondition('SinkBindingReady')], { sinkUri: sinkUrl });
    const binding = bindingVariables({
      sinkUrl,
      ceOverrides: src.spec.ceOverrides,
      caCerts: src.spec.sink.CACerts,
      namespace: ns,
      name: src.metadata.name,
      sinkTimeoutSeconds: sinkTimeoutOf(src.metadata),
    });
    // Knative's authentication-oidc feature: the processes get a token naming this source for the sink's audience, in
    // a file Sluice renews (Knative projects one at /oidc/token); without an audience (a plain uri) there is none.
    const audience = destinationAudience(src.spec.sink, ns);
    if (ctx.oidcTokenFile !== undefined && audience !== undefined) {
      this.#tokenFile = ctx.oidcTokenFile(`containersource/${ns}/${src.metadata.name}`, oidcSubject('sources.knative.dev', 'ContainerSource', ns, src.metadata.name), audience);
    }
    const tokenFile = this.#tokenFile;
    const containers = src.spec.template.spec.containers;
    const runtimes = containers.map((c) => containerRuntimeOf(src.metadata, c) ?? 'process');
    let engine: EngineChoice | undefined;
    if (runtimes.includes('container')) {
      engine = await (this.#deps.detectEngine ?? ((choice) => detectContainerEngine({ choice })))(this.#deps.engine);
      if (!engine.ok) {
        this.#logger.error({ reason: engine.reason }, `${this.name} is NotReady (NoContainerEngine): its images need podman or docker: ${engine.reason}`);
      }
    }
    containers.forEach((c, i) => {
      const cname = containerName(src, i);
      const runtime = runtimes[i]!;
      if (runtime === 'container' && !engine?.ok) return;
      const meta = src.spec.template.metadata;
      const { own, problems } = containerEnvironment(
        c,
        binding,
        {},
        this.#deps.values
          ? { values: this.#deps.values, namespace: ns, name: src.metadata.name, ...(meta?.labels ? { labels: meta.labels } : {}), ...(meta?.annotations ? { annotations: meta.annotations } : {}) }
          : undefined,
      );
      if (problems.length > 0) {
        this.#logger.error({ container: cname, problems }, `${this.name} is NotReady (InvalidEnvironment): container "${cname}": ${problems.join('; ')}`);
        return;
      }
      if (tokenFile !== undefined) own[OIDC_TOKEN_FILE_ENV] = runtime === 'process' ? tokenFile.path : OIDC_TOKEN_PATH;
      const expand = (s: string): string => expandVariables(s, own);
      const p = new ContainerProcess(
        {
          name: `${ns}-${src.metadata.name}-${cname}`,
          mode: runtime,
          image: c.image,
          command: c.command?.map(expand),
          args: (c.args ?? []).map(expand),
          env: runtime === 'process' ? { ...processBaseEnv(this.#deps.baseEnv ?? process.env), ...own } : own,
          workingDir: c.workingDir,
          ...(tokenFile !== undefined && runtime === 'container' ? { mounts: [{ hostPath: tokenFile.path, containerPath: OIDC_TOKEN_PATH }] } : {}),
        },
        {
          ...(engine?.ok ? { engine: engine.engine } : {}),
          logger: this.#logger.child({ container: cname }),
          supervisor: {
            ...(this.#deps.timers ? { timers: this.#deps.timers } : {}),
            ...(this.#deps.now ? { now: this.#deps.now } : {}),
            ...(this.#deps.backoff ? { backoff: this.#deps.backoff } : {}),
            ...(this.#deps.stopGraceMs !== undefined ? { stopGraceMs: this.#deps.stopGraceMs } : {}),
            ...(this.#deps.spawn ? { spawn: this.#deps.spawn } : {}),
          },
        },
      );
      this.#processes.push(p);
      p.start();
    });
    this.#logger.info({ sink: sinkUrl, runtimes, containers: containers.length }, 'container source started');
  }

  async stop(): Promise<void> {
    await Promise.all(this.#processes.map((p) => p.stop()));
    this.#tokenFile?.close();
    this.#tokenFile = undefined;
  }
}

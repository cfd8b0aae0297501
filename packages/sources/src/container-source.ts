import { DEFAULT_NAMESPACE, noopLogger, type Destination, type Logger, type ObjectMeta } from '@sluice/core';
import type { RuntimeComponent, RuntimeContext } from '@sluice/plugin';
import { checkOverrideKey, type CloudEventOverrides } from './ce-overrides.js';
import { engineProcessSpec, findContainerEngine } from './container-engine.js';
import { ProcessSupervisor, type ProcessSpec, type SpawnFn } from './process-supervisor.js';
import type { BackoffOptions } from './restart-backoff.js';
import { bindingVariables, INJECTED_VARIABLES, type BindingVariables } from './sink-binding.js';
import type { SpecProblem } from './spec-problem.js';
import type { Clock, Timers } from './timers.js';

/** A container of a ContainerSource's pod template: the fields Sluice honours (docs/sources.md). */
export interface ContainerSpec {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  workingDir?: string;
}

/** `sources.knative.dev/v1 ContainerSource`. */
export interface ContainerSource {
  apiVersion: 'sources.knative.dev/v1';
  kind: 'ContainerSource';
  metadata: ObjectMeta;
  spec: {
    template: { metadata?: Record<string, unknown>; spec: { containers: ContainerSpec[] } };
    sink: Destination;
    ceOverrides?: CloudEventOverrides;
  };
}

/** Annotation choosing how containers run: `process` (default, `command` + `args` locally) or `container`. */
export const RUNTIME_ANNOTATION = 'sluice.dev/runtime';

/** Annotation setting `K_SINK_TIMEOUT` (integer seconds) for the bound processes. */
export const SINK_TIMEOUT_ANNOTATION = 'sluice.dev/sink-timeout';

/** How a ContainerSource's containers are run. */
export type ContainerRuntime = 'process' | 'container';

/** The runtime a resource asks for, or undefined when the annotation has an unknown value. */
export function containerRuntimeOf(meta: ObjectMeta): ContainerRuntime | undefined {
  const v = meta.annotations?.[RUNTIME_ANNOTATION] ?? 'process';
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
  const runtime = containerRuntimeOf(source.metadata);
  if (runtime === undefined) {
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
    if (runtime !== 'container' && c.command === undefined) {
      problems.push({
        path: c.image !== undefined ? [...at, 'image'] : at,
        message:
          `container "${name}": missing command. Sluice runs containers as local processes: set command (and args), ` +
          `or run the image with docker/podman by setting the annotation ${RUNTIME_ANNOTATION}: container`,
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

/**
 * Expands Kubernetes `$(VAR)` references with `vars`; `$$(VAR)` is a literal `$(VAR)` and unknown references stay as
 * written, as the kubelet does for command, args and env values.
 */
export function expandVariables(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (m: string, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(vars, name) ? vars[name]! : m;
  });
}

/**
 * The environment of one container: Sluice's environment, the binding defaults, the container's `env` (expanded in
 * order), then the binding's injected variables, which always win. Also returns the names the container itself
 * defines (what a container engine must pass on).
 */
export function containerEnvironment(
  container: ContainerSpec,
  binding: BindingVariables,
  base: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string>; own: Record<string, string> } {
  const own: Record<string, string> = { ...binding.defaults };
  for (const e of container.env ?? []) own[e.name] = expandVariables(e.value ?? '', { ...own, ...binding.injected });
  Object.assign(own, binding.injected);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  return { env: Object.assign(env, own), own };
}

/** Collaborators of {@link ContainerSourceComponent}; production defaults when unset. */
export interface ContainerSourceDeps {
  readonly timers?: Timers;
  readonly now?: Clock;
  readonly backoff?: Partial<BackoffOptions>;
  readonly stopGraceMs?: number;
  readonly spawn?: SpawnFn;
  /** Environment the children inherit (default: Sluice's own). */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  readonly findEngine?: () => string | undefined;
}

/** Runs a ContainerSource inside `sluice run`: one supervised process per container, bound to the sink. */
export class ContainerSourceComponent implements RuntimeComponent {
  readonly name: string;
  readonly #source: ContainerSource;
  readonly #deps: ContainerSourceDeps;
  readonly #supervisors: ProcessSupervisor[] = [];
  #logger: Logger = noopLogger;

  constructor(source: ContainerSource, deps: ContainerSourceDeps = {}) {
    this.name = `ContainerSource ${source.metadata.namespace ?? DEFAULT_NAMESPACE}/${source.metadata.name}`;
    this.#source = source;
    this.#deps = deps;
  }

  /** Pids of the running processes, by container name. */
  pids(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    this.#supervisors.forEach((s, i) => (out[containerName(this.#source, i)] = s.pid));
    return out;
  }

  async start(ctx: RuntimeContext): Promise<void> {
    const src = this.#source;
    const ns = src.metadata.namespace ?? DEFAULT_NAMESPACE;
    this.#logger = ctx.logger.child({ source: this.name });
    const sinkUrl = ctx.resolver.resolve(src.spec.sink, ns);
    const binding = bindingVariables({
      sinkUrl,
      ceOverrides: src.spec.ceOverrides,
      caCerts: src.spec.sink.CACerts,
      namespace: ns,
      name: src.metadata.name,
      sinkTimeoutSeconds: sinkTimeoutOf(src.metadata),
    });
    const runtime = containerRuntimeOf(src.metadata) ?? 'process';
    let engine: string | undefined;
    if (runtime === 'container') {
      engine = (this.#deps.findEngine ?? findContainerEngine)();
      if (engine === undefined) {
        this.#logger.error({}, `${RUNTIME_ANNOTATION}: container is set but neither docker nor podman is on PATH; retrying with backoff`);
      }
    }
    src.spec.template.spec.containers.forEach((c, i) => {
      const cname = containerName(src, i);
      const { env, own } = containerEnvironment(c, binding, this.#deps.baseEnv ?? process.env);
      const expand = (s: string): string => expandVariables(s, own);
      const command = c.command?.map(expand);
      const args = (c.args ?? []).map(expand);
      let spec: ProcessSpec;
      if (runtime === 'container') {
        spec = engineProcessSpec(engine ?? 'docker', { image: c.image!, command, args, envNames: Object.keys(own), workingDir: c.workingDir }, env);
      } else {
        const [cmd, ...rest] = command!;
        spec = { command: cmd!, args: [...rest, ...args], env, ...(c.workingDir !== undefined ? { cwd: c.workingDir } : {}) };
      }
      const supervisor = new ProcessSupervisor(spec, {
        logger: this.#logger.child({ container: cname }),
        ...(this.#deps.timers ? { timers: this.#deps.timers } : {}),
        ...(this.#deps.now ? { now: this.#deps.now } : {}),
        ...(this.#deps.backoff ? { backoff: this.#deps.backoff } : {}),
        ...(this.#deps.stopGraceMs !== undefined ? { stopGraceMs: this.#deps.stopGraceMs } : {}),
        ...(this.#deps.spawn ? { spawn: this.#deps.spawn } : {}),
      });
      this.#supervisors.push(supervisor);
      supervisor.start();
    });
    this.#logger.info({ sink: sinkUrl, runtime, containers: src.spec.template.spec.containers.length }, 'container source started');
  }

  async stop(): Promise<void> {
    await Promise.all(this.#supervisors.map((s) => s.stop()));
  }
}

import { dirname } from 'node:path';
import { DEFAULT_NAMESPACE, type PodTemplateSpec } from '@sluice/core';
import { typed, type LoadedResource, type SluiceConfig } from '@sluice/config';
import type { RunMode } from './container-run.js';
import type { Container, PodSpec } from './pod-spec.js';

/** Annotation giving a shell command to run the (first) container as a local process, e.g. `node server.js`. */
export const COMMAND_ANNOTATION = 'sluice.dev/command';
/** Annotation forcing how containers run: `process` or `container`. */
export const RUNTIME_ANNOTATION = 'sluice.dev/runtime';

/** Knative Serving's reserved variables: set by the platform, refused in a Knative Service's env. */
export const KNATIVE_CONTRACT_VARIABLES: readonly string[] = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'];

/** The workload kinds Sluice runs, by `apiVersion kind`. */
export const WORKLOAD_KINDS: readonly string[] = ['serving.knative.dev/v1 Service', 'apps/v1 Deployment', 'v1 Pod', 'batch/v1 Job', 'batch/v1 CronJob'];

/** A resource whose pod Sluice runs. */
export interface Workload {
  readonly resource: LoadedResource;
  readonly apiVersion: string;
  readonly kind: 'Service' | 'Deployment' | 'Pod' | 'Job' | 'CronJob';
  readonly namespace: string;
  readonly name: string;
  /** `Deployment default/hello`, for logs. */
  readonly id: string;
  /** Labels of the resource (what a SinkBinding selector matches). */
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the pod (what a v1 Service selector matches). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** The pod template's annotations over the resource's. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly pod: PodSpec;
  /** Path of the PodSpec inside the resource. */
  readonly podPath: readonly (string | number)[];
  /** Whether the containers are kept running (`Always`) or run to completion. */
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** Retries of a run-to-completion workload (Job `backoffLimit`, default 6). */
  readonly backoffLimit: number;
  /** Directory of the manifest: where local processes run when the container sets no workingDir. */
  readonly baseDir: string;
  /** Whether this is a Knative Service (Knative Serving's runtime contract applies). */
  readonly knative: boolean;
  /** Revision name of a Knative Service (`template.metadata.name`, else `<name>-00001`). */
  readonly revision?: string | undefined;
  /** Of a CronJob: when its job runs. */
  readonly cron?: CronSpec | undefined;
  /** Of a CronJob: the labels of the Jobs it makes (`spec.jobTemplate.metadata.labels`). */
  readonly jobLabels?: Readonly<Record<string, string>> | undefined;
}

/** A CronJob's schedule and policies, as Kubernetes defines them. */
export interface CronSpec {
  readonly schedule: string;
  /** IANA time zone (`spec.timeZone`); UTC when absent (Sluice has no kube-controller-manager zone to inherit). */
  readonly timeZone: string | undefined;
  readonly concurrencyPolicy: 'Allow' | 'Forbid' | 'Replace';
  readonly suspend: boolean;
}

/** The workloads of a configuration. */
export function workloadsOf(config: SluiceConfig): Workload[] {
  const out: Workload[] = [];
  for (const r of config.resources) {
    const w = workloadOf(r);
    if (w) out.push(w);
  }
  return out;
}

/** A map of strings (a jobTemplate's labels, which the schema leaves free-form), else empty. */
function stringMap(v: unknown): Readonly<Record<string, string>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The workload of a resource, or undefined when it is not a workload kind. */
export function workloadOf(r: LoadedResource): Workload | undefined {
  const t = typed(r);
  const meta = t.value.metadata;
  const base = { resource: r, apiVersion: r.apiVersion, namespace: r.namespace, name: r.name, labels: meta.labels ?? {}, baseDir: dirname(r.file) };
  const fromTemplate = (
    kind: Workload['kind'],
    defaultRestart: Workload['restartPolicy'],
    spec: { template: PodTemplateSpec; backoffLimit?: number },
    podPath: readonly string[] = ['spec', 'template', 'spec'],
  ): Workload => {
    const template = spec.template;
    const pod = template.spec;
    return {
      ...base,
      kind,
      id: `${kind} ${r.namespace}/${r.name}`,
      podLabels: template.metadata?.labels ?? {},
      annotations: { ...meta.annotations, ...template.metadata?.annotations },
      pod,
      podPath,
      restartPolicy: pod.restartPolicy ?? defaultRestart,
      backoffLimit: spec.backoffLimit ?? 6,
      knative: kind === 'Service',
      revision: kind === 'Service' ? (template.metadata?.name ?? `${r.name}-00001`) : undefined,
    };
  };
  switch (t.kind) {
    case 'Service':
      return t.value.apiVersion === 'serving.knative.dev/v1' ? fromTemplate('Service', 'Always', t.value.spec) : undefined;
    case 'Deployment':
      return fromTemplate('Deployment', 'Always', t.value.spec);
    case 'Job':
      return fromTemplate('Job', 'OnFailure', t.value.spec);
    case 'CronJob': {
      const spec = t.value.spec;
      const w = fromTemplate('CronJob', 'OnFailure', spec.jobTemplate.spec, ['spec', 'jobTemplate', 'spec', 'template', 'spec']);
      return {
        ...w,
        cron: { schedule: spec.schedule, timeZone: spec.timeZone, concurrencyPolicy: spec.concurrencyPolicy ?? 'Allow', suspend: spec.suspend === true },
        jobLabels: stringMap(spec.jobTemplate.metadata?.['labels']),
      };
    }
    case 'Pod': {
      const pod = t.value.spec;
      return {
        ...base,
        kind: 'Pod',
        id: `Pod ${r.namespace}/${r.name}`,
        podLabels: meta.labels ?? {},
        annotations: meta.annotations ?? {},
        pod,
        podPath: ['spec'],
        restartPolicy: pod.restartPolicy ?? 'Always',
        backoffLimit: 6,
        knative: false,
      };
    }
    default:
      return undefined;
  }
}

/** The name a container runs under: its own, or `<workload>-<index>`. */
export function containerNameOf(w: Workload, index: number): string {
  return w.pod.containers[index]?.name ?? (w.knative && index === 0 ? 'user-container' : `${w.name}-${index}`);
}

/** How one container of a workload runs, with the command the annotation gives, or why it cannot be decided. */
export function runModeOf(w: Workload, index: number): { mode: RunMode; command?: string[] } | { problem: string } {
  const c: Container = w.pod.containers[index]!;
  const forced = w.annotations[RUNTIME_ANNOTATION];
  const annotated = index === 0 ? w.annotations[COMMAND_ANNOTATION] : undefined;
  if (forced !== undefined && forced !== 'process' && forced !== 'container') return { problem: `annotation ${RUNTIME_ANNOTATION} must be "process" or "container", got "${forced}"` };
  if (forced === 'container') return c.image ? { mode: 'container' } : { problem: `annotation ${RUNTIME_ANNOTATION}: container needs an image` };
  if (annotated !== undefined) return { mode: 'process', command: ['/bin/sh', '-c', annotated] };
  if (c.command && c.command.length > 0) return { mode: 'process' };
  if (forced === 'process') return { problem: `annotation ${RUNTIME_ANNOTATION}: process needs a command (or the annotation ${COMMAND_ANNOTATION})` };
  if (c.image) return { mode: 'container' };
  return { problem: `container "${containerNameOf(w, index)}" has neither a command nor an image` };
}

/** Whether a label selector (`matchLabels`/`matchExpressions`, or a plain map as a v1 Service's) matches labels. */
export function selectorMatches(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | Record<string, string>,
  labels: Readonly<Record<string, string>>,
): boolean {
  const s = selector as { matchLabels?: unknown; matchExpressions?: unknown };
  if (s.matchLabels === undefined && s.matchExpressions === undefined) {
    const plain = selector as Record<string, string>;
    return Object.keys(plain).length > 0 && Object.entries(plain).every(([k, v]) => labels[k] === v);
  }
  const ml = (s.matchLabels ?? {}) as Record<string, string>;
  const me = (s.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[];
  if (Object.keys(ml).length === 0 && me.length === 0) return true;
  return (
    Object.entries(ml).every(([k, v]) => labels[k] === v) &&
    me.every((e) => {
      const has = Object.hasOwn(labels, e.key);
      switch (e.operator) {
        case 'In':
          return has && (e.values ?? []).includes(labels[e.key]!);
        case 'NotIn':
          return !has || !(e.values ?? []).includes(labels[e.key]!);
        case 'Exists':
          return has;
        case 'DoesNotExist':
          return !has;
        default:
          return false;
      }
    })
  );
}

/** A v1 Service and the workload it selects (by pod labels, in its namespace), with the port it targets. */
export interface ServiceTarget {
  readonly service: LoadedResource;
  readonly workload: Workload;
  /** Index of the container whose port is targeted. */
  readonly container: number;
  /** The declared container port the Service targets (a number, or undefined when it cannot be told). */
  readonly port: number | undefined;
}

type ServicePort = { port: number; targetPort?: number | string; name?: string };

/** Finds the workload each v1 Service selects and the port it targets; Services selecting nothing run here are left out. */
export function serviceTargets(config: SluiceConfig, workloads: readonly Workload[]): ServiceTarget[] {
  const out: ServiceTarget[] = [];
  for (const r of config.resources) {
    if (r.apiVersion !== 'v1' || r.kind !== 'Service') continue;
    const spec = (r.value['spec'] ?? {}) as { selector?: Record<string, string>; ports?: ServicePort[] };
    if (!spec.selector) continue;
    const w = workloads.find((x) => x.namespace === r.namespace && x.kind !== 'Job' && x.kind !== 'CronJob' && selectorMatches(spec.selector!, x.podLabels));
    if (!w) continue;
    const ports = spec.ports ?? [];
    const sp = ports.find((p) => p.port === 80) ?? ports[0];
    const target = sp?.targetPort ?? sp?.port;
    let container = 0;
    let port: number | undefined;
    if (typeof target === 'number') {
      port = target;
      const i = w.pod.containers.findIndex((c) => (c.ports ?? []).some((p) => p.containerPort === target));
      container = i >= 0 ? i : 0;
    } else if (typeof target === 'string') {
      w.pod.containers.forEach((c, i) => {
        const p = (c.ports ?? []).find((x) => x.name === target);
        if (p && port === undefined) {
          port = p.containerPort;
          container = i;
        }
      });
    }
    out.push({ service: r, workload: w, container, port });
  }
  return out;
}

/** `namespace/name` of a resource in `namespace` (default namespace when unset). */
export const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? DEFAULT_NAMESPACE}/${name}`;

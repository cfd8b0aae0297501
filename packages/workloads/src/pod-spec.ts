import { SecretStore, type SecretKeyRef, type SluiceConfig } from '@sluice/config';
import type { Container, ContainerPort, EnvFromSource, EnvVar, PodSpec } from '@sluice/core';

// The pod shapes are generated from schemas/podspec.json (@sluice/core), re-exported for this package's users.
export type { Container, ContainerPort, EnvFromSource, EnvVar, PodSpec };

/**
 * Container fields accepted but without effect here, and why. They are listed once per resource at validate and start,
 * so that nothing that changes behaviour in a cluster is dropped without a word.
 */
export const IGNORED_CONTAINER_FIELDS: Readonly<Record<string, string>> = {
  resources: 'no CPU or memory limits are applied',
  securityContext: 'processes run as the Sluice user; containers as the engine runs them',
  livenessProbe: 'not probed: a process that exits is restarted',
  readinessProbe:
    'not run here: a workload runs only httpGet and tcpSocket probes (against the port it gets in PORT), other kinds of probe are replaced by a TCP probe of that port; a ContainerSource is not probed',
  startupProbe: 'not probed',
  lifecycle: 'no postStart/preStop hooks are run',
  volumeMounts: 'no volumes are mounted',
  volumeDevices: 'no volumes are mounted',
  imagePullPolicy: 'Always: images are pulled only when absent',
  terminationMessagePath: 'no termination message is kept',
  terminationMessagePolicy: 'no termination message is kept',
  stdin: 'no stdin is attached',
  stdinOnce: 'no stdin is attached',
  tty: 'no terminal is attached',
  resizePolicy: 'no limits are applied',
};

/** Pod spec fields accepted but without effect here. */
export const IGNORED_POD_FIELDS: Readonly<Record<string, string>> = {
  serviceAccountName: 'no Kubernetes API access',
  serviceAccount: 'no Kubernetes API access',
  automountServiceAccountToken: 'no Kubernetes API access',
  volumes: 'no volumes are mounted',
  nodeSelector: 'one machine',
  affinity: 'one machine',
  tolerations: 'one machine',
  topologySpreadConstraints: 'one machine',
  priorityClassName: 'one machine',
  securityContext: 'processes run as the Sluice user',
  imagePullSecrets: 'images come from the local engine store',
  terminationGracePeriodSeconds: 'processes get 5 s between SIGTERM and SIGKILL',
  enableServiceLinks: 'no service environment variables are injected',
  dnsPolicy: 'host networking',
  hostNetwork: 'host networking always',
  containerConcurrency: 'no concurrency limit (Knative Service)',
  timeoutSeconds: 'no request timeout (Knative Service)',
  responseStartTimeoutSeconds: 'no request timeout (Knative Service)',
  idleTimeoutSeconds: 'no request timeout (Knative Service)',
};

/** The values of `v1 Secret` and `v1 ConfigMap` documents of a configuration, for env and envFrom. */
export class ConfigValues {
  readonly #secrets: SecretStore;
  readonly #configMaps = new Map<string, Record<string, string>>();
  readonly #secretDocs = new Map<string, Record<string, string>>();

  constructor(config: SluiceConfig, env: NodeJS.ProcessEnv = process.env) {
    this.#secrets = SecretStore.fromConfig(config, env);
    for (const r of config.resources) {
      if (r.apiVersion !== 'v1') continue;
      if (r.kind === 'ConfigMap') this.#configMaps.set(r.key, { ...((r.value['data'] as Record<string, string> | undefined) ?? {}) });
      if (r.kind === 'Secret') {
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries((r.value['data'] as Record<string, string> | undefined) ?? {})) all[k] = Buffer.from(v, 'base64').toString('utf8');
        Object.assign(all, (r.value['stringData'] as Record<string, string> | undefined) ?? {});
        this.#secretDocs.set(r.key, all);
      }
    }
  }

  secretKey(namespace: string, ref: SecretKeyRef): { ok: true; value: string | undefined } | { ok: false; message: string } {
    return this.#secrets.lookup(namespace, ref);
  }

  configMapKey(namespace: string, ref: SecretKeyRef): { ok: true; value: string | undefined } | { ok: false; message: string } {
    const cm = this.#configMaps.get(`${namespace}/${ref.name}`);
    if (!cm) return ref.optional ? { ok: true, value: undefined } : { ok: false, message: `ConfigMap "${namespace}/${ref.name}" is not declared in the configuration` };
    const v = cm[ref.key];
    if (v === undefined && !ref.optional) return { ok: false, message: `ConfigMap "${namespace}/${ref.name}" has no key "${ref.key}"` };
    return { ok: true, value: v };
  }

  /** Every key of a Secret or ConfigMap (envFrom). */
  all(kind: 'Secret' | 'ConfigMap', namespace: string, name: string): Record<string, string> | undefined {
    return (kind === 'Secret' ? this.#secretDocs : this.#configMaps).get(`${namespace}/${name}`);
  }
}

/** What `fieldRef` paths resolve to for a workload run here. */
export interface FieldValues {
  readonly namespace: string;
  readonly podName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Resolves a `fieldRef.fieldPath` as the kubelet's downward API does, for a pod on this machine. */
export function fieldValue(path: string, f: FieldValues): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? f.labels : f.annotations)[m[2]!];
  switch (path) {
    case 'metadata.name':
      return f.podName;
    case 'metadata.namespace':
      return f.namespace;
    case 'metadata.uid':
      return f.podName;
    case 'spec.nodeName':
    case 'status.hostIP':
      return path === 'spec.nodeName' ? 'localhost' : '127.0.0.1';
    case 'status.podIP':
    case 'status.podIPs':
    case 'status.hostIPs':
      return '127.0.0.1';
    case 'spec.serviceAccountName':
      return 'default';
    default:
      return undefined;
  }
}

/** A problem with a field of a resource (path from the resource root). */
export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
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
 * The environment a container declares, in the kubelet's order: `envFrom` sources, then `env` entries (each expanded
 * against the ones before it, `valueFrom` resolved from the configuration's Secrets and ConfigMaps and the downward
 * API). `problems` lists what cannot be resolved (paths relative to `at`).
 */
export function declaredEnvironment(
  container: Container,
  at: readonly (string | number)[],
  ctx: { values: ConfigValues; fields: FieldValues; base?: Readonly<Record<string, string>> },
): { env: Record<string, string>; problems: FieldProblem[] } {
  const env: Record<string, string> = { ...ctx.base };
  const problems: FieldProblem[] = [];
  const ns = ctx.fields.namespace;
  (container.envFrom ?? []).forEach((src, i) => {
    const kind = src.secretRef ? 'Secret' : src.configMapRef ? 'ConfigMap' : undefined;
    const ref = src.secretRef ?? src.configMapRef;
    if (!kind || !ref) return;
    const all = ctx.values.all(kind, ns, ref.name);
    if (!all) {
      if (!ref.optional)
        problems.push({ path: [...at, 'envFrom', i, kind === 'Secret' ? 'secretRef' : 'configMapRef', 'name'], message: `${kind} "${ns}/${ref.name}" is not declared in the configuration` });
      return;
    }
    for (const [k, v] of Object.entries(all)) env[`${src.prefix ?? ''}${k}`] = v;
  });
  (container.env ?? []).forEach((e, i) => {
    if (e.valueFrom === undefined) {
      env[e.name] = expandVariables(e.value ?? '', env);
      return;
    }
    const vf = e.valueFrom;
    const p = [...at, 'env', i, 'valueFrom'];
    if (vf.secretKeyRef) {
      const r = ctx.values.secretKey(ns, vf.secretKeyRef);
      if (!r.ok) problems.push({ path: [...p, 'secretKeyRef', 'name'], message: r.message });
      else if (r.value !== undefined) env[e.name] = r.value;
    } else if (vf.configMapKeyRef) {
      const r = ctx.values.configMapKey(ns, vf.configMapKeyRef);
      if (!r.ok) problems.push({ path: [...p, 'configMapKeyRef', 'name'], message: r.message });
      else if (r.value !== undefined) env[e.name] = r.value;
    } else if (vf.fieldRef) {
      const v = fieldValue(vf.fieldRef.fieldPath, ctx.fields);
      if (v === undefined)
        problems.push({
          path: [...p, 'fieldRef', 'fieldPath'],
          message: `fieldPath "${vf.fieldRef.fieldPath}" is not supported (supported: metadata.name, metadata.namespace, metadata.labels['…'], metadata.annotations['…'], status.podIP, status.hostIP, spec.nodeName, spec.serviceAccountName)`,
        });
      else env[e.name] = v;
    } else if (vf.resourceFieldRef) {
      problems.push({ path: [...p, 'resourceFieldRef'], message: 'resourceFieldRef is not supported: no resource limits apply to processes here' });
    }
  });
  return { env, problems };
}

/**
 * The container fields and pod fields a resource sets that have no effect here, as `path: why` lines. `probed`: the
 * resource is a workload whose httpGet/tcpSocket readiness probes are run.
 */
export function ignoredFields(podSpecPath: readonly (string | number)[], pod: PodSpec, options: { readonly probed?: boolean } = {}): string[] {
  const out: string[] = [];
  const dotted = (p: readonly (string | number)[]): string => p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  const podFields: Readonly<Record<string, unknown>> = pod;
  for (const [field, why] of Object.entries(IGNORED_POD_FIELDS)) {
    if (podFields[field] !== undefined) out.push(`${dotted([...podSpecPath, field])} (${why})`);
  }
  pod.containers.forEach((container, i) => {
    const c: Readonly<Record<string, unknown>> = container;
    for (const [field, why] of Object.entries(IGNORED_CONTAINER_FIELDS)) {
      // IfNotPresent and Never are what Sluice does; only Always asks for something it does not do.
      if (field === 'imagePullPolicy' && c[field] !== 'Always') continue;
      // Workloads run httpGet and tcpSocket readiness probes (workload-component.ts); exec and grpc ones are not.
      const probe = c[field] as { httpGet?: unknown; tcpSocket?: unknown } | undefined;
      if (field === 'readinessProbe' && options.probed === true && (probe?.httpGet !== undefined || probe?.tcpSocket !== undefined)) continue;
      if (c[field] !== undefined) out.push(`${dotted([...podSpecPath, 'containers', i, field])} (${why})`);
    }
  });
  return out;
}

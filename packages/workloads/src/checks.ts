import type { SemanticCheck } from '@sluice/config';
import { parseCronJobSchedule } from './cron-job.js';
import { ConfigValues, declaredEnvironment, ignoredFields } from './pod-spec.js';
import { KNATIVE_CONTRACT_VARIABLES, containerNameOf, runModeOf, serviceTargets, workloadsOf } from './workload.js';

/**
 * Checks of the workload kinds: how each container runs, reserved variables of Knative Services, env references to
 * Secrets and ConfigMaps; and one `ignored: …` line per resource listing the fields that have no effect here.
 */
export function workloadChecks(options: { env?: NodeJS.ProcessEnv } = {}): SemanticCheck {
  return (config, report, notice) => {
    const workloads = workloadsOf(config);
    if (workloads.length === 0 && !config.resources.some((r) => r.apiVersion === 'v1' && r.kind === 'Service')) return;
    const values = new ConfigValues(config, options.env ?? process.env);
    for (const w of workloads) {
      const r = w.resource;
      const ignored = ignoredFields(w.podPath, w.pod, { probed: true });
      const spec = (r.value['spec'] ?? {}) as Record<string, unknown>;
      if (w.kind === 'Deployment' && typeof spec['replicas'] === 'number' && spec['replicas'] !== 1) ignored.unshift(`spec.replicas ${spec['replicas']} (one instance runs)`);
      if (w.kind === 'Job' && ((spec['completions'] ?? 1) !== 1 || (spec['parallelism'] ?? 1) !== 1)) ignored.unshift('spec.completions/parallelism (the pod runs to one completion)');
      if (w.cron) {
        const parsed = parseCronJobSchedule(w.cron.schedule, w.cron.timeZone);
        if ('problem' in parsed) report(r, ['spec', parsed.field], parsed.problem, 'SLUICE_CONFIG_WORKLOAD');
        const jobSpec = (spec['jobTemplate'] as { spec?: Record<string, unknown> } | undefined)?.spec ?? {};
        if ((jobSpec['completions'] ?? 1) !== 1 || (jobSpec['parallelism'] ?? 1) !== 1) ignored.unshift('spec.jobTemplate.spec.completions/parallelism (the pod runs to one completion)');
        for (const f of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
          if (spec[f] !== undefined) ignored.unshift(`spec.${f} (a missed run is not made up; no Job objects are kept)`);
        }
      }
      if (w.kind === 'Service' && spec['traffic'] !== undefined) ignored.unshift('spec.traffic (all requests go to the one revision that runs)');
      if (w.pod['initContainers'] !== undefined) ignored.push(`${w.podPath.join('.')}.initContainers (not run)`);
      if (ignored.length > 0) notice(r, [], `ignored: ${r.apiVersion} ${r.kind} ${r.namespace}/${r.name}: ${ignored.join(', ')}`);
      w.pod.containers.forEach((c, i) => {
        const at = [...w.podPath, 'containers', i];
        const how = runModeOf(w, i);
        if ('problem' in how) report(r, at, how.problem, 'SLUICE_CONFIG_WORKLOAD');
        if (w.knative) {
          (c.env ?? []).forEach((e, j) => {
            if (KNATIVE_CONTRACT_VARIABLES.includes(e.name)) report(r, [...at, 'env', j, 'name'], `${e.name} is a reserved environment variable (Knative Serving sets it)`, 'SLUICE_CONFIG_WORKLOAD');
          });
        }
        const { problems } = declaredEnvironment(c, at, { values, fields: { namespace: w.namespace, podName: w.name, labels: w.podLabels, annotations: w.annotations } });
        for (const p of problems) report(r, p.path, `container "${containerNameOf(w, i)}": ${p.message}`, 'SLUICE_CONFIG_WORKLOAD');
      });
    }
    const targets = serviceTargets(config, workloads);
    for (const t of targets) {
      if (t.port === undefined) {
        const spec = (t.service.value['spec'] ?? {}) as { ports?: unknown[] };
        if ((spec.ports ?? []).length > 0) report(t.service, ['spec', 'ports', 0, 'targetPort'], `targetPort names no port of ${t.workload.id}'s containers`, 'SLUICE_CONFIG_WORKLOAD');
      }
    }
  };
}

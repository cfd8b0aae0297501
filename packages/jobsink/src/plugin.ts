import type { SemanticCheck } from '@sluice/config';
import { runsFrom, type ComponentFactory, type SluicePlugin } from '@sluice/plugin';
import { runModeOf } from '@sluice/workloads';
import { CONCURRENCY_ANNOTATION, JobSinkComponent, MAX_PENDING_ANNOTATION, intAnnotation, jobWorkload } from './jobsink-component.js';

/** Checks of JobSinks: the annotations are positive integers; every container can run (a command, or an image). */
export function jobSinkChecks(): SemanticCheck {
  return (config, report) => {
    for (const r of config.resources) {
      if (r.kind !== 'JobSink') continue;
      const annotations = ((r.value['metadata'] ?? {}) as { annotations?: Record<string, string> }).annotations;
      for (const key of [CONCURRENCY_ANNOTATION, MAX_PENDING_ANNOTATION]) {
        if (Number.isNaN(intAnnotation(annotations, key, 1))) report(r, ['metadata', 'annotations', key], `annotation ${key} must be a whole number > 0`, 'SLUICE_CONFIG_INVALID');
      }
      const w = jobWorkload(r);
      w.pod.containers.forEach((_, i) => {
        const how = runModeOf(w, i);
        if ('problem' in how) report(r, [...w.podPath, 'containers', i], how.problem, 'SLUICE_CONFIG_INVALID');
      });
    }
  };
}

/** The factory `sluice run` passes to the runtime: one component serving every JobSink. */
export const jobSinkComponents: ComponentFactory = (config) => {
  const sinks = config.resources.filter((r) => r.kind === 'JobSink');
  return sinks.length === 0
    ? []
    : [
        runsFrom(
          new JobSinkComponent(config, sinks),
          sinks.map((r) => r.value),
        ),
      ];
};

/** JobSink, as one plugin of `sluice`. */
export const jobSinkPlugin: SluicePlugin = { name: 'jobsink', checks: () => [jobSinkChecks()], components: jobSinkComponents };

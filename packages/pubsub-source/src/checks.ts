import { checkDestination, resourcesOfKind, type SemanticCheck } from '@sluice/config';
import { checkOverrideKey } from '@sluice/sources';
import { formatProblem, type SpecProblem } from '@sluice/sources';
import { resolveSettings } from './pubsub-settings.js';
import { SecretStore } from '@sluice/config';

/** Where {@link cloudPubSubSourceChecks} reads secrets and the environment (tests pass their own). */
export interface CloudPubSubSourceCheckOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly readFile?: (path: string) => string;
}

/**
 * Checks of CloudPubSubSources that the schema cannot express: the sink, ackDeadline and retentionDuration within
 * Pub/Sub's limits, the `secret` (must resolve to a credentials JSON), a known project, and ceOverrides that would
 * replace core attributes.
 */
export function cloudPubSubSourceChecks(options: CloudPubSubSourceCheckOptions = {}): SemanticCheck {
  return (config, report) => {
    const declared = new Set(config.resources.map((r) => `${r.kind}:${r.key}`));
    const env = options.env ?? process.env;
    const secrets = SecretStore.fromConfig(config, env, options.readFile);
    for (const r of resourcesOfKind(config.resources, 'CloudPubSubSource')) {
      const spec = r.value.spec;
      checkDestination(r, ['spec', 'sink'], spec.sink, declared, report);
      const problems: SpecProblem[] = [...resolveSettings(spec, r.namespace, secrets, env).problems];
      for (const key of Object.keys(spec.ceOverrides?.extensions ?? {})) {
        const err = checkOverrideKey(key);
        if (err) problems.push({ path: ['spec', 'ceOverrides', 'extensions', key], message: err });
      }
      for (const p of problems) report(r, p.path, formatProblem(p), p.code ?? 'SLUICE_CONFIG_PUBSUB_SOURCE');
    }
  };
}

import { checkDestination, resourcesOfKind, SecretStore, typed, type LoadedResource, type SemanticCheck } from '@sluice/config';
import type { Destination } from '@sluice/core';
import { ConfigValues, declaredEnvironment, ignoredFields } from '@sluice/workloads';
import { checkContainerSource } from './container-source.js';
import { checkForgeSource } from './forge-source.js';
import { checkPingSpec } from './ping-source.js';
import { defaultSecretSources, type SecretSources } from './secret-value.js';
import { checkSinkBinding } from './sink-binding.js';
import { formatProblem, type SpecProblem } from './spec-problem.js';
import { checkWebhookSource } from './webhook-source.js';

/** The kinds this package runs. */
export const SOURCE_KINDS: readonly string[] = ['PingSource', 'ContainerSource', 'SinkBinding', 'WebhookSource', 'GitHubSource', 'GitLabSource'];

function problemsOf(r: LoadedResource, secrets: SecretSources | false, store: SecretStore): SpecProblem[] {
  const t = typed(r);
  switch (t.kind) {
    case 'PingSource':
      return checkPingSpec(t.value.spec);
    case 'ContainerSource':
      return checkContainerSource(t.value);
    case 'SinkBinding':
      return checkSinkBinding(t.value, r.namespace);
    case 'WebhookSource':
      return checkWebhookSource(t.value, secrets);
    case 'GitHubSource':
    case 'GitLabSource':
      return secrets === false ? [] : checkForgeSource(t.value, r.namespace, store);
    default:
      return [];
  }
}

/** Options of {@link sourceChecks}. */
export interface SourceCheckOptions {
  /** Where `valueFromEnv`/`valueFromFile` secrets are read (default: this process's environment and files). */
  readonly secrets?: SecretSources;
  /** Whether secrets must be readable now (default true: `sluice run` needs them; `sluice bind` does not). */
  readonly checkSecrets?: boolean;
}

/**
 * Checks of the source kinds that the schemas cannot express: cron syntax and time zone, data/dataBase64, missing
 * commands, signature and password secrets (readable, unless `checkSecrets` is false), SinkBinding subjects, and
 * every sink.
 */
export function sourceChecks(options: SourceCheckOptions = {}): SemanticCheck {
  const secrets = options.checkSecrets === false ? false : (options.secrets ?? defaultSecretSources);
  return (config, report, notice) => {
    const declared = new Set(config.resources.map((r) => `${r.kind}:${r.key}`));
    const store = SecretStore.fromConfig(config);
    let values: ConfigValues | undefined;
    for (const r of resourcesOfKind(config.resources, 'ContainerSource')) {
      // The pod template is a Kubernetes one: env references resolve from the configuration; what has no effect here
      // is listed once.
      const template = r.value.spec.template;
      const ignored = ignoredFields(['spec', 'template', 'spec'], template.spec);
      if (template.spec['initContainers'] !== undefined) ignored.push('spec.template.spec.initContainers (not run)');
      if (ignored.length > 0) notice(r, [], `ignored: ${r.apiVersion} ${r.kind} ${r.namespace}/${r.name}: ${ignored.join(', ')}`);
      if (secrets === false) continue;
      values ??= new ConfigValues(config);
      template.spec.containers.forEach((c, i) => {
        const at = ['spec', 'template', 'spec', 'containers', i];
        const fields = { namespace: r.namespace, podName: r.name, labels: template.metadata?.labels ?? {}, annotations: template.metadata?.annotations ?? {} };
        for (const p of declaredEnvironment(c, at, { values: values!, fields }).problems) report(r, p.path, p.message, 'SLUICE_CONFIG_SECRET');
      });
    }
    for (const r of config.resources) {
      if (!SOURCE_KINDS.includes(r.kind)) continue;
      for (const p of problemsOf(r, secrets, store)) {
        report(r, p.path, formatProblem(p), p.code ?? 'SLUICE_CONFIG_SOURCE_INVALID', p.offset);
      }
      const sink = (r.value['spec'] as { sink?: Destination } | undefined)?.sink;
      if (sink) checkDestination(r, ['spec', 'sink'], sink, declared, report);
    }
  };
}

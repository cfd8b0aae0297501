import { SecretStore, resourcesOfKind, type SemanticCheck } from '@sluice/config';
import { resolveSinkAuth } from './auth.js';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):\d{1,5}$/;
const VALID_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** Options of {@link kafkaSinkChecks}. */
export interface KafkaSinkCheckOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly readFile?: (path: string) => string;
}

/**
 * Checks of KafkaSinks beyond the schema: a legal topic name, `host:port` bootstrap servers (an entry may be a
 * comma-separated list, as Knative accepts), and an auth Secret that resolves in Knative's Kafka auth format.
 */
export function kafkaSinkChecks(options: KafkaSinkCheckOptions = {}): SemanticCheck {
  return (config, report) => {
    const secrets = SecretStore.fromConfig(config, options.env ?? process.env, options.readFile);
    for (const r of resourcesOfKind(config.resources, 'KafkaSink')) {
      const spec = r.value.spec;
      if (!VALID_TOPIC.test(spec.topic) || spec.topic === '.' || spec.topic === '..') {
        report(r, ['spec', 'topic'], `"${spec.topic}" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)`, 'SLUICE_CONFIG_KAFKA_SINK');
      }
      spec.bootstrapServers.forEach((entry, i) => {
        const bad = entry
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '' && !HOST_PORT.test(s));
        if (bad.length > 0 || entry.trim() === '')
          report(r, ['spec', 'bootstrapServers', i], `bootstrap servers must be host:port entries; invalid: ${bad.join(', ') || '(empty)'}`, 'SLUICE_CONFIG_KAFKA_SINK');
      });
      const secretName = spec.auth?.secret?.ref?.name;
      if (secretName !== undefined) {
        const doc = config.resources.find((x) => x.kind === 'Secret' && x.namespace === r.namespace && x.name === secretName);
        const keys = doc ? [...Object.keys((doc.value['data'] as object | undefined) ?? {}), ...Object.keys((doc.value['stringData'] as object | undefined) ?? {})] : undefined;
        for (const problem of resolveSinkAuth(r.namespace, secretName, secrets, keys).problems) {
          report(r, ['spec', 'auth', 'secret', 'ref', 'name'], problem, 'SLUICE_CONFIG_KAFKA_AUTH');
        }
      }
    }
  };
}

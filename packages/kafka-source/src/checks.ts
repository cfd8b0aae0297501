import { checkDestination, resourcesOfKind, type SemanticCheck } from '@sluice/config';
import { checkOverrideKey } from '@sluice/sources';
import { formatProblem, type SpecProblem } from '@sluice/sources';
import { resolveNet } from './kafka-auth.js';
import { KEY_TYPES, KEY_TYPE_LABEL, defaultConsumerGroup } from './kafka-source-types.js';
import { SecretStore } from '@sluice/config';

/** Where {@link kafkaSourceChecks} reads secrets (tests pass their own). */
export interface KafkaSourceCheckOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly readFile?: (path: string) => string;
}

/**
 * Checks of KafkaSources that the schema cannot express: the sink and dead-letter sink, the key-type label,
 * ceOverrides that would replace core attributes, `net` (SASL/TLS secrets must resolve, SASL needs user and
 * password, a supported mechanism), and two sources sharing one consumer group (they would split each other's
 * partitions).
 */
export function kafkaSourceChecks(options: KafkaSourceCheckOptions = {}): SemanticCheck {
  return (config, report, notice) => {
    const declared = new Set(config.resources.map((r) => `${r.kind}:${r.key}`));
    const secrets = SecretStore.fromConfig(config, options.env ?? process.env, options.readFile);
    const groups = new Map<string, string>();
    for (const r of resourcesOfKind(config.resources, 'KafkaSource')) {
      const source = r.value;
      const spec = source.spec;
      const problems: SpecProblem[] = [];
      // The adapter's CPU and memory: no limits are applied to the consumers that run inside this process.
      if (spec.resources !== undefined) notice(r, [], `ignored: ${r.apiVersion} ${r.kind} ${r.namespace}/${r.name}: spec.resources (no CPU or memory limits are applied)`);
      checkDestination(r, ['spec', 'sink'], spec.sink, declared, report);
      if (spec.delivery?.deadLetterSink) checkDestination(r, ['spec', 'delivery', 'deadLetterSink'], spec.delivery.deadLetterSink, declared, report);
      const keyType = source.metadata.labels?.[KEY_TYPE_LABEL];
      if (keyType !== undefined && !(KEY_TYPES as readonly string[]).includes(keyType)) {
        problems.push({ path: ['metadata', 'labels', KEY_TYPE_LABEL], message: `key type "${keyType}" is not one of ${KEY_TYPES.join(', ')}` });
      }
      for (const key of Object.keys(spec.ceOverrides?.extensions ?? {})) {
        const err = checkOverrideKey(key);
        if (err) problems.push({ path: ['spec', 'ceOverrides', 'extensions', key], message: err });
      }
      problems.push(...resolveNet(spec.net, r.namespace, secrets).problems);
      const group = spec.consumerGroup ?? defaultConsumerGroup(r.namespace, r.name);
      const other = groups.get(group);
      if (other !== undefined) {
        problems.push({
          path: spec.consumerGroup !== undefined ? ['spec', 'consumerGroup'] : ['metadata', 'name'],
          message: `consumer group "${group}" is also used by KafkaSource ${other}; sources in one group split the partitions between them`,
        });
      } else {
        groups.set(group, r.key);
      }
      for (const p of problems) report(r, p.path, formatProblem(p), p.code ?? 'SLUICE_CONFIG_KAFKA_SOURCE');
    }
  };
}

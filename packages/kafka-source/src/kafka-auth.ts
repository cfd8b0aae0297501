import { SASL_TYPES, type KafkaNetSpec, type SaslType, type SecretValueFromSource } from './kafka-source-types.js';
import type { SecretStore } from '@sluice/config';
import type { SpecProblem } from '@sluice/sources';
import { SASL_MECHANISMS, kafkaTls, type KafkaSasl, type KafkaTls } from '@sluice/plugin';

/** What `spec.net` resolves to, and every problem found on the way. */
export interface ResolvedNet {
  readonly ssl: KafkaTls | undefined;
  readonly sasl: KafkaSasl | undefined;
  readonly problems: readonly SpecProblem[];
}

/**
 * Resolves `spec.net` (SASL and TLS, every value a `secretKeyRef`) against the secret store. Fields of a disabled
 * block are ignored, as Knative ignores them. OAUTHBEARER (`roleARN`, `tokenProvider`) is reported: it needs
 * cloud-provider token plumbing Sluice does not have.
 */
export function resolveNet(net: KafkaNetSpec | undefined, namespace: string, secrets: SecretStore): ResolvedNet {
  const problems: SpecProblem[] = [];
  const base = ['spec', 'net'];
  const read = (field: SecretValueFromSource | undefined, path: readonly string[], required: string | undefined): string | undefined => {
    const ref = field?.secretKeyRef;
    if (ref === undefined) {
      if (required !== undefined) problems.push({ path: path.slice(0, -1), message: required, code: 'SLUICE_CONFIG_KAFKA_AUTH' });
      return undefined;
    }
    const r = secrets.lookup(namespace, ref);
    if (!r.ok) {
      problems.push({ path: [...path, 'secretKeyRef'], message: r.message, code: 'SLUICE_CONFIG_SECRET' });
      return undefined;
    }
    if (r.value === undefined && required !== undefined) problems.push({ path: [...path, 'secretKeyRef'], message: required, code: 'SLUICE_CONFIG_KAFKA_AUTH' });
    return r.value;
  };

  let sasl: KafkaSasl | undefined;
  const s = net?.sasl;
  if (s?.enable === true) {
    const p = [...base, 'sasl'];
    for (const field of ['roleARN', 'tokenProvider'] as const) {
      if (s[field] !== undefined) {
        problems.push({ path: [...p, field], message: 'is for OAUTHBEARER, which Sluice does not support (use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)', code: 'SLUICE_CONFIG_KAFKA_AUTH' });
      }
    }
    const username = read(s.user, [...p, 'user'], 'enable is true but user is not set (a secretKeyRef to the SASL user name)');
    const password = read(s.password, [...p, 'password'], 'enable is true but password is not set (a secretKeyRef to the SASL password)');
    const typeText = read(s.type, [...p, 'type'], undefined);
    let type: SaslType = 'PLAIN';
    if (typeText !== undefined) {
      const t = typeText.trim();
      if ((SASL_TYPES as readonly string[]).includes(t)) type = t as SaslType;
      else problems.push({ path: [...p, 'type', 'secretKeyRef'], message: `the secret holds "${t}"; supported: ${SASL_TYPES.join(', ')}`, code: 'SLUICE_CONFIG_KAFKA_AUTH' });
    }
    if (username !== undefined && password !== undefined) sasl = { mechanism: SASL_MECHANISMS[type], username, password };
  }

  let ssl: KafkaTls | undefined;
  const t = net?.tls;
  if (t?.enable === true) {
    const p = [...base, 'tls'];
    const cert = read(t.cert, [...p, 'cert'], undefined);
    const key = read(t.key, [...p, 'key'], undefined);
    const caCert = read(t.caCert, [...p, 'caCert'], undefined);
    if ((t.cert?.secretKeyRef === undefined) !== (t.key?.secretKeyRef === undefined)) {
      problems.push({ path: p, message: 'cert and key go together: set both for client authentication, or neither', code: 'SLUICE_CONFIG_KAFKA_AUTH' });
    }
    ssl = kafkaTls({ ca: caCert, cert, key });
  }
  return { ssl, sasl, problems };
}

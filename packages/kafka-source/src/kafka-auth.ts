import { SASL_TYPES, type KafkaNetSpec, type SaslType, type SecretValueFromSource } from './kafka-source-types.js';
import type { SecretStore } from '@sluice/config';
import type { SpecProblem } from '@sluice/sources';

/** TLS settings for the Kafka client: `true` = TLS with the system CAs. */
export type KafkaTls = true | { readonly ca?: string[]; readonly cert?: string; readonly key?: string };

/** SASL settings for the Kafka client (kafkajs spells mechanisms in lower case). */
export type KafkaSasl = { readonly [M in SaslMechanism]: { readonly mechanism: M; readonly username: string; readonly password: string } }[SaslMechanism];

/** kafkajs' names of the supported SASL mechanisms. */
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** What `spec.net` resolves to, and every problem found on the way. */
export interface ResolvedNet {
  readonly ssl: KafkaTls | undefined;
  readonly sasl: KafkaSasl | undefined;
  readonly problems: readonly SpecProblem[];
}

const MECHANISMS: Readonly<Record<SaslType, SaslMechanism>> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};

/** Splits `bootstrapServers` entries, which Knative also accepts as comma-separated lists, into `host:port`s. */
export function bootstrapBrokers(bootstrapServers: readonly string[]): string[] {
  return bootstrapServers.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
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
    if (username !== undefined && password !== undefined) sasl = { mechanism: MECHANISMS[type], username, password };
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
    ssl = cert === undefined && key === undefined && caCert === undefined ? true : { ...(caCert !== undefined ? { ca: [caCert] } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  }
  return { ssl, sasl, problems };
}

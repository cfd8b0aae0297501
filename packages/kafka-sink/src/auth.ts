import type { SecretStore } from '@sluice/config';
import { SASL_MECHANISMS, kafkaTls, type KafkaSasl, type KafkaTls, type SaslMechanism } from '@sluice/plugin';

/** What an auth Secret resolves to, or the problems found (messages name the Secret key). */
export interface ResolvedAuth {
  readonly ssl: KafkaTls | undefined;
  readonly sasl: KafkaSasl | undefined;
  readonly problems: readonly string[];
}

const PROTOCOLS = ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL', 'SASL_SSL'] as const;
/** Looked up by the Secret's text, which may be any string. */
const MECHANISMS: Readonly<Record<string, SaslMechanism>> = SASL_MECHANISMS;
const KNOWN_KEYS = new Set(['protocol', 'sasl.mechanism', 'user', 'password', 'ca.crt', 'user.crt', 'user.key', 'user.skip']);

/**
 * Resolves Knative's Kafka auth Secret (the format of the Kafka broker's and KafkaSink's `auth.secret.ref`): `protocol`
 * (PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL), `sasl.mechanism` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; default PLAIN),
 * `user`, `password`, `ca.crt`, `user.crt`, `user.key`, `user.skip` (true: no client certificate).
 */
export function resolveSinkAuth(namespace: string, secretName: string, secrets: SecretStore, keys?: readonly string[]): ResolvedAuth {
  const problems: string[] = [];
  const read = (key: string): string | undefined => {
    const r = secrets.lookup(namespace, { name: secretName, key, optional: true });
    if (!r.ok) {
      problems.push(r.message);
      return undefined;
    }
    return r.value;
  };
  for (const k of keys ?? [])
    if (!KNOWN_KEYS.has(k)) problems.push(`Secret "${namespace}/${secretName}" has key "${k}", which Knative's Kafka auth format does not define (known: ${[...KNOWN_KEYS].join(', ')})`);
  // The protocol is required, so its lookup also says whether the Secret exists at all.
  const p = secrets.lookup(namespace, { name: secretName, key: 'protocol' });
  const protocol = p.ok ? p.value : undefined;
  if (protocol === undefined) {
    problems.push(p.ok || /has no key/.test(p.message) ? `Secret "${namespace}/${secretName}" needs a "protocol" key (${PROTOCOLS.join(', ')})` : p.message);
    return { ssl: undefined, sasl: undefined, problems };
  }
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    problems.push(`Secret "${namespace}/${secretName}": protocol "${protocol}" is not one of ${PROTOCOLS.join(', ')}`);
    return { ssl: undefined, sasl: undefined, problems };
  }
  let sasl: KafkaSasl | undefined;
  if (protocol.startsWith('SASL_')) {
    const mechanismText = read('sasl.mechanism') ?? 'PLAIN';
    const mechanism = MECHANISMS[mechanismText];
    if (!mechanism) problems.push(`Secret "${namespace}/${secretName}": sasl.mechanism "${mechanismText}" is not one of ${Object.keys(MECHANISMS).join(', ')}`);
    const username = read('user');
    const password = read('password');
    if (username === undefined || password === undefined) problems.push(`Secret "${namespace}/${secretName}": protocol ${protocol} needs "user" and "password"`);
    if (mechanism && username !== undefined && password !== undefined) sasl = { mechanism, username, password };
  }
  let ssl: KafkaTls | undefined;
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const ca = read('ca.crt');
    const skip = read('user.skip') === 'true';
    const cert = skip ? undefined : read('user.crt');
    const key = skip ? undefined : read('user.key');
    if ((cert === undefined) !== (key === undefined)) problems.push(`Secret "${namespace}/${secretName}": user.crt and user.key go together`);
    ssl = kafkaTls({ ca, cert, key });
  }
  return { ssl, sasl, problems };
}

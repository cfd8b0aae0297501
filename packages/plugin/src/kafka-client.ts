/** TLS settings of a kafkajs client: `true` = TLS with the system CAs. */
export type KafkaTls = true | { readonly ca?: string[]; readonly cert?: string; readonly key?: string };

/** kafkajs' names of the SASL mechanisms Sluice supports. */
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** SASL settings of a kafkajs client. */
export type KafkaSasl = {
  readonly [M in SaslMechanism]: { readonly mechanism: M; readonly username: string; readonly password: string };
}[SaslMechanism];

/**
 * Knative's names of the SASL mechanisms (a Kafka auth Secret's `sasl.mechanism`, a KafkaSource's
 * `spec.net.sasl.type`) with kafkajs' name of each.
 */
export const SASL_MECHANISMS: Readonly<Record<'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', SaslMechanism>> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};

/** The TLS settings for PEM texts read from Secrets: without any, TLS with the system CAs. */
export function kafkaTls(pem: { readonly ca: string | undefined; readonly cert: string | undefined; readonly key: string | undefined }): KafkaTls {
  const { ca, cert, key } = pem;
  if (ca === undefined && cert === undefined && key === undefined) return true;
  return {
    ...(ca !== undefined ? { ca: [ca] } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

/** Splits `bootstrapServers` entries, which Knative also accepts as comma-separated lists, into `host:port`s. */
export function bootstrapBrokers(bootstrapServers: readonly string[]): string[] {
  return bootstrapServers
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

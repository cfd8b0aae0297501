import { createHash } from 'node:crypto';
import type { ClientConfig } from '@google-cloud/pubsub';
import { parseGoDuration } from './go-duration.js';
import { DEFAULT_ACK_DEADLINE, DEFAULT_RETENTION_DURATION, type CloudPubSubSourceSpec } from './pubsub-source-types.js';
import type { SecretStore } from '@sluice/config';
import type { SpecProblem } from '@sluice/sources';

/** Everything needed to talk to Pub/Sub for one source. */
export interface PubSubSettings {
  readonly projectId: string;
  /** Options of the `PubSub` client. */
  readonly client: ClientConfig;
  /** Whether the client talks to the emulator (`PUBSUB_EMULATOR_HOST`). */
  readonly emulator: boolean;
  readonly ackDeadlineSeconds: number;
  readonly retainAckedMessages: boolean;
  readonly retentionSeconds: number;
}

/** Pub/Sub's own limits (knative-gcp allows an ackDeadline below 10 s, which the Pub/Sub API then rejects). */
const ACK_DEADLINE_MIN_S = 10;
const ACK_DEADLINE_MAX_S = 600;
const RETENTION_MIN_S = 600;
const RETENTION_MAX_S = 7 * 24 * 3600;

/**
 * The ID of the subscription a source creates or reuses: `sluice_<namespace>_<name>` (`_` cannot occur in either, so
 * distinct sources never share one). Over Pub/Sub's 255 characters, it is cut and a hash of the full name appended.
 */
export function subscriptionId(namespace: string, name: string): string {
  const id = `sluice_${namespace}_${name}`;
  if (id.length <= 255) return id;
  return `${id.slice(0, 246)}_${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}

/**
 * Resolves a source's connection and subscription settings. The project is `spec.project`, else the `project_id`
 * of the `secret` key file, else `GOOGLE_CLOUD_PROJECT`/`GCLOUD_PROJECT`. Credentials: none against the emulator
 * (`PUBSUB_EMULATOR_HOST`); else the `secret` (a service-account key JSON, as knative-gcp expects), else Application
 * Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`).
 */
export function resolveSettings(
  spec: CloudPubSubSourceSpec,
  namespace: string,
  secrets: SecretStore,
  env: NodeJS.ProcessEnv = process.env,
): { settings: PubSubSettings | undefined; problems: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  const seconds = (field: 'ackDeadline' | 'retentionDuration', text: string, min: number, max: number, zeroOk: boolean): number => {
    const ms = parseGoDuration(text);
    if (ms === undefined) {
      problems.push({ path: ['spec', field], message: `"${text}" is not a Go duration such as 30s, 1m30s or 168h` });
      return 0;
    }
    const s = Math.floor(ms / 1000);
    if ((zeroOk && ms === 0) || (s >= min && ms <= max * 1000)) return s;
    const range = field === 'ackDeadline' ? '0 (its default, 10s) or 10s to 10m' : '10m to 168h (7 days)';
    problems.push({ path: ['spec', field], message: `"${text}" is out of range: Pub/Sub accepts ${range}` });
    return 0;
  };
  const ackDeadlineSeconds = seconds('ackDeadline', spec.ackDeadline ?? DEFAULT_ACK_DEADLINE, ACK_DEADLINE_MIN_S, ACK_DEADLINE_MAX_S, true);
  const retentionSeconds = seconds('retentionDuration', spec.retentionDuration ?? DEFAULT_RETENTION_DURATION, RETENTION_MIN_S, RETENTION_MAX_S, false);

  let credentials: Record<string, unknown> | undefined;
  if (spec.secret !== undefined) {
    const r = secrets.lookup(namespace, spec.secret);
    if (!r.ok) {
      problems.push({ path: ['spec', 'secret'], message: r.message, code: 'SLUICE_CONFIG_SECRET' });
    } else if (r.value !== undefined) {
      try {
        const parsed: unknown = JSON.parse(r.value);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== 'string')
          throw new Error('not a Google credentials JSON object (no "type")');
        credentials = parsed as Record<string, unknown>;
      } catch (err) {
        problems.push({
          path: ['spec', 'secret'],
          message: `Secret "${namespace}/${spec.secret.name}" key "${spec.secret.key}" must hold a service-account key JSON: ${(err as Error).message}`,
          code: 'SLUICE_CONFIG_SECRET',
        });
      }
    }
  }
  const fromKey = typeof credentials?.['project_id'] === 'string' ? credentials['project_id'] : undefined;
  const projectId = spec.project ?? fromKey ?? env['GOOGLE_CLOUD_PROJECT'] ?? env['GCLOUD_PROJECT'];
  if (projectId === undefined || projectId === '') {
    problems.push({ path: ['spec'], message: 'project is not set and no default is known: set spec.project (or GOOGLE_CLOUD_PROJECT)' });
  }
  if (problems.length > 0 || projectId === undefined) return { settings: undefined, problems };

  const emulatorHost = env['PUBSUB_EMULATOR_HOST']?.trim();
  // universeDomain known up front: google-auth then never probes the GCE metadata server for it.
  const client: ClientConfig = emulatorHost
    ? { projectId, apiEndpoint: emulatorHost, emulatorMode: true, universeDomain: 'googleapis.com' }
    : { projectId, universeDomain: 'googleapis.com', ...(credentials !== undefined ? { credentials: credentials } : {}) };
  return {
    settings: { projectId, client, emulator: Boolean(emulatorHost), ackDeadlineSeconds, retainAckedMessages: spec.retainAckedMessages ?? false, retentionSeconds },
    problems,
  };
}
